/**
 * Memory a user pays for a long-running role process (bootstrap, provider, mediator, creator).
 *
 * Measured on the devnet (`npm run bench:soak`, heap snapshots with LILYNODE_SOAK_HEAPSNAP=1):
 * a role process held 290–340 MB resident while its live JavaScript heap was 47–73 MB (code
 * 15–20 MB, module sources 16–19 MB, the rest small; nothing of ours grew). The difference was
 * not data but V8's and glibc's defaults for a big machine: the young generation's semi-spaces
 * grow to 32 MB each on a 64-bit host with lots of RAM (V8 sizes them by physical memory, ~67 MB
 * of new space once traffic filled them), the old generation is allowed to grow to several
 * times its live size before a full GC, and glibc gives each of libuv's and V8's threads its own
 * malloc arena, whose freed pages stay resident. None of that can be changed once the process
 * runs (`v8.setFlagsFromString('--max-semi-space-size=…')` has no effect after the heap is
 * set up; glibc reads MALLOC_ARENA_MAX at the first malloc), so bin/lilynode.js re-executes
 * itself once, in place (`process.execve`, Node ≥ 22.15: same pid, no second process), with the
 * flags below. LILYNODE_LEAN=0 turns it off.
 */

/** Commands that run for hours and get the lean flags. */
export const LONG_RUNNING_COMMANDS: ReadonlySet<string> = new Set(['bootstrap', 'provider', 'mediator', 'creator', 'devnet'])

/**
 * V8 flags of a lean role process: 1 MB semi-spaces (scavenges stay sub-millisecond and a node's
 * young objects are short-lived messages), and --optimize-for-size (smaller heap growth steps,
 * earlier full GCs, less inlining; the matcher and gossip validation were measured not to slow
 * down by more than the noise of bench:match / bench:network on this machine).
 */
export const LEAN_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=1', '--optimize-for-size'])

/**
 * glibc: two malloc arenas instead of eight per core, and a fixed 128 kB mmap and trim threshold.
 * V8 mallocs its compiler and parser zones (peak_malloced_memory 25–29 MB in every role process,
 * 0.5 MB once started); with glibc's default dynamic thresholds the mmap threshold climbs to the
 * largest block freed (up to 32 MB), later zones land on the arenas' heaps, and what they free
 * stays resident: 21–23 MB of a role's RSS was neither V8 heap nor external memory
 * (RssAnon − heapTotal − external, sampled every 15 s on bench:soak). Fixed thresholds (setting
 * them turns the dynamic adjustment off) give blocks ≥ 128 kB back to the kernel on free and
 * trim a heap's free top above 128 kB: 12.5–14 MB, measured the same way.
 */
export const LEAN_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072'
})

/** Set in the re-executed process so that it does not re-execute again. */
export const LEAN_MARK = 'LILYNODE_LEAN_EXEC'

/**
 * What to execve for `argv` (process.argv: node, script, command, …), or undefined to run as is:
 * not a long-running command, already lean, turned off (LILYNODE_LEAN=0), or the flags were
 * given by hand.
 */
export function leanExec (argv: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): { file: string, args: string[], env: Record<string, string> } | undefined {
  const command = argv[2]
  if (command === undefined || !LONG_RUNNING_COMMANDS.has(command)) return undefined
  if (env[LEAN_MARK] === '1' || env.LILYNODE_LEAN === '0') return undefined
  if (execArgv.some((a) => a.startsWith('--max-semi-space-size') || a === '--optimize-for-size')) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  for (const [k, v] of Object.entries(LEAN_ENV)) out[k] ??= v
  out[LEAN_MARK] = '1'
  return { file: argv[0], args: [argv[0], ...LEAN_NODE_FLAGS, ...execArgv, ...argv.slice(1)], env: out }
}

/** Whether the binary enables Node's compile cache for this command line (not for long-running roles; see bin/lilynode.js). */
export function useCompileCache (argv: readonly string[]): boolean {
  return argv[2] === undefined || !LONG_RUNNING_COMMANDS.has(argv[2])
}

/**
 * bench:soak — what one role process of a running network costs in memory, over time.
 *
 * `npm run bench:soak [-- --minutes 60 --providers 2 --sample-s 10 --json --split]`
 *
 * Starts the devnet (anvil, bootstrap, `--providers` providers, one mediator, one `lilynode
 * creator` relay; every role its own OS process, epochMs 1000), then runs jobs back to back
 * (`lilynode run probe:v1.0.0` from creator-1, each a short-lived process of its own) for
 * `--minutes`, and samples every `--sample-s` seconds the resident memory (VmRSS of
 * /proc/<pid>/status: what the user pays, shared library pages included) of every long-running
 * role process.
 *
 * `--json` prints one line:
 *  - rssMbByRole: { start, middle, end } → role → MB (start: the first sample after the first
 *    paid job, so every code path ran once; middle and end: the samples nearest the half-way
 *    point and the last one);
 *  - rssMaxMb: the largest sample of any role process;
 *  - rssGrowthMbPerHour: per role, the least-squares slope of RSS over the samples from start to
 *    end, times 3600 s. Extrapolated unless the run lasts an hour (`extrapolated: true`);
 *  - jobs (paid), failed, minutes.
 * `--split` adds memorySplitMb: per role, the last sample of where its RSS sits (file-backed pages,
 * V8 heap, external memory, the rest of the anonymous memory; scripts/bench/soakSampler.ts,
 * preloaded into the role processes, writes it).
 * LILYNODE_SOAK_HEAPSNAP=1 makes each role process write a heap snapshot on SIGUSR2
 * (`--heapsnapshot-signal`); the bench sends it at the end and keeps the data dir.
 */
import { readFile, mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Devnet } from '../../src/devnet/devnet.js'

function num (name: string, def: number, min: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return def
  const v = Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} needs a number ≥ ${min}, got ${String(process.argv[i + 1])}`)
  return v
}

const json = process.argv.includes('--json')
const minutes = num('minutes', 10, 0.5)
const providers = Math.floor(num('providers', 2, 1))
const sampleS = num('sample-s', 10, 1)
const split = process.argv.includes('--split')
const say = (s: string): void => { if (!json) process.stdout.write(`${s}\n`) }

/** Resident set size of `pid` in MB, from /proc (undefined when the process is gone). */
async function rssMb (pid: number): Promise<number | undefined> {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
    return m === null ? undefined : Math.round(Number(m[1]) / 102.4) / 10
  } catch {
    return undefined
  }
}

interface Sample { t: number, rss: Record<string, number> }

/** Least-squares slope of y over x. */
function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2 }
  return den === 0 ? 0 : num / den
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lily-bench-soak-'))
  const heapSnap = process.env.LILYNODE_SOAK_HEAPSNAP === '1'
  if (heapSnap) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`.trim()
  const splitDir = join(dir, 'split')
  if (split) {
    await mkdir(splitDir)
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${join(dirname(fileURLToPath(import.meta.url)), 'soakSampler.js')}`.trim()
    process.env.LILYNODE_SOAK_SPLIT_DIR = splitDir
    process.env.LILYNODE_SOAK_SPLIT_S = String(sampleS)
  }
  const net = new Devnet({ dataDir: join(dir, 'net'), providers, mediators: 1, creators: 1, relays: 1, epochMs: 1000, log: (l) => say(`devnet: ${l}`) })
  const samples: Sample[] = []
  let paid = 0
  const failures: string[] = []
  try {
    await net.start()
    const roles = [...net.procs.keys()]
    const sample = async (): Promise<Sample> => {
      const rss: Record<string, number> = {}
      for (const name of roles) {
        const pid = net.procs.get(name)?.pid
        const r = pid === undefined ? undefined : await rssMb(pid)
        if (r !== undefined) rss[name] = r
      }
      return { t: Date.now(), rss }
    }
    const endAt = Date.now() + minutes * 60_000
    let started = false
    let stop = false
    const jobs = (async () => {
      for (let i = 0; !stop && Date.now() < endAt; i++) {
        const p = net.run('creator-1', 'probe:v1.0.0', ['action=echo', `arg=soak ${i}`])
        const code = await p.done
        if (code === 0) { paid++; started = true } else failures.push(`job ${i} exit ${String(code)}: ${p.stderrTail.trim().split('\n').pop() ?? ''}`)
        if (!json && paid % 10 === 0 && code === 0) say(`${paid} jobs paid`)
      }
    })()
    while (Date.now() < endAt) {
      await new Promise((resolve) => setTimeout(resolve, sampleS * 1000))
      if (!started) continue
      const s = await sample()
      samples.push(s)
      say(`rss ${Object.entries(s.rss).map(([k, v]) => `${k} ${v}`).join(', ')} MB`)
    }
    stop = true
    await jobs
    const memorySplitMb: Record<string, unknown> = {}
    if (split) {
      for (const [name, p] of net.procs) {
        if (!roles.includes(name) || p.pid === undefined) continue
        try { memorySplitMb[name] = JSON.parse(await readFile(join(splitDir, `split-${p.pid}.json`), 'utf8')) } catch {}
      }
    }
    if (heapSnap) {
      for (const [name, p] of net.procs) if (!p.exited && p.pid !== undefined) process.stderr.write(`${name} smaps: ${(await readFile(`/proc/${p.pid}/smaps_rollup`, 'utf8').catch(() => '')).replace(/\n/g, ' ').replace(/\s+/g, ' ')}\n`)
      for (const p of net.procs.values()) if (!p.exited && p.pid !== undefined) process.kill(p.pid, 'SIGUSR2')
      await new Promise((resolve) => setTimeout(resolve, 15_000))
    }
    if (samples.length < 2) throw new Error(`only ${samples.length} memory samples after the first paid job (${failures.join('; ') || 'no job paid yet'}); run longer`)
    const first = samples[0]
    const last = samples[samples.length - 1]
    const mid = samples.reduce((b, s) => Math.abs(s.t - (first.t + last.t) / 2) < Math.abs(b.t - (first.t + last.t) / 2) ? s : b, first)
    const growth: Record<string, number> = {}
    for (const name of roles) {
      const pts = samples.filter((s) => s.rss[name] !== undefined)
      growth[name] = Math.round(10 * 3600 * slope(pts.map((s) => (s.t - first.t) / 1000), pts.map((s) => s.rss[name]))) / 10
    }
    const out = {
      minutes,
      providers,
      jobs: paid,
      failed: failures.length,
      samples: samples.length,
      rssMbByRole: { start: first.rss, middle: mid.rss, end: last.rss },
      rssMaxMb: Math.max(...samples.flatMap((s) => Object.values(s.rss))),
      rssGrowthMbPerHour: growth,
      extrapolated: (last.t - first.t) < 3_600_000,
      ...(split ? { memorySplitMb } : {})
    }
    if (failures.length > 0) process.exitCode = 1
    if (json) process.stdout.write(`${JSON.stringify(out)}\n`)
    else {
      say(`\n${paid} jobs paid, ${failures.length} not paid${failures.length > 0 ? `: ${failures.slice(0, 3).join('; ')}` : ''}`)
      for (const name of roles) say(`${name.padEnd(12)} start ${first.rss[name]} MB, middle ${mid.rss[name]} MB, end ${last.rss[name]} MB, growth ${growth[name]} MB/h${out.extrapolated ? ' (extrapolated)' : ''}`)
      for (const [name, v] of Object.entries(memorySplitMb)) say(`${name.padEnd(12)} split ${JSON.stringify(v)}`)
    }
  } finally {
    await net.stop()
    if (heapSnap || process.env.LILYNODE_BENCH_KEEP === '1') process.stderr.write(`bench:soak: kept ${dir}\n`)
    else await rm(dir, { recursive: true, force: true })
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:soak failed: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})

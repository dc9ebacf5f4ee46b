/**
 * CPU load of one's own, for the benchmarks and tests that must hold on a busy machine: `n`
 * child processes that each spin one core until stopped. Stopping kills them (SIGKILL) and
 * waits for their exit, so nothing outlives the run; a parent that dies takes them along
 * (each child also exits once its parent is gone).
 */
import { spawn, type ChildProcess } from 'node:child_process'

/** At most this many burners at once: more only measures the scheduler. */
export const MAX_CPU_BURNERS = 64

/** Spins the core it gets and checks every ~100 ms that its parent is still alive. */
const BURNER_SOURCE = `const parent = process.ppid
let next = Date.now() + 100
for (;;) {
  if (Date.now() >= next) {
    next = Date.now() + 100
    try { process.kill(parent, 0) } catch { process.exit(0) }
  }
}`

export interface CpuBurners {
  readonly count: number
  /** The burners' process ids. */
  readonly pids: readonly number[]
  /** Kills every burner and waits until each has exited. */
  stop: () => Promise<void>
}

/** Starts `n` CPU-burning processes (0 ≤ n ≤ MAX_CPU_BURNERS) at the default priority. */
export function startCpuBurners (n: number): CpuBurners {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_CPU_BURNERS) {
    throw new RangeError(`the number of CPU burners must be an integer from 0 to ${MAX_CPU_BURNERS}, not ${String(n)}`)
  }
  const children: ChildProcess[] = Array.from({ length: n }, () => spawn(process.execPath, ['-e', BURNER_SOURCE], { stdio: 'ignore' }))
  let stopped: Promise<void> | undefined
  return {
    count: n,
    pids: children.map((c) => c.pid ?? -1),
    stop: async () => {
      stopped ??= Promise.all(children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return
        await new Promise<void>((resolve) => {
          c.once('exit', () => { resolve() })
          c.kill('SIGKILL')
        })
      })).then(() => {})
      await stopped
    }
  }
}

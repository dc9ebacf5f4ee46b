/**
 * Executor benchmark against the local dockerd (`npm run bench:executor [-- --json]`).
 *
 * Overhead: wall time from calling `runJob(...)` to the result being hashed (its `hashed`
 * progress event) for a trivial job (the probe module's `echo`: one printf to stdout and one
 * small output file), sequentially, after two warm-up runs; median and p90 over N runs. In
 * the figure: image check, job folder with inputs, create, start, log stream, wait, inspect,
 * output tar, bundle hash. The clean-up that follows (container and folder removal, until
 * `runJob` returns) is reported apart as `roundTripMsMedian`.
 *
 * Concurrency: 20 such jobs started at once; every one must come back `succeeded` with the
 * expected result (none lost); prints the wall time for all 20.
 *
 * Needs the example images (`npm run images`; built here if missing).
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Docker from 'dockerode'
import { loadModule, removeJobContainers, runJob, type JobOutcome } from '../../src/executor/index.js'
import type { Hash } from '../../src/protocol/types.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const CONCURRENT = 20
const REPO = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..')

const RUN = randomBytes(8).toString('hex')
const dealId = (n: number): Hash => `0x${RUN}${n.toString(16).padStart(48, '0')}`

function quantile (xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

async function main (): Promise<void> {
  const json = process.argv.includes('--json')
  const docker = new Docker()
  try {
    await docker.ping()
  } catch (e) {
    console.error(`Docker is not reachable (${(e as Error).message}): start dockerd with \`bash scripts/setup-docker.sh\``)
    process.exit(1)
  }
  const spec = await loadModule(join(REPO, 'modules', 'probe', 'module.json'))
  try { await docker.getImage(spec.image).inspect() } catch {
    execFileSync('bash', [join(REPO, 'scripts', 'images.sh'), 'probe'], { stdio: 'inherit' })
  }
  const workDir = await mkdtemp(join(tmpdir(), 'lilynode-bench-'))
  let n = 0
  const job = async (onHashed?: () => void): Promise<JobOutcome> => await runJob(docker, {
    dealId: dealId(++n),
    spec,
    inputs: { action: 'echo', arg: 'bench' },
    timeoutS: 120,
    limits: { maxLogBytes: 65536, maxOutputBytes: 1 << 20 },
    allowNetwork: false,
    workDir
  }, { onProgress: (e) => { if (e.kind === 'hashed') onHashed?.() } })
  try {
    const first = await job()
    if (first.status !== 'succeeded') throw new Error(`trivial job did not succeed: ${JSON.stringify(first)}`)
    const expected = first.resultHash
    await job()
    const times: number[] = []
    const rounds: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now()
      let hashedAt = NaN
      const o = await job(() => { hashedAt = performance.now() })
      rounds.push(performance.now() - t0)
      times.push(hashedAt - t0)
      if (o.status !== 'succeeded' || o.resultHash !== expected) throw new Error(`run ${i} gave ${o.status}`)
    }
    const t0 = performance.now()
    const outcomes = await Promise.all(Array.from({ length: CONCURRENT }, async () => await job()))
    const concurrentWallMs = performance.now() - t0
    const ok = outcomes.filter((o) => o.status === 'succeeded' && o.resultHash === expected).length
    let left = 0
    for (let i = 1; i <= n; i++) left += await removeJobContainers(docker, dealId(i))
    const result = {
      overheadMsMedian: Math.round(quantile(times, 0.5)),
      overheadMsP90: Math.round(quantile(times, 0.9)),
      roundTripMsMedian: Math.round(quantile(rounds, 0.5)),
      runs: RUNS,
      concurrentJobs: CONCURRENT,
      concurrentSucceeded: ok,
      concurrentLost: CONCURRENT - ok,
      concurrentWallMs: Math.round(concurrentWallMs),
      containersLeft: left,
      dockerVersion: (await docker.version()).Version
    }
    if (json) {
      console.log(JSON.stringify(result))
    } else {
      console.log(`executor overhead (runJob → result hashed, trivial job): median ${result.overheadMsMedian} ms, p90 ${result.overheadMsP90} ms over ${RUNS} runs (target ≤ 300 ms median)`)
      console.log(`with clean-up (until runJob returns, container and folder removed): median ${result.roundTripMsMedian} ms`)
      console.log(`${CONCURRENT} jobs at once: ${ok}/${CONCURRENT} succeeded with the expected hash in ${result.concurrentWallMs} ms; containers left behind: ${left}`)
      console.log(`docker engine ${result.dockerVersion}`)
    }
    if (ok !== CONCURRENT || left !== 0) process.exitCode = 1
  } finally {
    await rm(workDir, { recursive: true, force: true })
  }
}

await main()

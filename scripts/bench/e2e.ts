/**
 * bench:e2e — from `lilynode run` to a paid result on the devnet (epochMs 1000), with every
 * party a separate OS process (real libp2p, anvil, Docker):
 *   1. latency: `--latency-jobs` trivial jobs one after the other, wall time from starting
 *      `lilynode run` to its exit after the payment (p50, p95);
 *   2. throughput: `--jobs` trivial jobs over `--providers` providers, from `--creators`
 *      creators at once (each runs its jobs in turn), jobs per minute;
 *   gas per deal: openDeal + complete, from the receipts;
 *   3. the ML pipeline (`--pipeline 0` skips it): train:v2.0.0 then infer:v1.0.0 with the first
 *      job's weights and held-back digits as the second's file inputs, each stage's time and the
 *      accuracy the second job measured.
 *   4. under load (`--load N`, N > 0): the latency jobs and `--loaded-jobs` throughput jobs again
 *      beside N CPU-burning processes of the bench's own (stopped after), same devnet.
 * `--json` prints one line: jobs (paid), failed, latencyMsP50, latencyMsP95, jobsPerMinute, gasPerDeal,
 * failures (why each unpaid job ended), stagesMsP50 (median of each stage of the latency jobs: start→offered is process start + join,
 * paid→exit the process stopping after the payment), pipeline ({ accuracy, train, infer }: each
 * job's wall ms and stages, or null when skipped); with `--load N` also load, jobsLoaded (paid),
 * failedLoaded, latencyMsP50Loaded, latencyMsP95Loaded, jobsPerMinuteLoaded.
 * A job that is not paid is counted in `failed` (and the exit code is 1), not hidden.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lilyEscrowAbi } from '../../src/chain/artifacts.js'
import { Devnet } from '../../src/devnet/devnet.js'
import { startCpuBurners } from '../../src/devnet/load.js'
import type { Hash } from '../../src/protocol/types.js'

function arg (name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return def
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`)
  return v
}

const json = process.argv.includes('--json')
const latencyJobs = arg('latency-jobs', 10)
const jobs = arg('jobs', 100)
const providers = arg('providers', 4)
const creators = Math.max(1, arg('creators', 5))
const pipeline = arg('pipeline', 1) !== 0
const load = arg('load', 0)
const loadedJobs = arg('loaded-jobs', 20)
const say = (s: string): void => { if (!json) process.stdout.write(`${s}\n`) }

function pct (xs: number[], p: number): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}

const failures: string[] = []

/** One job; undefined (and the reason recorded) when it did not end paid. */
const STAGES = ['offered', 'matched', 'opened', 'running', 'result', 'paid'] as const

/** Per-stage durations of one job: start → offered (process start, join, deposit), then between consecutive stages (last event of each), then paid → exit (the process stopping). */
function stagesOf (t0: number, events: Array<Record<string, unknown>>, tExit: number): Record<string, number> {
  const out: Record<string, number> = {}
  let prev = t0
  let prevName = 'start'
  for (const s of STAGES) {
    const e = events.filter((x) => x.stage === s).pop()
    if (e === undefined || typeof e.at !== 'number') continue
    out[`${prevName}→${s}`] = e.at - prev
    prev = e.at
    prevName = s
  }
  out[`${prevName}→exit`] = tExit - prev
  return out
}

const stageSamples = new Map<string, number[]>()

async function runOne (net: Devnet, creator: string, i: number, timed = false): Promise<{ ms: number, dealId: Hash } | undefined> {
  const t0 = Date.now()
  const p = net.run(creator, 'probe:v1.0.0', ['action=echo', `arg=bench ${i}`])
  const code = await p.done
  const tExit = Date.now()
  const ms = tExit - t0
  if (code !== 0) {
    failures.push(`job ${i} (${creator}) exit ${String(code)}: ${p.stderrTail.trim().split('\n').pop() ?? ''}`)
    say(`job ${i} NOT paid: ${failures[failures.length - 1]}`)
    return undefined
  }
  const m = p.events.filter((e) => e.stage === 'matched').pop()
  if (timed) {
    for (const [k, v] of Object.entries(stagesOf(t0, p.events, tExit))) stageSamples.set(k, [...(stageSamples.get(k) ?? []), v])
  }
  return { ms, dealId: m?.dealId as Hash }
}

interface PipelineJob { ms: number, stagesMs: Record<string, number> }

/** train → infer through `lilynode run`: the weights and held-back digits of the first are the second's inputs. */
async function runPipeline (net: Devnet, dir: string): Promise<{ accuracy: number, train: PipelineJob, infer: PipelineJob } | undefined> {
  const one = async (module: string, inputs: string[], out: string): Promise<PipelineJob | undefined> => {
    const t0 = Date.now()
    const p = net.run('creator-1', module, inputs, ['--out', out])
    const code = await p.done
    const tExit = Date.now()
    if (code !== 0) {
      failures.push(`pipeline ${module} exit ${String(code)}: ${p.stderrTail.trim().split('\n').pop() ?? ''}`)
      return undefined
    }
    return { ms: tExit - t0, stagesMs: stagesOf(t0, p.events, tExit) }
  }
  const trainOut = join(dir, 'pipeline-train')
  const train = await one('train:v2.0.0', [], trainOut)
  if (train === undefined) return undefined
  say(`pipeline train: ${train.ms} ms (${Object.entries(train.stagesMs).map(([k, v]) => `${k} ${v}`).join(', ')} ms)`)
  const inferOut = join(dir, 'pipeline-infer')
  const infer = await one('infer:v1.0.0', [`model=${join(trainOut, 'outputs', 'model.safetensors')}`, `data=${join(trainOut, 'outputs', 'holdout.csv')}`], inferOut)
  if (infer === undefined) return undefined
  say(`pipeline infer: ${infer.ms} ms (${Object.entries(infer.stagesMs).map(([k, v]) => `${k} ${v}`).join(', ')} ms)`)
  const m = /^accuracy (0\.\d+) \((\d+)\/(\d+)/.exec(await readFile(join(inferOut, 'stdout'), 'utf8'))
  const accuracy = m === null ? 0 : Number(m[2]) / Number(m[3])
  if (accuracy < 0.9) failures.push(`pipeline accuracy ${accuracy} < 0.9`)
  return { accuracy, train, infer }
}

async function gasOf (net: Devnet, dealIds: Hash[]): Promise<number> {
  let total = 0n
  let n = 0
  for (const dealId of dealIds.slice(0, 20)) {
    const q = { abi: lilyEscrowAbi, address: net.profile.escrow, args: { dealId }, fromBlock: 0n, strict: true } as const
    const opened = await net.chain.public.getContractEvents({ ...q, eventName: 'DealOpened' })
    const completed = await net.chain.public.getContractEvents({ ...q, eventName: 'DealCompleted' })
    if (opened.length === 0 || completed.length === 0) continue
    for (const h of [opened[0].transactionHash, completed[0].transactionHash]) {
      total += (await net.chain.public.getTransactionReceipt({ hash: h })).gasUsed
    }
    n++
  }
  return n === 0 ? 0 : Number(total / BigInt(n))
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lily-bench-e2e-'))
  const net = new Devnet({ dataDir: join(dir, 'net'), providers, mediators: 0, creators, epochMs: 1000, log: (l) => say(`devnet: ${l}`) })
  try {
    await net.start()
    const dealIds: Hash[] = []
    /** The latency jobs one after the other, then `count` throughput jobs from every creator at once. */
    const phase = async (label: string, count: number, timed: boolean): Promise<{ lat: number[], paid: number, jobsPerMinute: number, failed: number }> => {
      const failedBefore = failures.length
      const lat: number[] = []
      let paid = 0
      for (let i = 0; i < latencyJobs; i++) {
        const r = await runOne(net, 'creator-1', i, timed)
        if (r === undefined) continue
        lat.push(r.ms)
        dealIds.push(r.dealId)
        paid++
        say(`${label}latency job ${i + 1}/${latencyJobs}: ${r.ms} ms from \`lilynode run\` to paid`)
      }
      const t0 = Date.now()
      let next = 0
      let done = 0
      await Promise.all(Array.from({ length: creators }, async (_, c) => {
        for (;;) {
          const i = next++
          if (i >= count) return
          const r = await runOne(net, `creator-${c + 1}`, latencyJobs + i)
          if (r === undefined) continue
          dealIds.push(r.dealId)
          done++
          if (done % 10 === 0) say(`${label}throughput: ${done}/${count} jobs paid after ${((Date.now() - t0) / 1000).toFixed(1)} s`)
        }
      }))
      const wallMs = Date.now() - t0
      return { lat, paid: paid + done, jobsPerMinute: count === 0 ? 0 : Math.round((done / (wallMs / 60_000)) * 10) / 10, failed: failures.length - failedBefore }
    }
    const quiet = await phase('', jobs, true)
    const lat = quiet.lat
    let loaded: Awaited<ReturnType<typeof phase>> | undefined
    if (load > 0) {
      const burners = startCpuBurners(load)
      try {
        loaded = await phase(`beside ${load} CPU burners: `, loadedJobs, false)
      } finally {
        await burners.stop()
      }
    }
    const ml = pipeline ? await runPipeline(net, dir) : undefined
    const result = {
      jobs: quiet.paid,
      // the quiet phase's and the pipeline's (the loaded phase has its own)
      failed: failures.length - (loaded?.failed ?? 0),
      latencyMsP50: pct(lat, 50),
      latencyMsP95: pct(lat, 95),
      jobsPerMinute: quiet.jobsPerMinute,
      gasPerDeal: await gasOf(net, dealIds),
      stagesMsP50: Object.fromEntries([...stageSamples].map(([k, v]) => [k, pct(v, 50)])),
      pipeline: ml ?? null,
      // why each job that was not paid ended (the run's last stderr line)
      failures,
      ...(loaded !== undefined
        ? {
            load,
            jobsLoaded: loaded.paid,
            failedLoaded: loaded.failed,
            latencyMsP50Loaded: pct(loaded.lat, 50),
            latencyMsP95Loaded: pct(loaded.lat, 95),
            jobsPerMinuteLoaded: loaded.jobsPerMinute
          }
        : {})
    }
    if (failures.length > 0) process.exitCode = 1
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`)
    else {
      say(`\njobs paid            ${result.jobs} of ${latencyJobs + jobs} (${result.failed} not paid${failures.length > 0 ? `: ${failures.join('; ')}` : ''})`)
      if (loaded !== undefined) say(`under load           ${loaded.paid} of ${latencyJobs + loadedJobs} paid beside ${load} CPU burners (${loaded.failed} not paid); latency p50 / p95 ${pct(loaded.lat, 50)} / ${pct(loaded.lat, 95)} ms; ${loaded.jobsPerMinute} jobs/min`)
      say(`latency p50 / p95    ${result.latencyMsP50} / ${result.latencyMsP95} ms (lilynode run → paid, epochMs 1000)`)
      say(`throughput           ${result.jobsPerMinute} jobs/min (${jobs} jobs, ${providers} providers, ${creators} creators at once)`)
      say(`gas per deal         ${result.gasPerDeal} (openDeal + complete)`)
      say(`latency stages p50   ${Object.entries(result.stagesMsP50).map(([k, v]) => `${k} ${v}`).join(', ')} ms`)
      if (ml !== undefined) say(`ML pipeline          train ${ml.train.ms} ms → infer ${ml.infer.ms} ms; accuracy ${ml.accuracy.toFixed(4)} on the held-back digits`)
    }
  } finally {
    await net.stop()
    // LILYNODE_BENCH_KEEP=1 keeps every process's log and database (with LILYNODE_LOG=info: roots, resyncs)
    if (process.env.LILYNODE_BENCH_KEEP === '1') process.stderr.write(`bench:e2e: kept ${dir}\n`)
    else await rm(dir, { recursive: true, force: true })
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:e2e failed: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})

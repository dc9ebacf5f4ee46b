/**
 * Matcher benchmark (`npm run bench:match [-- --json] [-- --quick]`).
 *
 * Welfare: on the same generated markets, `step` against (a) Lilypad's central-solver rule
 * and (b) the optimum (Hungarian assignment) on small unit-capacity markets. Prints jobs
 * matched, total surplus Σ(maxPrice − price) and total price for each.
 *
 * Speed: one `step` from the initial state on J job offers × P provider offers (mixed CPU-only
 * and 1–8 GPU offers of six GPU models), J = P ∈ {1k, 10k, 100k}; each size runs in its own
 * child process so that its peak RSS is its own. Median of several runs, one thread.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { DomainHasher } from '../../src/protocol/eip712.js'
import { initialState, step } from '../../src/matching/index.js'
import type { EpochInput, MatcherConfig, OfferRecord } from '../../src/matching/index.js'
import { effectiveJobs, effectiveResources } from '../../src/matching/offers.js'
import { lilypadRule, optimalUnitCapacity } from '../../src/matching/baselines.js'
import type { BaselineMatch } from '../../src/matching/baselines.js'

const EPOCH = 1000n
const hasher = new DomainHasher({ name: 'lilynode', version: '1', chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' })
const CONFIG: MatcherConfig = {
  seedPrefix: '0x6c696c796e6f64652d62656e63682d70726f66696c652d686173682d30303031',
  reserveEpochs: 3,
  openBy: (e) => 1_700_000_000n + (e + 4n) * 30n
}

/** Deterministic PRNG (mulberry32) so every run generates the same markets. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function hex (r: () => number, bytes: number): `0x${string}` {
  let s = '0x'
  for (let i = 0; i < bytes; i++) s += Math.floor(r() * 256).toString(16).padStart(2, '0')
  return s as `0x${string}`
}

interface Market { jobs: Array<OfferRecord<JobOffer>>, resources: Array<OfferRecord<ResourceOffer>> }

const GPU_MODELS: Array<[string, number]> = [['Tesla T4', 16384], ['NVIDIA A10', 24576], ['RTX 4090', 24576], ['A100-SXM4-40GB', 40960], ['A100-SXM4-80GB', 81920], ['H100 80GB HBM3', 81920]]
/** Reference market prices per resource-second, in wei. */
const REF = { cpu: 20_000, ram: 2_000, gpu: 200_000_000, disk: 10 }

interface ModuleSpec { hash: Hash, cpu: number, ram: number, gpus: number, gpuVram: number, disk: number }

/**
 * A market like the one the network expects: jobs come from a catalogue of modules (their
 * default resources, sometimes doubled), providers are CPU boxes or 1–8 GPU machines that
 * publish one or two offers and sometimes a newer version; prices scatter ±50 % around a
 * reference, maxPrices ±70 %; a few percent of offers are expired or not yet effective.
 */
export function generate (nJobs: number, nProviders: number, seed: number): Market {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const modules: ModuleSpec[] = []
  for (let i = 0; i < 40; i++) {
    const gpu = i >= 24
    const gpus = gpu ? pick([1, 1, 1, 2, 2, 4, 8]) : 0
    modules.push({
      hash: hex(r, 32),
      cpu: pick([250, 500, 1000, 2000, 4000, 8000]),
      ram: pick([256, 512, 1024, 2048, 4096, 8192, 16384]),
      gpus,
      gpuVram: gpu ? pick([8192, 16384, 24576, 40960, 81920]) : 0,
      disk: pick([100, 1024, 4096, 10240])
    })
  }
  const nProviderAddrs = Math.max(1, Math.floor(nProviders / 2))
  const providers: Address[] = Array.from({ length: nProviderAddrs }, () => hex(r, 20))
  const creators: Address[] = Array.from({ length: Math.max(1, Math.floor(nJobs / 5)) }, (_, i) => i % 50 === 0 ? pick(providers) : hex(r, 20))

  const resources: Array<OfferRecord<ResourceOffer>> = []
  for (let i = 0; i < nProviders; i++) {
    const gpu = r() < 0.4
    const [gpuModel, gpuVram] = gpu ? pick(GPU_MODELS) : ['', 0]
    const gpus = gpu ? pick([1, 1, 2, 2, 4, 8]) : 0
    const scale = (x: number): bigint => BigInt(Math.max(1, Math.round(x * (0.5 + r()))))
    const offer: ResourceOffer = {
      provider: providers[i % nProviderAddrs],
      nonce: BigInt(Math.floor(i / nProviderAddrs)),
      version: 1,
      cpu: gpu ? pick([8000, 16000, 32000, 64000]) : pick([2000, 4000, 8000, 16000, 32000, 64000]),
      ram: gpu ? pick([32768, 65536, 131072, 262144]) : pick([4096, 8192, 16384, 32768, 65536]),
      gpus,
      gpuVram,
      disk: pick([20480, 51200, 102400, 512000]),
      gpuModel,
      priceCpu: scale(REF.cpu),
      priceRam: scale(REF.ram),
      priceGpu: gpu ? scale(REF.gpu) : 0n,
      priceDisk: scale(REF.disk),
      modules: r() < 0.7 ? [] : Array.from({ length: 4 + Math.floor(r() * 8) }, () => pick(modules).hash),
      collateral: pick([0n, 10n ** 15n, 10n ** 16n, 10n ** 17n]),
      epoch: EPOCH - BigInt(Math.floor(r() * 20)),
      expiryEpoch: EPOCH + BigInt(Math.floor(r() * 50)) - (r() < 0.03 ? 60n : 0n)
    }
    resources.push({ id: hasher.digest('ResourceOffer', offer), offer })
    if (r() < 0.1) {
      // a newer version of the same slot, effective now or only later
      const v2: ResourceOffer = { ...offer, version: 2, priceCpu: scale(REF.cpu), priceRam: scale(REF.ram), priceGpu: gpu ? scale(REF.gpu) : 0n, epoch: EPOCH + (r() < 0.7 ? 0n : 5n) }
      resources.push({ id: hasher.digest('ResourceOffer', v2), offer: v2 })
    }
  }

  const jobs: Array<OfferRecord<JobOffer>> = []
  for (let i = 0; i < nJobs; i++) {
    const m = r() < 0.7 ? modules[Math.floor(r() * 24)] : modules[24 + Math.floor(r() * 16)]
    const big = r() < 0.2 ? 2 : 1
    const cpu = m.cpu * big; const ram = m.ram * big; const disk = m.disk
    const timeout = pick([60, 300, 600, 1800, 3600])
    const ref = (REF.cpu * cpu + REF.ram * ram + REF.gpu * m.gpus + REF.disk * disk) * timeout
    const offer: JobOffer = {
      creator: pick(creators),
      nonce: BigInt(i),
      module: m.hash,
      inputsHash: hex(r, 32),
      cpu, ram, gpus: m.gpus, gpuVram: m.gpuVram, disk,
      maxPrice: BigInt(Math.round(ref * (0.3 + 1.4 * r()))),
      timeout,
      collateral: r() < 0.6 ? 0n : pick([10n ** 15n, 10n ** 16n]),
      epoch: EPOCH - BigInt(Math.floor(r() * 5)) + (r() < 0.02 ? 3n : 0n),
      expiryEpoch: EPOCH + BigInt(Math.floor(r() * 10))
    }
    jobs.push({ id: hasher.digest('JobOffer', offer), offer })
  }
  return { jobs, resources }
}

/** Small markets in which no provider offer fits two jobs (cpu and ram between 1× and 2× a job's). */
export function generateUnit (nJobs: number, nProviders: number, seed: number): Market {
  const r = rng(seed)
  const module = hex(r, 32)
  const jobs: Array<OfferRecord<JobOffer>> = []
  for (let i = 0; i < nJobs; i++) {
    const cpu = 2000 + Math.floor(r() * 2000); const ram = 2048 + Math.floor(r() * 2048)
    const timeout = 100 + Math.floor(r() * 900)
    const ref = (REF.cpu * cpu + REF.ram * ram) * timeout
    const offer: JobOffer = { creator: hex(r, 20), nonce: BigInt(i), module, inputsHash: hex(r, 32), cpu, ram, gpus: 0, gpuVram: 0, disk: 0, maxPrice: BigInt(Math.round(ref * (0.4 + 1.2 * r()))), timeout, collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH }
    jobs.push({ id: hasher.digest('JobOffer', offer), offer })
  }
  const resources: Array<OfferRecord<ResourceOffer>> = []
  for (let i = 0; i < nProviders; i++) {
    const offer: ResourceOffer = {
      provider: hex(r, 20), nonce: 0n, version: 1, cpu: 2000 + Math.floor(r() * 1999), ram: 2048 + Math.floor(r() * 2047), gpus: 0, gpuVram: 0, disk: 0, gpuModel: '',
      priceCpu: BigInt(Math.round(REF.cpu * (0.5 + r()))), priceRam: BigInt(Math.round(REF.ram * (0.5 + r()))), priceGpu: 0n, priceDisk: 0n, modules: [], collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH
    }
    resources.push({ id: hasher.digest('ResourceOffer', offer), offer })
  }
  return { jobs, resources }
}

/**
 * Small single-GPU markets: every provider offer is one GPU machine (one job at a time), jobs
 * need one GPU with at least some vram; feasibility is nested (more vram fits more jobs).
 */
export function generateUnitGpu (nJobs: number, nProviders: number, seed: number): Market {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const module = hex(r, 32)
  const jobs: Array<OfferRecord<JobOffer>> = []
  for (let i = 0; i < nJobs; i++) {
    const gpuVram = pick([8192, 16384, 24576, 40960, 81920])
    const timeout = 300 + Math.floor(r() * 3300)
    const ref = (REF.cpu * 4000 + REF.ram * 16384 + REF.gpu * (gpuVram / 16384)) * timeout
    const offer: JobOffer = { creator: hex(r, 20), nonce: BigInt(i), module, inputsHash: hex(r, 32), cpu: 4000, ram: 16384, gpus: 1, gpuVram, disk: 1024, maxPrice: BigInt(Math.round(ref * (0.4 + 1.2 * r()))), timeout, collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH }
    jobs.push({ id: hasher.digest('JobOffer', offer), offer })
  }
  const resources: Array<OfferRecord<ResourceOffer>> = []
  for (let i = 0; i < nProviders; i++) {
    const [gpuModel, gpuVram] = pick(GPU_MODELS)
    const offer: ResourceOffer = {
      provider: hex(r, 20), nonce: 0n, version: 1, cpu: 4000 + Math.floor(r() * 3999), ram: 16384 + Math.floor(r() * 16383), gpus: 1, gpuVram, disk: 102400, gpuModel,
      priceCpu: BigInt(Math.round(REF.cpu * (0.5 + r()))), priceRam: BigInt(Math.round(REF.ram * (0.5 + r()))), priceGpu: BigInt(Math.round(REF.gpu * (gpuVram / 16384) * (0.5 + r()))), priceDisk: 0n, modules: [], collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH
    }
    resources.push({ id: hasher.digest('ResourceOffer', offer), offer })
  }
  return { jobs, resources }
}

interface Welfare { matched: number, surplus: bigint, paid: bigint }

function welfare (jobs: ReadonlyArray<OfferRecord<JobOffer>>, ms: ReadonlyArray<{ jobId: Hash, price: bigint }>): Welfare {
  const maxPrice = new Map(jobs.map((j) => [j.id, j.offer.maxPrice]))
  let surplus = 0n; let paid = 0n
  for (const m of ms) { surplus += (maxPrice.get(m.jobId) as bigint) - m.price; paid += m.price }
  return { matched: ms.length, surplus, paid }
}

function ours (m: Market): BaselineMatch[] {
  const out = step(initialState(), m, { opened: [], closed: [] }, EPOCH, CONFIG)
  return out.matches.map((x) => ({ jobId: x.jobId, resourceId: x.resourceId, price: x.deal.price }))
}

/** Lilypad's rule sees the same effective offers, in arrival order (the generator's order). */
function lilypad (m: Market, capacity: 'offer' | 'shared' = 'offer'): BaselineMatch[] {
  const jobIds = new Set(effectiveJobs(m.jobs, EPOCH).map((j) => j.id))
  const resIds = new Set(effectiveResources(m.resources, EPOCH).map((x) => x.id))
  return lilypadRule(m.jobs.filter((j) => jobIds.has(j.id)), m.resources.filter((x) => resIds.has(x.id)), capacity)
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * Memory: `peakRssMb` is the child process's peak RSS over the timed runs (Node itself, the
 * generated market of J + P offers with their ids, and the step's working memory and result);
 * `rssBeforeMb` is its RSS with the market loaded and collected, before the first step, so
 * `peakRssMb − rssBeforeMb` is what the steps added on top.
 */
interface SpeedResult { jobs: number, providers: number, runs: number, stepMsMedian: number, stepMsMin: number, cpuMsMedian: number, steadyMsMedian: number, reservedCarried: number, rssBeforeMb: number, peakRssMb: number, matched: number }

/** Child process: times `step` on one market size. */
function speedChild (n: number, runs: number): SpeedResult {
  // the child runs with --expose-gc: the garbage of generating the market (EIP-712 hashing of
  // every offer) is collected before measuring, and each run starts from a collected heap, as a
  // node's step does between epochs; collection is outside the timed region, and the step's own
  // garbage is collected inside it whenever V8 needs to
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => {})
  const m = generate(n, n, 42 + n)
  collect()
  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20
  const times: number[] = []
  const cpu: number[] = []
  let matched = 0
  for (let i = 0; i < runs; i++) {
    collect()
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const out = step(initialState(), m, { opened: [], closed: [] }, EPOCH, CONFIG)
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
    matched = out.matches.length
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024
  // the next epoch, carrying this epoch's reservations: held capacity and taken jobs
  const first = step(initialState(), m, { opened: [], closed: [] }, EPOCH, CONFIG)
  const steady: number[] = []
  for (let i = 0; i < runs; i++) {
    collect()
    const t0 = process.hrtime.bigint()
    step(first.state, m, { opened: [], closed: [] }, EPOCH + 1n, CONFIG)
    steady.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return { jobs: n, providers: m.resources.length, runs, stepMsMedian: median(times), stepMsMin: Math.min(...times), cpuMsMedian: median(cpu), steadyMsMedian: median(steady), reservedCarried: first.state.reserved.length, rssBeforeMb, peakRssMb, matched }
}

function speed (n: number, runs: number): SpeedResult {
  const self = fileURLToPath(import.meta.url)
  const res = spawnSync(process.execPath, ['--expose-gc', self, '--child', String(n), String(runs)], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (res.status !== 0) throw new Error(`speed child for n=${n} failed (status ${res.status}): ${res.stderr}`)
  return JSON.parse(res.stdout.trim().split('\n').pop() as string) as SpeedResult
}

const fmt = (w: Welfare): string => `matched ${String(w.matched).padStart(6)}  surplus ${w.surplus.toString().padStart(22)}  paid ${w.paid.toString().padStart(22)}`

function main (): void {
  const argv = process.argv.slice(2)
  if (argv[0] === '--child') {
    process.stdout.write(JSON.stringify(speedChild(Number(argv[1]), Number(argv[2]))) + '\n')
    return
  }
  const json = argv.includes('--json')
  const quick = argv.includes('--quick')
  const speedOnly = argv.includes('--speed-only')
  const log = (s: string): void => { if (!json) process.stdout.write(s + '\n') }

  if (!speedOnly) log('== welfare: ours vs Lilypad rule (same markets, same effective offers) ==')
  const welfareSizes = speedOnly ? [] : quick ? [1000] : [1000, 10000]
  let lilyAt10k: Welfare | undefined; let oursAt10k: Welfare | undefined; let lilySharedAt10k: Welfare | undefined
  let allAtLeast = true
  let smallAtLeast = true
  /** single small markets in which ours matches fewer jobs than the Lilypad rule, of all small markets */
  let smallFewer = 0; let smallMarkets = 0
  for (const n of welfareSizes) {
    const m = generate(n, n, 7 + n)
    const a = welfare(m.jobs, ours(m))
    const t0 = performance.now()
    const b = welfare(m.jobs, lilypad(m, 'offer'))
    const lilyMs = performance.now() - t0
    const c = welfare(m.jobs, lilypad(m, 'shared'))
    if (a.matched < b.matched) allAtLeast = false
    log(`${n} job offers x ${n} provider offers (${m.resources.length} with versions)   target jobs ours ≥ lilypad rule: ${a.matched >= b.matched ? 'MET' : 'NOT MET'}`)
    log(`  ours                          ${fmt(a)}`)
    log(`  lilypad rule (1 deal / offer) ${fmt(b)}   (${lilyMs.toFixed(0)} ms, O(J·P))`)
    log(`  lilypad order, shared capacity ${fmt(c)}`)
    lilyAt10k = b; oursAt10k = a; lilySharedAt10k = c
  }

  if (!speedOnly) log('== welfare: ours vs optimum (Hungarian) on small unit-capacity markets: 20 × 40×40 per family ==')
  const families: Array<[string, (j: number, p: number, s: number) => Market]> = [['random 2-D fit (cpu, ram)', generateUnit], ['single-GPU machines', generateUnitGpu]]
  let sumOurs = 0n; let sumOpt = 0n
  const familyRatios: Record<string, number> = {}
  const familyMatched: Record<string, { ours: number, optimum: number, lilypadRule: number, atLeastLilypad: boolean, singleMarketsFewer: number, surplusTargetMet: boolean }> = {}
  if (speedOnly) families.length = 0
  for (const [name, gen] of families) {
    let fOurs = 0n; let fOpt = 0n; let fLily = 0n; let worst = 1; let mOurs = 0; let mOpt = 0; let mLily = 0; let fewer = 0
    for (let s = 0; s < 20; s++) {
      const m = gen(40, 40, 1000 + s)
      const a = welfare(m.jobs, ours(m)); const o = welfare(m.jobs, optimalUnitCapacity(m.jobs, m.resources)); const l = welfare(m.jobs, lilypad(m))
      fOurs += a.surplus; fOpt += o.surplus; fLily += l.surplus
      mOurs += a.matched; mOpt += o.matched; mLily += l.matched
      if (a.matched < l.matched) { smallAtLeast = false; fewer++ }
      if (o.surplus > 0n) worst = Math.min(worst, Number(a.surplus) / Number(o.surplus))
    }
    sumOurs += fOurs; sumOpt += fOpt
    familyRatios[name] = Number(fOurs) / Number(fOpt)
    log(`  ${name}`)
    log(`    ours          matched ${mOurs}  surplus ${fOurs}`)
    log(`    optimum       matched ${mOpt}  surplus ${fOpt}`)
    log(`    lilypad rule  matched ${mLily}  surplus ${fLily}`)
    log(`    single markets where ours matches fewer jobs than the lilypad rule: ${fewer} of 20`)
    smallFewer += fewer; smallMarkets += 20
    log(`    ours / optimum surplus: ${(familyRatios[name] * 100).toFixed(2)} % over the family, worst market ${(worst * 100).toFixed(2)} % (target ≥ 95 %)`)
    familyMatched[name] = { ours: mOurs, optimum: mOpt, lilypadRule: mLily, atLeastLilypad: mOurs >= mLily, singleMarketsFewer: fewer, surplusTargetMet: familyRatios[name] >= 0.95 }
    log(`    target surplus ≥ 95 % of optimum: ${familyRatios[name] >= 0.95 ? 'MET' : 'NOT MET'}; target jobs ours ≥ lilypad rule (family total): ${mOurs >= mLily ? 'MET' : 'NOT MET'}`)
  }
  const ratio = Number(sumOurs) / Number(sumOpt)

  log('== speed: one step from the initial state, J = P, median of runs, own process each ==')
  const sizes: Array<[number, number]> = quick ? [[1000, 9], [10000, 5]] : [[1000, 15], [10000, 7], [100000, 3]]
  const results = sizes.map(([n, runs]) => speed(n, runs))
  for (const r of results) {
    log(`  ${String(r.jobs).padStart(6)} jobs x ${String(r.providers).padStart(6)} offers: median ${r.stepMsMedian.toFixed(1)} ms wall (min ${r.stepMsMin.toFixed(1)}; CPU ${r.cpuMsMedian.toFixed(1)} ms; ${r.runs} runs), matched ${r.matched}, RSS ${r.rssBeforeMb.toFixed(0)} MB with the market loaded, peak ${r.peakRssMb.toFixed(0)} MB`)
    log(`  ${' '.repeat(30)}next epoch carrying ${r.reservedCarried} reservations: median ${r.steadyMsMedian.toFixed(1)} ms wall`)
  }
  for (let i = 1; i < results.length; i++) {
    const a = results[i - 1]; const b = results[i]
    const nlogn = (b.jobs * Math.log2(b.jobs)) / (a.jobs * Math.log2(a.jobs))
    log(`  growth ${a.jobs} → ${b.jobs}: ×${(b.stepMsMedian / a.stepMsMedian).toFixed(1)} wall, ×${(b.cpuMsMedian / a.cpuMsMedian).toFixed(1)} CPU (n·log n predicts ×${nlogn.toFixed(1)}, n² ×${((b.jobs / a.jobs) ** 2).toFixed(0)})`)
  }
  const at10k = results.find((r) => r.jobs === 10000) as SpeedResult
  log(`  target 10k step median ≤ 250 ms: ${at10k.stepMsMedian <= 250 ? 'MET' : 'NOT MET'} (${at10k.stepMsMedian.toFixed(1)} ms); peak RSS ≤ 300 MB: ${at10k.peakRssMb <= 300 ? 'MET' : 'NOT MET'} (${at10k.peakRssMb.toFixed(0)} MB)`)
  if (json) {
    process.stdout.write(JSON.stringify({
      jobs: at10k.jobs,
      providers: at10k.providers,
      stepMsMedian: Number(at10k.stepMsMedian.toFixed(2)),
      peakRssMb: Number(at10k.peakRssMb.toFixed(1)),
      rssMarketLoadedMb: Number(at10k.rssBeforeMb.toFixed(1)),
      peakRssAboveMarketMb: Number((at10k.peakRssMb - at10k.rssBeforeMb).toFixed(1)),
      matchedOurs: oursAt10k?.matched,
      matchedLilypadRule: lilyAt10k?.matched,
      surplusOurs: oursAt10k?.surplus.toString(),
      surplusLilypadRule: lilyAt10k?.surplus.toString(),
      matchedLilypadOrderSharedCapacity: lilySharedAt10k?.matched,
      surplusLilypadOrderSharedCapacity: lilySharedAt10k?.surplus.toString(),
      surplusOursSmall: sumOurs.toString(),
      surplusOptimalSmall: sumOpt.toString(),
      surplusRatioSmall: Number(ratio.toFixed(4)),
      surplusRatioSmallByFamily: familyRatios,
      matchedSmallByFamily: familyMatched,
      matchedAtLeastLilypad: allAtLeast,
      matchedAtLeastLilypadSmallMarkets: smallAtLeast,
      smallMarketsFewerThanLilypad: smallFewer,
      smallMarkets,
      stepCpuMsMedian: Number(at10k.cpuMsMedian.toFixed(2)),
      stepMsMedianNextEpoch: Number(at10k.steadyMsMedian.toFixed(2)),
      sizes: results.map((r) => ({ jobs: r.jobs, providers: r.providers, stepMsMedian: Number(r.stepMsMedian.toFixed(2)), stepCpuMsMedian: Number(r.cpuMsMedian.toFixed(2)), peakRssMb: Number(r.peakRssMb.toFixed(1)), rssMarketLoadedMb: Number(r.rssBeforeMb.toFixed(1)) }))
    }) + '\n')
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()

/**
 * Matcher benchmark (`npm run bench:match [-- --json] [-- --quick]`).
 *
 * Welfare: on the same generated markets, `step` against (a) Lilypad's central-solver rule
 * and (b) the optimum (Hungarian assignment) on small unit-capacity markets. Prints jobs
 * matched, total surplus Σ(maxPrice − price) and total price for each.
 *
 * Speed: one `step` from the initial state on J job offers × P provider offers (mixed CPU-only
 * and 1–8 GPU offers of six GPU models), J = P ∈ {1k, 10k, 100k}; each size runs in its own
 * child process so that its peak RSS is its own. Median of several runs, one thread. Then the
 * heterogeneous family and the adversarial ones (`generateHet`) at 10k and 100k, with
 * `stepMsMedian`, `stepCpuMsMedian` and `peakRssMb` per family and size (`families` in the JSON)
 * and the targets checked on CPU time (`familyTargets`).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { initialState, jobPrice, step } from '../../src/matching/index.js'
import type { EpochInput, MatcherConfig, OfferRecord } from '../../src/matching/index.js'
import { effectiveJobs, effectiveResources } from '../../src/matching/offers.js'
import { lilypadRule, optimalUnitCapacity } from '../../src/matching/baselines.js'
import type { BaselineMatch } from '../../src/matching/baselines.js'

import { grinding, priority } from './matchGames.js'
import { jobSplitting, offerSplitting, priorityGame } from './matchIncentives.js'
import { CONFIG, EPOCH, FAMILIES, distinctShapes, generate, generateHet, generateUnit, generateUnitGpu } from './matchMarkets.js'
import type { Family, Market } from './matchMarkets.js'
export { generate, generateHet, generateUnit, generateUnitGpu } from './matchMarkets.js'

interface Welfare { matched: number, surplus: bigint, paid: bigint }

function welfare (jobs: ReadonlyArray<OfferRecord<JobOffer>>, ms: ReadonlyArray<{ jobId: Hash, price: bigint }>): Welfare {
  const maxPrice = new Map(jobs.map((j) => [j.id, j.offer.maxPrice]))
  let surplus = 0n; let paid = 0n
  for (const m of ms) { surplus += (maxPrice.get(m.jobId) as bigint) - m.price; paid += m.price }
  return { matched: ms.length, surplus, paid }
}

/**
 * Our matches priced at the provider's ask (`jobPrice`), as the baselines are, so that the
 * surplus Σ(maxPrice − ask) compared is the gains from trade whatever the payment rule; the
 * deal price (k = ½ midpoint) only splits it (`dealPaid`: what the deals carry).
 */
function ours (m: Market): BaselineMatch[] & { dealPaid?: bigint } {
  const out = step(initialState(), m, { opened: [], closed: [] }, EPOCH, CONFIG)
  const res = new Map(m.resources.map((r) => [r.id, r.offer]))
  const job = new Map(m.jobs.map((j) => [j.id, j.offer]))
  const ms: BaselineMatch[] & { dealPaid?: bigint } = out.matches.map((x) => ({ jobId: x.jobId, resourceId: x.resourceId, price: jobPrice(job.get(x.jobId) as JobOffer, res.get(x.resourceId) as ResourceOffer) }))
  ms.dealPaid = out.matches.reduce((a, x) => a + x.deal.price, 0n)
  return ms
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
interface SpeedResult { family: Family, jobs: number, providers: number, runs: number, stepMsMedian: number, stepMsMin: number, cpuMsMedian: number, steadyMsMedian: number, reservedCarried: number, rssBeforeMb: number, peakRssMb: number, matched: number, distinctShapes: number }

/** Child process: times `step` on one market size of one family. */
function speedChild (family: Family, n: number, runs: number): SpeedResult {
  // the child runs with --expose-gc: the garbage of generating the market (EIP-712 hashing of
  // every offer) is collected before measuring, and each run starts from a collected heap, as a
  // node's step does between epochs; collection is outside the timed region, and the step's own
  // garbage is collected inside it whenever V8 needs to
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => {})
  const m = family === 'generated' ? generate(n, n, 42 + n) : generateHet(n, 77 + n, family)
  const shapes = distinctShapes(m)
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
  return { family, distinctShapes: shapes, jobs: n, providers: m.resources.length, runs, stepMsMedian: median(times), stepMsMin: Math.min(...times), cpuMsMedian: median(cpu), steadyMsMedian: median(steady), reservedCarried: first.state.reserved.length, rssBeforeMb, peakRssMb, matched }
}

function speed (n: number, runs: number, family: Family = 'generated'): SpeedResult {
  const self = fileURLToPath(import.meta.url)
  const res = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=4096', self, '--child', String(n), String(runs), family], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (res.status !== 0) throw new Error(`speed child for ${family} n=${n} failed (status ${res.status}): ${res.stderr}`)
  return JSON.parse(res.stdout.trim().split('\n').pop() as string) as SpeedResult
}

const fmt = (w: Welfare): string => `matched ${String(w.matched).padStart(6)}  surplus ${w.surplus.toString().padStart(22)}  paid ${w.paid.toString().padStart(22)}`

/** The incentive games (matchGames.ts, matchIncentives.ts), printed and returned for the JSON line. */
function runGames (log: (s: string) => void, quick: boolean): Record<string, unknown> {
  log('== grinding: an attacker re-rolls its offer nonce against 100 identical honest offers, 10 jobs an epoch ==')
  const g = grinding(quick ? 30 : 100, 10_000)
  log(`  ${g.epochs} epochs, ${g.nonces} nonces each: public seed keccak(profile ‖ epoch): attacker served in ${g.winsPublicSeed} of ${g.epochs} epochs; seed block after the offer deadline: ${g.winsSeedBlock} (fair share ${g.fairWins}, σ ${g.sigma}, ${((g.winsSeedBlock - g.fairWins) / g.sigma).toFixed(2)}σ from it: ${g.withinThreeSigma ? 'within' : 'NOT within'} 3σ)`)
  log('== priority: 32 jobs bidding 2^96 − 1 against 40 honest jobs for 32 slots ==')
  const p = priority()
  log(`  the max bidder is served ${p.maxBidderServed} of 32 (honest ${p.honestServed}); it pays per job ${p.maxBidderPaidPerJob} (today, k = ½ midpoint) vs ${p.maxBidderPaidPerJobAskRule} (old rule: the ask)`)
  const pgs = [priorityGame(false), priorityGame(true)]
  for (const pg of pgs) {
    log(`== priority game, ${pg.market}: ${pg.markets} markets of ${pg.jobsPerMarket} jobs × ${pg.offersPerMarket} unit offers (excess demand), ${pg.deviatorsPerMarket} deviating jobs each; optimum (honest bids) matches ${pg.optimumMatched}, surplus ${pg.optimumSurplus} ==`)
    for (const x of pg.scenarios) {
      log(`  ${x.name.padEnd(28)} matched ${x.matched} (deviators ${x.deviatorsMatched}), total surplus ${(x.ofOptimum * 100).toFixed(2)} % of optimum`)
      log(`    today (midpoint): provider revenue ${x.today.providerRevenue}, creator surplus ${x.today.creatorSurplus}, deviators' gain ${x.today.deviatorGain}`)
      log(`    old (ask):        provider revenue ${x.oldAskRule.providerRevenue}, creator surplus ${x.oldAskRule.creatorSurplus}, deviators' gain ${x.oldAskRule.deviatorGain}`)
    }
  }
  log('== splitting an offer: one 64-GPU offer vs 64 one-GPU offers, equal prices, d one-GPU jobs an epoch ==')
  const os = offerSplitting(undefined, quick ? 40 : 100)
  for (const x of os) log(`  demand ${String(x.demand).padStart(3)}: split side ${x.splitJobs}, whole offer ${x.wholeJobs}: split share ${(x.splitShare * 100).toFixed(1)} % (capacity share 50 %)`)
  log('== splitting a job: 8 units of work as 8 jobs or one, among 56 honest one-unit jobs, 32 units of capacity ==')
  const js = jobSplitting(quick ? 20 : 50)
  for (const x of js) log(`  as ${x.as.padEnd(16)}: served ${x.unitsServed} of ${x.unitsOffered} units, paid ${x.paidPerUnit} per unit; honest units served ${x.honestUnitsServed}`)
  return { grinding: g, priorityMaxBid: p, priorityGame: pgs, offerSplitting: os, jobSplitting: js }
}

function main (): void {
  const argv = process.argv.slice(2)
  if (argv[0] === '--child') {
    process.stdout.write(JSON.stringify(speedChild((argv[3] ?? 'generated') as Family, Number(argv[1]), Number(argv[2]))) + '\n')
    return
  }
  const json = argv.includes('--json')
  const quick = argv.includes('--quick')
  const speedOnly = argv.includes('--speed-only')
  const noGames = argv.includes('--no-games')
  // sizes of the speed runs and of the families: 1k and 10k by default (--quick: 10k families
  // only), --large adds 100k, --sizes=1000,10000,100000 picks them
  const sizesArg = argv.find((a) => a.startsWith('--sizes='))
  const picked = sizesArg !== undefined
    ? sizesArg.slice('--sizes='.length).split(',').map((x) => Number(x))
    : quick ? [1000, 10000] : argv.includes('--large') ? [1000, 10000, 100000] : [1000, 10000]
  if (picked.some((n) => !Number.isSafeInteger(n) || n < 10 || n > 1_000_000)) throw new Error(`--sizes must be integers in [10, 1000000], got ${sizesArg ?? ''}`)
  if (!picked.includes(10000)) picked.push(10000)
  picked.sort((a, b) => a - b)
  const runsFor = (n: number): number => n <= 1000 ? (quick ? 9 : 15) : n <= 10000 ? (quick ? 5 : 7) : 3
  const log = (s: string): void => { if (!json) process.stdout.write(s + '\n') }

  if (!speedOnly) log('== welfare: ours vs Lilypad rule (same markets, same effective offers) ==')
  const welfareSizes = speedOnly ? [] : quick ? [1000] : [1000, 10000]
  let oursDealPaid: bigint | undefined
  let lilyAt10k: Welfare | undefined; let oursAt10k: Welfare | undefined; let lilySharedAt10k: Welfare | undefined
  let allAtLeast = true
  let smallAtLeast = true
  /** single small markets in which ours matches fewer jobs than the Lilypad rule, of all small markets */
  let smallFewer = 0; let smallMarkets = 0
  for (const n of welfareSizes) {
    const m = generate(n, n, 7 + n)
    const mine = ours(m)
    const a = welfare(m.jobs, mine)
    oursDealPaid = mine.dealPaid
    const t0 = performance.now()
    const b = welfare(m.jobs, lilypad(m, 'offer'))
    const lilyMs = performance.now() - t0
    const c = welfare(m.jobs, lilypad(m, 'shared'))
    if (a.matched < b.matched) allAtLeast = false
    log(`${n} job offers x ${n} provider offers (${m.resources.length} with versions)   target jobs ours ≥ lilypad rule: ${a.matched >= b.matched ? 'MET' : 'NOT MET'}`)
    log(`  ours                          ${fmt(a)}   (surplus and paid at the ask; the deals carry ${String(mine.dealPaid)} in all)`)
    log(`  lilypad rule (1 deal / offer) ${fmt(b)}   (${lilyMs.toFixed(0)} ms, O(J·P))`)
    log(`  lilypad order, shared capacity ${fmt(c)}`)
    lilyAt10k = b; oursAt10k = a; lilySharedAt10k = c
  }

  if (!speedOnly) log('== welfare: ours vs optimum (Hungarian) on small unit-capacity markets: 20 × 40×40 per family ==')
  const smallFamilies: Array<[string, (j: number, p: number, s: number) => Market]> = [['random 2-D fit (cpu, ram)', generateUnit], ['single-GPU machines', generateUnitGpu]]
  let sumOurs = 0n; let sumOpt = 0n
  const familyRatios: Record<string, number> = {}
  const familyMatched: Record<string, { ours: number, optimum: number, lilypadRule: number, atLeastLilypad: boolean, singleMarketsFewer: number, surplusTargetMet: boolean }> = {}
  if (speedOnly) smallFamilies.length = 0
  for (const [name, gen] of smallFamilies) {
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
  const sizes: Array<[number, number]> = picked.map((n) => [n, runsFor(n)])
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
  // heterogeneous and adversarial families at the picked sizes from 10k (quick: 10k), each size its own process
  const famSizes: Array<[number, number]> = quick ? [[10000, 5]] : picked.filter((n) => n >= 10000).map((n) => [n, n <= 10000 ? 5 : 3])
  const families: Record<string, Record<string, { stepMsMedian: number, stepCpuMsMedian: number, peakRssMb: number, matched: number, providers: number, distinctShapes: number }>> = {}
  const famRes = new Map<string, SpeedResult>()
  for (const fam of FAMILIES) {
    families[fam] = {}
    for (const [n, runs] of famSizes) {
      const r = speed(n, runs, fam)
      famRes.set(`${fam}:${n}`, r)
      families[fam][String(n)] = { stepMsMedian: Number(r.stepMsMedian.toFixed(2)), stepCpuMsMedian: Number(r.cpuMsMedian.toFixed(2)), peakRssMb: Number(r.peakRssMb.toFixed(1)), matched: r.matched, providers: r.providers, distinctShapes: r.distinctShapes }
      log(`  ${fam.padEnd(13)} ${String(n).padStart(6)} x ${String(r.providers).padStart(6)}: median ${r.stepMsMedian.toFixed(1)} ms wall, CPU ${r.cpuMsMedian.toFixed(1)} ms, peak RSS ${r.peakRssMb.toFixed(0)} MB, matched ${r.matched}, ${r.distinctShapes} distinct job shapes`)
    }
  }
  const targets: Record<string, boolean> = {}
  const het10 = famRes.get('het:10000') as SpeedResult
  targets.het10kWithin250ms = het10.cpuMsMedian <= 250
  targets.het10kWithin300MB = het10.peakRssMb <= 300
  const het100 = famRes.get('het:100000')
  if (het100 !== undefined) {
    targets.het100kWithin3s = het100.cpuMsMedian <= 3000
    targets.het100kWithin1GB = het100.peakRssMb <= 1024
    targets.hetGrowthAtMost12x = het100.cpuMsMedian / het10.cpuMsMedian <= 12
  }
  for (const fam of FAMILIES.filter((f) => f !== 'het')) {
    for (const [n] of famSizes) {
      const a = famRes.get(`${fam}:${n}`) as SpeedResult; const h = famRes.get(`het:${n}`) as SpeedResult
      targets[`${fam}${n / 1000}kWithin2xHet`] = a.cpuMsMedian <= 2 * h.cpuMsMedian
    }
  }
  log(`  targets (CPU time): ${Object.entries(targets).map(([k, v]) => `${k} ${v ? 'MET' : 'NOT MET'}`).join(', ')}`)
  const at10k = results.find((r) => r.jobs === 10000) as SpeedResult
  log(`  target 10k step median ≤ 250 ms: ${at10k.stepMsMedian <= 250 ? 'MET' : 'NOT MET'} (${at10k.stepMsMedian.toFixed(1)} ms); peak RSS ≤ 300 MB: ${at10k.peakRssMb <= 300 ? 'MET' : 'NOT MET'} (${at10k.peakRssMb.toFixed(0)} MB)`)
  const games = noGames || speedOnly ? undefined : runGames(log, quick)
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
      families,
      familyTargets: targets,
      oursDealPaid: oursDealPaid?.toString(),
      ...games,
      sizes: results.map((r) => ({ jobs: r.jobs, providers: r.providers, stepMsMedian: Number(r.stepMsMedian.toFixed(2)), stepCpuMsMedian: Number(r.cpuMsMedian.toFixed(2)), peakRssMb: Number(r.peakRssMb.toFixed(1)), rssMarketLoadedMb: Number(r.rssBeforeMb.toFixed(1)) }))
    }) + '\n')
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()

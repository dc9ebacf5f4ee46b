/**
 * bench:match's incentive games (src/matching/README.md, "Mechanism" and "Splitting"):
 *
 * - `priorityGame`: small unit-capacity markets with twice as many jobs as offers (excess
 *   demand). Every job's true value is its generated maxPrice. Scenarios: everyone bids its
 *   value; a quarter of the jobs (`deviators`) bid 1.25×, 2× their value or the maximum
 *   (2^96 − 1); everyone bids the maximum. For each, jobs matched, provider revenue and creator
 *   surplus (true value − price) under today's rule (the k = ½ midpoint `dealPrice`) and the
 *   old one (the provider's ask), the deviators' gain over bidding their value, and the total
 *   surplus Σ(value − ask) against the optimum (Hungarian) on honest bids.
 * - `offerSplitting`: one 64-GPU offer against 64 one-GPU offers (same prices, equal total
 *   capacity), d one-GPU jobs, a fresh seed block each epoch: the split side's share of jobs.
 * - `jobSplitting`: a creator's 8 units of work as 8 one-unit jobs or as one 8-unit job, among
 *   honest one-unit jobs for less capacity than demand: units served and what they paid.
 */
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { keccak } from '../../src/protocol/eip712.js'
import { bytesToHex } from '../../src/protocol/hex.js'
import { initialState, jobPrice, step } from '../../src/matching/index.js'
import type { Match, OfferRecord } from '../../src/matching/index.js'
import { optimalUnitCapacity } from '../../src/matching/baselines.js'
import { CONFIG, EPOCH, hasher, hex, rng, generateUnit } from './matchMarkets.js'
import type { Market } from './matchMarkets.js'

const MAX_BID = 2n ** 96n - 1n
const seedBlockOf = (tag: string, i: number): Hash => bytesToHex(keccak(new TextEncoder().encode(`${tag} ${i}`)))
const withBid = (j: OfferRecord<JobOffer>, maxPrice: bigint): OfferRecord<JobOffer> => {
  const offer = { ...j.offer, maxPrice }
  return { id: hasher.digest('JobOffer', offer), offer }
}

/** Totals of one scenario under one payment rule (bigints as decimal strings). */
export interface RuleOutcome { providerRevenue: string, creatorSurplus: string, deviatorSurplus: string, deviatorGain: string }
export interface Scenario {
  name: string
  matched: number
  deviatorsMatched: number
  /** Σ(true value − ask) over the matches: the gains from trade, whatever the payment rule. */
  totalSurplus: string
  /** totalSurplus / the optimum's (honest bids). */
  ofOptimum: number
  today: RuleOutcome
  oldAskRule: RuleOutcome
}
export interface PriorityGame { market: string, markets: number, jobsPerMarket: number, offersPerMarket: number, deviatorsPerMarket: number, optimumMatched: number, optimumSurplus: string, scenarios: Scenario[] }

interface Acc { matched: number, devMatched: number, total: bigint, revToday: bigint, revAsk: bigint, csToday: bigint, csAsk: bigint, devToday: bigint, devAsk: bigint }

/**
 * `cheap`: every offer's prices divided by 4, so that every ask is below every job's value
 * (asks 0.125–0.375× the reference, values 0.4–1.6×): maxPrice then caps nothing and only
 * orders the jobs, the situation in which the old rule made priority free.
 */
export function priorityGame (cheap = false, markets = 20, jobs = 40, offers = 20): PriorityGame {
  const bids: Array<[string, (v: bigint, dev: boolean) => bigint]> = [
    ['everyone bids its value', (v) => v],
    ['a quarter bid 1.25x value', (v, d) => d ? v * 5n / 4n : v],
    ['a quarter bid 2x value', (v, d) => d ? 2n * v : v],
    ['a quarter bid the maximum', (v, d) => d ? MAX_BID : v],
    ['everyone bids the maximum', () => MAX_BID]
  ]
  const acc: Acc[] = bids.map(() => ({ matched: 0, devMatched: 0, total: 0n, revToday: 0n, revAsk: 0n, csToday: 0n, csAsk: 0n, devToday: 0n, devAsk: 0n }))
  let optMatched = 0; let optSurplus = 0n
  for (let s = 0; s < markets; s++) {
    const g = generateUnit(jobs, offers, 5000 + s)
    const m: Market = !cheap ? g : { jobs: g.jobs, resources: g.resources.map((x) => { const offer = { ...x.offer, priceCpu: x.offer.priceCpu / 4n, priceRam: x.offer.priceRam / 4n }; return { id: hasher.digest('ResourceOffer', offer), offer } }) }
    const opt = optimalUnitCapacity(m.jobs, m.resources)
    const value = new Map(m.jobs.map((j) => [j.id, j.offer.maxPrice]))
    optMatched += opt.length
    for (const x of opt) optSurplus += (value.get(x.jobId) as bigint) - x.price
    const res = new Map(m.resources.map((r) => [r.id, r.offer]))
    bids.forEach(([, bid], k) => {
      // job i's original id → its value, deviator flag (every 4th job)
      const orig = new Map<Hash, { v: bigint, dev: boolean, job: JobOffer }>()
      const market: Market = { resources: m.resources, jobs: m.jobs.map((j, i) => { const dev = i % 4 === 0; const b = withBid(j, bid(j.offer.maxPrice, dev)); orig.set(b.id, { v: j.offer.maxPrice, dev, job: b.offer }); return b }) }
      const out = step(initialState(), market, { opened: [], closed: [], seedBlock: seedBlockOf('priority', s) }, EPOCH, CONFIG)
      const a = acc[k]
      for (const x of out.matches) {
        const o = orig.get(x.jobId) as { v: bigint, dev: boolean, job: JobOffer }
        const ask = jobPrice(o.job, res.get(x.resourceId) as ResourceOffer)
        a.matched++; a.total += o.v - ask
        a.revToday += x.deal.price; a.revAsk += ask
        a.csToday += o.v - x.deal.price; a.csAsk += o.v - ask
        if (o.dev) { a.devMatched++; a.devToday += o.v - x.deal.price; a.devAsk += o.v - ask }
      }
    })
  }
  const base = acc[0]
  const scenarios = bids.map(([name], k): Scenario => {
    const a = acc[k]
    return {
      name,
      matched: a.matched,
      deviatorsMatched: a.devMatched,
      totalSurplus: a.total.toString(),
      ofOptimum: Number((Number(a.total) / Number(optSurplus)).toFixed(4)),
      today: { providerRevenue: a.revToday.toString(), creatorSurplus: a.csToday.toString(), deviatorSurplus: a.devToday.toString(), deviatorGain: (a.devToday - base.devToday).toString() },
      oldAskRule: { providerRevenue: a.revAsk.toString(), creatorSurplus: a.csAsk.toString(), deviatorSurplus: a.devAsk.toString(), deviatorGain: (a.devAsk - base.devAsk).toString() }
    }
  })
  return { market: cheap ? 'cheap capacity (every ask below every value)' : 'generated unit-capacity (some asks above some values)', markets, jobsPerMarket: jobs, offersPerMarket: offers, deviatorsPerMarket: Math.ceil(jobs / 4), optimumMatched: optMatched, optimumSurplus: optSurplus.toString(), scenarios }
}

const gpuOffer = (provider: Address, nonce: bigint, gpus: number): OfferRecord<ResourceOffer> => {
  const offer: ResourceOffer = { provider, nonce, version: 1, cpu: 4000 * gpus, ram: 16384 * gpus, gpus, gpuVram: 81920, disk: 0, gpuModel: 'H100 80GB HBM3', priceCpu: 10n, priceRam: 1n, priceGpu: 1_000_000n, priceDisk: 0n, modules: [], collateral: 0n, epoch: 0n, expiryEpoch: 1_000_000n }
  return { id: hasher.digest('ResourceOffer', offer), offer }
}

export interface SplitRow { demand: number, epochs: number, splitJobs: number, wholeJobs: number, splitShare: number, capacityShare: number }

/** One 64-GPU offer against 64 one-GPU offers: the split side's share of d one-GPU jobs per epoch. */
export function offerSplitting (demands: readonly number[] = [8, 16, 32, 64, 96], epochs = 100): SplitRow[] {
  const r = rng(64)
  const whole = gpuOffer(hex(r, 20), 0n, 64)
  const splitter = hex(r, 20)
  const split = Array.from({ length: 64 }, (_, i) => gpuOffer(splitter, BigInt(i), 1))
  const splitIds = new Set(split.map((x) => x.id))
  const creator = hex(r, 20)
  const module = hex(r, 32)
  return demands.map((d) => {
    let s = 0; let w = 0
    for (let e = 1; e <= epochs; e++) {
      const jobs = Array.from({ length: d }, (_, i) => {
        const offer: JobOffer = { creator, nonce: BigInt(e * 1000 + i), module, inputsHash: hex(r, 32), cpu: 4000, ram: 16384, gpus: 1, gpuVram: 40960, disk: 0, maxPrice: 10n ** 12n, timeout: 60, collateral: 0n, epoch: BigInt(e), expiryEpoch: BigInt(e) }
        return { id: hasher.digest('JobOffer', offer), offer }
      })
      const out = step(initialState(), { jobs, resources: [whole, ...split] }, { opened: [], closed: [], seedBlock: seedBlockOf('split', e) }, BigInt(e), CONFIG)
      for (const x of out.matches) { if (splitIds.has(x.resourceId)) s++; else if (x.resourceId === whole.id) w++ }
    }
    return { demand: d, epochs, splitJobs: s, wholeJobs: w, splitShare: Number((s / Math.max(1, s + w)).toFixed(4)), capacityShare: 0.5 }
  })
}

export interface JobSplitRow { as: string, epochs: number, unitsServed: number, unitsOffered: number, paidPerUnit: string, honestUnitsServed: number }

/**
 * A creator's 8 units of work, valued 1.5 per unit (the honest ones' values are uniform in
 * [1, 2] per unit), as 8 one-unit jobs or one 8-unit job, among 56 honest one-unit jobs, for
 * 4 offers of 8 units (32 units: demand 64).
 */
export function jobSplitting (epochs = 50): JobSplitRow[] {
  const r = rng(8)
  const UNIT = 1_000_000n
  const module = hex(r, 32)
  const offers = Array.from({ length: 4 }, () => {
    const offer: ResourceOffer = { provider: hex(r, 20), nonce: 0n, version: 1, cpu: 8000, ram: 8192, gpus: 0, gpuVram: 0, disk: 0, gpuModel: '', priceCpu: 100n, priceRam: 0n, priceGpu: 0n, priceDisk: 0n, modules: [], collateral: 0n, epoch: 0n, expiryEpoch: 1_000_000n }
    return { id: hasher.digest('ResourceOffer', offer), offer }
  })
  const me = hex(r, 20)
  const mk = (creator: Address, nonce: number, units: number, value: bigint, e: number): OfferRecord<JobOffer> => {
    const offer: JobOffer = { creator, nonce: BigInt(nonce), module, inputsHash: hex(r, 32), cpu: 1000 * units, ram: 1024 * units, gpus: 0, gpuVram: 0, disk: 0, maxPrice: value, timeout: 1, collateral: 0n, epoch: BigInt(e), expiryEpoch: BigInt(e) }
    return { id: hasher.digest('JobOffer', offer), offer }
  }
  const rows: JobSplitRow[] = []
  for (const as of ['8 one-unit jobs', 'one 8-unit job']) {
    let served = 0; let paid = 0n; let honest = 0
    for (let e = 1; e <= epochs; e++) {
      const honestJobs = Array.from({ length: 56 }, (_, i) => mk(hex(r, 20), e * 1000 + i, 1, UNIT + BigInt(Math.floor(r() * 1_000_000)), e))
      const mine = as === 'one 8-unit job' ? [mk(me, e * 1000 + 999, 8, 12n * UNIT, e)] : Array.from({ length: 8 }, (_, i) => mk(me, e * 1000 + 900 + i, 1, UNIT * 3n / 2n, e))
      const out = step(initialState(), { jobs: [...honestJobs, ...mine], resources: offers }, { opened: [], closed: [], seedBlock: seedBlockOf('jobsplit', e) }, BigInt(e), CONFIG)
      for (const x of out.matches as Match[]) {
        if (x.deal.creator === me) { served += as === 'one 8-unit job' ? 8 : 1; paid += x.deal.price } else honest++
      }
    }
    rows.push({ as, epochs, unitsServed: served, unitsOffered: 8 * epochs, paidPerUnit: served > 0 ? (paid / BigInt(served)).toString() : '0', honestUnitsServed: honest })
  }
  return rows
}

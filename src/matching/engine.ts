/**
 * The matching rule of one epoch (DESIGN §4), on offers already known to be effective. Exact
 * integer semantics; see `jobPrice` for the price formula.
 *
 * Feasible pair (job, offer): what is left of the offer's capacity holds the job's cpu, ram,
 * gpus and disk, its vram per GPU is enough (when the job asks for GPUs), its collateral is ≥
 * the job's, it accepts the module (empty list: any), it is not the creator's own, and it
 * prices the job at ≤ maxPrice.
 *
 * Phase 1. Jobs in matching order (maxPrice descending, ties keccak(seed, jobId)). Each job
 * walks the price order of its dominant dimension D — the one with demand > 0 that maximises
 * demand × the market's median price of that dimension (cpu, ram, gpus, disk; first on ties) —
 * over the offers that have some of D, by (price of D, keccak(seed, offerId), slot). Offers
 * without the capacity left, vram or collateral are skipped through a `FitTree` and its fit
 * lists (fitLists.ts: they change the cost of finding the same offers, not which); every
 * other offer is a visit, and a candidate if it accepts the module, is not the creator's and
 * costs ≤ maxPrice. The walk ends after CANDIDATES = 8 candidates or VISIT_LIMIT = 64 visits;
 * the job goes to the cheapest candidate (ties keccak(seed, id), then slot).
 *
 * Why: the cheapest offer for a job depends on its whole resource vector, so an exact answer
 * needs one price order per distinct shape (O(P) each: ~1,000 shapes at 10k offers cost 3 s,
 * and junk jobs of distinct shapes made it quadratic). One order per dimension does not depend
 * on the job; the walk is O(log P) per visit and at most 64 visits, so a step costs
 * O(D·P·log P + J·log J + J·64·log P) whatever the shapes, modules or collateral values.
 * Most of a job's price is its dominant dimension, so its 8 cheapest candidates there nearly
 * always hold its overall cheapest (bench:match checks the welfare against the optimum).
 *
 * Phase 2 (bounded augmenting moves, moves.ts). Passes with slack s ∈ [0, 3]; in each, every
 * job u still unmatched, in matching order: the same walk over nominal capacity yields up to
 * TARGET_SCAN = 8 targets p; u fits what is left of p (gain own = maxPrice − price), or one of
 * the first JOB_SCAN = 4 jobs j on p whose leaving makes room moves to its phase-1 choice q ≠ p
 * in what is left now (gain own + price(j, p) − price(j, q)). The largest gain wins (first on
 * ties) and is applied when 2·gain ≥ −s·own. No job loses its match.
 *
 * Phase 3. Every job still unmatched, in matching order, to its phase-1 choice in what is left.
 *
 * Collateral is compared as rounded doubles, exact below 2^53; equal doubles above fall back to
 * the bigints. Prices are doubles only where every intermediate stays below 2^52.
 */
import type { JobOffer } from '../protocol/index.js'
import type { OfferRecord } from './types.js'
import { Market } from './market.js'
import type { EngineMatch } from './market.js'
import { improve } from './moves.js'
import { TieBreaker } from './tie.js'
import { FitTree } from './fitTree.js'

export { Market } from './market.js'
export type { EngineMatch, Held } from './market.js'
export { TieBreaker, epochSeed, sortJobs } from './tie.js'

/** Matches `jobs` (already sorted in matching order): phase 1, then phases 2 and 3. */
export function matchAll (m: Market, jobs: ReadonlyArray<OfferRecord<JobOffer>>): EngineMatch[] {
  m.begin(jobs)
  const out: EngineMatch[] = []
  const at: number[] = []
  const jx: number[] = []
  for (let x = 0; x < jobs.length; x++) {
    const o = jobs[x].offer
    const p = m.choose(o, x, -1)
    if (p < 0) continue
    m.take(p, o, 1)
    out.push({ job: jobs[x], resource: m.offers[p], price: m.foundPrice })
    at.push(p); jx.push(x)
  }
  return improve(m, jobs, out, at, jx)
}

/**
 * One small instance of each class of the engine, alive for the life of the process. V8's
 * optimized code refers to the hidden classes ("maps") of these objects weakly; once every
 * object of a step is garbage a full collection drops the maps, and every hot function that
 * embedded one is deoptimized ("embedded weak objects cleared") and warms up again in the next
 * step (measured ~2.5× slower after a full GC, as between two epochs of a node).
 */
export const KEEP_MAPS_ALIVE: readonly unknown[] = (() => {
  const market = new Market([], new TieBreaker(new Uint8Array(32)), new Map())
  matchAll(market, [])
  return [market, new FitTree(0, () => 0)]
})()

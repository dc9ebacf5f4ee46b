/**
 * Reference matchers for the welfare benchmark (scripts/bench/match.ts). Not used by `step`.
 *
 * - `lilypadRule`: the rule of Lilypad's central solver (pkg/solver/matcher GetMatchingDeals):
 *   job offers oldest first; for each, a nested loop over all resource offers oldest first
 *   collects the ones that fit, and the cheapest is chosen, ties to the older one. Feasibility
 *   is this market's (the tests `step` applies: capacity in every dimension, per-GPU vram,
 *   price ≤ maxPrice, module, collateral, no self-deal). Capacity model: `'offer'` is
 *   Lilypad's own — a resource offer takes one deal and is then matched (its solver only
 *   loads NotMatched offers) — and `'shared'` lets an offer serve jobs until its capacity is
 *   used, as `step` does, so that only the order rule differs.
 * - `optimalUnitCapacity`: the surplus-maximising assignment when every provider offer can
 *   take at most one job, by the Hungarian method (O(n³); small markets only).
 */
import type { Hash, JobOffer, ResourceOffer } from '../protocol/index.js'
import type { OfferRecord } from './types.js'
import { jobPrice } from './price.js'

export interface BaselineMatch {
  jobId: Hash
  resourceId: Hash
  price: bigint
}

/** Static feasibility of a (job, offer) pair, ignoring capacity used by other jobs. */
export function pairFeasible (job: JobOffer, offer: ResourceOffer): boolean {
  return offer.cpu >= job.cpu && offer.ram >= job.ram && offer.gpus >= job.gpus && offer.disk >= job.disk &&
    (job.gpus === 0 || offer.gpuVram >= job.gpuVram) &&
    (offer.modules.length === 0 || offer.modules.includes(job.module)) &&
    offer.collateral >= job.collateral &&
    offer.provider.toLowerCase() !== job.creator.toLowerCase() &&
    jobPrice(job, offer) <= job.maxPrice
}

/**
 * Lilypad's rule. `jobs` and `resources` must be in arrival order (oldest first). Prices are
 * compared as doubles where exact (< 2^52) to keep the J×P loop affordable, else as bigint.
 */
export function lilypadRule (jobs: ReadonlyArray<OfferRecord<JobOffer>>, resources: ReadonlyArray<OfferRecord<ResourceOffer>>, capacity: 'offer' | 'shared' = 'offer'): BaselineMatch[] {
  const n = resources.length
  const rem = resources.map((r) => ({ cpu: r.offer.cpu, ram: r.offer.ram, gpus: r.offer.gpus, disk: r.offer.disk }))
  const num = (v: bigint): number => v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : NaN
  const prices = resources.map((r) => [num(r.offer.priceCpu), num(r.offer.priceRam), num(r.offer.priceGpu), num(r.offer.priceDisk)])
  const colls = resources.map((r) => r.offer.collateral)
  const lower = resources.map((r) => r.offer.provider.toLowerCase())
  const out: BaselineMatch[] = []
  for (const { id, offer: job } of jobs) {
    const creator = job.creator.toLowerCase()
    const maxNum = num(job.maxPrice)
    let best = -1
    let bestPrice = 0n
    let bestNum = Infinity
    for (let i = 0; i < n; i++) {
      const c = rem[i]; const o = resources[i].offer
      if (c.cpu < job.cpu || c.ram < job.ram || c.gpus < job.gpus || c.disk < job.disk) continue
      if (job.gpus > 0 && o.gpuVram < job.gpuVram) continue
      if (o.modules.length > 0 && !o.modules.includes(job.module)) continue
      if (colls[i] < job.collateral || lower[i] === creator) continue
      const p = prices[i]
      const x = (p[0] * job.cpu + p[1] * job.ram + p[2] * job.gpus + p[3] * job.disk) * job.timeout
      if (x <= 2 ** 52) {
        // exact double; a NaN maxNum means maxPrice ≥ 2^53, affordable
        if (x > maxNum || x >= bestNum) continue
        best = i; bestNum = x; bestPrice = BigInt(x)
        continue
      }
      const price = jobPrice(job, o)
      if (price > job.maxPrice || (best >= 0 && price >= bestPrice)) continue
      best = i; bestPrice = price; bestNum = price <= 2n ** 52n ? Number(price) : Infinity
    }
    if (best < 0) continue
    const c = rem[best]
    if (capacity === 'offer') { c.cpu = -1; c.ram = -1; c.gpus = -1; c.disk = -1 } else { c.cpu -= job.cpu; c.ram -= job.ram; c.gpus -= job.gpus; c.disk -= job.disk }
    out.push({ jobId: id, resourceId: resources[best].id, price: bestPrice })
  }
  return out
}

/**
 * Maximum total surplus Σ(maxPrice − price) over assignments in which each provider offer
 * takes at most one job (callers make markets where no offer fits two jobs). Surpluses must
 * be below 2^53 (small markets).
 */
export function optimalUnitCapacity (jobs: ReadonlyArray<OfferRecord<JobOffer>>, resources: ReadonlyArray<OfferRecord<ResourceOffer>>): BaselineMatch[] {
  const J = jobs.length; const P = resources.length
  const n = J + P
  // cost[j][p]: -surplus for a feasible pair, 0 (= stay unmatched) via the dummy rows/columns.
  const cost: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0))
  const price: Array<Array<bigint | null>> = Array.from({ length: J }, () => new Array<bigint | null>(P).fill(null))
  const BIG = 1e15
  for (let j = 0; j < J; j++) {
    for (let p = 0; p < P; p++) {
      const job = jobs[j].offer; const o = resources[p].offer
      if (pairFeasible(job, o)) {
        const pr = jobPrice(job, o)
        price[j][p] = pr
        cost[j][p] = -Number(job.maxPrice - pr)
      } else {
        cost[j][p] = BIG
      }
    }
  }
  const assign = hungarian(cost)
  const out: BaselineMatch[] = []
  for (let j = 0; j < J; j++) {
    const p = assign[j]
    if (p < P && cost[j][p] !== BIG) {
      const pr = price[j][p]
      if (pr !== null) out.push({ jobId: jobs[j].id, resourceId: resources[p].id, price: pr })
    }
  }
  return out
}

/** Min-cost perfect assignment of a square matrix (e-maxx formulation); returns row → column. */
function hungarian (a: number[][]): number[] {
  const n = a.length
  const u = new Float64Array(n + 1); const v = new Float64Array(n + 1)
  const p = new Int32Array(n + 1); const way = new Int32Array(n + 1)
  for (let i = 1; i <= n; i++) {
    p[0] = i
    let j0 = 0
    const minv = new Float64Array(n + 1).fill(Infinity)
    const used = new Uint8Array(n + 1)
    do {
      used[j0] = 1
      const i0 = p[j0]
      let delta = Infinity; let j1 = 0
      for (let j = 1; j <= n; j++) {
        if (used[j] === 1) continue
        const cur = a[i0 - 1][j - 1] - u[i0] - v[j]
        if (cur < minv[j]) { minv[j] = cur; way[j] = j0 }
        if (minv[j] < delta) { delta = minv[j]; j1 = j }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j] === 1) { u[p[j]] += delta; v[j] -= delta } else minv[j] -= delta
      }
      j0 = j1
    } while (p[j0] !== 0)
    do { const j1 = way[j0]; p[j0] = p[j1]; j0 = j1 } while (j0 !== 0)
  }
  const rowToCol = new Array<number>(n).fill(-1)
  for (let j = 1; j <= n; j++) if (p[j] > 0) rowToCol[p[j] - 1] = j - 1
  return rowToCol
}

/**
 * `step`: the replicated state machine of DESIGN §4.
 *
 *   1. chain facts: an opened deal consumes its job for good and keeps its capacity held until
 *      a closed fact frees it;
 *   2. a reservation of epoch M that was not opened is released once E > M + k; a spent job is
 *      forgotten once E > its expiryEpoch (it can no longer match anyway);
 *   3. match the effective, untaken jobs against the effective provider offers minus held capacity;
 *   4. every new match becomes a reservation.
 *
 * Pure: the result depends only on the arguments (no clock, no randomness but the epoch seed,
 * no floats in results, no dependence on input order or on Map/Set iteration order).
 *
 * Deal.collateral is the provider offer's `collateral` — what the provider declared it puts up
 * per deal — which the matcher has checked is ≥ the job's requirement; the creator gets at least
 * what it asked for and the provider never more than it offered.
 */
import type { Deal, Hash, JobOffer, ResourceOffer } from '../protocol/index.js'
import type { ChainFacts, EpochInput, Hold, Match, MatcherConfig, MatcherState, OpenDeal, Reservation, SpentJob, StepResult } from './types.js'
import { MatchingError } from './types.js'
import { effectiveJobs, effectiveResources, isHash, slotKey } from './offers.js'
import { Market, TieBreaker, epochSeed, matchAll, sortJobs } from './engine.js'
import type { Held } from './engine.js'
import { stateRoot } from './state.js'
import { midpoint } from './price.js'

const U64_MAX = (1n << 64n) - 1n
/** Bound on k: a reservation longer than this would keep the state from shrinking for too long. */
export const MAX_RESERVE_EPOCHS = 1_000_000

function checkConfig (config: MatcherConfig, epoch: bigint): void {
  if (!isHash(config.seedPrefix)) {
    throw new MatchingError('MATCHING_BAD_CONFIG', 'config.seedPrefix must be a lower-case 0x-prefixed 32-byte hex (the profile hash)')
  }
  if (!Number.isSafeInteger(config.reserveEpochs) || config.reserveEpochs < 0 || config.reserveEpochs > MAX_RESERVE_EPOCHS) {
    throw new MatchingError('MATCHING_BAD_CONFIG', `config.reserveEpochs must be an integer in [0, ${MAX_RESERVE_EPOCHS}], got ${String(config.reserveEpochs)}`)
  }
  if (typeof config.openBy !== 'function') throw new MatchingError('MATCHING_BAD_CONFIG', 'config.openBy must be a function of the match epoch')
  if (typeof epoch !== 'bigint' || epoch < 0n || epoch > U64_MAX) {
    throw new MatchingError('MATCHING_EPOCH_ORDER', `epoch must be a uint64 bigint, got ${String(epoch)}`)
  }
}

function byKey<T> (key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => { const ka = key(a); const kb = key(b); return ka < kb ? -1 : ka > kb ? 1 : 0 }
}

function holdOf (job: JobOffer, resource: ResourceOffer): Hold {
  return { provider: resource.provider.toLowerCase() as Hold['provider'], nonce: resource.nonce, cpu: job.cpu, ram: job.ram, gpus: job.gpus, disk: job.disk }
}

/** Applies chain facts to copies of the state's tables. */
function applyFacts (input: EpochInput, facts: ChainFacts,
  reserved: Map<Hash, Reservation>, open: Map<Hash, OpenDeal>, spent: Map<Hash, SpentJob>): void {
  let jobIndex: Map<Hash, JobOffer> | undefined
  let resIndex: Map<Hash, ResourceOffer> | undefined
  const jobs = (): Map<Hash, JobOffer> => jobIndex ?? (jobIndex = new Map(input.jobs.map((r) => [r.id, r.offer])))
  const resources = (): Map<Hash, ResourceOffer> => resIndex ?? (resIndex = new Map(input.resources.map((r) => [r.id, r.offer])))
  const opened = facts.opened
    .filter((f) => isHash(f.dealId) && isHash(f.jobOfferHash) && isHash(f.resourceOfferHash))
    .sort(byKey((f) => f.dealId + f.jobOfferHash + f.resourceOfferHash))
  for (const f of opened) {
    // the contract opens a job offer once: a fact for a deal or a job already known is a repeat
    if (open.has(f.dealId) || spent.has(f.jobOfferHash)) continue
    const r = reserved.get(f.jobOfferHash)
    let hold: Hold | null = null
    let expiry: bigint | null = null
    if (r !== undefined) {
      reserved.delete(f.jobOfferHash)
      expiry = r.jobExpiry
      if (r.resourceId === f.resourceOfferHash) hold = r.hold
      else {
        const res = resources().get(f.resourceOfferHash)
        if (res !== undefined) hold = { ...r.hold, provider: res.provider.toLowerCase() as Hold['provider'], nonce: res.nonce }
      }
    } else {
      const job = jobs().get(f.jobOfferHash)
      const res = resources().get(f.resourceOfferHash)
      if (job !== undefined) expiry = job.expiryEpoch
      if (job !== undefined && res !== undefined) hold = holdOf(job, res)
    }
    open.set(f.dealId, { dealId: f.dealId, jobId: f.jobOfferHash, hold })
    if (expiry !== null) {
      const s = spent.get(f.jobOfferHash)
      if (s === undefined || s.expiryEpoch < expiry) spent.set(f.jobOfferHash, { jobId: f.jobOfferHash, expiryEpoch: expiry })
    }
  }
  for (const id of facts.closed) open.delete(id)
}

/** One epoch of the replicated state machine. Throws MATCHING_* errors on bad config or epoch order, never on bad offers. */
export function step (prev: MatcherState, input: EpochInput, facts: ChainFacts, epoch: bigint, config: MatcherConfig): StepResult {
  checkConfig(config, epoch)
  if (facts.seedBlock !== undefined && !isHash(facts.seedBlock)) {
    throw new MatchingError('MATCHING_BAD_CONFIG', `facts.seedBlock must be a lower-case 0x-prefixed 32-byte block hash, got ${JSON.stringify(String(facts.seedBlock).slice(0, 80))}`)
  }
  if (prev.epoch !== null && epoch <= prev.epoch) {
    throw new MatchingError('MATCHING_EPOCH_ORDER', `epoch ${epoch} is not after the state's epoch ${prev.epoch}; step each epoch once, in order`)
  }
  const k = BigInt(config.reserveEpochs)
  const reserved = new Map(prev.reserved.map((r) => [r.jobId, r]))
  const open = new Map(prev.open.map((d) => [d.dealId, d]))
  const spent = new Map(prev.spent.map((s) => [s.jobId, s]))
  applyFacts(input, facts, reserved, open, spent)
  for (const [id, r] of reserved) if (r.matchEpoch + k < epoch) reserved.delete(id)
  for (const [id, s] of spent) if (s.expiryEpoch < epoch) spent.delete(id)

  const taken = new Set<Hash>(reserved.keys())
  for (const d of open.values()) taken.add(d.jobId)
  for (const id of spent.keys()) taken.add(id)

  const tie = new TieBreaker(epochSeed(config.seedPrefix, epoch, facts.seedBlock))
  const held = new Map<string, Held>()
  const hold = (h: Hold): void => {
    const key = slotKey(h.provider, h.nonce)
    const sum = held.get(key)
    if (sum === undefined) held.set(key, { cpu: h.cpu, ram: h.ram, gpus: h.gpus, disk: h.disk })
    else { sum.cpu += h.cpu; sum.ram += h.ram; sum.gpus += h.gpus; sum.disk += h.disk }
  }
  for (const r of reserved.values()) hold(r.hold)
  for (const d of open.values()) if (d.hold !== null) hold(d.hold)
  const market = new Market(effectiveResources(input.resources, epoch), tie, held)

  const jobs = sortJobs(effectiveJobs(input.jobs, epoch).filter((j) => !taken.has(j.id)), tie)
  const found = matchAll(market, jobs)

  const openBy = config.openBy(epoch)
  if (typeof openBy !== 'bigint' || openBy < 0n || openBy > U64_MAX) {
    throw new MatchingError('MATCHING_BAD_CONFIG', `config.openBy(${epoch}) must return a uint64 bigint, got ${String(openBy)}`)
  }
  const matches: Match[] = []
  const fresh: Reservation[] = []
  for (const m of found) {
    const job = m.job.offer; const res = m.resource.offer
    const deal: Deal = {
      jobOfferHash: m.job.id,
      resourceOfferHash: m.resource.id,
      creator: job.creator,
      provider: res.provider,
      price: midpoint(m.price, job.maxPrice),
      collateral: res.collateral,
      timeout: job.timeout,
      matchEpoch: epoch,
      openBy
    }
    matches.push({ deal, jobId: m.job.id, resourceId: m.resource.id })
    fresh.push({ jobId: m.job.id, resourceId: m.resource.id, matchEpoch: epoch, jobExpiry: job.expiryEpoch, hold: holdOf(job, res) })
  }

  const state: MatcherState = {
    epoch,
    reserved: mergeSorted(prev.reserved.filter((r) => reserved.get(r.jobId) === r), fresh.sort(byKey((r) => r.jobId))),
    open: [...open.values()].sort(byKey((d) => d.dealId)),
    spent: [...spent.values()].sort(byKey((s) => s.jobId))
  }
  return { state, matches, stateRoot: stateRoot(state) }
}

/** Merges two lists sorted by jobId (disjoint: a taken job is never matched). */
function mergeSorted (a: Reservation[], b: Reservation[]): Reservation[] {
  const out: Reservation[] = new Array(a.length + b.length)
  let i = 0; let j = 0; let o = 0
  while (i < a.length && j < b.length) out[o++] = a[i].jobId < b[j].jobId ? a[i++] : b[j++]
  while (i < a.length) out[o++] = a[i++]
  while (j < b.length) out[o++] = b[j++]
  return out
}

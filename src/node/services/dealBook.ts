/**
 * Which deal acceptances a node keeps: only those of deals its own matcher derived (DESIGN §5).
 * An acceptance of a deal nobody matched costs a signature check and is dropped; it is neither
 * stored nor relayed nor served to anti-entropy.
 *
 * - `derived`: per match epoch, the ids of every deal the node's matcher derived (all parties),
 *   or rebuilt from an adopted state's reservations; kept for `keepEpochs` epochs.
 * - `pending`: acceptances of an epoch the node has not matched yet (it matches a little later
 *   than the parties, or is catching up). Bounded (MAX_PENDING, at most PENDING_PER_PARTY per
 *   signer) and short-lived: decided as soon as the node has matched their epoch (stored if the
 *   matcher derived the deal, dropped otherwise), and dropped when their epoch is pruned.
 */
import type { Deal, Hash, JobOffer, Party, ResourceOffer } from '../../protocol/index.js'
import { dealPrice } from '../../matching/index.js'
import type { MatcherConfig, Reservation } from '../../matching/index.js'

export const MAX_PENDING = 1024
export const PENDING_PER_PARTY = 16

export type AcceptanceVerdict = 'known' | 'pending' | 'unknown'

export interface PendingAcceptance<M> {
  dealId: Hash
  party: Party
  signer: string
  matchEpoch: bigint
  message: M
  wire: Uint8Array
}

export class DealBook<M> {
  private readonly derived = new Map<bigint, Set<Hash>>()
  private readonly pending = new Map<string, PendingAcceptance<M>>()
  private readonly pendingBySigner = new Map<string, number>()

  constructor (private readonly keepEpochs: bigint) {}

  /** Records deals the matcher derived for `epoch` (adds to what is known). */
  noteDerived (epoch: bigint, dealIds: Iterable<Hash>): void {
    let s = this.derived.get(epoch)
    if (s === undefined) { s = new Set(); this.derived.set(epoch, s) }
    for (const id of dealIds) s.add(id.toLowerCase() as Hash)
  }

  /** Replaces what is known for `epoch` (a resync recomputed it). */
  resetDerived (epoch: bigint, dealIds: Iterable<Hash>): void {
    this.derived.delete(epoch)
    this.noteDerived(epoch, dealIds)
  }

  knows (matchEpoch: bigint, dealId: Hash): boolean {
    return this.derived.get(matchEpoch)?.has(dealId.toLowerCase() as Hash) === true
  }

  /**
   * `known`: the matcher derived it; `pending`: its epoch is not matched here yet and it is not
   * too far ahead (`maxEpoch`); `unknown`: anything else.
   */
  verdict (dealId: Hash, matchEpoch: bigint, head: bigint | undefined, maxEpoch: bigint): AcceptanceVerdict {
    if (this.knows(matchEpoch, dealId)) return 'known'
    if ((head === undefined || matchEpoch > head) && matchEpoch <= maxEpoch) return 'pending'
    return 'unknown'
  }

  /** Holds an acceptance until its epoch is matched; false when the pending set (or the signer's share) is full. */
  hold (p: PendingAcceptance<M>): boolean {
    const key = `${p.dealId}:${p.party}`
    if (this.pending.has(key)) return true
    const signer = p.signer.toLowerCase()
    const mine = this.pendingBySigner.get(signer) ?? 0
    if (this.pending.size >= MAX_PENDING || mine >= PENDING_PER_PARTY) return false
    this.pending.set(key, { ...p, signer })
    this.pendingBySigner.set(signer, mine + 1)
    return true
  }

  get pendingSize (): number { return this.pending.size }

  /** Removes and returns the pending acceptances of epochs ≤ `epoch` whose deal is known; drops the others. */
  settle (epoch: bigint): Array<PendingAcceptance<M>> {
    const out: Array<PendingAcceptance<M>> = []
    for (const [key, p] of this.pending) {
      if (p.matchEpoch > epoch) continue
      this.pending.delete(key)
      const n = (this.pendingBySigner.get(p.signer) ?? 1) - 1
      if (n <= 0) this.pendingBySigner.delete(p.signer)
      else this.pendingBySigner.set(p.signer, n)
      if (this.knows(p.matchEpoch, p.dealId)) out.push(p)
    }
    return out
  }

  /** Forgets deals of epochs before `epoch − keepEpochs`. */
  prune (epoch: bigint): void {
    for (const e of [...this.derived.keys()]) if (e + this.keepEpochs < epoch) this.derived.delete(e)
  }
}

/**
 * The Deal `step` made for a reservation (price = dealPrice, collateral and timeout from the
 * offers, openBy from the config): what a node rebuilds from an adopted state.
 */
export function dealOfReservation (r: Reservation, job: JobOffer, res: ResourceOffer, config: MatcherConfig): Deal {
  return {
    jobOfferHash: r.jobId,
    resourceOfferHash: r.resourceId,
    creator: job.creator,
    provider: res.provider,
    price: dealPrice(job, res),
    collateral: res.collateral,
    timeout: job.timeout,
    matchEpoch: r.matchEpoch,
    openBy: config.openBy(r.matchEpoch)
  }
}

/**
 * Who may hold how much of a node's offer pool, on every path an offer comes in by (gossip,
 * sync, and the node's own). Keys are free, so pool space follows what a party holds on-chain:
 *
 *   a party with something in escrow (a Deposited event up to the balances the node last matched
 *   with, funding.ts) holds at most `maxOffersPerPeerPerEpoch` live offers (expiryEpoch ≥ the
 *   current epoch), whatever their epochs and nonces;
 *   a party with nothing in escrow holds at most UNFUNDED_LIVE_OFFERS, and all such parties
 *   together at most unfundedShare(limits) offers: throwaway keys can fill their share, never
 *   the pool, so they never push out a funded party's offers;
 *   the pool as a whole holds at most `maxOffersPerEpoch`.
 *
 * Before the node has matched an epoch with balances (it is starting or joining), a party counts as
 * funded once the node's chain reader has seen it deposit. On a node without a chain every party
 * counts as funded (nothing to tell them apart).
 * Offers that are not backed at B(E) are still left out of matching (funding.ts): the quota
 * bounds memory and bandwidth, the funding filter decides what counts.
 */
import type { Address, ProfileLimits } from '../protocol/index.js'
import { GOSSIP_CODES } from '../p2p/index.js'
import type { OfferPool } from './pool.js'
import type { FundsView } from './funding.js'

/**
 * Whether `signer` counts as funded for the pool's quotas: by the balances the node last matched
 * with; before it has any, by the deposits its chain reader has seen so far (`depositedSoFar`;
 * left out, everyone); on a node without a chain, always.
 */
export function countsAsFunded (signer: Address, o: { chainless: boolean, funds: FundsView | undefined, depositedSoFar?: (account: Address) => boolean }): boolean {
  if (o.chainless) return true
  if (o.funds !== undefined) return o.funds.depositor(signer)
  return o.depositedSoFar?.(signer) ?? true
}

export const UNFUNDED_LIVE_OFFERS = 4

/** Pool space all parties without escrow share. */
export function unfundedShare (limits: ProfileLimits): number {
  return Math.max(64, Math.floor(limits.maxOffersPerEpoch / 8))
}

export interface QuotaRefusal { code: string, message: string }

/** Why `signer` may not add an offer of `offerEpoch` now (undefined: it may). Synchronous, so the caller can add right after. */
export function offerQuota (pool: OfferPool, limits: ProfileLimits, signer: Address, funded: boolean, offerEpoch: bigint, currentEpoch: bigint): QuotaRefusal | undefined {
  const cap = funded ? limits.maxOffersPerPeerPerEpoch : Math.min(UNFUNDED_LIVE_OFFERS, limits.maxOffersPerPeerPerEpoch)
  if (pool.quotaUsed(signer, offerEpoch) >= limits.maxOffersPerPeerPerEpoch || pool.liveOf(signer, currentEpoch) >= cap) {
    return { code: GOSSIP_CODES.rateLimited, message: `${signer} holds ${pool.liveOf(signer, currentEpoch)} live offers, its cap is ${cap}${funded ? '' : ' (nothing in escrow)'}` }
  }
  if (!funded && pool.unfundedSize >= unfundedShare(limits)) {
    return { code: GOSSIP_CODES.unfunded, message: `the pool space of parties with nothing in escrow (${unfundedShare(limits)} offers) is full` }
  }
  if (pool.size >= limits.maxOffersPerEpoch) return { code: GOSSIP_CODES.epochFull, message: 'offer pool is full' }
  return undefined
}

export interface OfferAdmissionComponents {
  pool: OfferPool
  limits: ProfileLimits
  /** Whether `signer` has something in escrow (a Deposited event up to the balances last matched with); true without a chain. */
  funded: (signer: Address) => boolean
  currentEpoch: () => bigint
  /** The first epoch this node matched live since it started or adopted a state (undefined while joining). */
  liveFrom: () => bigint | undefined
}

/**
 * The admission of an offer on every path (gossip, sync, the node's own): the quotas above, and
 * for offers fetched over `sync` while reconciling `epoch` the gossip rule for closed epochs:
 * an offer must still be live, and its first epoch may not be more than one epoch before the
 * one reconciled, unless it predates this node's taking part (a genuine offer it never heard) and
 * comes from a party with something in escrow.
 */
export class OfferAdmission {
  constructor (private readonly c: OfferAdmissionComponents) {}

  funded (signer: Address): boolean { return this.c.funded(signer) }

  /** Why a gossiped offer may not enter (undefined: it may). */
  gossiped (signer: Address, offerEpoch: bigint): QuotaRefusal | undefined {
    return offerQuota(this.c.pool, this.c.limits, signer, this.c.funded(signer), offerEpoch, this.c.currentEpoch())
  }

  /** Why an offer fetched over sync while reconciling `epoch` may not enter; `closedCheck` false for a majority peer's input (resync) or offers of adopted matches. */
  synced (signer: Address, offerEpoch: bigint, expiry: bigint, epoch: bigint, closedCheck: boolean): QuotaRefusal | undefined {
    if (closedCheck && expiry < epoch) return { code: GOSSIP_CODES.tooOld, message: `offer expired at epoch ${expiry}, before ${epoch}` }
    const liveFrom = this.c.liveFrom()
    if (closedCheck && offerEpoch + 1n < epoch) {
      if (liveFrom === undefined || offerEpoch >= liveFrom) {
        return { code: GOSSIP_CODES.tooOld, message: `offer for epoch ${offerEpoch} came over sync after that epoch closed here` }
      }
      // before this node took part (it started, skipped or adopted a state since): only a party with
      // something in escrow may bring it, since a stranger's could not be matched anyway (funding.ts)
      // and would otherwise take the pool through every gap a lagging node leaves
      if (!this.c.funded(signer)) {
        return { code: GOSSIP_CODES.unfunded, message: `offer for epoch ${offerEpoch}, closed before this node took part, from ${signer} with nothing in escrow` }
      }
    }
    return this.gossiped(signer, offerEpoch)
  }
}

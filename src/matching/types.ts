/**
 * The public shapes of the deterministic matcher (DESIGN §4). Everything here is plain data:
 * a `MatcherState` can be encoded, shipped to a late joiner and decoded into the same state,
 * and the same (state, input, facts, epoch, config) gives the same result on every node.
 */
import type { Address, Deal, Hash, JobOffer, ResourceOffer } from '../protocol/index.js'
import { LilyError } from '../protocol/errors.js'

/** An offer together with its id, the EIP-712 digest the caller computed (`DomainHasher.digest`). */
export interface OfferRecord<T> {
  id: Hash
  offer: T
}

/**
 * The offers a node has received so far, in any order and with duplicates allowed. `step`
 * itself keeps those effective at the epoch (lifetime, supersession), so the node may pass
 * everything it holds.
 */
export interface EpochInput {
  jobs: Array<OfferRecord<JobOffer>>
  resources: Array<OfferRecord<ResourceOffer>>
}

/** A `DealOpened` event: the deal is on-chain, its job is consumed for good. */
export interface OpenedFact {
  dealId: Hash
  jobOfferHash: Hash
  resourceOfferHash: Hash
}

/**
 * Chain events that arrived since the previous step (blocks after B(E-1) up to B(E)), in any
 * order. A repeated opened fact is ignored while its deal is open or its job's spent marker
 * lives (until the job offer's expiryEpoch), so re-sending a window of recent events is safe;
 * re-sending events older than that is not.
 */
export interface ChainFacts {
  opened: OpenedFact[]
  /** dealIds of `DealClosed` events (completed, resolved, timed out). */
  closed: Hash[]
  /**
   * The hash of a block mined after the epoch's offers closed (the first block stamped after
   * its match time, `seedBlockAfter`), the same on every node: mixed into the epoch seed, so
   * that nobody can know the tie-breaks while it can still add or re-roll an offer. Absent:
   * the seed is keccak(seedPrefix ‖ epoch), public in advance and so grindable.
   */
  seedBlock?: Hash
}

export interface MatcherConfig {
  /** The profile hash: the epoch seed is keccak(seedPrefix ‖ uint256(epoch)). */
  seedPrefix: Hash
  /** k: a match of epoch E holds its job and capacity through epoch E + k unless opened on-chain. */
  reserveEpochs: number
  /** Unix-seconds deadline written into the Deal of a match of `matchEpoch`. Must be pure. */
  openBy: (matchEpoch: bigint) => bigint
}

/** One deal the matcher derived in this epoch. `dealId` is the EIP-712 digest of `deal`, computed by the caller. */
export interface Match {
  deal: Deal
  jobId: Hash
  resourceId: Hash
}

/** Capacity held on a provider offer slot (provider, nonce): every version of the slot shares it. */
export interface Hold {
  provider: Address
  nonce: bigint
  cpu: number
  ram: number
  gpus: number
  disk: number
}

/** A match that is not (yet) on-chain: holds its job and its capacity through `matchEpoch + k`. */
export interface Reservation {
  jobId: Hash
  resourceId: Hash
  matchEpoch: bigint
  /** The job offer's expiryEpoch, so a consumed job can be forgotten once it can no longer match. */
  jobExpiry: bigint
  hold: Hold
}

/** A deal opened on-chain and not yet closed: its capacity stays held (null when the matcher never saw its offers). */
export interface OpenDeal {
  dealId: Hash
  jobId: Hash
  hold: Hold | null
}

/** A job whose deal was opened on-chain: never matched again; kept until the offer expires. */
export interface SpentJob {
  jobId: Hash
  expiryEpoch: bigint
}

/**
 * The replicated state. Canonical: `reserved` and `spent` sorted by jobId, `open` by dealId,
 * so equal states are equal as data and encode to the same bytes.
 */
export interface MatcherState {
  /** The last epoch stepped, or null for the initial state. */
  epoch: bigint | null
  reserved: Reservation[]
  open: OpenDeal[]
  spent: SpentJob[]
}

export interface StepResult {
  state: MatcherState
  /** In matching order: jobs by maxPrice descending, ties by keccak(seed, jobId). */
  matches: Match[]
  /** keccak256 over the canonical encoding of `state`. */
  stateRoot: Hash
}

export type MatchingErrorCode =
  | 'MATCHING_BAD_CONFIG'
  | 'MATCHING_EPOCH_ORDER'
  | 'MATCHING_BAD_STATE'
  | 'MATCHING_BAD_SNAPSHOT'
  /** a job handed to `fitOffers` (an estimate) that the matcher would refuse */
  | 'MATCHING_BAD_JOB'

export class MatchingError extends LilyError<MatchingErrorCode> {
  override readonly name = 'MatchingError'
}

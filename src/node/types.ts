/**
 * What the node's services share: the events a LilyNode emits, the records it stores and the
 * matches it derives. Apart from the services so that none imports another's file for a type.
 */
import type { EventEmitter } from 'node:events'
import type { Deal, Hash, Party, Signature } from '../protocol/index.js'

/** A deal this node is a party to, as the matcher derived it. */
export interface OwnMatch {
  dealId: Hash
  deal: Deal
  jobId: Hash
  resourceId: Hash
  role: Party
  epoch: bigint
}

export interface AgreedDeal {
  dealId: Hash
  deal: Deal
  creatorSignature: Signature
  providerSignature: Signature
}

export interface EpochEvent {
  epoch: bigint
  stateRoot: Hash
  offerDigest: Hash
  /** Matches derived in this epoch (all parties). */
  matches: number
  /** Offers in the epoch's input. */
  offers: number
}

export interface LilyNodeEvents {
  match: [OwnMatch]
  'deal:agreed': [AgreedDeal]
  epoch: [EpochEvent]
  /** An offer entered the pool (after it was stored). */
  offer: [{ id: Hash, kind: 'job' | 'resource', via: 'self' | 'gossip' | 'sync' }]
  /** The node adopted its peers' state (resync or join). */
  resync: [{ epoch: bigint, stateRoot: Hash, how: 'recompute' | 'snapshot' | 'join' }]
  /** The loop was `behind` closed epochs: it skipped to a checked snapshot of epoch `to`, or (none to be had) replays. See lag.ts. */
  lag: [{ action: 'skip' | 'replay', from: bigint, to?: bigint, behind: bigint, lagMs: number }]
}

/** Where services report what happened (the LilyNode itself). */
export type NodeEvents = Pick<EventEmitter<LilyNodeEvents>, 'emit'>

export interface TestHooks {
  /** Probability (0..1) that an incoming gossip delivery is dropped (ignored, not relayed). */
  dropGossip?: number
  /**
   * Milliseconds an incoming gossip delivery from peer `source` waits before it is validated, and
   * so before it is recorded and relayed: a wide-area link's latency, injected per hop.
   */
  gossipDelayMs?: (source: string) => number
}

/** What the node stores per matched epoch. */
export interface EpochRecord {
  epoch: bigint
  state: string
  root: Hash
  digest: Hash
  inputIds: Hash[]
}

/**
 * `deferred`: matched in an epoch that no other node confirmed (no peer reported a root for it:
 * a node replaying missed epochs before it reaches anyone). Signed at the next epoch a peer
 * confirms, if the agreed state still holds its reservation; never signed otherwise.
 */
export interface StoredMatch extends OwnMatch { signed: boolean, deferred?: boolean }

/** Epoch records kept in the store by default. */
export const DEFAULT_KEEP_EPOCHS = 64

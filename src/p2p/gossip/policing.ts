/**
 * Gossip validation (DESIGN §3). Every topic has one validator; each check throws a
 * ProtocolError or GossipRefusal carrying its action, and `toValidatorResult` is the one place
 * where actions become gossipsub results. Counters are labelled by code.
 *
 * Peer policing: a token bucket of messages per propagation source, a decaying count of
 * rejects per peer that feeds gossipsub's app-specific score, and a ban (hang-up plus
 * connection gating) for peers past the threshold.
 *
 * What each kind of bad input gets (counted as `<topic>/<action>/<code>` in GossipMetrics):
 *   malformed bytes, not JSON, wrong fields          reject  PROTOCOL_MALFORMED / _UNKNOWN_FIELD / _MISSING_FIELD / _BAD_TYPE / _BAD_HEX
 *   over the profile's maxMessageBytes or kind cap  reject  PROTOCOL_TOO_LARGE
 *   out-of-bounds field values                      reject  PROTOCOL_OUT_OF_BOUNDS
 *   signature unparsable / high-s / not the party   reject  PROTOCOL_BAD_SIGNATURE / PROTOCOL_HIGH_S / PROTOCOL_WRONG_SIGNER
 *   offer/acceptance/heartbeat signed by someone
 *     other than the peer that published it         reject  NODE_WRONG_PUBLISHER
 *   over 100 msg/s (burst 400) from one peer, or
 *     the author over maxOffersPerPeerPerEpoch      reject  NODE_RATE_LIMITED (relays of someone else's excess: ignore)
 *   offer for an epoch already closed / too far
 *     ahead; acceptance or heartbeat out of window  ignore  PROTOCOL_EPOCH_TOO_OLD / PROTOCOL_EPOCH_TOO_NEW
 *   acceptance of a deal this node's matcher did
 *     not derive / of an epoch it has not matched   ignore  NODE_UNKNOWN_DEAL / NODE_DEAL_PENDING (held, see node/services/dealBook.ts)
 *   already known (other bytes)                     ignore  PROTOCOL_DUPLICATE
 *   the author over its live cap (quota.ts)         reject  NODE_RATE_LIMITED
 *   pool space of parties without escrow full       ignore  NODE_UNFUNDED
 *   pool full                                       ignore  NODE_EPOCH_FULL
 *   from a banned peer still in flight              ignore  NODE_BANNED
 *   dropped by the test hook                        ignore  TEST_DROPPED
 * A peer with 40 (decayed) rejects, or whose gossipsub score falls under −80, is hung up on
 * and refused for 2 minutes.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { ProtocolError } from '../../protocol/errors.js'
import { GossipRefusal } from '../errors.js'

export type GossipAction = 'accept' | 'reject' | 'ignore'

/** Gossip refusal codes of the node (besides the PROTOCOL_* codes of decoding and signatures). */
export const GOSSIP_CODES = {
  wrongPublisher: 'NODE_WRONG_PUBLISHER',
  rateLimited: 'NODE_RATE_LIMITED',
  epochFull: 'NODE_EPOCH_FULL',
  duplicate: 'PROTOCOL_DUPLICATE',
  tooOld: 'PROTOCOL_EPOCH_TOO_OLD',
  tooNew: 'PROTOCOL_EPOCH_TOO_NEW',
  dropped: 'TEST_DROPPED',
  banned: 'NODE_BANNED',
  unsigned: 'NODE_UNSIGNED',
  unknownDeal: 'NODE_UNKNOWN_DEAL',
  dealPending: 'NODE_DEAL_PENDING',
  unfunded: 'NODE_UNFUNDED'
} as const

/** The action of a thrown error: ProtocolError/GossipRefusal carry theirs; anything else is a bug → ignore. */
export function actionOf (e: unknown): { action: 'reject' | 'ignore', code: string } {
  if (e instanceof ProtocolError || e instanceof GossipRefusal) return { action: e.action, code: e.code }
  return { action: 'ignore', code: 'NODE_INTERNAL' }
}

export function toValidatorResult (action: GossipAction): TopicValidatorResult {
  switch (action) {
    case 'accept': return TopicValidatorResult.Accept
    case 'reject': return TopicValidatorResult.Reject
    case 'ignore': return TopicValidatorResult.Ignore
  }
}

/** In-memory counters, `<topic kind>/<accept|reject|ignore>/<code>` → count. */
export class GossipMetrics {
  readonly counts = new Map<string, number>()
  /** Gossip payload bytes received (every copy) and sent (per recipient). */
  bytesIn = 0
  bytesOut = 0
  messagesIn = 0
  /** Request/response frame bytes (sync, query). */
  rpcBytesIn = 0
  rpcBytesOut = 0

  count (kind: string, action: GossipAction, code: string): void {
    const key = `${kind}/${action}/${code}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  /** Total over all topics for one code. */
  byCode (code: string): number {
    let n = 0
    for (const [k, v] of this.counts) if (k.endsWith(`/${code}`)) n += v
    return n
  }

  toJSON (): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a < b ? -1 : 1))
  }
}

export interface PolicingOptions {
  /** Sustained messages per second accepted from one propagation source. */
  ratePerSec?: number
  /** Burst allowance. */
  burst?: number
  /** Decayed rejects after which a peer is banned. */
  banThreshold?: number
  banMs?: number
  /** Score lost per reject, fed to gossipsub as app-specific score. */
  penaltyPerReject?: number
}

interface PeerRecord {
  tokens: number
  last: number
  rejects: number
  rejectsAt: number
}

const MAX_TRACKED_PEERS = 4096

export class PeerPolicing {
  private readonly peers = new Map<string, PeerRecord>()
  private readonly banned = new Map<string, number>()
  readonly rate: number
  readonly burst: number
  readonly banThreshold: number
  readonly banMs: number
  readonly penalty: number

  constructor (opts: PolicingOptions = {}, private readonly now: () => number = Date.now) {
    this.rate = opts.ratePerSec ?? 100
    this.burst = opts.burst ?? 400
    this.banThreshold = opts.banThreshold ?? 40
    this.banMs = opts.banMs ?? 120_000
    this.penalty = opts.penaltyPerReject ?? 5
  }

  private record (peer: string): PeerRecord {
    let r = this.peers.get(peer)
    if (r === undefined) {
      if (this.peers.size >= MAX_TRACKED_PEERS) {
        const first = this.peers.keys().next().value
        if (first !== undefined) this.peers.delete(first)
      }
      r = { tokens: this.burst, last: this.now(), rejects: 0, rejectsAt: this.now() }
      this.peers.set(peer, r)
    }
    return r
  }

  /** Takes one token; false when the peer is over its rate. */
  take (peer: string): boolean {
    const r = this.record(peer)
    const t = this.now()
    r.tokens = Math.min(this.burst, r.tokens + (t - r.last) * this.rate / 1000)
    r.last = t
    if (r.tokens < 1) return false
    r.tokens -= 1
    return true
  }

  private decayed (r: PeerRecord): number {
    // half-life of 30 s
    const t = this.now()
    r.rejects *= Math.pow(0.5, (t - r.rejectsAt) / 30_000)
    r.rejectsAt = t
    return r.rejects
  }

  /** Records a reject; true when the peer just crossed the ban threshold. */
  reject (peer: string): boolean {
    const r = this.record(peer)
    this.decayed(r)
    r.rejects += 1
    if (r.rejects >= this.banThreshold && !this.isBanned(peer)) {
      this.banned.set(peer, this.now() + this.banMs)
      return true
    }
    return false
  }

  ban (peer: string): void { this.banned.set(peer, this.now() + this.banMs) }

  isBanned (peer: string): boolean {
    const until = this.banned.get(peer)
    if (until === undefined) return false
    if (until <= this.now()) {
      this.banned.delete(peer)
      return false
    }
    return true
  }

  /** App-specific score for gossipsub: ≤ 0, falls with every reject. */
  appScore (peer: string): number {
    const r = this.peers.get(peer)
    if (r === undefined) return 0
    return -this.penalty * this.decayed(r) - (this.isBanned(peer) ? 1000 : 0)
  }

  rejectsOf (peer: string): number {
    const r = this.peers.get(peer)
    return r === undefined ? 0 : this.decayed(r)
  }
}

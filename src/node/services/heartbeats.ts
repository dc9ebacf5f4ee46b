/**
 * Heartbeats and roots (DESIGN §4): the roots peers reported per epoch (gossiped heartbeats or
 * direct `root` answers), the majority among them, whether an epoch can be confirmed early,
 * and this node's own heartbeat — gossiped by a sample of nodes in large networks (heartbeatDue).
 */
import { keccak, type DomainHasher } from '../../protocol/index.js'
import { concatBytes, hexToBytes } from '../../protocol/index.js'
import type { Identity } from '../../protocol/index.js'
import type { Profile, TopicKind } from '../../protocol/index.js'
import type { Address, Hash } from '../../protocol/index.js'
import { encodeMessage, signHeartbeat } from '../../p2p/index.js'
import { heartbeatsConfirmEarly } from '../earlyConfirm.js'
import type { EpochRecord } from '../types.js'
import type { Majority, VoteWeights } from '../weights.js'

export interface HeartbeatsComponents {
  profile: Profile
  identity: Identity
  address: Address
  hasher: DomainHasher
  /** The matched epochs (roots, head, counterparties). */
  ledger: { readonly roots: ReadonlyMap<bigint, Hash>, readonly head: EpochRecord | undefined, readonly counterparties: ReadonlyMap<bigint, ReadonlySet<string>> }
  /** Distinct parties seen gossiping (this node's estimate of the network size, less one). */
  parties: { readonly size: number }
  publish: (kind: TopicKind, data: Uint8Array) => Promise<void>
  /** On-chain weight of each voter (weights.ts): roots are compared by weight, never by counting keys. */
  votes: VoteWeights
}

export interface HeartbeatsInit {
  /** See LilyNodeOptions.heartbeatSample. */
  heartbeatSample?: number
  /** See LilyNodeOptions.matchSpreadMs. */
  matchSpreadMs?: number
}

/** Heartbeats gossiped per epoch in large networks (all nodes gossip below twice this); see heartbeatDue. */
export const HEARTBEAT_SAMPLE = 8
/** Default of LilyNodeOptions.matchSpreadMs. */
export const DEFAULT_MATCH_SPREAD_MS = 1000
const MAX_HEARTBEAT_EPOCHS = 16
const MAX_HEARTBEATS_PER_EPOCH = 4096


export class Heartbeats {
  private readonly byEpoch = new Map<bigint, Map<Address, { root: Hash, digest: Hash, peer: string }>>()

  constructor (private readonly components: HeartbeatsComponents, private readonly init: HeartbeatsInit = {}) {}

  /** Heartbeats recorded for `epoch`. */
  count (epoch: bigint): number { return this.byEpoch.get(epoch)?.size ?? 0 }

  /** Whether `node`'s heartbeat of `epoch` is recorded. */
  has (epoch: bigint, node: Address): boolean { return this.byEpoch.get(epoch)?.has(node) === true }

  record (epoch: bigint, node: Address, root: Hash, digest: Hash, peer: string): void {
    let m = this.byEpoch.get(epoch)
    if (m === undefined) {
      m = new Map()
      this.byEpoch.set(epoch, m)
      for (const e of [...this.byEpoch.keys()].sort((a, b) => a < b ? -1 : 1)) {
        if (this.byEpoch.size <= MAX_HEARTBEAT_EPOCHS) break
        this.byEpoch.delete(e)
      }
    }
    if (m.size < MAX_HEARTBEATS_PER_EPOCH) m.set(node, { root, digest, peer })
  }

  /**
   * Whether this node gossips its heartbeat for `epoch`.
   *
   * Deviation from DESIGN §4 ("after matching, each node gossips its heartbeat"), on purpose and
   * bounded: every node computes its heartbeat every epoch and serves its root over `sync`
   * (`root`), but a gossiped heartbeat costs every other node a gossipsub signature check, a key
   * decoding and an EIP-712 recovery, so with N nodes full heartbeats are N² validations per
   * epoch. So: let n = 1 + the number of distinct authors this node has seen gossip from (its
   * own estimate of the network size) and S = `heartbeatSample` (default HEARTBEAT_SAMPLE = 8).
   * If S = 0 or n ≤ 2S, the node gossips every epoch (exactly the design). Otherwise it
   * gossips when keccak(address ‖ uint64 epoch), first two bytes as a big-endian number, is
   * ≡ 0 mod ⌈n / S⌉: a pseudo-random sample of about S nodes per epoch, a different one each
   * epoch, that anyone can recompute. Nodes' estimates of n differ a little, so the sample is
   * about S, not exactly S. The confirm phase still compares against the majority: when fewer
   * than 3 heartbeats of the epoch arrived it asks up to 3 connected peers for their root
   * directly (`collectRoots`). What is lost against the design: a diverged node that is not in
   * the sample is noticed by its own confirm phase (it compares itself with the sample), not
   * by the others.
   */
  heartbeatDue (epoch: bigint): boolean {
    if (this.everyNodeGossips()) return true
    const h = this.epochDraw(epoch)
    return (h[0] * 256 + h[1]) % Math.ceil((this.components.parties.size + 1) / (this.init.heartbeatSample ?? HEARTBEAT_SAMPLE)) === 0
  }

  /** Whether, by this node's estimate of the network size, every node gossips its heartbeat each epoch (see heartbeatDue). */
  everyNodeGossips (): boolean {
    const sampleSize = this.init.heartbeatSample ?? HEARTBEAT_SAMPLE
    return sampleSize === 0 || this.components.parties.size + 1 <= sampleSize * 2
  }

  /** keccak(address ‖ uint64 epoch): this node's per-epoch draw for heartbeatDue and matchDelay, recomputable by anyone. */
  private epochDraw (epoch: bigint): Uint8Array {
    return keccak(concatBytes(hexToBytes(this.components.address, 20), hexToBytes(`0x${epoch.toString(16).padStart(16, '0')}`, 8)))
  }

  /**
   * How long after `epochMatchTime(epoch)` this node reconciles and matches `epoch`: keccak(
   * address ‖ uint64 epoch), bytes 2–3 as a big-endian number, mod the spread (a different
   * order of nodes each epoch). Every node reconciling at the same instant made a burst of
   * sync streams, matcher steps and heartbeats that held the CPU of a 50-node network on two
   * cores for about a second, and gossip arriving meanwhile waited behind it (bench:network's
   * p99). The inputs do not depend on it: gossip for the epoch is refused from its match
   * time on, and a node that matches later takes the frozen input of peers that matched.
   */
  matchDelay (epoch: bigint): number {
    const spread = Math.min(this.init.matchSpreadMs ?? DEFAULT_MATCH_SPREAD_MS, Math.floor(this.components.profile.epochMs / 4))
    if (!(spread > 0)) return 0
    const h = this.epochDraw(epoch)
    return (h[2] * 256 + h[3]) % Math.floor(spread)
  }

  /** Gossips this node's heartbeat of `epoch` when it is the head and this node is in the epoch's sample. */
  async announce (epoch: bigint): Promise<void> {
    const { hasher, identity, address, ledger, publish } = this.components
    const rec = ledger.head
    if (rec === undefined || rec.epoch !== epoch || !this.heartbeatDue(epoch)) return
    const m = signHeartbeat(hasher, identity.privateKey, { node: address, epoch, offerDigest: rec.digest, stateRoot: rec.root })
    await publish('epochs', encodeMessage(m))
  }

  /** Looks up the on-chain weight of a heartbeat's author (a chain read only for depositors). */
  async learnWeight (epoch: bigint, node: Address): Promise<void> {
    await this.components.votes.weightOf(epoch, node)
  }

  /**
   * The heaviest root among peers' heartbeats for `epoch` and ours, by on-chain weight
   * (weights.ts; ties and weightless roots keep ours), with its peers.
   */
  async majorityRoot (epoch: bigint): Promise<Majority | undefined> {
    const { ledger, address, votes } = this.components
    const list = [...(this.byEpoch.get(epoch) ?? [])].map(([a, hb]) => ({ address: a, root: hb.root, peer: hb.peer }))
    return await votes.majority(epoch, list, { address, root: ledger.roots.get(epoch) })
  }

  /** Whether another node reported the same root for `epoch` as this node (heartbeat or direct answer). */
  peerConfirmed (epoch: bigint): boolean {
    const mine = this.components.ledger.roots.get(epoch)
    if (mine === undefined) return false
    const me = this.components.address.toLowerCase()
    for (const [addr, hb] of this.byEpoch.get(epoch) ?? []) {
      if (addr.toLowerCase() !== me && hb.root === mine) return true
    }
    return false
  }

  /**
   * Whether `epoch` (matched, not yet confirmed) can be confirmed before its timed point, half
   * an epoch after matching, because waiting cannot change the outcome. All must hold:
   * every node gossips its heartbeat each epoch (no sampling, see heartbeatDue); no heartbeat
   * of the epoch seen so far has another root than ours; at least two peers' agree with ours;
   * the nodes agreeing with us (ourselves included) outnumber those that gossiped a heartbeat
   * of the previous epoch and not yet of this one, so even if every missing one disagreed we
   * would stay the majority at the timed point; and every counterparty of our matches in the
   * epoch has reported our root (it derived the same deals, so it signs the same ones). Any
   * other case takes the timed path (collectRoots, majority, resync) unchanged. The heartbeat
   * rule itself is `heartbeatsConfirmEarly` (earlyConfirm.ts).
   */
  earlyConfirmable (epoch: bigint): boolean {
    const { ledger, address, votes } = this.components
    const mine = ledger.roots.get(epoch)
    if (mine === undefined || ledger.head?.epoch !== epoch) return false
    if (!this.everyNodeGossips()) return false
    const seen = this.byEpoch.get(epoch)
    if (seen === undefined) return false
    return heartbeatsConfirmEarly({
      me: address,
      mine,
      // only voters known to weigh something count (a weightless key can neither help nor block)
      seen: [...seen].filter(([addr]) => votes.knownWeight(epoch, addr) !== 0n).map(([addr, hb]) => [addr, hb.root] as const),
      previous: [...(this.byEpoch.get(epoch - 1n)?.keys() ?? [])].filter((addr) => votes.knownWeight(epoch - 1n, addr) !== 0n),
      counterparties: ledger.counterparties.get(epoch) ?? []
    })
  }
}

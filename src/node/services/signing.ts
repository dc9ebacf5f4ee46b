/**
 * Signing decisions: which of this node's stored matches it signs, and when. Once per job offer
 * (never a second deal for one), only deals a run follows when `followedJobsOnly`, only what
 * `acceptDeal` allows, and for epochs no peer confirmed, only later and only if the agreed
 * state still holds the reservation. A signed acceptance is stored, gossiped and sent to the
 * counterparty directly.
 */
import type { DomainHasher } from '../../protocol/index.js'
import type { Identity } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import type { TopicKind } from '../../protocol/index.js'
import type { Address, Hash } from '../../protocol/index.js'
import type { MatcherState } from '../../matching/index.js'
import type { GossipMetrics } from '../../p2p/index.js'
import { encodeMessage, signDeal, type WireMessage } from '../../p2p/index.js'
import { Bucket, type NodeStore, type StoreOp } from '../store.js'
import type { NodeEvents, OwnMatch, StoredMatch } from '../types.js'
import type { LagMonitor } from '../lag.js'

export interface SigningComponents {
  store: NodeStore
  hasher: DomainHasher
  identity: Identity
  metrics: GossipMetrics
  events: NodeEvents
  log: Logger
  /** Refuses acceptances that could not be delivered before the deal's openBy (lag.ts). */
  lag: Pick<LagMonitor, 'canDeliver' | 'lagMs' | 'deliveryMarginMs'>
  stateAt: (epoch: bigint) => Promise<MatcherState | undefined>
  /** Stores this node's own acceptance like any other. */
  ingestAcceptance: (dealId: Hash, m: Extract<WireMessage, { kind: 'acceptance' }>, wire: Uint8Array) => Promise<boolean>
  publish: (kind: TopicKind, data: Uint8Array) => Promise<void>
  /** Best-effort direct delivery to the counterparty. */
  sendAcceptance: (counterparty: Address, wire: Uint8Array) => Promise<void>
}

export interface SigningInit {
  /** See LilyNodeOptions.acceptDeal. */
  acceptDeal?: (m: OwnMatch) => boolean | Promise<boolean>
  /** See LilyNodeOptions.followedJobsOnly. */
  followedJobsOnly?: boolean
  /** Who follows this node's job offers: asked before a deal for one of them is signed. */
  jobFollowers?: ReadonlySet<(jobOfferHash: Hash) => boolean>
}

export class DealSigning {
  /** Whether stored matches may wait for a peer-confirmed epoch (true at start: a previous run may have left some). */
  private deferredMayExist = true

  constructor (private readonly components: SigningComponents, private readonly init: SigningInit = {}) {}

  /**
   * At the confirmation of `epoch`: with `confirmed` (a peer reported this node's root), signs
   * its matches and the deferred ones the agreed state still holds; without, marks its matches
   * deferred (a restart replaying epochs before any peer is reached may not have matched what
   * the network matched, and a signed deal would block the right one for the job).
   */
  async confirmEpoch (epoch: bigint, confirmed: boolean): Promise<void> {
    const { store, log } = this.components
    if (!confirmed) {
      const ops: StoreOp[] = []
      for await (const [k, m] of store.entries<StoredMatch>(Bucket.matches)) {
        if (m.epoch === epoch && !m.signed && m.deferred !== true) ops.push({ type: 'put', bucket: Bucket.matches, key: k, value: { ...m, deferred: true } satisfies StoredMatch })
      }
      if (ops.length > 0) {
        await store.batch(ops)
        this.deferredMayExist = true
        log.info('no peer has confirmed the epoch; its deals wait for a confirmed epoch before they are signed', { epoch, deals: ops.length })
      }
      return
    }
    let held: Set<string> | undefined
    if (this.deferredMayExist) {
      held = await this.heldReservations(epoch)
      this.deferredMayExist = false
    }
    const nowS = BigInt(Math.floor(Date.now() / 1000))
    await this.signOwnMatches((m) => m.epoch === epoch ||
      (held !== undefined && m.deferred === true && m.deal.openBy >= nowS && held.has(`${m.jobId}:${m.resourceId}:${m.epoch}`)))
  }

  /** `jobId:resourceId:matchEpoch` of every reservation in the state of `epoch`. */
  private async heldReservations (epoch: bigint): Promise<Set<string>> {
    const state = await this.components.stateAt(epoch)
    return new Set((state?.reserved ?? []).map((r) => `${r.jobId}:${r.resourceId}:${r.matchEpoch}`))
  }

  /** Signs (once per job offer) the stored, unsigned matches that `which` selects. */
  async signOwnMatches (which: (m: StoredMatch) => boolean): Promise<void> {
    const { store, hasher, identity, metrics, events, log } = this.components
    const todo: StoredMatch[] = []
    for await (const [, m] of store.entries<StoredMatch>(Bucket.matches)) {
      if (!m.signed && which(m)) todo.push(m)
    }
    for (const m of todo) {
      const prior = await store.get<Hash>(Bucket.signedJobs, m.jobId)
      if (prior !== undefined && prior !== m.dealId) {
        metrics.count('deals', 'ignore', 'NODE_DOUBLE_SIGN')
        log.warn('refusing to sign a second deal for one job offer', { jobId: m.jobId, signed: prior, refused: m.dealId })
        continue
      }
      if (m.role === 'creator' && this.init.followedJobsOnly === true && ![...(this.init.jobFollowers ?? [])].some((wants) => wants(m.jobId))) {
        log.info('not signing a deal for a job offer no run follows', { jobId: m.jobId, dealId: m.dealId })
        continue
      }
      if (!this.components.lag.canDeliver(m.deal.openBy)) {
        log.warn('not signing a deal that could not open before its openBy', { dealId: m.dealId, openBy: m.deal.openBy, lagMs: this.components.lag.lagMs(), marginMs: this.components.lag.deliveryMarginMs })
        continue
      }
      const accept = this.init.acceptDeal === undefined ? true : await this.init.acceptDeal(m)
      if (!accept) continue
      const wireMsg = signDeal(hasher, identity.privateKey, m.deal, m.role)
      const wire = encodeMessage(wireMsg)
      await store.batch([
        { type: 'put', bucket: Bucket.signedJobs, key: m.jobId, value: m.dealId },
        { type: 'put', bucket: Bucket.matches, key: m.dealId, value: { ...m, signed: true } satisfies StoredMatch }
      ])
      await this.components.ingestAcceptance(m.dealId, wireMsg, wire)
      events.emit('match', { dealId: m.dealId, deal: m.deal, jobId: m.jobId, resourceId: m.resourceId, role: m.role, epoch: m.epoch })
      await this.components.publish('deals', wire)
      const other = m.role === 'creator' ? m.deal.provider : m.deal.creator
      void this.components.sendAcceptance(other, wire)
    }
  }
}

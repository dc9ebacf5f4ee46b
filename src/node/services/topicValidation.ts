/**
 * Validation of the four gossip topics: every delivery is size-checked, decoded, checked for
 * its epoch window, signature and publisher, deduplicated and bounded per signer before it
 * enters the pool, the acceptances or the heartbeats — and before gossipsub relays it. A
 * refusal's action (reject: the sender pays in score; ignore: not relayed) and code are counted.
 */
import type { Message } from '@libp2p/gossipsub'
import type { DomainHasher } from '../../protocol/index.js'
import { peerIdToAddress, sleep } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import { epochAt, topicName, type Profile } from '../../protocol/index.js'
import type { Address } from '../../protocol/index.js'
import { GossipRefusal } from '../../p2p/errors.js'
import { actionOf, GOSSIP_CODES, toValidatorResult, type GossipMetrics, type PeerPolicing } from '../../p2p/index.js'
import type { NodeLibp2p } from '../../p2p/index.js'
import { decodeTopicPayload, runTopicValidator, TOPIC_KINDS, type GossipDelivery, type TopicKind, type TopicPayload, type TopicValidators } from '../../p2p/index.js'
import { verifyMessage } from '../../p2p/index.js'
import type { OfferPool } from '../pool.js'
import type { NodeEvents, TestHooks } from '../types.js'
import type { Acceptances } from './acceptances.js'
import type { OfferAdmission } from '../quota.js'
import type { Heartbeats } from './heartbeats.js'
import type { PartyPeers } from './parties.js'

export interface TopicValidationComponents {
  /** Where the validators are set and the topics subscribed. */
  pubsub: Pick<NodeLibp2p['services']['pubsub'], 'topicValidators' | 'subscribe'>
  profile: Profile
  hasher: DomainHasher
  pool: OfferPool
  policing: PeerPolicing
  metrics: GossipMetrics
  acceptances: Acceptances
  /** Who may hold how much of the pool (quota.ts). */
  admission: OfferAdmission
  heartbeats: Heartbeats
  parties: PartyPeers
  events: NodeEvents
  log: Logger
  /** A delivery was rejected: the sender may be cut off. */
  onReject: (peer: string) => void
  /** A heartbeat of `epoch` was recorded (an early confirmation may have become possible). */
  onHeartbeat: (epoch: bigint) => void
}

export interface TopicValidationInit {
  testHooks?: TestHooks
}

export class TopicValidation {
  /** One validator per topic kind: the compiler refuses a set that misses one. */
  readonly validators: TopicValidators

  constructor (private readonly components: TopicValidationComponents, private readonly init: TopicValidationInit = {}) {
    this.validators = {
      jobs: async (m, d) => { await this.offer(m, d) },
      resources: async (m, d) => { await this.offer(m, d) },
      deals: async (m, d) => { await this.acceptance(m, d) },
      epochs: async (m, d) => { await this.heartbeat(m, d) }
    }
  }

  /** Sets the validators of the topics and subscribes to them. */
  install (): void {
    const { pubsub, profile, metrics, log } = this.components
    for (const kind of TOPIC_KINDS) {
      const topic = topicName(profile, kind)
      pubsub.topicValidators.set(topic, async (peer, msg) => {
        const source = peer.toString()
        try {
          await this.validate(kind, source, msg)
          metrics.count(kind, 'accept', 'OK')
          return toValidatorResult('accept')
        } catch (e) {
          const { action, code } = actionOf(e)
          metrics.count(kind, action, code)
          if (action === 'reject') this.components.onReject(source)
          if (code === 'NODE_INTERNAL') log.warn('validator failed', { kind, err: e })
          return toValidatorResult(action)
        }
      })
      pubsub.subscribe(topic)
    }
  }

  private refuse (code: string, action: 'reject' | 'ignore', message: string): never {
    throw new GossipRefusal(code, action, message)
  }

  /** Checks every delivery of topic `kind` shares (peer, rate, signature, size, payload kind), then the topic's validator. */
  async validate<K extends TopicKind> (kind: K, source: string, msg: Message): Promise<void> {
    const { profile, policing, metrics } = this.components
    const delay = this.init.testHooks?.gossipDelayMs?.(source) ?? 0
    if (delay > 0) await sleep(delay)
    metrics.messagesIn++
    metrics.bytesIn += msg.data.length
    if (policing.isBanned(source)) this.refuse(GOSSIP_CODES.banned, 'ignore', 'peer is cut off')
    if (!policing.take(source)) this.refuse(GOSSIP_CODES.rateLimited, 'reject', `peer ${source} is over ${policing.rate} messages/s`)
    if (msg.type !== 'signed') this.refuse(GOSSIP_CODES.unsigned, 'reject', 'gossip must be signed by its author')
    if (msg.data.length > profile.limits.maxMessageBytes) {
      this.refuse('PROTOCOL_TOO_LARGE', 'reject', `message of ${msg.data.length} bytes over the profile cap ${profile.limits.maxMessageBytes}`)
    }
    const payload = decodeTopicPayload(profile, kind, msg.data)
    await runTopicValidator(this.validators, kind, payload, { source, author: msg.from.toString(), from: msg.from, data: msg.data })
  }

  /** The author's chain address (the key of its peer id). */
  private authorAddress (d: GossipDelivery): Address {
    return peerIdToAddress(d.from)
  }

  private window (): { now: number, cur: bigint, skew: bigint } {
    const { profile } = this.components
    const now = Date.now()
    return { now, cur: epochAt(profile, now), skew: BigInt(profile.limits.maxEpochSkew) }
  }

  private async offer (m: TopicPayload<'jobs'> | TopicPayload<'resources'>, d: GossipDelivery): Promise<void> {
    const { profile, hasher, pool, parties, events, admission } = this.components
    const { now, cur, skew } = this.window()
    // an offer must arrive while its first epoch is still open for matching
    const oldest = epochAt(profile, now - profile.graceMs)
    if (m.offer.epoch < oldest) this.refuse(GOSSIP_CODES.tooOld, 'ignore', `offer for epoch ${m.offer.epoch} arrived after it closed`)
    if (m.offer.epoch > cur + skew) this.refuse(GOSSIP_CODES.tooNew, 'ignore', `offer for epoch ${m.offer.epoch} is more than ${skew} epochs ahead`)
    // offers of on-chain requests (creator = profile.requests) are signed by their relay: see isRelayedOffer
    const { id, signer } = verifyMessage(hasher, m, undefined, profile.requests)
    const authorAddress = this.authorAddress(d)
    if (signer !== authorAddress) this.refuse(GOSSIP_CODES.wrongPublisher, 'reject', `offer signed by ${signer} but published by ${authorAddress}`)
    const known = pool.get(id)
    if (known !== undefined) {
      // learned through sync first: relay the same bytes on, but only once and without re-processing
      if (Buffer.from(known.wire).equals(d.data)) return
      this.refuse(GOSSIP_CODES.duplicate, 'ignore', 'offer already known')
    }
    // quotas per party (quota.ts): a live cap per funded party, a bounded share for the rest
    const over = admission.gossiped(signer, m.offer.epoch)
    if (over !== undefined) {
      // the author flooding us directly is punished; relays that saw other parts of the flood are not
      this.refuse(over.code, over.code === GOSSIP_CODES.rateLimited && d.source === d.author ? 'reject' : 'ignore', over.message)
    }
    this.maybeDrop()
    parties.seen(signer, d.author)
    if (await pool.add({ id, kind: m.kind, signer, epoch: m.offer.epoch, expiry: m.offer.expiryEpoch, wire: d.data, offer: m.offer }, !admission.funded(signer))) {
      events.emit('offer', { id, kind: m.kind, via: 'gossip' })
    }
  }

  private async acceptance (m: TopicPayload<'deals'>, d: GossipDelivery): Promise<void> {
    const { profile, hasher, acceptances, parties } = this.components
    const { cur, skew } = this.window()
    if (m.deal.matchEpoch > cur + skew) this.refuse(GOSSIP_CODES.tooNew, 'ignore', `acceptance of epoch ${m.deal.matchEpoch} is more than ${skew} epochs ahead of ${cur}`)
    if (m.deal.matchEpoch + BigInt(profile.reserveEpochs) + skew + 2n < cur) {
      this.refuse(GOSSIP_CODES.tooOld, 'ignore', `acceptance of epoch ${m.deal.matchEpoch} is past its window`)
    }
    const { id, signer } = verifyMessage(hasher, m)
    const authorAddress = this.authorAddress(d)
    if (signer !== authorAddress) this.refuse(GOSSIP_CODES.wrongPublisher, 'reject', `acceptance signed by ${signer} but published by ${authorAddress}`)
    // only deals this node's matcher derived are kept and relayed (dealBook.ts)
    const verdict = acceptances.verdict(id, m.deal.matchEpoch)
    if (verdict === 'unknown') this.refuse(GOSSIP_CODES.unknownDeal, 'ignore', `acceptance of deal ${id} that this node's matcher did not derive`)
    if (verdict === 'pending') {
      await acceptances.ingest(id, m, d.data)
      this.refuse(GOSSIP_CODES.dealPending, 'ignore', `acceptance of epoch ${m.deal.matchEpoch}, not matched here yet: held until it is`)
    }
    if (acceptances.has(id, m.party)) {
      const wire = acceptances.wireOf(m.deal.matchEpoch, id, m.party)
      if (wire !== undefined && wire === Buffer.from(d.data).toString('base64')) return
      this.refuse(GOSSIP_CODES.duplicate, 'ignore', 'acceptance already known')
    }
    this.maybeDrop()
    parties.seen(signer, d.author)
    await acceptances.ingest(id, m, d.data)
  }

  private async heartbeat (m: TopicPayload<'epochs'>, d: GossipDelivery): Promise<void> {
    const { hasher, heartbeats, parties } = this.components
    const { cur, skew } = this.window()
    const e = m.heartbeat.epoch
    if (e > cur + skew || e + 4n + skew < cur) this.refuse(GOSSIP_CODES.tooOld, 'ignore', `heartbeat of epoch ${e} outside the window`)
    const { signer } = verifyMessage(hasher, m)
    const authorAddress = this.authorAddress(d)
    if (signer !== authorAddress) this.refuse(GOSSIP_CODES.wrongPublisher, 'reject', `heartbeat signed by ${signer} but published by ${authorAddress}`)
    if (heartbeats.has(e, signer)) this.refuse(GOSSIP_CODES.duplicate, 'ignore', 'heartbeat already known')
    this.maybeDrop()
    parties.seen(signer, d.author)
    heartbeats.record(e, signer, m.heartbeat.stateRoot, m.heartbeat.offerDigest, d.author)
    // learn the author's weight first: an early confirmation counts only voters with a stake
    void heartbeats.learnWeight(e, signer).then(() => { this.components.onHeartbeat(e) }, () => {})
  }

  private maybeDrop (): void {
    const p = this.init.testHooks?.dropGossip ?? 0
    if (p > 0 && Math.random() < p) this.refuse(GOSSIP_CODES.dropped, 'ignore', 'dropped by test hook')
  }
}

/**
 * LilyNode: one libp2p host, its offers, the replicated matcher and durable state
 * (DESIGN §3, §4, §8). At `end(E) + graceMs` the node reconciles epoch E's offer set with its
 * peers (`sync`), steps the matcher, persists, and gossips its heartbeat; half an epoch later
 * it compares its root with its peers' heartbeats, resyncs when it is in the minority, and
 * only then signs the deals it is a party to.
 */
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DomainHasher, keccak } from '../protocol/eip712.js'
import { concatBytes, hexToBytes } from '../protocol/hex.js'
import type { Identity } from '../protocol/identity.js'
import { peerIdToAddress } from '../protocol/identity.js'
import { domainOf, epochAt, epochEnd, epochMatchTime, profileHash, topicName, type Profile, type TopicKind } from '../protocol/profile.js'
import type { Address, Deal, Hash, JobOffer, Party, ResourceOffer, Signature } from '../protocol/types.js'
import { decodeState, encodeState, initialState, jobPrice, offerSetDigest, step, stateRoot } from '../matching/index.js'
import type { ChainFacts, MatcherConfig, MatcherState } from '../matching/types.js'
import { heartbeatsConfirmEarly } from './earlyConfirm.js'
import { NodeError } from './errors.js'
import { GossipRefusal } from '../p2p/errors.js'
import { actionOf, GOSSIP_CODES, GossipMetrics, PeerPolicing, toValidatorResult, type PolicingOptions } from '../p2p/gossip/policing.js'
import { connectedPeers, createNodeLibp2p, DISCONNECT_SCORE, GossipConfigError, gossipScore, type GossipTuning, type NodeLibp2p, type P2pMetrics } from '../p2p/libp2p.js'
import { createLogger, type Logger } from '../protocol/logger.js'
import { OfferPool, type PoolOffer } from './pool.js'
import { Bucket, epochKey, NodeStore, type StoreOp } from './store.js'
import { SyncService } from './sync.js'
import { serveQuery } from './query.js'
import { decodeMessage, encodeMessage, signDeal, signHeartbeat, signJobOffer, signResourceOffer, verifyMessage, type WireMessage } from '../p2p/wire.js'
import type { Message } from '@libp2p/gossipsub'

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
}

export interface TestHooks {
  /** Probability (0..1) that an incoming gossip delivery is dropped (ignored, not relayed). */
  dropGossip?: number
}

export interface LilyNodeOptions {
  profile: Profile
  identity: Identity
  dataDir: string
  listen?: string[]
  dhtServer?: boolean
  /** Chain events up to block B(E); must give every node the same answer for the same epoch. */
  chainFacts?: (epoch: bigint) => Promise<ChainFacts>
  /** Whether to sign a deal of this node's (default: always). */
  acceptDeal?: (m: OwnMatch) => boolean | Promise<boolean>
  /**
   * Sign a deal where this node is the creator only when something registered with `followJobs`
   * wants its job offer (a run waiting for it). Role hosts set it: an offer of a run that stopped
   * can still be matched later, and a signed deal nobody follows would cost the creator its price
   * for a result it never takes. Default false (every own match is signed).
   */
  followedJobsOnly?: boolean
  testHooks?: TestHooks
  logger?: Logger
  policing?: PolicingOptions
  /** Epoch records kept in the store (default 64). */
  keepEpochs?: number
  /** Gossipsub mesh/gossip overrides (see DEFAULT_GOSSIP_TUNING in libp2p.ts). */
  gossip?: Partial<GossipTuning>
  /** Where libp2p and gossipsub report their own metrics (the API's /metrics serves them). */
  metrics?: P2pMetrics
  /**
   * About how many nodes gossip their heartbeat per epoch in networks of more than twice this
   * many nodes (default 8); 0: every node gossips it every epoch. See `heartbeatDue`.
   */
  heartbeatSample?: number
  /**
   * Nodes reconcile and match an epoch at its match time plus a per-node delay in
   * [0, matchSpreadMs) (see `matchDelay`; default DEFAULT_MATCH_SPREAD_MS, at most a quarter of
   * the epoch; 0: all at the match time).
   */
  matchSpreadMs?: number
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
interface StoredMatch extends OwnMatch { signed: boolean, deferred?: boolean }
interface StoredAcceptance { dealId: Hash, party: Party, signature: Signature, wire: string }

const HEAD_KEY = 'head'
/** Direct peers a (non-bootstrap) node tries to keep. */
const TARGET_PEERS = 8
/** Heartbeats gossiped per epoch in large networks (all nodes gossip below twice this); see heartbeatDue. */
const HEARTBEAT_SAMPLE = 8
const MAX_HEARTBEAT_EPOCHS = 16
/** Default of LilyNodeOptions.matchSpreadMs. */
export const DEFAULT_MATCH_SPREAD_MS = 1000
const MAX_HEARTBEATS_PER_EPOCH = 4096

export class LilyNode extends EventEmitter<LilyNodeEvents> {
  readonly profile: Profile
  readonly identity: Identity
  readonly hasher: DomainHasher
  readonly address: Address
  readonly metrics = new GossipMetrics()
  readonly policing: PeerPolicing
  readonly log: Logger
  private _store?: NodeStore
  private _libp2p?: NodeLibp2p
  private _pool?: OfferPool
  private _sync?: SyncService
  private controller = new AbortController()
  private keepAlive?: NodeJS.Timeout
  private dialing = false
  private loop?: Promise<void>
  private running = false

  /** The last matched (and verified) epoch and its state. */
  private head?: EpochRecord
  private headState: MatcherState = initialState()
  /** Next epoch to match; undefined while joining. */
  private nextEpoch?: bigint
  private pendingConfirm?: bigint
  /** Who follows this node's job offers (see LilyNodeOptions.followedJobsOnly). */
  private readonly jobFollowers = new Set<(jobOfferHash: Hash) => boolean>()
  /** Counterparties of this node's matches per matched epoch (see earlyConfirmable). */
  private readonly counterparties = new Map<bigint, Set<string>>()
  /** Ends the epoch loop's current wait early (a heartbeat made an early confirmation possible). */
  private wakeLoop?: () => void
  private participating = false
  /** Whether stored matches may wait for a peer-confirmed epoch (true at start: a previous run may have left some). */
  private deferredMayExist = true
  private readonly heartbeats = new Map<bigint, Map<Address, { root: Hash, digest: Hash, peer: string }>>()
  private readonly acceptances = new Map<Hash, { deal: Deal, creator?: Signature, provider?: Signature }>()
  private readonly pendingAcceptances = new Set<string>()
  /** matchEpoch → `${dealId}:${party}` → wire (base64): what acceptance anti-entropy serves. */
  private readonly acceptanceWires = new Map<bigint, Map<string, string>>()
  private readonly peerByAddress = new Map<Address, string>()
  readonly config: MatcherConfig
  /** Root per epoch this node computed, for the convergence tests and `query epoch`. */
  readonly roots = new Map<bigint, Hash>()

  constructor (readonly opts: LilyNodeOptions) {
    super()
    this.profile = opts.profile
    this.identity = opts.identity
    this.address = opts.identity.address
    this.hasher = new DomainHasher(domainOf(opts.profile))
    this.log = opts.logger ?? createLogger(`node:${opts.identity.address.slice(0, 8)}`)
    this.policing = new PeerPolicing(opts.policing)
    const hs = opts.heartbeatSample
    if (hs !== undefined && (!Number.isSafeInteger(hs) || hs < 0)) throw new GossipConfigError(`heartbeatSample must be a non-negative integer, got ${String(hs)}`)
    const p = opts.profile
    this.config = {
      seedPrefix: profileHash(p),
      reserveEpochs: p.reserveEpochs,
      openBy: (e: bigint) => BigInt(Math.floor(epochEnd(p, e + BigInt(p.reserveEpochs)) / 1000))
    }
  }

  get store (): NodeStore {
    if (this._store === undefined) throw new NodeError('NODE_NOT_STARTED', 'the node is not started; call start() first')
    return this._store
  }

  get libp2p (): NodeLibp2p {
    if (this._libp2p === undefined) throw new NodeError('NODE_NOT_STARTED', 'the node is not started; call start() first')
    return this._libp2p
  }

  get pool (): OfferPool {
    if (this._pool === undefined) throw new NodeError('NODE_NOT_STARTED', 'the node is not started; call start() first')
    return this._pool
  }

  get isParticipating (): boolean { return this.participating }
  get headEpoch (): bigint | undefined { return this.head?.epoch }
  get headRoot (): Hash | undefined { return this.head?.root }

  currentEpoch (): bigint { return epochAt(this.profile, Date.now()) }

  get keepEpochs (): number { return this.opts.keepEpochs ?? 64 }

  // ---------------------------------------------------------------- lifecycle

  async start (): Promise<void> {
    if (this.running) return
    this.controller = new AbortController()
    try {
      this._store = await NodeStore.open(this.opts.dataDir)
      this._pool = new OfferPool(this._store)
      await this._pool.load()
      await this.loadState()
      this._libp2p = await createNodeLibp2p({
        profile: this.profile,
        privateKey: this.identity.libp2pKey,
        listen: this.opts.listen,
        dhtServer: this.opts.dhtServer,
        appScore: (peer) => this.policing.appScore(peer),
        isBanned: (peer) => this.policing.isBanned(peer.toString()),
        gossip: this.opts.gossip,
        metrics: this.opts.metrics
      })
      this._sync = new SyncService(this)
      await this._sync.register()
      await serveQuery(this)
      this.installGossip()
      await this._libp2p.start()
      this.running = true
      this.loop = this.run(this.controller.signal)
      this.keepAlive = setInterval(() => {
        this.policePeers()
        void this.keepConnected()
      }, Math.min(1000, Math.max(500, this.profile.epochMs)))
      this.keepAlive.unref()
      this.log.info('started', { address: this.address, addrs: this._libp2p.getMultiaddrs().map(String) })
    } catch (e) {
      await this.stop()
      throw e
    }
  }

  /** Stops the epoch loop, then libp2p, then the database. Safe to call twice. */
  async stop (): Promise<void> {
    this.controller.abort(new Error('node stopping'))
    this.running = false
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive)
    this.keepAlive = undefined
    await this.loop?.catch(() => {})
    this.loop = undefined
    try {
      if (this._libp2p !== undefined) await this._libp2p.stop()
    } catch (e) {
      this.log.warn('libp2p stop failed', { err: e })
    }
    this._libp2p = undefined
    if (this._store !== undefined) await this._store.close()
  }

  private async loadState (): Promise<void> {
    const headEpoch = await this.store.get<bigint>(Bucket.meta, HEAD_KEY)
    if (headEpoch !== undefined) {
      const rec = await this.store.get<EpochRecord>(Bucket.epochs, epochKey(headEpoch))
      if (rec !== undefined) {
        this.head = rec
        this.headState = decodeState(new Uint8Array(Buffer.from(rec.state, 'base64')))
        this.roots.set(rec.epoch, rec.root)
      }
    }
    for await (const [, a] of this.store.entries<StoredAcceptance>(Bucket.acceptances)) {
      const deal = await this.store.get<Deal>(Bucket.deals, a.dealId)
      if (deal === undefined) continue
      const e = this.acceptances.get(a.dealId) ?? { deal }
      e[a.party] = a.signature
      this.acceptances.set(a.dealId, e)
      this.indexAcceptance(deal.matchEpoch, `${a.dealId}:${a.party}`, a.wire)
    }
  }

  /**
   * Keeps the node well connected: redials the profile's bootstrap nodes it is not connected
   * to, and while it has fewer than TARGET_PEERS peers, asks one peer for its peers (`sync`
   * peer exchange) and dials a few of them. More direct peers make gossip and reconciliation
   * robust to lost deliveries.
   */
  private async keepConnected (): Promise<void> {
    const libp2p = this._libp2p
    if (libp2p === undefined || this.dialing || !this.running) return
    this.dialing = true
    try {
      const self = libp2p.peerId.toString()
      const connected = new Set(connectedPeers(libp2p).map(String))
      await Promise.all(this.profile.bootstrap.map(async (addr) => {
        const id = addr.split('/p2p/')[1]
        if (id === undefined || id === self || connected.has(id)) return
        await libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(3000) }).catch((e: unknown) => {
          this.log.debug('bootstrap dial failed', { addr, err: e })
        })
      }))
      const peers = connectedPeers(libp2p)
      if (peers.length === 0 || peers.length >= TARGET_PEERS || this.opts.dhtServer === true) return
      const from = peers[Math.floor(Math.random() * peers.length)]
      const known = await (this._sync as SyncService).askPeers(from, AbortSignal.timeout(3000)).catch(() => [])
      const fresh = known.filter((k) => k.id !== self && !connected.has(k.id) && !this.policing.isBanned(k.id))
      for (const k of fresh.slice(0, TARGET_PEERS - peers.length)) {
        const addr = k.addrs.find((a) => a.includes('/tcp/'))
        if (addr === undefined) continue
        const full = addr.includes('/p2p/') ? addr : `${addr}/p2p/${k.id}`
        await libp2p.dial(multiaddr(full), { signal: AbortSignal.timeout(3000) }).catch(() => {})
      }
    } catch (e) {
      this.log.debug('keepConnected failed', { err: e })
    } finally {
      this.dialing = false
    }
  }

  // ---------------------------------------------------------------- public API

  async publishJobOffer (offer: JobOffer): Promise<Hash> {
    return await this.publishOffer(signJobOffer(this.hasher, this.identity.privateKey, offer, this.profile.requests))
  }

  async publishResourceOffer (offer: ResourceOffer): Promise<Hash> {
    return await this.publishOffer(signResourceOffer(this.hasher, this.identity.privateKey, offer))
  }

  private async publishOffer (m: Extract<WireMessage, { kind: 'job' | 'resource' }>): Promise<Hash> {
    const wire = encodeMessage(m, { maxLifetimeEpochs: BigInt(this.profile.limits.maxOfferLifetimeEpochs) })
    const { id } = verifyMessage(this.hasher, m, this.address, this.profile.requests)
    if (await this.pool.add({ id, kind: m.kind, signer: this.address, epoch: m.offer.epoch, expiry: m.offer.expiryEpoch, wire, offer: m.offer })) {
      this.emit('offer', { id, kind: m.kind, via: 'self' })
    }
    await this.publish(m.kind === 'job' ? 'jobs' : 'resources', wire)
    return id
  }

  private async publish (kind: TopicKind, data: Uint8Array): Promise<void> {
    try {
      const r = await this.libp2p.services.pubsub.publish(topicName(this.profile, kind), data)
      this.metrics.bytesOut += data.length * r.recipients.length
      this.log.trace('published', { kind, bytes: data.length, recipients: r.recipients.length, subscribers: this.libp2p.services.pubsub.getSubscribers(topicName(this.profile, kind)).length })
    } catch (e) {
      this.log.debug('publish failed', { kind, err: e })
    }
  }

  getAcceptances (dealId: Hash): { creator?: Signature, provider?: Signature } {
    const a = this.acceptances.get(dealId)
    return { creator: a?.creator, provider: a?.provider }
  }

  /** Deals known with both signatures. */
  agreedDeals (): AgreedDeal[] {
    const out: AgreedDeal[] = []
    for (const [dealId, a] of this.acceptances) {
      if (a.creator !== undefined && a.provider !== undefined) out.push({ dealId, deal: a.deal, creatorSignature: a.creator, providerSignature: a.provider })
    }
    return out
  }

  /** Every deal with at least one acceptance seen, and which parties signed. */
  agreedDealsAndPending (): Array<{ dealId: Hash, deal: Deal, creatorSigned: boolean, providerSigned: boolean }> {
    return [...this.acceptances.entries()].map(([dealId, a]) => ({ dealId, deal: a.deal, creatorSigned: a.creator !== undefined, providerSigned: a.provider !== undefined }))
  }

  async ownMatches (): Promise<Array<OwnMatch & { signed: boolean }>> {
    const out: Array<OwnMatch & { signed: boolean }> = []
    for await (const [, m] of this.store.entries<StoredMatch>(Bucket.matches)) out.push(m)
    return out
  }

  /** The peer id a party's address was last seen gossiping from. */
  peerOf (address: Address): PeerId | undefined {
    const s = this.peerByAddress.get(address.toLowerCase() as Address)
    return s === undefined ? undefined : peerIdFromString(s)
  }

  async epochRecord (epoch: bigint): Promise<EpochRecord | undefined> {
    if (this.head?.epoch === epoch) return this.head
    return await this.store.get<EpochRecord>(Bucket.epochs, epochKey(epoch))
  }

  // ---------------------------------------------------------------- gossip

  private installGossip (): void {
    const pubsub = this.libp2p.services.pubsub
    const kinds: TopicKind[] = ['jobs', 'resources', 'deals', 'epochs']
    for (const kind of kinds) {
      const topic = topicName(this.profile, kind)
      pubsub.topicValidators.set(topic, async (peer, msg) => {
        const source = peer.toString()
        try {
          await this.validate(kind, source, msg)
          this.metrics.count(kind, 'accept', 'OK')
          return toValidatorResult('accept')
        } catch (e) {
          const { action, code } = actionOf(e)
          this.metrics.count(kind, action, code)
          if (action === 'reject') this.onReject(source)
          if (code === 'NODE_INTERNAL') this.log.warn('validator failed', { kind, err: e })
          return toValidatorResult(action)
        }
      })
      pubsub.subscribe(topic)
    }
  }

  private onReject (peer: string): void {
    const crossed = this.policing.reject(peer)
    const score = gossipScore(this.libp2p.services.pubsub, peer)
    if (crossed || (score !== undefined && score < DISCONNECT_SCORE)) {
      this.policing.ban(peer)
      this.log.warn('cutting off misbehaving peer', { peer, score, rejects: this.policing.rejectsOf(peer) })
      this.libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
    }
  }

  /**
   * Cuts off peers whose gossipsub score fell below DISCONNECT_SCORE. Once graylisted their
   * messages no longer reach the validators, so this cannot wait for the next reject.
   */
  private policePeers (): void {
    const libp2p = this._libp2p
    if (libp2p === undefined) return
    for (const peer of connectedPeers(libp2p)) {
      const id = peer.toString()
      const score = gossipScore(libp2p.services.pubsub, id)
      if (score !== undefined && score < DISCONNECT_SCORE) {
        this.policing.ban(id)
        this.log.warn('cutting off peer with a low score', { peer: id, score })
        libp2p.hangUp(peer).catch(() => {})
      }
    }
  }

  private refuse (code: string, action: 'reject' | 'ignore', message: string): never {
    throw new GossipRefusal(code, action, message)
  }

  private async validate (kind: TopicKind, source: string, msg: Message): Promise<void> {
    this.metrics.messagesIn++
    this.metrics.bytesIn += msg.data.length
    if (this.policing.isBanned(source)) this.refuse(GOSSIP_CODES.banned, 'ignore', 'peer is cut off')
    if (!this.policing.take(source)) this.refuse(GOSSIP_CODES.rateLimited, 'reject', `peer ${source} is over ${this.policing.rate} messages/s`)
    if (msg.type !== 'signed') this.refuse(GOSSIP_CODES.unsigned, 'reject', 'gossip must be signed by its author')
    const author = msg.from.toString()
    if (msg.data.length > this.profile.limits.maxMessageBytes) {
      this.refuse('PROTOCOL_TOO_LARGE', 'reject', `message of ${msg.data.length} bytes over the profile cap ${this.profile.limits.maxMessageBytes}`)
    }
    const expected = kind === 'jobs' ? 'job' : kind === 'resources' ? 'resource' : kind === 'deals' ? 'acceptance' : 'heartbeat'
    const m = decodeMessage(msg.data, expected, { maxLifetimeEpochs: BigInt(this.profile.limits.maxOfferLifetimeEpochs) })
    const now = Date.now()
    const cur = this.currentEpoch()
    const skew = BigInt(this.profile.limits.maxEpochSkew)
    const authorAddress = peerIdToAddress(msg.from)
    switch (m.kind) {
      case 'job':
      case 'resource': {
        // an offer must arrive while its first epoch is still open for matching
        const oldest = epochAt(this.profile, now - this.profile.graceMs)
        if (m.offer.epoch < oldest) this.refuse(GOSSIP_CODES.tooOld, 'ignore', `offer for epoch ${m.offer.epoch} arrived after it closed`)
        if (m.offer.epoch > cur + skew) this.refuse(GOSSIP_CODES.tooNew, 'ignore', `offer for epoch ${m.offer.epoch} is more than ${skew} epochs ahead`)
        // offers of on-chain requests (creator = profile.requests) are signed by their relay: see isRelayedOffer
        const { id, signer } = verifyMessage(this.hasher, m, undefined, this.profile.requests)
        if (signer !== authorAddress) this.refuse(GOSSIP_CODES.wrongPublisher, 'reject', `offer signed by ${signer} but published by ${authorAddress}`)
        const known = this.pool.get(id)
        if (known !== undefined) {
          // learned through sync first: relay the same bytes on, but only once and without re-processing
          if (Buffer.from(known.wire).equals(msg.data)) return
          this.refuse(GOSSIP_CODES.duplicate, 'ignore', 'offer already known')
        }
        if (this.pool.quotaUsed(signer, m.offer.epoch) >= this.profile.limits.maxOffersPerPeerPerEpoch) {
          // the author flooding us directly is punished; relays that saw other parts of the flood are not
          this.refuse(GOSSIP_CODES.rateLimited, source === author ? 'reject' : 'ignore', `${signer} is over ${this.profile.limits.maxOffersPerPeerPerEpoch} offers in epoch ${m.offer.epoch}`)
        }
        if (this.pool.size >= this.profile.limits.maxOffersPerEpoch) this.refuse(GOSSIP_CODES.epochFull, 'ignore', 'offer pool is full')
        this.maybeDrop()
        this.peerByAddress.set(signer, author)
        if (await this.pool.add({ id, kind: m.kind, signer, epoch: m.offer.epoch, expiry: m.offer.expiryEpoch, wire: msg.data, offer: m.offer })) {
          this.emit('offer', { id, kind: m.kind, via: 'gossip' })
        }
        return
      }
      case 'acceptance': {
        if (m.deal.matchEpoch > cur + skew || m.deal.matchEpoch + BigInt(this.profile.reserveEpochs) + skew + 2n < cur) {
          this.refuse(GOSSIP_CODES.tooOld, 'ignore', `acceptance of epoch ${m.deal.matchEpoch} outside the window`)
        }
        const { id, signer } = verifyMessage(this.hasher, m)
        if (signer !== authorAddress) this.refuse(GOSSIP_CODES.wrongPublisher, 'reject', `acceptance signed by ${signer} but published by ${authorAddress}`)
        if (this.acceptances.get(id)?.[m.party] !== undefined) {
          const wire = this.acceptanceWires.get(m.deal.matchEpoch)?.get(`${id}:${m.party}`)
          if (wire !== undefined && wire === Buffer.from(msg.data).toString('base64')) return
          this.refuse(GOSSIP_CODES.duplicate, 'ignore', 'acceptance already known')
        }
        this.maybeDrop()
        this.peerByAddress.set(signer, author)
        await this.ingestAcceptance(id, m, msg.data)
        return
      }
      case 'heartbeat': {
        const e = m.heartbeat.epoch
        if (e > cur + skew || e + 4n + skew < cur) this.refuse(GOSSIP_CODES.tooOld, 'ignore', `heartbeat of epoch ${e} outside the window`)
        const { signer } = verifyMessage(this.hasher, m)
        if (signer !== authorAddress) this.refuse(GOSSIP_CODES.wrongPublisher, 'reject', `heartbeat signed by ${signer} but published by ${authorAddress}`)
        const seen = this.heartbeats.get(e)
        if (seen?.has(signer) === true) this.refuse(GOSSIP_CODES.duplicate, 'ignore', 'heartbeat already known')
        this.maybeDrop()
        this.peerByAddress.set(signer, author)
        this.recordHeartbeat(e, signer, m.heartbeat.stateRoot, m.heartbeat.offerDigest, author)
        if (e === this.pendingConfirm && this.earlyConfirmable(e)) this.wakeLoop?.()
        return
      }
      default:
        this.refuse('PROTOCOL_UNKNOWN_KIND', 'reject', 'unexpected message kind')
    }
  }

  private maybeDrop (): void {
    const p = this.opts.testHooks?.dropGossip ?? 0
    if (p > 0 && Math.random() < p) this.refuse(GOSSIP_CODES.dropped, 'ignore', 'dropped by test hook')
  }

  private recordHeartbeat (epoch: bigint, node: Address, root: Hash, digest: Hash, peer: string): void {
    let m = this.heartbeats.get(epoch)
    if (m === undefined) {
      m = new Map()
      this.heartbeats.set(epoch, m)
      for (const e of [...this.heartbeats.keys()].sort((a, b) => a < b ? -1 : 1)) {
        if (this.heartbeats.size <= MAX_HEARTBEAT_EPOCHS) break
        this.heartbeats.delete(e)
      }
    }
    if (m.size < MAX_HEARTBEATS_PER_EPOCH) m.set(node, { root, digest, peer })
  }

  private indexAcceptance (epoch: bigint, key: string, wire: string): void {
    let m = this.acceptanceWires.get(epoch)
    if (m === undefined) {
      m = new Map()
      this.acceptanceWires.set(epoch, m)
      const keep = BigInt(this.opts.keepEpochs ?? 64)
      for (const e of this.acceptanceWires.keys()) if (e + keep < epoch) this.acceptanceWires.delete(e)
    }
    m.set(key, wire)
  }

  /** Acceptances known for deals of `matchEpoch`: key `${dealId}:${party}` → wire (base64). */
  acceptancesOfEpoch (epoch: bigint): ReadonlyMap<string, string> {
    return this.acceptanceWires.get(epoch) ?? new Map()
  }

  /** Stores a verified acceptance (gossip or direct); emits 'deal:agreed' when both are in. */
  async ingestAcceptance (dealId: Hash, m: Extract<WireMessage, { kind: 'acceptance' }>, wire: Uint8Array): Promise<boolean> {
    const key = `${dealId}:${m.party}`
    if (this.acceptances.get(dealId)?.[m.party] !== undefined || this.pendingAcceptances.has(key)) return false
    // both parties' acceptances may arrive at once: claim the key, write, then merge into the entry
    this.pendingAcceptances.add(key)
    try {
      await this.store.batch([
        { type: 'put', bucket: Bucket.deals, key: dealId, value: m.deal },
        { type: 'put', bucket: Bucket.acceptances, key, value: { dealId, party: m.party, signature: m.signature, wire: Buffer.from(wire).toString('base64') } satisfies StoredAcceptance }
      ])
    } finally {
      this.pendingAcceptances.delete(key)
    }
    const entry = this.acceptances.get(dealId) ?? { deal: m.deal }
    entry[m.party] = m.signature
    this.acceptances.set(dealId, entry)
    this.indexAcceptance(m.deal.matchEpoch, `${dealId}:${m.party}`, Buffer.from(wire).toString('base64'))
    if (entry.creator !== undefined && entry.provider !== undefined) {
      this.emit('deal:agreed', { dealId, deal: entry.deal, creatorSignature: entry.creator, providerSignature: entry.provider })
    }
    return true
  }

  // ---------------------------------------------------------------- epoch loop

  private async run (signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (!this.participating) {
          await this.join(signal)
          continue
        }
        const next = this.nextEpoch as bigint
        const matchAt = epochMatchTime(this.profile, next) + this.matchDelay(next)
        const confirmAt = this.pendingConfirm === undefined ? Infinity : epochMatchTime(this.profile, this.pendingConfirm) + Math.floor(this.profile.epochMs / 2)
        const at = Math.min(matchAt, confirmAt)
        const early = (): boolean => this.pendingConfirm !== undefined && this.earlyConfirmable(this.pendingConfirm)
        const wait = at - Date.now()
        if (wait > 0 && !early()) await this.nap(wait, signal)
        const now = Date.now()
        if (this.pendingConfirm !== undefined && ((confirmAt <= matchAt && now >= confirmAt) || early())) {
          await this.confirm(this.pendingConfirm, signal)
        } else if (now < matchAt) {
          // woken for an early confirmation that a later heartbeat ruled out: wait again
          continue
        } else {
          // so far behind that peers may have dropped the inputs to replay: rejoin through a snapshot
          if (next + BigInt(Math.floor(this.keepEpochs / 2)) < this.lastClosedEpoch()) {
            this.log.info('too far behind to replay; rejoining', { next })
            this.participating = false
            // never spin: a rejoin that cannot make progress yet waits a little before trying again
            await sleep(Math.floor(this.profile.epochMs / 4), undefined, { signal })
            continue
          }
          await this.matchEpoch(next, signal)
        }
      } catch (e) {
        if (signal.aborted) return
        this.log.error('epoch loop error', { err: e })
        await sleep(100, undefined, { signal }).catch(() => {})
      }
    }
  }

  /** Latest epoch whose match time has passed. */
  private lastClosedEpoch (): bigint {
    return epochAt(this.profile, Date.now() - this.profile.graceMs) - 1n
  }

  /**
   * Joining (fresh node, late joiner, restart after a gap): take part only once the state is
   * known to be the network's. Without a stored head that is current, ask peers for theirs,
   * check one snapshot against several peers' roots and adopt it.
   */
  private async join (signal: AbortSignal): Promise<void> {
    const closed = this.lastClosedEpoch()
    // a stored head recent enough is replayed forward on peers' recorded inputs
    if (this.head !== undefined && this.head.epoch + BigInt(Math.floor(this.keepEpochs / 2)) >= closed) {
      this.nextEpoch = this.head.epoch + 1n
      this.participating = true
      return
    }
    const sync = this._sync as SyncService
    const peers = connectedPeers(this.libp2p)
    if (peers.length === 0) {
      if (this.profile.bootstrap.length === 0 || this.opts.dhtServer === true) return await this.startFresh(closed)
      await sleep(Math.floor(this.profile.epochMs / 4), undefined, { signal })
      return
    }
    const adopted = await sync.catchUp(signal)
    if (adopted === 'fresh') return await this.startFresh(closed)
    if (adopted === 'retry') {
      await sleep(Math.floor(this.profile.epochMs / 4), undefined, { signal })
    }
  }

  private async startFresh (closed: bigint): Promise<void> {
    // nobody has matched anything yet: start from the initial state at the next epoch
    if (this.head === undefined) this.headState = initialState()
    // a stored head too old to replay, and nobody to ask: the epochs in between were matched by
    // no one this node can reach, so it goes on from its head's state at the next epoch (peers
    // that turn up later compare roots, and a node in the minority resyncs from them)
    const stale = this.head !== undefined && this.head.epoch + BigInt(Math.floor(this.keepEpochs / 2)) < closed
    this.nextEpoch = this.head === undefined || stale ? closed + 1n : (this.head as EpochRecord).epoch + 1n
    this.participating = true
    this.log.info('starting', { epoch: this.nextEpoch, fresh: this.head === undefined })
  }

  /**
   * Adopts a verified snapshot of `epoch` (join or resync), then signs this node's deals that
   * the adopted state holds. A snapshot carries the state, not the epoch's matches, so the node
   * would otherwise never learn (and never sign) deals the network made for it while it was
   * away or in the minority. Every match still held is a reservation (job, resource offer,
   * matchEpoch) covered by the verified root, and `step` builds its Deal from those two offers
   * and the epoch alone (price = jobPrice, collateral and timeout from the offers, openBy from
   * the config), so the same Deal is rebuilt here; offers this node lacks are fetched from
   * `from` (else connected peers) and verified by their ids. Unsigned matches this node had
   * recorded for epochs up to `epoch` that the adopted state does not hold are dropped (they
   * came from the state it just abandoned). The one-deal-per-job guard of signing still applies.
   */
  async adoptSnapshot (epoch: bigint, state: MatcherState, root: Hash, inputIds: Hash[], digest: Hash, how: 'snapshot' | 'join', from?: PeerId[]): Promise<void> {
    const rec: EpochRecord = { epoch, state: Buffer.from(encodeState(state)).toString('base64'), root, digest, inputIds }
    const own = await this.ownMatchesIn(state, from)
    const ownIds = new Set(own.map((m) => m.dealId))
    const ops: StoreOp[] = [
      { type: 'put', bucket: Bucket.epochs, key: epochKey(epoch), value: rec },
      { type: 'put', bucket: Bucket.meta, key: HEAD_KEY, value: epoch }
    ]
    const stored = new Map<Hash, StoredMatch>()
    for await (const [k, m] of this.store.entries<StoredMatch>(Bucket.matches)) {
      stored.set(m.dealId, m)
      if (!m.signed && m.epoch <= epoch && !ownIds.has(m.dealId)) ops.push({ type: 'del', bucket: Bucket.matches, key: k })
    }
    for (const m of own) {
      if (stored.get(m.dealId)?.signed === true) continue
      ops.push({ type: 'put', bucket: Bucket.matches, key: m.dealId, value: { ...m, signed: false } satisfies StoredMatch })
    }
    await this.store.batch(ops)
    this.head = rec
    this.headState = state
    this.roots.set(epoch, root)
    this.nextEpoch = epoch + 1n
    this.pendingConfirm = undefined
    this.participating = true
    this.log.info('adopted state', { epoch, root, how, ownMatches: own.length })
    this.emit('resync', { epoch, stateRoot: root, how })
    await this.signOwnMatches((m) => m.epoch <= epoch && ownIds.has(m.dealId))
  }

  /**
   * This node's matches held in `state` (reservations where it is the provider, or the creator
   * of the job offer), with the Deal `step` made for each. Offers missing from the pool are
   * fetched first; a match whose offers cannot be had is skipped (and logged).
   */
  private async ownMatchesIn (state: MatcherState, from?: PeerId[]): Promise<OwnMatch[]> {
    const me = this.address.toLowerCase()
    const mine = state.reserved.filter((r) => r.hold.provider.toLowerCase() === me || this.pool.get(r.jobId)?.signer.toLowerCase() === me)
    if (mine.length === 0) return []
    const missing = [...new Set(mine.flatMap((r) => [r.jobId, r.resourceId]))].filter((id) => !this.pool.has(id))
    if (missing.length > 0 && this._sync !== undefined) {
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(Math.max(2000, this.profile.epochMs))])
      const maxEpoch = mine.reduce((m, r) => r.matchEpoch > m ? r.matchEpoch : m, 0n)
      await this._sync.fetchOffers(missing, maxEpoch, from, signal).catch((e: unknown) => {
        this.log.warn('could not fetch the offers of adopted matches', { missing: missing.length, err: e })
      })
    }
    const out: OwnMatch[] = []
    for (const r of mine) {
      const job = this.pool.get(r.jobId)
      const res = this.pool.get(r.resourceId)
      if (job?.kind !== 'job' || res?.kind !== 'resource') {
        this.log.warn('adopted match without its offers; not signing it', { jobId: r.jobId, resourceId: r.resourceId, matchEpoch: r.matchEpoch })
        continue
      }
      const j = job.offer as JobOffer
      const o = res.offer as ResourceOffer
      const deal: Deal = {
        jobOfferHash: r.jobId,
        resourceOfferHash: r.resourceId,
        creator: j.creator,
        provider: o.provider,
        price: jobPrice(j, o),
        collateral: o.collateral,
        timeout: j.timeout,
        matchEpoch: r.matchEpoch,
        openBy: this.config.openBy(r.matchEpoch)
      }
      const role: Party | undefined = deal.creator === this.address ? 'creator' : deal.provider === this.address ? 'provider' : undefined
      if (role === undefined) continue
      out.push({ dealId: this.hasher.digest('Deal', deal), deal, jobId: r.jobId, resourceId: r.resourceId, role, epoch: r.matchEpoch })
    }
    return out
  }

  private async matchEpoch (epoch: bigint, signal: AbortSignal): Promise<void> {
    const sync = this._sync as SyncService
    const t0 = Date.now()
    const offers = await sync.reconcile(epoch, signal)
    const t1 = Date.now()
    if (t1 - t0 > this.profile.epochMs / 4) this.log.info('slow reconcile', { epoch, ms: t1 - t0, late: t0 - epochMatchTime(this.profile, epoch) })
    const facts = await this.chainFactsFor(epoch)
    const prevState = this.headState
    await this.commitEpoch(epoch, prevState, offers, facts, false)
    this.pendingConfirm = epoch
    await this.gossipHeartbeat(epoch)
    if (epoch % 16n === 0n) {
      await this.pool.prune(epoch - BigInt(this.opts.keepEpochs ?? 64))
    }
  }

  async chainFactsFor (epoch: bigint): Promise<ChainFacts> {
    return this.opts.chainFacts === undefined ? { opened: [], closed: [] } : await this.opts.chainFacts(epoch)
  }

  /**
   * Steps the matcher on `offers` and writes the epoch record, this node's matches and the
   * head in one batch (before anything is signed or gossiped). `replace` rewrites an epoch
   * already recorded (resync); its unsigned matches are dropped. With `expectRoot`, nothing is
   * written unless the result has that root.
   */
  async commitEpoch (epoch: bigint, prev: MatcherState, offers: PoolOffer[], facts: ChainFacts, replace: boolean, expectRoot?: Hash): Promise<Hash> {
    const input = OfferPool.toInput(offers)
    const res = step(prev, input, facts, epoch, this.config)
    // a resync only writes when the recomputation gives the agreed root
    if (expectRoot !== undefined && res.stateRoot !== expectRoot) return res.stateRoot
    const digest = offerSetDigest(input, epoch)
    const rec: EpochRecord = { epoch, state: Buffer.from(encodeState(res.state)).toString('base64'), root: res.stateRoot, digest, inputIds: offers.map((o) => o.id) }
    const ops: StoreOp[] = [
      { type: 'put', bucket: Bucket.epochs, key: epochKey(epoch), value: rec },
      { type: 'put', bucket: Bucket.meta, key: HEAD_KEY, value: epoch }
    ]
    const keep = BigInt(this.opts.keepEpochs ?? 64)
    if (epoch >= keep) ops.push({ type: 'del', bucket: Bucket.epochs, key: epochKey(epoch - keep) })
    if (replace) {
      for await (const [k, m] of this.store.entries<StoredMatch>(Bucket.matches)) {
        if (m.epoch === epoch && !m.signed) ops.push({ type: 'del', bucket: Bucket.matches, key: k })
      }
    }
    const others = new Set<string>()
    for (const mt of res.matches) {
      const role: Party | undefined = mt.deal.creator === this.address ? 'creator' : mt.deal.provider === this.address ? 'provider' : undefined
      if (role === undefined) continue
      others.add((role === 'creator' ? mt.deal.provider : mt.deal.creator).toLowerCase())
      const dealId = this.hasher.digest('Deal', mt.deal)
      const existing = await this.store.get<StoredMatch>(Bucket.matches, dealId)
      const sm: StoredMatch = { dealId, deal: mt.deal, jobId: mt.jobId, resourceId: mt.resourceId, role, epoch, signed: existing?.signed ?? false }
      ops.push({ type: 'put', bucket: Bucket.matches, key: dealId, value: sm })
    }
    await this.store.batch(ops)
    this.head = rec
    this.headState = res.state
    this.nextEpoch = epoch + 1n
    this.roots.set(epoch, res.stateRoot)
    this.counterparties.set(epoch, others)
    for (const e of this.counterparties.keys()) if (e + 8n < epoch) this.counterparties.delete(e)
    for (const e of this.roots.keys()) if (e + 256n < epoch) this.roots.delete(e)
    this.emit('epoch', { epoch, stateRoot: res.stateRoot, offerDigest: digest, matches: res.matches.length, offers: offers.length })
    this.log.debug('epoch matched', { epoch, root: res.stateRoot, offers: offers.length, matches: res.matches.length })
    return res.stateRoot
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
    if (this.everyNodeGossipsHeartbeats()) return true
    const h = this.epochDraw(epoch)
    return (h[0] * 256 + h[1]) % Math.ceil((this.peerByAddress.size + 1) / (this.opts.heartbeatSample ?? HEARTBEAT_SAMPLE)) === 0
  }

  /** Whether, by this node's estimate of the network size, every node gossips its heartbeat each epoch (see heartbeatDue). */
  private everyNodeGossipsHeartbeats (): boolean {
    const sampleSize = this.opts.heartbeatSample ?? HEARTBEAT_SAMPLE
    return sampleSize === 0 || this.peerByAddress.size + 1 <= sampleSize * 2
  }

  /** keccak(address ‖ uint64 epoch): this node's per-epoch draw for heartbeatDue and matchDelay, recomputable by anyone. */
  private epochDraw (epoch: bigint): Uint8Array {
    return keccak(concatBytes(hexToBytes(this.address, 20), hexToBytes(`0x${epoch.toString(16).padStart(16, '0')}`, 8)))
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
    const spread = Math.min(this.opts.matchSpreadMs ?? DEFAULT_MATCH_SPREAD_MS, Math.floor(this.profile.epochMs / 4))
    if (!(spread > 0)) return 0
    const h = this.epochDraw(epoch)
    return (h[2] * 256 + h[3]) % Math.floor(spread)
  }

  private async gossipHeartbeat (epoch: bigint): Promise<void> {
    const rec = this.head
    if (rec === undefined || rec.epoch !== epoch || !this.heartbeatDue(epoch)) return
    const m = signHeartbeat(this.hasher, this.identity.privateKey, { node: this.address, epoch, offerDigest: rec.digest, stateRoot: rec.root })
    await this.publish('epochs', encodeMessage(m))
  }

  /** The most common root among peers' heartbeats for `epoch` (ties keep ours), with its peers. */
  majorityRoot (epoch: bigint): { root: Hash, count: number, total: number, peers: string[] } | undefined {
    const seen = this.heartbeats.get(epoch)
    const mine = this.roots.get(epoch)
    const counts = new Map<Hash, string[]>()
    for (const [addr, hb] of seen ?? []) {
      if (addr === this.address) continue
      const list = counts.get(hb.root) ?? []
      list.push(hb.peer)
      counts.set(hb.root, list)
    }
    if (mine !== undefined) counts.set(mine, [...(counts.get(mine) ?? []), 'self'])
    let best: { root: Hash, count: number, total: number, peers: string[] } | undefined
    let total = 0
    for (const [, l] of counts) total += l.length
    for (const [root, l] of counts) {
      if (best === undefined || l.length > best.count || (l.length === best.count && root === mine)) {
        best = { root, count: l.length, total, peers: l.filter((p) => p !== 'self') }
      }
    }
    return best
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
    const mine = this.roots.get(epoch)
    if (mine === undefined || this.head?.epoch !== epoch) return false
    if (!this.everyNodeGossipsHeartbeats()) return false
    const seen = this.heartbeats.get(epoch)
    if (seen === undefined) return false
    return heartbeatsConfirmEarly({
      me: this.address,
      mine,
      seen: [...seen].map(([addr, hb]) => [addr, hb.root] as const),
      previous: this.heartbeats.get(epoch - 1n)?.keys() ?? [],
      counterparties: this.counterparties.get(epoch) ?? []
    })
  }

  /** Sleeps `ms` unless `wakeLoop` is called first. */
  private async nap (ms: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(t)
        signal.removeEventListener('abort', onAbort)
        this.wakeLoop = undefined
        resolve()
      }
      const onAbort = (): void => {
        clearTimeout(t)
        this.wakeLoop = undefined
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
      }
      const t = setTimeout(done, ms)
      signal.addEventListener('abort', onAbort, { once: true })
      this.wakeLoop = done
    })
  }

  /** Half an epoch after matching (or earlier, see earlyConfirmable): resync if in the minority, then sign this node's deals. */
  private async confirm (epoch: bigint, signal: AbortSignal): Promise<void> {
    const t0 = Date.now()
    try {
      await this.confirmInner(epoch, signal)
    } finally {
      const ms = Date.now() - t0
      if (ms > this.profile.epochMs / 4) this.log.info('slow confirm', { epoch, ms })
    }
  }

  private async confirmInner (epoch: bigint, signal: AbortSignal): Promise<void> {
    this.pendingConfirm = undefined
    // heartbeats can be lost; with fewer than three, ask connected peers directly as well
    if ((this.heartbeats.get(epoch)?.size ?? 0) < 3) {
      for (const r of await (this._sync as SyncService).collectRoots(epoch, signal).catch(() => [])) {
        this.recordHeartbeat(epoch, r.address, r.root, '0x' as Hash, r.peer)
      }
    }
    const maj = this.majorityRoot(epoch)
    const mine = this.roots.get(epoch)
    if (maj !== undefined && mine !== undefined && maj.root !== mine && this.head?.epoch === epoch) {
      this.log.info('state root in the minority; resyncing', { epoch, mine, majority: maj.root, count: maj.count, total: maj.total })
      await (this._sync as SyncService).resync(epoch, maj.root, maj.peers, signal)
    }
    if (!this.peerConfirmed(epoch)) {
      // nobody else has reported this epoch (a restart replaying epochs before any peer is
      // reached): what it matched may not be what the network matched, and a signed deal would
      // block the right one for the job (one deal per job offer). Sign later, if still agreed.
      const ops: StoreOp[] = []
      for await (const [k, m] of this.store.entries<StoredMatch>(Bucket.matches)) {
        if (m.epoch === epoch && !m.signed && m.deferred !== true) ops.push({ type: 'put', bucket: Bucket.matches, key: k, value: { ...m, deferred: true } satisfies StoredMatch })
      }
      if (ops.length > 0) {
        await this.store.batch(ops)
        this.deferredMayExist = true
        this.log.info('no peer has confirmed the epoch; its deals wait for a confirmed epoch before they are signed', { epoch, deals: ops.length })
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

  /** Whether another node reported the same root for `epoch` as this node (heartbeat or direct answer). */
  private peerConfirmed (epoch: bigint): boolean {
    const mine = this.roots.get(epoch)
    if (mine === undefined) return false
    const me = this.address.toLowerCase()
    for (const [addr, hb] of this.heartbeats.get(epoch) ?? []) {
      if (addr.toLowerCase() !== me && hb.root === mine) return true
    }
    return false
  }

  /** `jobId:resourceId:matchEpoch` of every reservation in the state of `epoch`. */
  private async heldReservations (epoch: bigint): Promise<Set<string>> {
    const state = await this.stateAt(epoch)
    return new Set((state?.reserved ?? []).map((r) => `${r.jobId}:${r.resourceId}:${r.matchEpoch}`))
  }

  /** Registers `wants`: asked before a deal for one of this node's job offers is signed. Returns the unregister function. */
  followJobs (wants: (jobOfferHash: Hash) => boolean): () => void {
    this.jobFollowers.add(wants)
    return () => { this.jobFollowers.delete(wants) }
  }

  /** Signs (once per job offer) the stored, unsigned matches that `which` selects. */
  private async signOwnMatches (which: (m: StoredMatch) => boolean): Promise<void> {
    const todo: StoredMatch[] = []
    for await (const [, m] of this.store.entries<StoredMatch>(Bucket.matches)) {
      if (!m.signed && which(m)) todo.push(m)
    }
    for (const m of todo) {
      const prior = await this.store.get<Hash>(Bucket.signedJobs, m.jobId)
      if (prior !== undefined && prior !== m.dealId) {
        this.metrics.count('deals', 'ignore', 'NODE_DOUBLE_SIGN')
        this.log.warn('refusing to sign a second deal for one job offer', { jobId: m.jobId, signed: prior, refused: m.dealId })
        continue
      }
      if (m.role === 'creator' && this.opts.followedJobsOnly === true && ![...this.jobFollowers].some((wants) => wants(m.jobId))) {
        this.log.info('not signing a deal for a job offer no run follows', { jobId: m.jobId, dealId: m.dealId })
        continue
      }
      const accept = this.opts.acceptDeal === undefined ? true : await this.opts.acceptDeal(m)
      if (!accept) continue
      const wireMsg = signDeal(this.hasher, this.identity.privateKey, m.deal, m.role)
      const wire = encodeMessage(wireMsg)
      await this.store.batch([
        { type: 'put', bucket: Bucket.signedJobs, key: m.jobId, value: m.dealId },
        { type: 'put', bucket: Bucket.matches, key: m.dealId, value: { ...m, signed: true } satisfies StoredMatch }
      ])
      await this.ingestAcceptance(m.dealId, wireMsg, wire)
      this.emit('match', { dealId: m.dealId, deal: m.deal, jobId: m.jobId, resourceId: m.resourceId, role: m.role, epoch: m.epoch })
      await this.publish('deals', wire)
      const other = m.role === 'creator' ? m.deal.provider : m.deal.creator
      void (this._sync as SyncService).sendAcceptance(other, wire)
    }
  }

  /** Matcher state of the head (for snapshots). */
  headSnapshot (): { epoch: bigint, state: MatcherState, root: Hash } | undefined {
    return this.head === undefined || !this.participating ? undefined : { epoch: this.head.epoch, state: this.headState, root: this.head.root }
  }

  async stateAt (epoch: bigint): Promise<MatcherState | undefined> {
    if (this.head?.epoch === epoch) return this.headState
    const rec = await this.store.get<EpochRecord>(Bucket.epochs, epochKey(epoch))
    return rec === undefined ? undefined : decodeState(new Uint8Array(Buffer.from(rec.state, 'base64')))
  }

  verifyRoot (state: MatcherState): Hash { return stateRoot(state) }

  /** Sync counters (reconcile rounds, fetched offers, resyncs, joins). */
  get syncStats (): SyncService['stats'] | undefined { return this._sync?.stats }
}

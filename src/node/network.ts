/**
 * LilyNode: one libp2p host, its offers, the replicated matcher and durable state
 * (DESIGN §3, §4, §8), composed of services that each get only the components they use:
 *
 *   Ledger           the matched epochs: head, epoch records, this node's matches, roots
 *   Acceptances      deal acceptances seen (stored, indexed per epoch for anti-entropy)
 *   Heartbeats       peers' roots per epoch, the majority, early confirmation, own heartbeat
 *   DealSigning      which own matches are signed, and when
 *   TopicValidation  the gossip topics' validators
 *   PeerUpkeep       bootstrap redials, peer exchange, cutting off misbehaving peers
 *   SyncService      reconciliation, snapshots, direct acceptances (src/node/sync.ts)
 *   EpochLoop        join, then per epoch: reconcile, match, heartbeat, confirm, sign
 *
 * Started in that order over a database the caller opened (or one the node opens from
 * `dataDir`), stopped in reverse; a database the caller passed is left open for it to close.
 */
import { EventEmitter } from 'node:events'
import type { PeerId } from '@libp2p/interface'
import { DomainHasher } from '../protocol/index.js'
import type { Identity } from '../protocol/index.js'
import { domainOf, epochAt, epochEnd, profileHash, topicName, type Profile, type TopicKind } from '../protocol/index.js'
import type { Address, Hash, JobOffer, ResourceOffer, Signature } from '../protocol/index.js'
import { stateRoot } from '../matching/index.js'
import type { MatcherConfig, MatcherState } from '../matching/index.js'
import type { EpochFacts } from './funding.js'
import { VoteWeights, type Majority } from './weights.js'
import { countsAsFunded, OfferAdmission } from './quota.js'
import { LagMonitor, type LagOptions } from './lag.js'
import { NodeError } from './errors.js'
import { GossipMetrics, PeerPolicing, type PolicingOptions } from '../p2p/index.js'
import { connectedPeers, createNodeLibp2p, GossipConfigError, type GossipTuning, type NodeLibp2p, type P2pMetrics } from '../p2p/index.js'
import { createLogger, type Logger } from '../protocol/index.js'
import { OfferPool, type PoolOffer } from './pool.js'
import { NodeStore } from './store.js'
import { SyncService, type SyncComponents } from './sync.js'
import { serveQuery } from './query.js'
import { encodeMessage, signJobOffer, signResourceOffer, verifyMessage, type WireMessage } from '../p2p/index.js'
import { Acceptances } from './services/acceptances.js'
import { EpochLoop } from './services/epochLoop.js'
import { Heartbeats } from './services/heartbeats.js'
import { Ledger } from './services/ledger.js'
import { PartyPeers } from './services/parties.js'
import { PeerUpkeep } from './services/peerUpkeep.js'
import { DealSigning } from './services/signing.js'
import { TopicValidation } from './services/topicValidation.js'
import { DEFAULT_KEEP_EPOCHS, type AgreedDeal, type EpochRecord, type LilyNodeEvents, type OwnMatch, type TestHooks } from './types.js'

export type { AgreedDeal, EpochEvent, EpochRecord, LilyNodeEvents, OwnMatch, TestHooks } from './types.js'
export { DEFAULT_MATCH_SPREAD_MS } from './services/heartbeats.js'

export interface LilyNodeOptions {
  profile: Profile
  identity: Identity
  /**
   * The node's database, opened by the caller (who closes it after stop()). Lets the caller
   * build what shares the database (the chain event log, the deal store) before the node starts.
   */
  store?: NodeStore
  /** Where the node opens (and on stop closes) its own database when `store` is not given. */
  dataDir?: string
  listen?: string[]
  dhtServer?: boolean
  /** Chain events up to block B(E); must give every node the same answer for the same epoch. */
  chainFacts?: (epoch: bigint) => Promise<EpochFacts>
  /**
   * Whether an account has deposited, as far as the node's chain reader has read (ChainFactsSource
   * .deposited): the pool's quotas use it until the node has matched an epoch with balances. Left
   * out (with chainFacts), every party counts as funded until then.
   */
  depositedSoFar?: (account: Address) => boolean
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
   * many nodes (default 8); 0: every node gossips it every epoch. See Heartbeats.heartbeatDue.
   */
  heartbeatSample?: number
  /**
   * Nodes reconcile and match an epoch at its match time plus a per-node delay in
   * [0, matchSpreadMs) (see Heartbeats.matchDelay; default DEFAULT_MATCH_SPREAD_MS, at most a
   * quarter of the epoch; 0: all at the match time).
   */
  matchSpreadMs?: number
  /** How a node that falls behind the epoch clock skips ahead and which acceptances it still signs (lag.ts). */
  lag?: LagOptions
}

/** The services of a started node. */
interface Running {
  store: NodeStore
  ownsStore: boolean
  pool: OfferPool
  libp2p: NodeLibp2p
  ledger: Ledger
  acceptances: Acceptances
  heartbeats: Heartbeats
  signing: DealSigning
  sync: SyncService
  upkeep: PeerUpkeep
  loop: EpochLoop
}

function notStarted (): never {
  throw new NodeError('NODE_NOT_STARTED', 'the node is not started; call start() first')
}

export class LilyNode extends EventEmitter<LilyNodeEvents> {
  readonly profile: Profile
  readonly identity: Identity
  readonly hasher: DomainHasher
  readonly address: Address
  readonly metrics = new GossipMetrics()
  readonly policing: PeerPolicing
  readonly log: Logger
  readonly config: MatcherConfig
  /** Lag behind the epoch clock: measured, skipped, and kept out of late signatures (lag.ts). */
  readonly lag: LagMonitor
  private readonly parties = new PartyPeers()
  /** Who follows this node's job offers (see LilyNodeOptions.followedJobsOnly). */
  private readonly followers = new Set<(jobOfferHash: Hash) => boolean>()
  /** The services of the last start (kept readable after stop). */
  private s?: Running
  private active = false
  private starting?: Promise<void>

  constructor (readonly opts: LilyNodeOptions) {
    super()
    if (opts.store === undefined && (opts.dataDir === undefined || opts.dataDir === '')) {
      throw new NodeError('NODE_BAD_OPTION', 'LilyNode needs a database: pass `store` (an opened NodeStore) or `dataDir` (a folder for it)')
    }
    this.profile = opts.profile
    this.identity = opts.identity
    this.address = opts.identity.address
    this.hasher = new DomainHasher(domainOf(opts.profile))
    this.log = opts.logger ?? createLogger(`node:${opts.identity.address.slice(0, 8)}`)
    this.policing = new PeerPolicing(opts.policing)
    this.lag = new LagMonitor(opts.profile, opts.lag)
    const hs = opts.heartbeatSample
    if (hs !== undefined && (!Number.isSafeInteger(hs) || hs < 0)) throw new GossipConfigError(`heartbeatSample must be a non-negative integer, got ${String(hs)}`)
    const p = opts.profile
    this.config = {
      seedPrefix: profileHash(p),
      reserveEpochs: p.reserveEpochs,
      openBy: (e: bigint) => BigInt(Math.floor(epochEnd(p, e + BigInt(p.reserveEpochs)) / 1000))
    }
  }

  private get running (): Running { return this.s ?? notStarted() }

  get store (): NodeStore { return this.running.store }
  get libp2p (): NodeLibp2p { return this.running.libp2p }
  get pool (): OfferPool { return this.running.pool }
  get isParticipating (): boolean { return this.s?.loop.isParticipating ?? false }
  get headEpoch (): bigint | undefined { return this.s?.ledger.head?.epoch }
  get headRoot (): Hash | undefined { return this.s?.ledger.head?.root }
  /** Root per epoch this node computed, for the convergence tests and `query epoch`. */
  get roots (): ReadonlyMap<bigint, Hash> { return this.s?.ledger.roots ?? new Map() }
  get keepEpochs (): number { return this.opts.keepEpochs ?? DEFAULT_KEEP_EPOCHS }

  currentEpoch (): bigint { return epochAt(this.profile, Date.now()) }

  /** Latest epoch whose match time has passed by this node's clock (a snapshot or head beyond it is refused). */
  lastClosedEpoch (): bigint { return epochAt(this.profile, Date.now() - this.profile.graceMs) - 1n }

  // ---------------------------------------------------------------- lifecycle

  async start (): Promise<void> {
    if (this.active) return
    if (this.starting !== undefined) return await this.starting
    this.starting = this.compose()
    try {
      await this.starting
    } finally {
      this.starting = undefined
    }
  }

  private async compose (): Promise<void> {
    const { profile, identity, hasher, address, config, metrics, policing, log, parties, lag, opts } = this
    const keepEpochs = this.keepEpochs
    const events = this
    const store = opts.store ?? await NodeStore.open(opts.dataDir as string)
    const ownsStore = opts.store === undefined
    let libp2p: NodeLibp2p | undefined
    let upkeep: PeerUpkeep | undefined
    let loop: EpochLoop | undefined
    try {
      const pool = new OfferPool(store)
      await pool.load()
      const skew = BigInt(profile.limits.maxEpochSkew)
      const acceptances = new Acceptances({
        store,
        events,
        hasher,
        config,
        pool,
        headEpoch: () => ledger.head?.epoch,
        maxEpoch: () => this.currentEpoch() + skew
      }, { keepEpochs })
      const ledger: Ledger = new Ledger({ store, hasher, address, config, events, log, onDerived: async (e, ids, replace) => { await acceptances.noteDerived(e, ids, replace) } }, { keepEpochs })
      await ledger.load()
      await acceptances.load()
      if (ledger.head !== undefined) await acceptances.deriveFromState(ledger.headState, ledger.head.epoch)
      const started = await createNodeLibp2p({
        profile,
        privateKey: identity.libp2pKey,
        listen: opts.listen,
        dhtServer: opts.dhtServer,
        appScore: (peer) => policing.appScore(peer),
        isBanned: (peer) => policing.isBanned(peer.toString()),
        gossip: opts.gossip,
        metrics: opts.metrics
      })
      libp2p = started
      const publish = async (kind: TopicKind, data: Uint8Array): Promise<void> => { await this.publish(started, kind, data) }
      const votes = new VoteWeights(opts.chainFacts === undefined)
      // pool space follows what a party holds on-chain (quota.ts); every party counts as funded
      // without a chain. Before this node has matched with any balances, a party counts as funded
      // once the chain reader has seen it deposit (a joining node is not filled by strangers' sync)
      const admission = new OfferAdmission({
        pool,
        limits: profile.limits,
        funded: (signer) => countsAsFunded(signer, {
          chainless: opts.chainFacts === undefined,
          funds: votes.fundsFor(ledger.head?.epoch ?? this.currentEpoch()),
          depositedSoFar: opts.depositedSoFar
        }),
        currentEpoch: () => this.currentEpoch(),
        liveFrom: () => epochLoop?.liveFrom
      })
      const heartbeats = new Heartbeats({ profile, identity, address, hasher, ledger, parties, publish, votes }, { heartbeatSample: opts.heartbeatSample, matchSpreadMs: opts.matchSpreadMs })
      // sync and the loop call each other (the loop reconciles through sync; a resync commits
      // through the loop): each gets the other's functions, bound once both exist
      let epochLoop: EpochLoop | undefined
      const theLoop = (): EpochLoop => epochLoop ?? notStarted()
      const syncComponents: SyncComponents = {
        profile,
        hasher,
        libp2p: started,
        metrics,
        log,
        pool,
        events,
        ledger,
        acceptances,
        parties,
        isParticipating: () => theLoop().isParticipating,
        headSnapshot: () => theLoop().isParticipating && ledger.head !== undefined ? { epoch: ledger.head.epoch, root: ledger.head.root } : undefined,
        chainFactsFor: async (epoch) => await theLoop().chainFactsFor(epoch),
        lastClosedEpoch: () => this.lastClosedEpoch(),
        fundsOf: async (epoch) => await theLoop().fundsOf(epoch),
        weightOf: async (epoch, who, funds) => await votes.weightOf(epoch, who, funds),
        admission,
        commitEpoch: async (...a) => await theLoop().commitEpoch(...a),
        adoptSnapshot: async (...a) => { await theLoop().adoptSnapshot(...a) }
      }
      const sync = new SyncService(syncComponents)
      const signing = new DealSigning({
        store,
        hasher,
        identity,
        metrics,
        events,
        log,
        lag,
        stateAt: async (epoch) => await ledger.stateAt(epoch),
        ingestAcceptance: async (id, m, wire) => await acceptances.ingest(id, m, wire),
        publish,
        sendAcceptance: async (to, wire) => { await sync.sendAcceptance(to, wire) }
      }, { acceptDeal: opts.acceptDeal, followedJobsOnly: opts.followedJobsOnly, jobFollowers: this.followers })
      epochLoop = loop = new EpochLoop({
        profile,
        address,
        hasher,
        config,
        pool,
        ledger,
        heartbeats,
        votes,
        acceptances,
        signing,
        sync,
        peerCount: () => connectedPeers(started).length,
        lag,
        events,
        log
      }, { keepEpochs, dhtServer: opts.dhtServer, chainFacts: opts.chainFacts })
      const peerUpkeep = upkeep = new PeerUpkeep({ libp2p: started, profile, policing, log, askPeers: async (peer, signal) => await sync.askPeers(peer, signal) }, { dhtServer: opts.dhtServer })
      const validation = new TopicValidation({
        pubsub: started.services.pubsub,
        profile,
        hasher,
        pool,
        policing,
        metrics,
        acceptances,
        admission,
        heartbeats,
        parties,
        events,
        log,
        onReject: (peer) => { peerUpkeep.onReject(peer) },
        onHeartbeat: (epoch) => { epochLoop?.onHeartbeat(epoch) }
      }, { testHooks: opts.testHooks })
      await sync.register()
      this.s = { store, ownsStore, pool, libp2p: started, ledger, acceptances, heartbeats, signing, sync, upkeep: peerUpkeep, loop: epochLoop }
      this.active = true
      await serveQuery(this)
      validation.install()
      await started.start()
      epochLoop.start()
      peerUpkeep.start()
      log.info('started', { address, addrs: started.getMultiaddrs().map(String) })
    } catch (e) {
      this.active = false
      upkeep?.stop()
      await loop?.stop()
      await Promise.resolve(libp2p?.stop()).catch((err: unknown) => { log.warn('libp2p stop failed', { err }) })
      if (ownsStore) await store.close()
      throw e
    }
  }

  /** Stops peer upkeep and the epoch loop, then libp2p, then the database if the node opened it. Safe to call twice. */
  async stop (): Promise<void> {
    await this.starting?.catch(() => {})
    const s = this.s
    if (s === undefined || !this.active) return
    this.active = false
    s.upkeep.stop()
    await s.loop.stop()
    try {
      await s.libp2p.stop()
    } catch (e) {
      this.log.warn('libp2p stop failed', { err: e })
    }
    if (s.ownsStore) await s.store.close()
  }

  // ---------------------------------------------------------------- publishing

  async publishJobOffer (offer: JobOffer): Promise<Hash> {
    return await this.publishOffer(signJobOffer(this.hasher, this.identity.privateKey, offer, this.profile.requests))
  }

  async publishResourceOffer (offer: ResourceOffer): Promise<Hash> {
    return await this.publishOffer(signResourceOffer(this.hasher, this.identity.privateKey, offer))
  }

  private async publishOffer (m: Extract<WireMessage, { kind: 'job' | 'resource' }>): Promise<Hash> {
    const { pool, libp2p } = this.running
    const wire = encodeMessage(m, { maxLifetimeEpochs: BigInt(this.profile.limits.maxOfferLifetimeEpochs) })
    const { id } = verifyMessage(this.hasher, m, this.address, this.profile.requests)
    if (await pool.add({ id, kind: m.kind, signer: this.address, epoch: m.offer.epoch, expiry: m.offer.expiryEpoch, wire, offer: m.offer })) {
      this.emit('offer', { id, kind: m.kind, via: 'self' })
    }
    await this.publish(libp2p, m.kind === 'job' ? 'jobs' : 'resources', wire)
    return id
  }

  private async publish (libp2p: NodeLibp2p, kind: TopicKind, data: Uint8Array): Promise<void> {
    try {
      const topic = topicName(this.profile, kind)
      const r = await libp2p.services.pubsub.publish(topic, data)
      this.metrics.bytesOut += data.length * r.recipients.length
      this.log.trace('published', { kind, bytes: data.length, recipients: r.recipients.length, subscribers: libp2p.services.pubsub.getSubscribers(topic).length })
    } catch (e) {
      this.log.debug('publish failed', { kind, err: e })
    }
  }

  // ---------------------------------------------------------------- reading the node's state

  getAcceptances (dealId: Hash): { creator?: Signature, provider?: Signature } {
    return this.s?.acceptances.get(dealId) ?? {}
  }

  /** Deals known with both signatures. */
  agreedDeals (): AgreedDeal[] { return this.s?.acceptances.agreed() ?? [] }

  /** Every deal with at least one acceptance seen, and which parties signed. */
  agreedDealsAndPending (): ReturnType<Acceptances['agreedAndPending']> { return this.s?.acceptances.agreedAndPending() ?? [] }

  /** Acceptances known for deals of `matchEpoch`: key `${dealId}:${party}` → wire (base64). */
  acceptancesOfEpoch (epoch: bigint): ReadonlyMap<string, string> { return this.running.acceptances.ofEpoch(epoch) }

  /** Stores a verified acceptance (gossip or direct); emits 'deal:agreed' when both are in. */
  async ingestAcceptance (dealId: Hash, m: Extract<WireMessage, { kind: 'acceptance' }>, wire: Uint8Array): Promise<boolean> {
    return await this.running.acceptances.ingest(dealId, m, wire)
  }

  async ownMatches (): Promise<Array<OwnMatch & { signed: boolean }>> { return await this.running.ledger.ownMatches() }

  /** The peer id a party's address was last seen gossiping from. */
  peerOf (address: Address): PeerId | undefined { return this.parties.peerOf(address) }

  async epochRecord (epoch: bigint): Promise<EpochRecord | undefined> { return await this.running.ledger.epochRecord(epoch) }

  async stateAt (epoch: bigint): Promise<MatcherState | undefined> { return await this.running.ledger.stateAt(epoch) }

  /** Matcher state of the head (for snapshots). */
  headSnapshot (): { epoch: bigint, state: MatcherState, root: Hash } | undefined {
    const s = this.s
    const head = s?.ledger.head
    return s === undefined || head === undefined || !s.loop.isParticipating ? undefined : { epoch: head.epoch, state: s.ledger.headState, root: head.root }
  }

  verifyRoot (state: MatcherState): Hash { return stateRoot(state) }

  /** Sync counters (reconcile rounds, fetched offers, resyncs, joins). */
  get syncStats (): SyncService['stats'] | undefined { return this.s?.sync.stats }

  /** See Heartbeats.heartbeatDue. */
  heartbeatDue (epoch: bigint): boolean { return this.running.heartbeats.heartbeatDue(epoch) }
  /** See Heartbeats.matchDelay. */
  matchDelay (epoch: bigint): number { return this.running.heartbeats.matchDelay(epoch) }
  /** See Heartbeats.majorityRoot. */
  async majorityRoot (epoch: bigint): Promise<Majority | undefined> { return await this.running.heartbeats.majorityRoot(epoch) }
  /** See Heartbeats.earlyConfirmable. */
  earlyConfirmable (epoch: bigint): boolean { return this.running.heartbeats.earlyConfirmable(epoch) }

  // ---------------------------------------------------------------- acting on it

  /** Registers `wants`: asked before a deal for one of this node's job offers is signed. Returns the unregister function. */
  followJobs (wants: (jobOfferHash: Hash) => boolean): () => void {
    this.followers.add(wants)
    return () => { this.followers.delete(wants) }
  }

  async chainFactsFor (epoch: bigint): Promise<EpochFacts> { return await this.running.loop.chainFactsFor(epoch) }

  /** See Ledger.commit (the loop then goes on at the next epoch). */
  async commitEpoch (epoch: bigint, prev: MatcherState, offers: PoolOffer[], facts: EpochFacts, replace: boolean, expectRoot?: Hash): Promise<Hash> {
    return await this.running.loop.commitEpoch(epoch, prev, offers, facts, replace, expectRoot)
  }

  /** See EpochLoop.adoptSnapshot. */
  async adoptSnapshot (epoch: bigint, state: MatcherState, root: Hash, inputIds: Hash[], digest: Hash, how: 'snapshot' | 'join', from?: PeerId[]): Promise<void> {
    await this.running.loop.adoptSnapshot(epoch, state, root, inputIds, digest, how, from)
  }
}

/**
 * The epoch loop (DESIGN §4): joins (adopts the network's state, or starts fresh), then per
 * epoch at its match time plus this node's delay reconciles the offer set with peers, steps the
 * matcher, persists and gossips its heartbeat; half an epoch later (or earlier, see
 * Heartbeats.earlyConfirmable) compares its root with its peers', resyncs when in the minority,
 * and only then signs the deals it is a party to.
 */
import type { PeerId } from '@libp2p/interface'
import type { DomainHasher } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import { epochAt, epochMatchTime, type Profile } from '../../protocol/index.js'
import type { Address, Deal, Hash, JobOffer, Party, ResourceOffer } from '../../protocol/index.js'
import { dealPrice } from '../../matching/index.js'
import type { MatcherConfig, MatcherState } from '../../matching/index.js'
import { sleep } from '../../protocol/index.js'
import type { OfferPool, PoolOffer } from '../pool.js'
import type { NodeEvents, OwnMatch } from '../types.js'
import type { Heartbeats } from './heartbeats.js'
import type { LagMonitor } from '../lag.js'
import type { Ledger } from './ledger.js'
import type { DealSigning } from './signing.js'
import { dealOfReservation } from './dealBook.js'
import { fundedOffers, type EpochFacts, type FundsView } from '../funding.js'
import type { VoteWeights } from '../weights.js'

/** What the loop asks of `sync`. */
export interface EpochSync {
  reconcile: (epoch: bigint, signal: AbortSignal) => Promise<PoolOffer[]>
  catchUp: (signal: AbortSignal, minEpoch?: bigint) => Promise<'adopted' | 'fresh' | 'retry'>
  collectRoots: (epoch: bigint, signal: AbortSignal) => Promise<Array<{ peer: string, address: Address, root: Hash }>>
  resync: (epoch: bigint, root: Hash, peers: string[], signal: AbortSignal) => Promise<void>
  fetchOffers: (ids: Hash[], maxEpoch: bigint, from: PeerId[] | undefined, signal: AbortSignal) => Promise<number>
}

export interface EpochLoopComponents {
  profile: Profile
  address: Address
  hasher: DomainHasher
  config: MatcherConfig
  pool: OfferPool
  ledger: Ledger
  heartbeats: Heartbeats
  /** Votes weighted by on-chain balance (weights.ts): learns each matched epoch's balances. */
  votes: VoteWeights
  signing: DealSigning
  /** Learns the deals of an adopted state (only acceptances of derived deals are kept). */
  acceptances: { deriveFromState: (state: MatcherState, epoch: bigint) => Promise<void> }
  sync: EpochSync
  /** Connected peers now. */
  peerCount: () => number
  /** How far behind the epoch clock the loop runs (lag.ts). */
  lag: LagMonitor
  events: NodeEvents
  log: Logger
}

export interface EpochLoopInit {
  keepEpochs: number
  dhtServer?: boolean
  /** Chain events up to block B(E); must give every node the same answer for the same epoch. */
  chainFacts?: (epoch: bigint) => Promise<EpochFacts>
}

export class EpochLoop {
  private controller = new AbortController()
  private loop?: Promise<void>
  private participating = false
  /** Next epoch to match; undefined while joining. */
  private nextEpoch?: bigint
  private pendingConfirm?: bigint
  /** The first epoch matched live since this node started or adopted a state (quota.ts: offers of closed epochs over sync). */
  private _liveFrom?: bigint
  /** Ends the loop's current wait early (a heartbeat made an early confirmation possible). */
  private wakeLoop?: () => void

  constructor (private readonly components: EpochLoopComponents, private readonly init: EpochLoopInit) {}

  get isParticipating (): boolean { return this.participating }
  get liveFrom (): bigint | undefined { return this._liveFrom }

  start (): void {
    if (this.loop !== undefined) return
    this.controller = new AbortController()
    this.loop = this.run(this.controller.signal)
  }

  async stop (): Promise<void> {
    this.controller.abort(new Error('node stopping'))
    await this.loop?.catch(() => {})
    this.loop = undefined
  }

  /** A heartbeat of `epoch` arrived: confirm now if that made an early confirmation possible. */
  onHeartbeat (epoch: bigint): void {
    if (epoch === this.pendingConfirm && this.components.heartbeats.earlyConfirmable(epoch)) this.wakeLoop?.()
  }

  async chainFactsFor (epoch: bigint): Promise<EpochFacts> {
    return this.init.chainFacts === undefined ? { opened: [], closed: [] } : await this.init.chainFacts(epoch)
  }

  /** The balances votes of `epoch` are weighed with: those it was matched with, else read for it (undefined without a chain). */
  async fundsOf (epoch: bigint): Promise<FundsView | undefined> {
    if (this.init.chainFacts === undefined) return undefined
    return this.components.votes.fundsFor(epoch) ?? (await this.chainFactsFor(epoch)).funds
  }

  /**
   * Ledger.commit, after which the loop goes on at the next epoch. Only offers backed on-chain
   * (funding.ts) steer the state; the record's digest and input ids cover the whole input.
   */
  async commitEpoch (epoch: bigint, prev: MatcherState, offers: PoolOffer[], facts: EpochFacts, replace: boolean, expectRoot?: Hash): Promise<Hash> {
    const { votes, profile, log } = this.components
    let counted = offers
    if (facts.funds !== undefined) {
      const v = await fundedOffers(offers, prev, facts.funds, profile.requests, facts.opened)
      counted = v.kept
      votes.noteFunds(epoch, facts.funds)
      const d = v.dropped
      if (d.jobs + d.resources + d.requests > 0) log.debug('offers left out: not backed in escrow', { epoch, block: facts.funds.block, ...d })
    }
    const root = await this.components.ledger.commit(epoch, prev, offers, facts, replace, expectRoot, counted)
    if (expectRoot === undefined || root === expectRoot) this.nextEpoch = epoch + 1n
    return root
  }

  private async run (signal: AbortSignal): Promise<void> {
    const { profile, heartbeats, log } = this.components
    while (!signal.aborted) {
      try {
        if (!this.participating) {
          await this.join(signal)
          continue
        }
        const next = this.nextEpoch as bigint
        const matchAt = epochMatchTime(profile, next) + heartbeats.matchDelay(next)
        const confirmAt = this.pendingConfirm === undefined ? Infinity : epochMatchTime(profile, this.pendingConfirm) + Math.floor(profile.epochMs / 2)
        const at = Math.min(matchAt, confirmAt)
        const early = (): boolean => this.pendingConfirm !== undefined && heartbeats.earlyConfirmable(this.pendingConfirm)
        const wait = at - Date.now()
        if (wait > 0 && !early()) {
          await this.nap(wait, signal)
          this.components.lag.woke(at)
        }
        const now = Date.now()
        if (this.pendingConfirm !== undefined && ((confirmAt <= matchAt && now >= confirmAt) || early())) {
          await this.confirm(this.pendingConfirm, signal)
        } else if (now < matchAt) {
          // woken for an early confirmation that a later heartbeat ruled out: wait again
          continue
        } else {
          // so far behind that peers may have dropped the inputs to replay: rejoin through a snapshot
          if (next + BigInt(Math.floor(this.init.keepEpochs / 2)) < this.lastClosedEpoch()) {
            log.info('too far behind to replay; rejoining', { next })
            this.participating = false
            // never spin: a rejoin that cannot make progress yet waits a little before trying again
            await sleep(Math.floor(profile.epochMs / 4), signal)
            continue
          }
          if (this.components.lag.shouldSkip(next, this.lastClosedEpoch()) && await this.skipAhead(next, signal)) continue
          await this.matchEpoch(next, signal)
        }
      } catch (e) {
        if (signal.aborted) return
        log.error('epoch loop error', { err: e })
        await sleep(100, signal).catch(() => {})
      }
    }
  }

  /** Behind the clock (lag.ts): adopt the network's newest agreed snapshot of an epoch ≥ `next` instead of replaying; false when none could be had. */
  private async skipAhead (next: bigint, signal: AbortSignal): Promise<boolean> {
    const { sync, lag, ledger, events, log, peerCount } = this.components
    const behind = this.lastClosedEpoch() - next + 1n
    const asked = peerCount() > 0
    const adopted = await sync.catchUp(signal, next).catch((e: unknown) => {
      if (signal.aborted) throw e
      return 'retry' as const
    }) === 'adopted'
    lag.skipped(adopted, asked)
    const to = adopted ? ledger.head?.epoch : undefined
    log.info(adopted ? 'behind the epoch clock; skipped to a checked snapshot' : 'behind the epoch clock; no snapshot ahead to adopt, replaying', { from: next, to, behind, lagMs: lag.lagMs() })
    events.emit('lag', { action: adopted ? 'skip' : 'replay', from: next, to, behind, lagMs: lag.lagMs() })
    return adopted
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

  /** Latest epoch whose match time has passed. */
  private lastClosedEpoch (): bigint {
    const { profile } = this.components
    return epochAt(profile, Date.now() - profile.graceMs) - 1n
  }

  /**
   * Joining (fresh node, late joiner, restart after a gap): take part only once the state is
   * known to be the network's. Without a stored head that is current, ask peers for theirs,
   * check one snapshot against several peers' roots and adopt it.
   */
  private async join (signal: AbortSignal): Promise<void> {
    const { profile, ledger, sync, peerCount } = this.components
    const closed = this.lastClosedEpoch()
    const head = ledger.head
    // a stored head recent enough is replayed forward on peers' recorded inputs
    if (head !== undefined && head.epoch + BigInt(Math.floor(this.init.keepEpochs / 2)) >= closed) {
      this.nextEpoch = head.epoch + 1n
      // replaying epochs it was away for: their offers came while it was not listening
      this._liveFrom = closed + 1n
      this.participating = true
      return
    }
    if (peerCount() === 0) {
      if (profile.bootstrap.length === 0 || this.init.dhtServer === true) { this.startFresh(closed); return }
      await sleep(Math.floor(profile.epochMs / 4), signal)
      return
    }
    const adopted = await sync.catchUp(signal)
    if (adopted === 'fresh') { this.startFresh(closed); return }
    if (adopted === 'retry') await sleep(Math.floor(profile.epochMs / 4), signal)
  }

  private startFresh (closed: bigint): void {
    const { ledger, log } = this.components
    // nobody has matched anything yet: start from the initial state at the next epoch
    ledger.resetIfEmpty()
    const head = ledger.head
    // a stored head too old to replay, and nobody to ask: the epochs in between were matched by
    // no one this node can reach, so it goes on from its head's state at the next epoch (peers
    // that turn up later compare roots, and a node in the minority resyncs from them)
    const stale = head !== undefined && head.epoch + BigInt(Math.floor(this.init.keepEpochs / 2)) < closed
    this.nextEpoch = head === undefined || stale ? closed + 1n : head.epoch + 1n
    this._liveFrom = closed + 1n
    this.participating = true
    log.info('starting', { epoch: this.nextEpoch, fresh: head === undefined })
  }

  private async matchEpoch (epoch: bigint, signal: AbortSignal): Promise<void> {
    const { profile, ledger, heartbeats, pool, sync, log } = this.components
    const t0 = Date.now()
    const offers = await sync.reconcile(epoch, signal)
    const t1 = Date.now()
    if (t1 - t0 > profile.epochMs / 4) log.info('slow reconcile', { epoch, ms: t1 - t0, late: t0 - epochMatchTime(profile, epoch) })
    const facts = await this.chainFactsFor(epoch)
    await this.commitEpoch(epoch, ledger.headState, offers, facts, false)
    this.pendingConfirm = epoch
    // a replayed epoch's heartbeat is of no use to peers any more (lag.ts)
    if (this.components.lag.heartbeatFresh(epoch, this.lastClosedEpoch())) await heartbeats.announce(epoch)
    if (epoch % 16n === 0n) await pool.prune(epoch - BigInt(this.init.keepEpochs))
  }

  /** Half an epoch after matching (or earlier, see earlyConfirmable): resync if in the minority, then sign this node's deals. */
  private async confirm (epoch: bigint, signal: AbortSignal): Promise<void> {
    const t0 = Date.now()
    try {
      await this.confirmInner(epoch, signal)
    } finally {
      const ms = Date.now() - t0
      if (ms > this.components.profile.epochMs / 4) this.components.log.info('slow confirm', { epoch, ms })
    }
  }

  private async confirmInner (epoch: bigint, signal: AbortSignal): Promise<void> {
    const { ledger, heartbeats, sync, signing, log } = this.components
    this.pendingConfirm = undefined
    // heartbeats can be lost; with fewer than three, ask connected peers directly as well
    if (heartbeats.count(epoch) < 3) {
      for (const r of await sync.collectRoots(epoch, signal).catch(() => [])) {
        heartbeats.record(epoch, r.address, r.root, '0x' as Hash, r.peer)
      }
    }
    const maj = await heartbeats.majorityRoot(epoch)
    const mine = ledger.roots.get(epoch)
    if (maj !== undefined && mine !== undefined && maj.root !== mine && ledger.head?.epoch === epoch) {
      log.info('state root in the minority by weight; resyncing', { epoch, mine, majority: maj.root, weight: maj.weight, total: maj.total })
      await sync.resync(epoch, maj.root, maj.peers, signal)
    }
    await signing.confirmEpoch(epoch, heartbeats.peerConfirmed(epoch))
  }

  /**
   * Adopts a verified snapshot of `epoch` (join or resync), then signs this node's deals that
   * the adopted state holds. A snapshot carries the state, not the epoch's matches, so the node
   * would otherwise never learn (and never sign) deals the network made for it while it was
   * away or in the minority. Every match still held is a reservation (job, resource offer,
   * matchEpoch) covered by the verified root, and `step` builds its Deal from those two offers
   * and the epoch alone (price = dealPrice, collateral and timeout from the offers, openBy from
   * the config), so the same Deal is rebuilt here; offers this node lacks are fetched from
   * `from` (else connected peers) and verified by their ids. Unsigned matches this node had
   * recorded for epochs up to `epoch` that the adopted state does not hold are dropped (they
   * came from the state it just abandoned). The one-deal-per-job guard of signing still applies.
   */
  async adoptSnapshot (epoch: bigint, state: MatcherState, root: Hash, inputIds: Hash[], digest: Hash, how: 'snapshot' | 'join', from?: PeerId[]): Promise<void> {
    const { ledger, signing, events, log } = this.components
    const own = await this.ownMatchesIn(state, from)
    const ownIds = new Set(own.map((m) => m.dealId))
    await ledger.adopt(epoch, state, root, inputIds, digest, own)
    await this.components.acceptances.deriveFromState(state, epoch)
    this.nextEpoch = epoch + 1n
    this._liveFrom = epoch + 1n
    this.pendingConfirm = undefined
    this.participating = true
    log.info('adopted state', { epoch, root, how, ownMatches: own.length })
    events.emit('resync', { epoch, stateRoot: root, how })
    await signing.signOwnMatches((m) => m.epoch <= epoch && ownIds.has(m.dealId))
  }

  /**
   * This node's matches held in `state` (reservations where it is the provider, or the creator
   * of the job offer), with the Deal `step` made for each. Offers missing from the pool are
   * fetched first; a match whose offers cannot be had is skipped (and logged).
   */
  private async ownMatchesIn (state: MatcherState, from?: PeerId[]): Promise<OwnMatch[]> {
    const { profile, address, hasher, config, pool, sync, log } = this.components
    const me = address.toLowerCase()
    const mine = state.reserved.filter((r) => r.hold.provider.toLowerCase() === me || pool.get(r.jobId)?.signer.toLowerCase() === me)
    if (mine.length === 0) return []
    const missing = [...new Set(mine.flatMap((r) => [r.jobId, r.resourceId]))].filter((id) => !pool.has(id))
    if (missing.length > 0) {
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(Math.max(2000, profile.epochMs))])
      const maxEpoch = mine.reduce((m, r) => r.matchEpoch > m ? r.matchEpoch : m, 0n)
      await sync.fetchOffers(missing, maxEpoch, from, signal).catch((e: unknown) => {
        log.warn('could not fetch the offers of adopted matches', { missing: missing.length, err: e })
      })
    }
    const out: OwnMatch[] = []
    for (const r of mine) {
      const job = pool.get(r.jobId)
      const res = pool.get(r.resourceId)
      if (job?.kind !== 'job' || res?.kind !== 'resource') {
        log.warn('adopted match without its offers; not signing it', { jobId: r.jobId, resourceId: r.resourceId, matchEpoch: r.matchEpoch })
        continue
      }
      const deal = dealOfReservation(r, job.offer as JobOffer, res.offer as ResourceOffer, config)
      const role: Party | undefined = deal.creator === address ? 'creator' : deal.provider === address ? 'provider' : undefined
      if (role === undefined) continue
      out.push({ dealId: hasher.digest('Deal', deal), deal, jobId: r.jobId, resourceId: r.resourceId, role, epoch: r.matchEpoch })
    }
    return out
  }
}

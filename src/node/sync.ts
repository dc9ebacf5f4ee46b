/**
 * The `sync` protocol (DESIGN §4): offer-set reconciliation by epoch digest, state snapshots
 * for joiners and resyncs, and direct delivery of deal acceptances to the counterparty.
 *
 * Methods (one length-prefixed JSON frame each way, see rpc.ts):
 *   digest {epoch}               → {digest, count}   the epoch's input (frozen once matched)
 *   ids {epoch, offset, limit}   → {ids, total}      sorted offer ids of that set, paged
 *   offers {ids}                 → {offers}          wire bytes (base64) of the offers asked for
 *   head {}                      → {epoch, root}|null the last matched epoch (null while joining)
 *   root {epoch}                 → {root}|null
 *   snapshot {epoch}             → {epoch, state, root, digest, inputIds}|null
 *   accept {wire}                → {stored}          a deal acceptance signed by the caller
 *   accIds {epoch}               → {keys}            `dealId:party` of acceptances of deals matched in epoch
 *   accGet {epoch, keys}         → {wires}           those acceptances (anti-entropy for lost gossip)
 *   peers {}                     → {peers}           up to 32 connected peers {id, addrs} (peer exchange)
 */
import { createHash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { DomainHasher } from '../protocol/index.js'
import { peerIdToAddress } from '../protocol/index.js'
import type { Logger } from '../protocol/index.js'
import { protocolId, type Profile } from '../protocol/index.js'
import type { Address, Hash } from '../protocol/index.js'
import { offerSetDigest } from '../matching/index.js'
import type { MatcherState } from '../matching/index.js'
import type { EpochFacts, FundsView } from './funding.js'
import { checkSnapshot, pickJoinRoot, type SnapshotAnswer } from './snapshots.js'
import type { OfferAdmission } from './quota.js'
import { NodeError } from './errors.js'
import { type GossipMetrics, PeerPolicing } from '../p2p/index.js'
import { connectedPeers, type NodeLibp2p } from '../p2p/index.js'
import type { EpochRecord, NodeEvents } from './types.js'
import { OfferPool, type PoolOffer } from './pool.js'
import { callRpc, RpcRefusal, serveRpc, type RpcHandler } from '../p2p/index.js'
import { decodeMessage, verifyMessage, type WireMessage } from '../p2p/index.js'

const MAX_IDS_PAGE = 2000
const MAX_OFFERS_PER_CALL = 64
const MAX_SYNC_PEERS = 3
const CONCURRENCY = 4
const MAX_ACC = 20_000
/** Snapshot frames may be large; everything else is small. */
const SNAPSHOT_BYTES = 8 * 1024 * 1024

/** `frozen`: the peer already matched the epoch and this is its exact input; `acc`: acceptance-set hashes of the epochs asked ('' = none). */
interface DigestAnswer { digest: Hash, count: number, frozen: boolean, acc: string[] }

/** A short hash of the set of acceptance keys ('' when empty). */
export function acceptanceSetHash (known: ReadonlyMap<string, string>): string {
  if (known.size === 0) return ''
  const h = createHash('sha256')
  for (const k of [...known.keys()].sort()) h.update(k)
  return h.digest('hex').slice(0, 16)
}
interface IdsAnswer { ids: Hash[], total: number }

function asEpoch (a: unknown): bigint {
  const e = (a as { epoch?: unknown } | null)?.epoch
  if (typeof e !== 'bigint' || e < 0n || e >= 1n << 64n) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', 'epoch must be a uint64')
  return e
}

function asInt (v: unknown, def: number, max: number): number {
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', 'expected a non-negative integer')
  return Math.min(v, max)
}

async function mapLimit<T, R> (items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<Array<R | undefined>> {
  const out: Array<R | undefined> = new Array(items.length)
  let i = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const k = i++
      try { out[k] = await fn(items[k]) } catch { out[k] = undefined }
    }
  }))
  return out
}

function sample<T> (xs: T[], n: number): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a.slice(0, n)
}

/**
 * What `sync` uses of the node: its host and identity, the pool, the matched epochs, the
 * acceptances, and the three ways it changes the node's state (recompute an epoch, adopt a
 * snapshot, store an acceptance). Nothing else.
 */
export interface SyncComponents {
  profile: Profile
  hasher: DomainHasher
  libp2p: NodeLibp2p
  metrics: GossipMetrics
  log: Logger
  pool: OfferPool
  events: NodeEvents
  ledger: {
    epochRecord: (epoch: bigint) => Promise<EpochRecord | undefined>
    stateAt: (epoch: bigint) => Promise<MatcherState | undefined>
  }
  acceptances: {
    ofEpoch: (epoch: bigint) => ReadonlyMap<string, string>
    ingest: (dealId: Hash, m: Extract<WireMessage, { kind: 'acceptance' }>, wire: Uint8Array) => Promise<boolean>
  }
  parties: { peerOf: (address: Address) => PeerId | undefined }
  /** Whether the node has joined (it serves roots and snapshots only then). */
  isParticipating: () => boolean
  /** The head epoch and root while participating. */
  headSnapshot: () => { epoch: bigint, root: Hash } | undefined
  chainFactsFor: (epoch: bigint) => Promise<EpochFacts>
  commitEpoch: (epoch: bigint, prev: MatcherState, offers: PoolOffer[], facts: EpochFacts, replace: boolean, expectRoot?: Hash) => Promise<Hash>
  /** The last epoch whose match time has passed by this node's clock (a snapshot beyond it is a lie). */
  lastClosedEpoch: () => bigint
  /** The balances `epoch`'s votes are weighed with (undefined without a chain). */
  fundsOf: (epoch: bigint) => Promise<FundsView | undefined>
  /** Who may hold how much of the pool, on this path too (quota.ts). */
  admission: OfferAdmission
  /** A voter's on-chain weight in `epoch` (weights.ts). */
  weightOf: (epoch: bigint, address: Address, funds?: FundsView) => Promise<bigint>
  adoptSnapshot: (epoch: bigint, state: MatcherState, root: Hash, inputIds: Hash[], digest: Hash, how: 'snapshot' | 'join', from?: PeerId[]) => Promise<void>
}

export class SyncService {
  readonly protocol: string
  private readonly admission = new PeerPolicing({ ratePerSec: 100, burst: 400, banThreshold: Infinity })
  /** Counters: rounds, digests equal/different, offers fetched, resyncs, snapshots. */
  readonly stats = { rounds: 0, equal: 0, different: 0, fetched: 0, resyncRecompute: 0, resyncSnapshot: 0, joins: 0, errors: 0, acceptancesFetched: 0, frozenInputs: 0, refused: 0 }

  constructor (private readonly c: SyncComponents) {
    this.protocol = protocolId(c.profile, 'sync')
  }

  private get limits (): { responseTimeoutMs: number, dialTimeoutMs: number } {
    const e = this.c.profile.epochMs
    return { responseTimeoutMs: Math.max(1000, Math.min(5000, e)), dialTimeoutMs: Math.max(500, Math.min(3000, e)) }
  }

  async register (): Promise<void> {
    const c = this.c
    const handlers: Record<string, RpcHandler> = {
      digest: async (a) => {
        const e = asEpoch(a)
        const accIn = (a as { acc?: unknown }).acc
        const acc = (Array.isArray(accIn) ? accIn.slice(0, 4) : []).map((x) => typeof x === 'bigint' ? acceptanceSetHash(c.acceptances.ofEpoch(x)) : '')
        const rec = await c.ledger.epochRecord(e)
        if (rec !== undefined) return { digest: rec.digest, count: rec.inputIds.length, frozen: true, acc } satisfies DigestAnswer
        const offers = c.pool.effectiveAt(e)
        return { digest: offerSetDigest(OfferPool.toInput(offers), e), count: offers.length, frozen: false, acc } satisfies DigestAnswer
      },
      ids: async (a) => {
        const e = asEpoch(a)
        const args = a as { offset?: unknown, limit?: unknown }
        const offset = asInt(args.offset, 0, Number.MAX_SAFE_INTEGER)
        const limit = asInt(args.limit, MAX_IDS_PAGE, MAX_IDS_PAGE)
        const rec = await c.ledger.epochRecord(e)
        const all = rec !== undefined ? rec.inputIds : c.pool.effectiveAt(e).map((o) => o.id)
        return { ids: all.slice(offset, offset + limit), total: all.length } satisfies IdsAnswer
      },
      offers: async (a) => {
        const ids = (a as { ids?: unknown } | null)?.ids
        if (!Array.isArray(ids) || ids.length > MAX_OFFERS_PER_CALL) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', `ids must be an array of at most ${MAX_OFFERS_PER_CALL}`)
        const out: string[] = []
        for (const id of ids) {
          const o = typeof id === 'string' ? c.pool.get(id as Hash) : undefined
          if (o !== undefined) out.push(Buffer.from(o.wire).toString('base64'))
        }
        return { offers: out }
      },
      head: async () => {
        const h = c.headSnapshot()
        return h === undefined ? null : { epoch: h.epoch, root: h.root }
      },
      root: async (a) => {
        const e = asEpoch(a)
        if (!c.isParticipating()) return null
        const rec = await c.ledger.epochRecord(e)
        return rec === undefined ? null : { root: rec.root }
      },
      snapshot: async (a) => {
        const e = asEpoch(a)
        if (!c.isParticipating()) return null
        const rec = await c.ledger.epochRecord(e)
        if (rec === undefined) return null
        return { epoch: rec.epoch, state: rec.state, root: rec.root, digest: rec.digest, inputIds: rec.inputIds } satisfies SnapshotAnswer
      },
      accIds: async (a) => {
        const e = asEpoch(a)
        return { keys: [...c.acceptances.ofEpoch(e).keys()].sort().slice(0, MAX_ACC) }
      },
      accGet: async (a) => {
        const e = asEpoch(a)
        const keys = (a as { keys?: unknown }).keys
        if (!Array.isArray(keys) || keys.length > MAX_OFFERS_PER_CALL) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', `keys must be an array of at most ${MAX_OFFERS_PER_CALL}`)
        const known = c.acceptances.ofEpoch(e)
        return { wires: keys.map((k) => typeof k === 'string' ? known.get(k) : undefined).filter((w): w is string => w !== undefined) }
      },
      peers: async () => {
        const out: Array<{ id: string, addrs: string[] }> = []
        // a random sample, so that joiners spread over the network instead of all dialing the same early peers
        for (const conn of sample(c.libp2p.getConnections(), 256)) {
          if (out.length >= 32) break
          const addrs = (await c.libp2p.peerStore.get(conn.remotePeer).catch(() => undefined))?.addresses.map((a) => a.multiaddr.toString()).slice(0, 4) ?? []
          if (addrs.length > 0 && !out.some((o) => o.id === conn.remotePeer.toString())) out.push({ id: conn.remotePeer.toString(), addrs })
        }
        return { peers: out }
      },
      accept: async (a, peer) => {
        const wire = (a as { wire?: unknown } | null)?.wire
        if (typeof wire !== 'string' || wire.length > 8192) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', 'wire must be base64 of at most 6 KiB')
        const bytes = new Uint8Array(Buffer.from(wire, 'base64'))
        const m = decodeMessage(bytes, 'acceptance')
        if (m.kind !== 'acceptance') throw new RpcRefusal('P2P_RPC_BAD_REQUEST', 'not an acceptance')
        const { id } = verifyMessage(c.hasher, m, peerIdToAddress(peer))
        return { stored: await c.acceptances.ingest(id, m, bytes) }
      }
    }
    await serveRpc(c.libp2p, this.protocol, handlers, {
      logger: c.log,
      counter: c.metrics,
      limits: { maxRequestBytes: 64 * 1024, responseTimeoutMs: this.limits.responseTimeoutMs },
      admit: (peer) => {
        if (!this.admission.take(peer.toString())) throw new RpcRefusal('NODE_RATE_LIMITED', 'too many sync requests; slow down')
      }
    })
  }

  private async call<T> (peer: PeerId, method: string, args: unknown, signal: AbortSignal, maxResponseBytes = 1024 * 1024): Promise<T> {
    return await callRpc<T>(this.c.libp2p, peer, this.protocol, method, args, { signal, counter: this.c.metrics, limits: { ...this.limits, maxResponseBytes } })
  }

  private peers (): PeerId[] {
    return sample(connectedPeers(this.c.libp2p), MAX_SYNC_PEERS)
  }

  /**
   * Verifies and stores offers fetched for epoch `epoch`; returns how many were new. Each passes
   * the node's admission (quota.ts: quotas, and closed epochs with `closedCheck`).
   */
  private async ingest (wires: string[], epoch: bigint, closedCheck = true): Promise<number> {
    let n = 0
    for (const w of wires) {
      try {
        const bytes = new Uint8Array(Buffer.from(w, 'base64'))
        const m = decodeMessage(bytes, undefined, { maxLifetimeEpochs: BigInt(this.c.profile.limits.maxOfferLifetimeEpochs) })
        if (m.kind !== 'job' && m.kind !== 'resource') continue
        if (m.offer.epoch > epoch) continue
        const { id, signer } = verifyMessage(this.c.hasher, m, undefined, this.c.profile.requests)
        if (this.c.pool.has(id)) continue
        const refused = this.c.admission.synced(signer, m.offer.epoch, m.offer.expiryEpoch, epoch, closedCheck)
        if (refused !== undefined) {
          this.stats.refused++
          this.c.metrics.count('sync', 'ignore', refused.code)
          continue
        }
        const added = await this.c.pool.add({ id, kind: m.kind, signer, epoch: m.offer.epoch, expiry: m.offer.expiryEpoch, wire: bytes, offer: m.offer }, !this.c.admission.funded(signer))
        if (added) {
          n++
          this.c.events.emit('offer', { id, kind: m.kind, via: 'sync' })
        }
      } catch (e) {
        this.stats.errors++
        this.c.log.debug('sync: refused offer', { err: e })
      }
    }
    return n
  }

  /** Fetches from `peer` the offers of its set for `epoch` that this node lacks; returns the peer's ids. */
  private async pullFrom (peer: PeerId, epoch: bigint, signal: AbortSignal, closedCheck = true): Promise<Hash[]> {
    const ids: Hash[] = []
    const max = this.c.profile.limits.maxSyncOffers
    for (let offset = 0; offset < max;) {
      const page = await this.call<IdsAnswer>(peer, 'ids', { epoch, offset, limit: MAX_IDS_PAGE }, signal)
      if (!Array.isArray(page.ids)) throw new NodeError('NODE_SYNC_FAILED', 'bad ids answer')
      ids.push(...page.ids.slice(0, max - ids.length))
      offset += page.ids.length
      if (page.ids.length === 0 || offset >= page.total) break
    }
    const missing = ids.filter((id) => typeof id === 'string' && !this.c.pool.has(id))
    for (let i = 0; i < missing.length; i += MAX_OFFERS_PER_CALL) {
      const chunk = missing.slice(i, i + MAX_OFFERS_PER_CALL)
      const r = await this.call<{ offers: string[] }>(peer, 'offers', { ids: chunk }, signal, 4 * 1024 * 1024)
      if (!Array.isArray(r.offers)) throw new NodeError('NODE_SYNC_FAILED', 'bad offers answer')
      this.stats.fetched += await this.ingest(r.offers.slice(0, chunk.length), epoch, closedCheck)
    }
    return ids
  }

  /**
   * Reconciles epoch `epoch`'s offer set with up to MAX_SYNC_PEERS connected peers and returns
   * the input to match. Peers that already matched the epoch answer with their frozen input;
   * if any did, the most common frozen set is used exactly (what the network already matched).
   * Otherwise the node matches the union it gathered (up to two rounds of digest exchange).
   * The digest exchange also carries acceptance counts of the two previous epochs, so lost
   * acceptances are fetched from whoever has more.
   */
  async reconcile (epoch: bigint, signal: AbortSignal): Promise<PoolOffer[]> {
    const c = this.c
    const accEpochs = [epoch - 1n, epoch - 2n].filter((e) => e >= 0n)
    const peers = this.peers()
    const frozen = new Map<Hash, PeerId[]>()
    for (let round = 0; round < 2; round++) {
      this.stats.rounds++
      const mine = offerSetDigest(OfferPool.toInput(c.pool.effectiveAt(epoch)), epoch)
      let changed = false
      await mapLimit(peers, CONCURRENCY, async (peer) => {
        const d = await this.call<DigestAnswer>(peer, 'digest', { epoch, acc: accEpochs }, signal)
        if (round === 0) {
          for (const [i, e] of accEpochs.entries()) {
            const theirs = Array.isArray(d.acc) && typeof d.acc[i] === 'string' ? d.acc[i] : ''
            if (theirs !== '' && theirs !== acceptanceSetHash(c.acceptances.ofEpoch(e))) await this.pullAcceptancesFrom(peer, e, signal).catch(() => 0)
          }
          if (d.frozen === true && typeof d.digest === 'string') frozen.set(d.digest, [...(frozen.get(d.digest) ?? []), peer])
        }
        if (d.digest === mine) { this.stats.equal++; return }
        this.stats.different++
        const before = c.pool.size
        await this.pullFrom(peer, epoch, signal)
        if (c.pool.size !== before) changed = true
      })
      if (!changed || frozen.size > 0) break
    }
    const union = c.pool.effectiveAt(epoch)
    if (frozen.size === 0) return union
    const [best, holders] = [...frozen.entries()].sort((a, b) => b[1].length - a[1].length)[0]
    if (offerSetDigest(OfferPool.toInput(union), epoch) === best) return union
    for (const peer of holders.slice(0, 2)) {
      try {
        const ids = await this.pullFrom(peer, epoch, signal)
        const offers = ids.map((id) => c.pool.get(id)).filter((o): o is PoolOffer => o !== undefined)
        offers.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
        if (offers.length === ids.length && offerSetDigest(OfferPool.toInput(offers), epoch) === best) {
          this.stats.frozenInputs++
          return offers
        }
      } catch (e) {
        if (signal.aborted) throw e
      }
    }
    return union
  }

  /** Fetches acceptances of deals matched in `epoch` that a peer has and this node lacks. */
  async pullAcceptancesFrom (peer: PeerId, epoch: bigint, signal: AbortSignal): Promise<number> {
    const c = this.c
    let got = 0
    {
      const r = await this.call<{ keys: string[] }>(peer, 'accIds', { epoch }, signal)
      if (!Array.isArray(r.keys)) return 0
      const known = c.acceptances.ofEpoch(epoch)
      const missing = r.keys.slice(0, MAX_ACC).filter((k) => typeof k === 'string' && !known.has(k))
      for (let i = 0; i < missing.length; i += MAX_OFFERS_PER_CALL) {
        const w = await this.call<{ wires: string[] }>(peer, 'accGet', { epoch, keys: missing.slice(i, i + MAX_OFFERS_PER_CALL) }, signal)
        for (const wire of Array.isArray(w.wires) ? w.wires.slice(0, MAX_OFFERS_PER_CALL) : []) {
          try {
            const bytes = new Uint8Array(Buffer.from(wire, 'base64'))
            const m = decodeMessage(bytes, 'acceptance')
            if (m.kind !== 'acceptance' || m.deal.matchEpoch !== epoch) continue
            const { id } = verifyMessage(c.hasher, m)
            if (await c.acceptances.ingest(id, m, bytes)) got++
          } catch (e) {
            this.stats.errors++
            c.log.debug('sync: refused acceptance', { err: e })
          }
        }
      }
    }
    this.stats.acceptancesFetched += got
    return got
  }

  /**
   * The node's root for `epoch` is in the minority. First recompute the epoch on a majority
   * peer's exact input (fetching the offers it had); if that does not give the majority root
   * (the previous state differs too), adopt a majority peer's snapshot, checked against the root.
   */
  async resync (epoch: bigint, root: Hash, peers: string[], signal: AbortSignal): Promise<void> {
    const c = this.c
    const prev = await c.ledger.stateAt(epoch - 1n)
    for (const p of peers.slice(0, 3)) {
      const peer = peerIdFromString(p)
      try {
        if (prev !== undefined) {
          // the input of a majority (by weight) peer: no closed-epoch rule, quotas still apply
          const ids = await this.pullFrom(peer, epoch, signal, false)
          const offers = ids.map((id) => c.pool.get(id)).filter((o): o is PoolOffer => o !== undefined)
          if (offers.length === ids.length) {
            const facts = await c.chainFactsFor(epoch)
            const got = await c.commitEpoch(epoch, prev, offers, facts, true, root)
            if (got === root) {
              this.stats.resyncRecompute++
              c.events.emit('resync', { epoch, stateRoot: root, how: 'recompute' })
              return
            }
          }
        }
        const snap = await this.call<SnapshotAnswer | null>(peer, 'snapshot', { epoch }, signal, SNAPSHOT_BYTES)
        if (snap !== null && await this.adoptChecked(snap, epoch, root, 'snapshot', peer)) {
          this.stats.resyncSnapshot++
          return
        }
      } catch (e) {
        if (signal.aborted) throw e
        c.log.debug('resync from peer failed', { peer: p, err: e })
      }
    }
    c.log.warn('resync failed; keeping the local state for now', { epoch })
  }

  /** Adopts `snap` if it is the agreed state of `epoch` (snapshots.ts: epoch, root, clock); throws NODE_SNAPSHOT_UNVERIFIED otherwise. */
  private async adoptChecked (snap: SnapshotAnswer, epoch: bigint, root: Hash, how: 'snapshot' | 'join', from: PeerId): Promise<boolean> {
    const state = checkSnapshot(snap, { epoch, root, lastClosed: this.c.lastClosedEpoch() })
    await this.c.adoptSnapshot(snap.epoch, state, root, snap.inputIds.slice(0, this.c.profile.limits.maxSyncOffers), snap.digest, how, [from])
    return true
  }

  /**
   * Fetches offers by id (verified: an id is the offer's EIP-712 digest) from `from`, else from
   * a sample of connected peers, until none is missing; offers of epochs after `maxEpoch` are
   * refused. Returns how many were added.
   */
  async fetchOffers (ids: Hash[], maxEpoch: bigint, from: PeerId[] | undefined, signal: AbortSignal): Promise<number> {
    let added = 0
    const sources = [...(from ?? []), ...this.peers().filter((p) => !(from ?? []).some((f) => f.equals(p)))]
    for (const peer of sources) {
      const missing = ids.filter((id) => !this.c.pool.has(id))
      if (missing.length === 0) break
      try {
        for (let i = 0; i < missing.length; i += MAX_OFFERS_PER_CALL) {
          const chunk = missing.slice(i, i + MAX_OFFERS_PER_CALL)
          const r = await this.call<{ offers: string[] }>(peer, 'offers', { ids: chunk }, signal, 4 * 1024 * 1024)
          if (!Array.isArray(r.offers)) throw new NodeError('NODE_SYNC_FAILED', 'bad offers answer')
          added += await this.ingest(r.offers.slice(0, chunk.length), maxEpoch, false)
        }
      } catch (e) {
        if (signal.aborted) throw e
        this.c.log.debug('fetching offers failed', { peer: peer.toString(), err: e })
      }
    }
    this.stats.fetched += added
    return added
  }

  /**
   * Joining: ask connected peers for their head; take the newest epoch for which at least
   * min(3, peers that answered) peers report the same root; fetch one snapshot and check it
   * hashes to that root. 'fresh' when every peer answered and none has any state yet.
   * With `minEpoch` (a node behind the clock skipping ahead, lag.ts) only epochs ≥ minEpoch are
   * considered (never 'fresh'): a node never adopts a state older than what it would match next.
   */
  async catchUp (signal: AbortSignal, minEpoch?: bigint): Promise<'adopted' | 'fresh' | 'retry'> {
    const peers = this.peers()
    const heads = await mapLimit(peers, CONCURRENCY, async (p) => ({ p, h: await this.call<{ epoch: bigint, root: Hash } | null>(p, 'head', {}, signal) }))
    const answered = heads.filter((x): x is { p: PeerId, h: { epoch: bigint, root: Hash } | null } => x !== undefined)
    // a head beyond the last closed epoch (by this node's clock) is a lie: never jump there
    const closed = this.c.lastClosedEpoch()
    const withState = answered.filter((x): x is { p: PeerId, h: { epoch: bigint, root: Hash } } => x.h !== null && typeof x.h.epoch === 'bigint' && x.h.epoch <= closed && (minEpoch === undefined || x.h.epoch >= minEpoch))
    if (minEpoch === undefined && answered.length === peers.length && peers.length > 0 && answered.every((x) => x.h === null)) return 'fresh'
    if (withState.length === 0) return 'retry'
    const need = Math.min(3, withState.length)
    const maxE = withState.reduce((m, x) => x.h.epoch > m ? x.h.epoch : m, 0n)
    for (let s = maxE; s >= 0n && s >= maxE - 2n && (minEpoch === undefined || s >= minEpoch); s--) {
      const roots = await mapLimit(withState, CONCURRENCY, async (x) => ({ p: x.p, r: await this.call<{ root: Hash } | null>(x.p, 'root', { epoch: s }, signal) }))
      // roots weighed by what their holders have at stake (weights.ts), never by counting keys
      const funds = await this.c.fundsOf(s).catch(() => undefined)
      const votes: Array<{ peer: PeerId, root: Hash, weight: bigint }> = []
      for (const x of roots) {
        if (x?.r == null || typeof x.r.root !== 'string') continue
        votes.push({ peer: x.p, root: x.r.root, weight: await this.c.weightOf(s, peerIdToAddress(x.p), funds).catch(() => 0n) })
      }
      const best = pickJoinRoot(votes, need)
      if (best === undefined) continue
      for (const p of best.holders) {
        try {
          const snap = await this.call<SnapshotAnswer | null>(p, 'snapshot', { epoch: s }, signal, SNAPSHOT_BYTES)
          if (snap !== null && await this.adoptChecked(snap, s, best.root, 'join', p)) {
            this.stats.joins++
            return 'adopted'
          }
        } catch (e) {
          if (signal.aborted) throw e
          this.c.log.debug('join: snapshot refused', { peer: p.toString(), err: e })
        }
      }
    }
    return 'retry'
  }

  /** Asks connected peers for their root of `epoch`; returns [peer id, address, root] for those that have one. */
  async collectRoots (epoch: bigint, signal: AbortSignal): Promise<Array<{ peer: string, address: Address, root: Hash }>> {
    const answers = await mapLimit(this.peers(), CONCURRENCY, async (p) => {
      const r = await this.call<{ root: Hash } | null>(p, 'root', { epoch }, signal)
      return r === null || typeof r.root !== 'string' ? undefined : { peer: p.toString(), address: peerIdToAddress(p), root: r.root }
    })
    return answers.filter((x): x is { peer: string, address: Address, root: Hash } => x !== undefined)
  }

  /** Peer exchange: peers a connected peer knows, as (id, multiaddrs). */
  async askPeers (peer: PeerId, signal: AbortSignal): Promise<Array<{ id: string, addrs: string[] }>> {
    const r = await this.call<{ peers: Array<{ id: string, addrs: string[] }> }>(peer, 'peers', {}, signal)
    return Array.isArray(r.peers) ? r.peers.slice(0, 32).filter((x) => typeof x.id === 'string' && Array.isArray(x.addrs)) : []
  }

  /** Sends a signed acceptance straight to the counterparty (best effort; gossip carries it too). */
  async sendAcceptance (counterparty: Address, wire: Uint8Array): Promise<void> {
    const peer = this.c.parties.peerOf(counterparty)
    if (peer === undefined) return
    try {
      await callRpc(this.c.libp2p, peer, this.protocol, 'accept', { wire: Buffer.from(wire).toString('base64') }, { limits: this.limits })
    } catch (e) {
      this.c.log.debug('direct acceptance failed', { counterparty, err: e })
    }
  }
}

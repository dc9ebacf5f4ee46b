/**
 * The matched epochs: the head (last matched and verified epoch) and its state, the epoch
 * records and this node's matches in the store, and the roots this node computed. `commit`
 * steps the matcher and writes the epoch record, the matches and the head in one batch,
 * before anything is signed or gossiped.
 */
import type { DomainHasher } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import type { Address, Hash, Party } from '../../protocol/index.js'
import { decodeState, encodeState, initialState, offerSetDigest, step } from '../../matching/index.js'
import type { ChainFacts, MatcherConfig, MatcherState } from '../../matching/index.js'
import { OfferPool, type PoolOffer } from '../pool.js'
import { Bucket, epochKey, type NodeStore, type StoreOp } from '../store.js'
import type { EpochRecord, NodeEvents, OwnMatch, StoredMatch } from '../types.js'

export interface LedgerComponents {
  store: NodeStore
  hasher: DomainHasher
  address: Address
  config: MatcherConfig
  events: NodeEvents
  log: Logger
  /** Every deal the matcher derived for an epoch (all parties'), after it is written; `replace`: a resync recomputed the epoch. */
  onDerived?: (epoch: bigint, dealIds: Hash[], replace: boolean) => Promise<void>
}

export interface LedgerInit {
  /** Epoch records kept in the store. */
  keepEpochs: number
}

const HEAD_KEY = 'head'

export class Ledger {
  private _head?: EpochRecord
  private _headState: MatcherState = initialState()
  /** Root per epoch this node computed, for the convergence tests and `query epoch`. */
  readonly roots = new Map<bigint, Hash>()
  /** Counterparties of this node's matches per matched epoch (see Heartbeats.earlyConfirmable). */
  readonly counterparties = new Map<bigint, Set<string>>()

  constructor (private readonly components: LedgerComponents, private readonly init: LedgerInit) {}

  get head (): EpochRecord | undefined { return this._head }
  get headState (): MatcherState { return this._headState }

  /** Reads the stored head (at start). */
  async load (): Promise<void> {
    const { store } = this.components
    const headEpoch = await store.get<bigint>(Bucket.meta, HEAD_KEY)
    if (headEpoch === undefined) return
    const rec = await store.get<EpochRecord>(Bucket.epochs, epochKey(headEpoch))
    if (rec === undefined) return
    this._head = rec
    this._headState = decodeState(new Uint8Array(Buffer.from(rec.state, 'base64')))
    this.roots.set(rec.epoch, rec.root)
  }

  /** Starts from the initial state when nothing was ever matched (a fresh network). */
  resetIfEmpty (): void {
    if (this._head === undefined) this._headState = initialState()
  }

  async epochRecord (epoch: bigint): Promise<EpochRecord | undefined> {
    if (this._head?.epoch === epoch) return this._head
    return await this.components.store.get<EpochRecord>(Bucket.epochs, epochKey(epoch))
  }

  async stateAt (epoch: bigint): Promise<MatcherState | undefined> {
    if (this._head?.epoch === epoch) return this._headState
    const rec = await this.components.store.get<EpochRecord>(Bucket.epochs, epochKey(epoch))
    return rec === undefined ? undefined : decodeState(new Uint8Array(Buffer.from(rec.state, 'base64')))
  }

  async ownMatches (): Promise<StoredMatch[]> {
    const out: StoredMatch[] = []
    for await (const [, m] of this.components.store.entries<StoredMatch>(Bucket.matches)) out.push(m)
    return out
  }

  /**
   * Steps the matcher on `offers` and writes the epoch record, this node's matches and the
   * head in one batch. `replace` rewrites an epoch already recorded (resync); its unsigned
   * matches are dropped. With `expectRoot`, nothing is written unless the result has that root.
   * `counted` (default: all of `offers`) is what the matcher steps on.
   */
  async commit (epoch: bigint, prev: MatcherState, offers: PoolOffer[], facts: ChainFacts, replace: boolean, expectRoot?: Hash, counted: PoolOffer[] = offers): Promise<Hash> {
    const { store, hasher, address, config, events, log } = this.components
    const input = OfferPool.toInput(offers)
    // `counted` (the offers backed on-chain, funding.ts) are matched; the digest covers them all
    const res = step(prev, counted === offers ? input : OfferPool.toInput(counted), facts, epoch, config)
    // a resync only writes when the recomputation gives the agreed root
    if (expectRoot !== undefined && res.stateRoot !== expectRoot) return res.stateRoot
    const digest = offerSetDigest(input, epoch)
    const rec: EpochRecord = { epoch, state: Buffer.from(encodeState(res.state)).toString('base64'), root: res.stateRoot, digest, inputIds: offers.map((o) => o.id) }
    const ops: StoreOp[] = [
      { type: 'put', bucket: Bucket.epochs, key: epochKey(epoch), value: rec },
      { type: 'put', bucket: Bucket.meta, key: HEAD_KEY, value: epoch }
    ]
    const keep = BigInt(this.init.keepEpochs)
    if (epoch >= keep) ops.push({ type: 'del', bucket: Bucket.epochs, key: epochKey(epoch - keep) })
    if (replace) {
      for await (const [k, m] of store.entries<StoredMatch>(Bucket.matches)) {
        if (m.epoch === epoch && !m.signed) ops.push({ type: 'del', bucket: Bucket.matches, key: k })
      }
    }
    const others = new Set<string>()
    const derived: Hash[] = []
    for (const mt of res.matches) {
      const dealId = hasher.digest('Deal', mt.deal)
      derived.push(dealId)
      const role: Party | undefined = mt.deal.creator === address ? 'creator' : mt.deal.provider === address ? 'provider' : undefined
      if (role === undefined) continue
      others.add((role === 'creator' ? mt.deal.provider : mt.deal.creator).toLowerCase())
      const existing = await store.get<StoredMatch>(Bucket.matches, dealId)
      const sm: StoredMatch = { dealId, deal: mt.deal, jobId: mt.jobId, resourceId: mt.resourceId, role, epoch, signed: existing?.signed ?? false }
      ops.push({ type: 'put', bucket: Bucket.matches, key: dealId, value: sm })
    }
    await store.batch(ops)
    this._head = rec
    this._headState = res.state
    this.roots.set(epoch, res.stateRoot)
    this.counterparties.set(epoch, others)
    for (const e of this.counterparties.keys()) if (e + 8n < epoch) this.counterparties.delete(e)
    for (const e of this.roots.keys()) if (e + 256n < epoch) this.roots.delete(e)
    await this.components.onDerived?.(epoch, derived, replace)
    events.emit('epoch', { epoch, stateRoot: res.stateRoot, offerDigest: digest, matches: res.matches.length, offers: offers.length })
    log.debug('epoch matched', { epoch, root: res.stateRoot, offers: offers.length, matches: res.matches.length })
    return res.stateRoot
  }

  /**
   * Writes an adopted, verified state of `epoch` as the head, with `own` (this node's matches it
   * holds, unsigned unless signed before); drops unsigned matches up to `epoch` that it does not hold.
   */
  async adopt (epoch: bigint, state: MatcherState, root: Hash, inputIds: Hash[], digest: Hash, own: OwnMatch[]): Promise<void> {
    const { store } = this.components
    const rec: EpochRecord = { epoch, state: Buffer.from(encodeState(state)).toString('base64'), root, digest, inputIds }
    const ownIds = new Set(own.map((m) => m.dealId))
    const ops: StoreOp[] = [
      { type: 'put', bucket: Bucket.epochs, key: epochKey(epoch), value: rec },
      { type: 'put', bucket: Bucket.meta, key: HEAD_KEY, value: epoch }
    ]
    const stored = new Map<Hash, StoredMatch>()
    for await (const [k, m] of store.entries<StoredMatch>(Bucket.matches)) {
      stored.set(m.dealId, m)
      if (!m.signed && m.epoch <= epoch && !ownIds.has(m.dealId)) ops.push({ type: 'del', bucket: Bucket.matches, key: k })
    }
    for (const m of own) {
      if (stored.get(m.dealId)?.signed === true) continue
      ops.push({ type: 'put', bucket: Bucket.matches, key: m.dealId, value: { ...m, signed: false } satisfies StoredMatch })
    }
    await store.batch(ops)
    this._head = rec
    this._headState = state
    this.roots.set(epoch, root)
  }
}

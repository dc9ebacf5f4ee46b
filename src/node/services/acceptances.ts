/**
 * Deal acceptances this node has seen (its own and its peers', by gossip, direct delivery or
 * anti-entropy): stored before they count, indexed by match epoch for `sync`'s `accIds` /
 * `accGet`, and 'deal:agreed' once both parties' are in. Only acceptances of deals this node's
 * matcher derived are kept (dealBook.ts); those of an epoch not matched here yet wait, bounded,
 * until it is; the rest are dropped, whatever path they came by (gossip, `accept`, anti-entropy).
 */
import type { DomainHasher } from '../../protocol/index.js'
import type { Deal, Hash, JobOffer, Party, ResourceOffer, Signature } from '../../protocol/index.js'
import type { WireMessage } from '../../p2p/index.js'
import type { MatcherConfig, MatcherState } from '../../matching/index.js'
import type { OfferPool } from '../pool.js'
import { Bucket, type NodeStore, type StoreOp } from '../store.js'
import type { NodeEvents } from '../types.js'
import { DealBook, dealOfReservation, type AcceptanceVerdict } from './dealBook.js'

export interface AcceptancesComponents {
  store: NodeStore
  events: NodeEvents
  hasher: DomainHasher
  config: MatcherConfig
  /** Offers held (to rebuild the deals of an adopted state). */
  pool: Pick<OfferPool, 'get'>
  /** The last epoch this node matched (undefined before the first). */
  headEpoch: () => bigint | undefined
  /** The latest match epoch an acceptance may name now (current epoch + allowed skew). */
  maxEpoch: () => bigint
}

export interface AcceptancesInit {
  /** Epochs of acceptance wires kept for anti-entropy. */
  keepEpochs: number
}

interface StoredAcceptance { dealId: Hash, party: Party, signature: Signature, wire: string }
type Acceptance = Extract<WireMessage, { kind: 'acceptance' }>

export class Acceptances {
  private readonly byDeal = new Map<Hash, { deal: Deal, creator?: Signature, provider?: Signature }>()
  private readonly pending = new Set<string>()
  /** matchEpoch → `${dealId}:${party}` → wire (base64): what acceptance anti-entropy serves. */
  private readonly wires = new Map<bigint, Map<string, string>>()
  private readonly book: DealBook<Acceptance>

  constructor (private readonly components: AcceptancesComponents, private readonly init: AcceptancesInit) {
    this.book = new DealBook(BigInt(init.keepEpochs))
  }

  /** Whether an acceptance of `dealId` (matched in `matchEpoch`) would be kept, held or dropped here. */
  verdict (dealId: Hash, matchEpoch: bigint): AcceptanceVerdict {
    return this.book.verdict(dealId, matchEpoch, this.components.headEpoch(), this.components.maxEpoch())
  }

  /** Acceptances waiting for their epoch to be matched here. */
  get pendingSize (): number { return this.book.pendingSize }

  /**
   * The deals the matcher derived for `epoch` (all parties'), then the acceptances held for it
   * are decided and those older than keepEpochs forgotten. `replace`: a resync recomputed it.
   */
  async noteDerived (epoch: bigint, dealIds: Hash[], replace: boolean): Promise<void> {
    if (replace) this.book.resetDerived(epoch, dealIds)
    else this.book.noteDerived(epoch, dealIds)
    await this.settle(epoch)
  }

  /** Records every deal `state` reserves whose offers this node holds as derived (adopted or loaded states). */
  async deriveFromState (state: MatcherState, epoch: bigint): Promise<void> {
    const { pool, hasher, config } = this.components
    for (const r of state.reserved) {
      const job = pool.get(r.jobId)
      const res = pool.get(r.resourceId)
      if (job?.kind !== 'job' || res?.kind !== 'resource') continue
      this.book.noteDerived(r.matchEpoch, [hasher.digest('Deal', dealOfReservation(r, job.offer as JobOffer, res.offer as ResourceOffer, config))])
    }
    await this.settle(epoch)
  }

  private async settle (epoch: bigint): Promise<void> {
    for (const p of this.book.settle(epoch)) await this.ingest(p.dealId, p.message, p.wire)
    const keep = BigInt(this.init.keepEpochs)
    this.book.prune(epoch)
    for (const e of [...this.wires.keys()]) if (e + keep < epoch) this.wires.delete(e)
    const ops: StoreOp[] = []
    for (const [dealId, a] of this.byDeal) {
      if (a.deal.matchEpoch + keep >= epoch) continue
      this.byDeal.delete(dealId)
      ops.push({ type: 'del', bucket: Bucket.deals, key: dealId })
      for (const party of ['creator', 'provider'] as const) ops.push({ type: 'del', bucket: Bucket.acceptances, key: `${dealId}:${party}` })
    }
    if (ops.length > 0) await this.components.store.batch(ops)
  }

  /** Reads the stored acceptances (at start). */
  async load (): Promise<void> {
    const { store } = this.components
    for await (const [, a] of store.entries<StoredAcceptance>(Bucket.acceptances)) {
      const deal = await store.get<Deal>(Bucket.deals, a.dealId)
      if (deal === undefined) continue
      const e = this.byDeal.get(a.dealId) ?? { deal }
      e[a.party] = a.signature
      this.byDeal.set(a.dealId, e)
      // a stored acceptance was of a derived deal: the other party's may still come
      this.book.noteDerived(deal.matchEpoch, [a.dealId])
      this.index(deal.matchEpoch, `${a.dealId}:${a.party}`, a.wire)
    }
  }

  get (dealId: Hash): { creator?: Signature, provider?: Signature } {
    const a = this.byDeal.get(dealId)
    return { creator: a?.creator, provider: a?.provider }
  }

  /** Whether `party`'s acceptance of `dealId` is known. */
  has (dealId: Hash, party: Party): boolean {
    return this.byDeal.get(dealId)?.[party] !== undefined
  }

  /** The wire (base64) of a known acceptance of a deal matched in `epoch`. */
  wireOf (epoch: bigint, dealId: Hash, party: Party): string | undefined {
    return this.wires.get(epoch)?.get(`${dealId}:${party}`)
  }

  /** Deals known with both signatures. */
  agreed (): Array<{ dealId: Hash, deal: Deal, creatorSignature: Signature, providerSignature: Signature }> {
    const out: Array<{ dealId: Hash, deal: Deal, creatorSignature: Signature, providerSignature: Signature }> = []
    for (const [dealId, a] of this.byDeal) {
      if (a.creator !== undefined && a.provider !== undefined) out.push({ dealId, deal: a.deal, creatorSignature: a.creator, providerSignature: a.provider })
    }
    return out
  }

  /** Every deal with at least one acceptance seen, and which parties signed. */
  agreedAndPending (): Array<{ dealId: Hash, deal: Deal, creatorSigned: boolean, providerSigned: boolean }> {
    return [...this.byDeal.entries()].map(([dealId, a]) => ({ dealId, deal: a.deal, creatorSigned: a.creator !== undefined, providerSigned: a.provider !== undefined }))
  }

  /** Acceptances known for deals of `matchEpoch`: key `${dealId}:${party}` → wire (base64). */
  ofEpoch (epoch: bigint): ReadonlyMap<string, string> {
    return this.wires.get(epoch) ?? new Map()
  }

  /**
   * Stores a verified acceptance (gossip or direct) of a deal this node's matcher derived; emits
   * 'deal:agreed' when both are in. One of an epoch not matched here yet is held until it is.
   * Whether it was stored now.
   */
  async ingest (dealId: Hash, m: Acceptance, wire: Uint8Array): Promise<boolean> {
    const key = `${dealId}:${m.party}`
    if (this.byDeal.get(dealId)?.[m.party] !== undefined || this.pending.has(key)) return false
    const verdict = this.verdict(dealId, m.deal.matchEpoch)
    if (verdict !== 'known') {
      if (verdict === 'pending') this.book.hold({ dealId, party: m.party, signer: m.party === 'creator' ? m.deal.creator : m.deal.provider, matchEpoch: m.deal.matchEpoch, message: m, wire })
      return false
    }
    // both parties' acceptances may arrive at once: claim the key, write, then merge into the entry
    this.pending.add(key)
    try {
      await this.components.store.batch([
        { type: 'put', bucket: Bucket.deals, key: dealId, value: m.deal },
        { type: 'put', bucket: Bucket.acceptances, key, value: { dealId, party: m.party, signature: m.signature, wire: Buffer.from(wire).toString('base64') } satisfies StoredAcceptance }
      ])
    } finally {
      this.pending.delete(key)
    }
    const entry = this.byDeal.get(dealId) ?? { deal: m.deal }
    entry[m.party] = m.signature
    this.byDeal.set(dealId, entry)
    this.index(m.deal.matchEpoch, key, Buffer.from(wire).toString('base64'))
    if (entry.creator !== undefined && entry.provider !== undefined) {
      this.components.events.emit('deal:agreed', { dealId, deal: entry.deal, creatorSignature: entry.creator, providerSignature: entry.provider })
    }
    return true
  }

  private index (epoch: bigint, key: string, wire: string): void {
    let m = this.wires.get(epoch)
    if (m === undefined) {
      m = new Map()
      this.wires.set(epoch, m)
      const keep = BigInt(this.init.keepEpochs)
      for (const e of this.wires.keys()) if (e + keep < epoch) this.wires.delete(e)
    }
    m.set(key, wire)
  }
}

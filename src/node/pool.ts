/**
 * The offers a node holds: in memory for matching, in the store (written first) for
 * restarts. Offers are kept until `expiryEpoch` is `retainEpochs` behind, then pruned.
 */
import type { Address, Hash, JobOffer, ResourceOffer } from '../protocol/index.js'
import type { EpochInput, OfferRecord } from '../matching/index.js'
import { Bucket, epochKey, type NodeStore, type StoreOp } from './store.js'
import { decodeMessage } from '../p2p/index.js'

export interface PoolOffer {
  id: Hash
  kind: 'job' | 'resource'
  signer: Address
  epoch: bigint
  expiry: bigint
  /** The exact bytes as gossiped (re-served by `sync`). */
  wire: Uint8Array
  offer: JobOffer | ResourceOffer
}

interface StoredOffer { kind: 'job' | 'resource', wire: string }

export class OfferPool {
  private readonly offers = new Map<Hash, PoolOffer>()
  /** signer → epoch → count (per-signer quota). */
  private readonly perSigner = new Map<string, number>()
  /** signer (lower case) → expiryEpoch → count: the offers a party holds that are still live (quota.ts). */
  private readonly live = new Map<string, Map<bigint, number>>()
  /** Offers added while their signer had nothing in escrow (they share a bounded part of the pool, quota.ts). */
  private readonly unfunded = new Set<Hash>()

  constructor (private readonly store: NodeStore) {}

  get size (): number { return this.offers.size }
  has (id: Hash): boolean { return this.offers.has(id) }
  get (id: Hash): PoolOffer | undefined { return this.offers.get(id) }
  all (): IterableIterator<PoolOffer> { return this.offers.values() }

  quotaUsed (signer: Address, epoch: bigint): number {
    return this.perSigner.get(`${signer}:${epoch}`) ?? 0
  }

  /** How many offers of `signer` the pool holds with expiryEpoch ≥ `epoch`. */
  liveOf (signer: Address, epoch: bigint): number {
    let n = 0
    for (const [expiry, c] of this.live.get(signer.toLowerCase()) ?? []) if (expiry >= epoch) n += c
    return n
  }

  /** Offers held from parties that had nothing in escrow when they arrived. */
  get unfundedSize (): number { return this.unfunded.size }

  private readonly pending = new Set<Hash>()

  private bump (o: PoolOffer, by: number): void {
    const k = `${o.signer}:${o.epoch}`
    const n = (this.perSigner.get(k) ?? 0) + by
    if (n <= 0) this.perSigner.delete(k)
    else this.perSigner.set(k, n)
    const s = o.signer.toLowerCase()
    let byExpiry = this.live.get(s)
    if (byExpiry === undefined) { byExpiry = new Map(); this.live.set(s, byExpiry) }
    const l = (byExpiry.get(o.expiry) ?? 0) + by
    if (l <= 0) byExpiry.delete(o.expiry)
    else byExpiry.set(o.expiry, l)
    if (byExpiry.size === 0) this.live.delete(s)
  }

  private index (o: PoolOffer): void {
    this.offers.set(o.id, o)
    this.bump(o, 1)
  }

  /** Loads every stored offer (at start). */
  async load (): Promise<void> {
    for await (const [id, v] of this.store.entries<StoredOffer>(Bucket.offers)) {
      const wire = Buffer.from(v.wire, 'base64')
      const m = decodeMessage(new Uint8Array(wire), v.kind)
      if (m.kind !== 'job' && m.kind !== 'resource') continue
      const signer = m.kind === 'job' ? m.offer.creator : m.offer.provider
      this.index({ id: id as Hash, kind: m.kind, signer, epoch: m.offer.epoch, expiry: m.offer.expiryEpoch, wire: new Uint8Array(wire), offer: m.offer })
    }
  }

  /**
   * Stores then indexes an offer already verified (and admitted, quota.ts) by the caller. False
   * if it was known. `unfunded`: its signer had nothing in escrow (counted in unfundedSize).
   */
  async add (o: PoolOffer, unfunded = false): Promise<boolean> {
    if (this.offers.has(o.id) || this.pending.has(o.id)) return false
    // the quota is taken before the write, so concurrent validations cannot all pass the check
    this.pending.add(o.id)
    this.bump(o, 1)
    if (unfunded) this.unfunded.add(o.id)
    try {
      await this.store.batch([
        { type: 'put', bucket: Bucket.offers, key: o.id, value: { kind: o.kind, wire: Buffer.from(o.wire).toString('base64') } },
        { type: 'put', bucket: Bucket.offersByEpoch, key: `${epochKey(o.expiry)}:${o.id}`, value: '' }
      ])
    } catch (e) {
      this.bump(o, -1)
      this.unfunded.delete(o.id)
      throw e
    } finally {
      this.pending.delete(o.id)
    }
    this.offers.set(o.id, o)
    return true
  }

  /** Offers with epoch ≤ E ≤ expiry, in id order. */
  effectiveAt (epoch: bigint): PoolOffer[] {
    const out: PoolOffer[] = []
    for (const o of this.offers.values()) if (o.epoch <= epoch && epoch <= o.expiry) out.push(o)
    return out.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  }

  static toInput (offers: PoolOffer[]): EpochInput {
    const jobs: Array<OfferRecord<JobOffer>> = []
    const resources: Array<OfferRecord<ResourceOffer>> = []
    for (const o of offers) {
      if (o.kind === 'job') jobs.push({ id: o.id, offer: o.offer as JobOffer })
      else resources.push({ id: o.id, offer: o.offer as ResourceOffer })
    }
    return { jobs, resources }
  }

  /** Drops offers whose expiry is before `epoch` (memory and store). */
  async prune (epoch: bigint): Promise<number> {
    const ops: StoreOp[] = []
    for (const k of await this.store.keys(Bucket.offersByEpoch, { lt: epochKey(epoch) })) {
      const id = k.slice(17) as Hash
      ops.push({ type: 'del', bucket: Bucket.offersByEpoch, key: k }, { type: 'del', bucket: Bucket.offers, key: id })
      const o = this.offers.get(id)
      if (o !== undefined) {
        this.offers.delete(id)
        this.unfunded.delete(id)
        this.bump(o, -1)
      }
    }
    await this.store.batch(ops)
    return ops.length / 2
  }
}

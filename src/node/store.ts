/**
 * The node's LevelDB (DESIGN §8), in layers: one `Level` database, a sublevel per bucket kind
 * (numbers in `Bucket` are never reused), JSON values with tagged bigints, and atomic batches
 * across buckets so that a step and everything it implies land together or not at all.
 */
import { mkdir } from 'node:fs/promises'
import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import { NodeError } from './errors.js'
import { fromJson, toJson } from '../protocol/index.js'

/** Bucket ids. Never renumber or reuse a retired number: data on disk depends on them. */
export enum Bucket {
  /** offer id → StoredOffer */
  offers = 1,
  /** epochKey(epoch) + offer id → '' (offers by first epoch) */
  offersByEpoch = 2,
  /** epochKey(epoch) → EpochRecord (matcher state after the epoch) */
  epochs = 3,
  /** dealId → StoredMatch (this node's own matches) */
  matches = 4,
  /** dealId + ':' + party → StoredAcceptance */
  acceptances = 5,
  /** dealId → Deal (every deal the node has seen acceptances for) */
  deals = 6,
  /** jobOfferHash → dealId: the one deal this node ever signed for a job offer */
  signedJobs = 7,
  /** 'cursor' → chain cursor */
  chainCursor = 8,
  /** misc keys (schema version, last epoch) */
  meta = 9
}

export type Sub = AbstractSublevel<Level<string, string>, string | Buffer | Uint8Array, string, string>

export function epochKey (epoch: bigint): string {
  return epoch.toString(16).padStart(16, '0')
}

/** Values are stored with the one bounded bigint-JSON codec of src/protocol. */
export { toJson, fromJson }

export interface PutOp { type: 'put', bucket: Bucket, key: string, value: unknown }
export interface DelOp { type: 'del', bucket: Bucket, key: string }
export type StoreOp = PutOp | DelOp

/**
 * LevelDB's memory, held for the life of a node: its block cache (LevelDB's default 8 MB) and
 * up to two write buffers (memtables, default 4 MB each) fill as the database grows over the
 * first hour of traffic, up to 16 MB resident for a node whose hot data is a few hundred kB
 * (the latest epochs, the open deals). 2 MB + 2 × 1 MB keeps it at 4 MB at most; a 1 MB
 * memtable turns into a level-0 table more often, which at a node's write rate (a record an
 * epoch and the deals' steps, kilobytes a second) is a flush every few minutes.
 */
export const STORE_CACHE_BYTES = 2 * 1024 * 1024
export const STORE_WRITE_BUFFER_BYTES = 1024 * 1024

export class NodeStore {
  private readonly buckets = new Map<Bucket, Sub>()
  private closed = false

  private constructor (readonly location: string, private readonly db: Level<string, string>, private readonly sync: boolean) {}

  /**
   * Opens (creating) the database; NODE_DB_LOCKED when another process holds it.
   *
   * Every write reaches LevelDB's log with write(2) before the call resolves, so it survives
   * the process being killed (SIGKILL) at any point. `sync: true` also fsyncs each batch,
   * which survives power loss too but costs milliseconds to seconds per write on a busy disk.
   */
  static async open (location: string, opts: { sync?: boolean } = {}): Promise<NodeStore> {
    await mkdir(location, { recursive: true })
    const db = new Level<string, string>(location, { valueEncoding: 'utf8', cacheSize: STORE_CACHE_BYTES, writeBufferSize: STORE_WRITE_BUFFER_BYTES })
    try {
      await db.open()
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String((cause as Error | undefined)?.message ?? ''))) {
        throw new NodeError('NODE_DB_LOCKED', `the database ${location} is in use by another process; stop that node or use another --data-dir`, { cause: e })
      }
      throw new NodeError('NODE_DB_CORRUPT', `cannot open the database ${location}: ${(e as Error).message}`, { cause: e })
    }
    return new NodeStore(location, db, opts.sync ?? process.env.LILYNODE_DB_SYNC === '1')
  }

  get isOpen (): boolean { return !this.closed && this.db.status === 'open' }

  bucket (b: Bucket): Sub {
    let s = this.buckets.get(b)
    if (s === undefined) {
      s = this.db.sublevel<string, string>(`b${b}`, { valueEncoding: 'utf8' })
      this.buckets.set(b, s)
    }
    return s
  }

  /** A sublevel for another component's own data (kept apart from the numbered buckets). */
  sublevel (name: string): Sub {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new RangeError(`sublevel name must be 1..32 of a-z, 0-9, "-", got ${JSON.stringify(name)}`)
    return this.db.sublevel<string, string>(`x-${name}`, { valueEncoding: 'utf8' })
  }

  private check (): void {
    if (!this.isOpen) throw new NodeError('NODE_DB_CLOSED', `the database ${this.location} is closed`)
  }

  async get<T> (b: Bucket, key: string): Promise<T | undefined> {
    this.check()
    const v = await this.bucket(b).get(key)
    return v === undefined ? undefined : fromJson<T>(v)
  }

  async has (b: Bucket, key: string): Promise<boolean> {
    this.check()
    return (await this.bucket(b).get(key)) !== undefined
  }

  async put (b: Bucket, key: string, value: unknown): Promise<void> {
    this.check()
    await this.bucket(b).put(key, toJson(value))
  }

  /** All operations land together (one LevelDB write batch). */
  async batch (ops: StoreOp[]): Promise<void> {
    this.check()
    if (ops.length === 0) return
    await this.db.batch(ops.map((op) => op.type === 'put'
      ? { type: 'put' as const, sublevel: this.bucket(op.bucket), key: op.key, value: toJson(op.value) }
      : { type: 'del' as const, sublevel: this.bucket(op.bucket), key: op.key }), { sync: this.sync } as Record<string, unknown>)
  }

  async * entries<T> (b: Bucket, opts: { gte?: string, lt?: string, limit?: number, reverse?: boolean } = {}): AsyncGenerator<[string, T]> {
    this.check()
    for await (const [k, v] of this.bucket(b).iterator({ ...opts, limit: opts.limit ?? -1 })) {
      yield [k, fromJson<T>(v)]
    }
  }

  async keys (b: Bucket, opts: { gte?: string, lt?: string, limit?: number, reverse?: boolean } = {}): Promise<string[]> {
    this.check()
    const out: string[] = []
    for await (const k of this.bucket(b).keys({ ...opts, limit: opts.limit ?? -1 })) out.push(k)
    return out
  }

  /** Safe to call twice, and while nothing was ever written. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.db.close()
  }
}

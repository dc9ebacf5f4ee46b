/**
 * The durable deal store (DESIGN §5, §8): one record per deal this node is a party to (or
 * mediates), its lifecycle state and everything needed to carry on after a crash. Every
 * step is written here BEFORE it is acted on; the roles read the store on start and resume
 * each deal from its recorded state (re-attach to the container, re-send the result,
 * re-submit a transaction after checking the chain).
 *
 * Blobs (module spec, inputs, result bundle) live as files beside the database, written
 * atomically (temp file + fsync + rename) so a half-written blob never looks complete.
 */
import type { BlobKind } from '../../p2p/index.js'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Deal, Hash, JobOffer, Signature } from '../../protocol/index.js'
import { fromJson, toJson } from '../../protocol/index.js'
import { LilyError } from '../../protocol/errors.js'

export type DealRole = 'creator' | 'provider' | 'mediator'

export type DealState =
  /** The matcher paired this node; acceptances are being exchanged. */
  | 'matched'
  /** Both parties' signatures over the Deal are known. */
  | 'agreed'
  /** `openDeal` is being sent (tx hash recorded once known). */
  | 'opening'
  /** The deal is open on-chain: price and collateral in escrow. */
  | 'opened'
  /** Provider or mediator: fetching module spec and inputs. */
  | 'fetching'
  /** The job's container runs. */
  | 'running'
  /** A result bundle exists (provider/mediator: computed; creator: received and checked). */
  | 'result'
  /** Provider: the bundle reached the creator. */
  | 'delivered'
  /** The creator signed its ResultAcceptance. */
  | 'accepted'
  /** `complete` mined: the provider is paid in one transaction. */
  | 'completed'
  /** `submitResult` mined: the challenge window runs. */
  | 'submitted'
  /** `claim` mined after the challenge window. */
  | 'claimed'
  /** The creator challenged the result. */
  | 'challenged'
  /** A mediator has been drawn. */
  | 'drawn'
  /** The mediator ruled. */
  | 'resolved'
  /** `timeout` mined: the creator was refunded, the provider slashed. */
  | 'timed-out'
  /** Never opened on-chain before `openBy`. */
  | 'expired'
  /** Given up locally (the reason is in `error`); the chain may still settle it. */
  | 'failed'

/** States after which nothing more happens to a deal. */
export const TERMINAL_STATES: ReadonlySet<DealState> = new Set<DealState>(['completed', 'claimed', 'resolved', 'timed-out', 'expired'])

/** Outcomes the chain decides; any non-terminal state may jump to one when the chain says so. */
const CHAIN_OUTCOMES: ReadonlySet<DealState> = new Set<DealState>(['completed', 'claimed', 'resolved', 'timed-out'])

const NEXT: Readonly<Record<DealState, readonly DealState[]>> = {
  matched: ['agreed', 'opening', 'opened', 'expired', 'failed'],
  agreed: ['opening', 'opened', 'expired', 'failed'],
  opening: ['opened', 'expired', 'failed'],
  opened: ['fetching', 'running', 'result', 'challenged', 'submitted', 'failed'],
  fetching: ['running', 'result', 'fetching', 'failed'],
  running: ['result', 'running', 'failed'],
  result: ['delivered', 'accepted', 'challenged', 'submitted', 'failed'],
  delivered: ['accepted', 'submitted', 'challenged', 'failed'],
  accepted: ['submitted', 'challenged', 'failed'],
  submitted: ['challenged', 'drawn', 'failed'],
  challenged: ['drawn', 'fetching', 'failed'],
  drawn: ['fetching', 'running', 'result', 'drawn', 'challenged', 'failed'],
  failed: ['challenged', 'submitted', 'drawn'],
  completed: [],
  claimed: [],
  resolved: [],
  'timed-out': [],
  expired: []
}

export function canMove (from: DealState, to: DealState): boolean {
  if (TERMINAL_STATES.has(from)) return false
  return CHAIN_OUTCOMES.has(to) || NEXT[from].includes(to)
}

export interface DealEvent {
  state: DealState
  /** Unix ms. */
  at: number
  note?: string
}

export interface DealRecord {
  dealId: Hash
  role: DealRole
  state: DealState
  deal: Deal
  jobOffer?: JobOffer
  sigCreator?: Signature
  sigProvider?: Signature
  openTx?: Hash
  /** Hash of the result bundle (the provider's claim, or what the creator received). */
  resultHash?: Hash
  /** The creator's signature over ResultAcceptance(dealId, resultHash). */
  acceptance?: Signature
  /** Transaction that settled the deal (complete, claim, resolve, timeout). */
  settleTx?: Hash
  /** Last error, for humans. */
  error?: string
  /** Provider: the executor backend's handle of the deal's job (e.g. `slurm:<job id>`), kept to re-attach after a restart. */
  jobHandle?: string
  /** Creator: the folder the job's outputs go to, so a deal resumed after a restart writes them there too. */
  outDir?: string
  /** Creator: challenge a result whose job exited non-zero (default: accept it as the answer). */
  challengeOnFailure?: boolean
  /**
   * The job's typed outcome (src/p2p/reqresp/outcome.ts): provider — what it reported (and
   * whether the creator took it; a job that could not start is not retried); creator — what the
   * provider's signed report said.
   */
  outcome?: { kind: string, code: string, message: string, exitCode: number | null, stderrTail: string, at: number, signature?: Signature, sent?: boolean }
  /** How many times the current step was tried (reset on each move). */
  attempts: number
  createdAt: number
  updatedAt: number
  history: DealEvent[]
}

export class DealStoreError extends LilyError<'LIFECYCLE_BAD_TRANSITION' | 'LIFECYCLE_UNKNOWN_DEAL' | 'LIFECYCLE_DUPLICATE_DEAL'> {
  override readonly name = 'DealStoreError'
}

/** The slice of a level (sub)level the store uses, with string keys and values. */
export interface KvStore {
  get: (key: string) => Promise<string | undefined>
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  values: (options?: { gte?: string, lt?: string }) => AsyncIterable<string>
}

/**
 * offer: the job offer (JSON); acceptance: the creator's ResultAcceptance (JSON); signature:
 * a party's own DealAcceptance signature, fetched by the counterparty when gossip lost it.
 */
export type { BlobKind }

const MAX_HISTORY = 64

/** Serialises async work per key, so two events about one deal never interleave. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>()

  async run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    const tail = next.catch(() => undefined)
    this.tails.set(key, tail)
    try {
      return await next
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}

export class DealStore {
  private readonly lock = new KeyedMutex()

  /** `db`: a sublevel with utf8 keys and values; `blobDir`: a folder for blobs. */
  constructor (private readonly db: KvStore, private readonly blobDir: string) {}

  async get (dealId: Hash): Promise<DealRecord | undefined> {
    const v = await this.db.get(dealId)
    return v === undefined ? undefined : fromJson<DealRecord>(v)
  }

  async require (dealId: Hash): Promise<DealRecord> {
    const r = await this.get(dealId)
    if (r === undefined) throw new DealStoreError('LIFECYCLE_UNKNOWN_DEAL', `no deal ${dealId} in this node's store`)
    return r
  }

  /** Adds a deal in `state` unless it is already there; returns the stored record either way. */
  async create (init: Omit<DealRecord, 'attempts' | 'createdAt' | 'updatedAt' | 'history'>, note?: string): Promise<{ record: DealRecord, created: boolean }> {
    return await this.lock.run(init.dealId, async () => {
      const old = await this.get(init.dealId)
      if (old !== undefined) return { record: old, created: false }
      const now = Date.now()
      const record: DealRecord = { ...init, attempts: 0, createdAt: now, updatedAt: now, history: [{ state: init.state, at: now, ...(note !== undefined ? { note } : {}) }] }
      await this.db.put(init.dealId, toJson(record))
      return { record, created: true }
    })
  }

  /**
   * Moves a deal to `to` and merges `patch`, atomically per deal. Moving to the state it is
   * already in just merges the patch. Refuses a move the lifecycle does not allow.
   */
  async move (dealId: Hash, to: DealState, patch: Partial<DealRecord> = {}, note?: string): Promise<DealRecord> {
    return await this.lock.run(dealId, async () => {
      const r = await this.require(dealId)
      if (r.state !== to && !canMove(r.state, to)) {
        throw new DealStoreError('LIFECYCLE_BAD_TRANSITION', `deal ${dealId} cannot move from ${r.state} to ${to}`)
      }
      const now = Date.now()
      const next: DealRecord = { ...r, ...patch, dealId, role: r.role, state: to, updatedAt: now, attempts: r.state === to ? (patch.attempts ?? r.attempts) : 0 }
      if (r.state !== to || note !== undefined) {
        next.history = [...r.history, { state: to, at: now, ...(note !== undefined ? { note } : {}) }].slice(-MAX_HISTORY)
      }
      await this.db.put(dealId, toJson(next))
      return next
    })
  }

  /** Merges `patch` without a state change (e.g. a tx hash, an attempt counter). */
  async update (dealId: Hash, patch: Partial<DealRecord>): Promise<DealRecord> {
    return await this.lock.run(dealId, async () => {
      const r = await this.require(dealId)
      const next: DealRecord = { ...r, ...patch, dealId, role: r.role, state: r.state, updatedAt: Date.now() }
      await this.db.put(dealId, toJson(next))
      return next
    })
  }

  async list (filter?: (r: DealRecord) => boolean): Promise<DealRecord[]> {
    const out: DealRecord[] = []
    for await (const v of this.db.values({ gte: '0x', lt: '0y' })) {
      const r = fromJson<DealRecord>(v)
      if (filter === undefined || filter(r)) out.push(r)
    }
    return out
  }

  /** Deals still in progress. */
  async active (role?: DealRole): Promise<DealRecord[]> {
    return await this.list((r) => !TERMINAL_STATES.has(r.state) && (role === undefined || r.role === role))
  }

  blobPath (dealId: Hash, kind: BlobKind): string {
    return join(this.blobDir, dealId, kind)
  }

  /** Writes a blob durably: temp file, fsync, rename. */
  async putBlob (dealId: Hash, kind: BlobKind, data: Uint8Array): Promise<void> {
    const dir = join(this.blobDir, dealId)
    await mkdir(dir, { recursive: true })
    const tmp = join(dir, `.${kind}.${process.pid}.tmp`)
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(dir, kind))
  }

  async getBlob (dealId: Hash, kind: BlobKind): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(join(this.blobDir, dealId, kind)))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
  }

  async deleteBlobs (dealId: Hash): Promise<void> {
    await rm(join(this.blobDir, dealId), { recursive: true, force: true })
  }
}

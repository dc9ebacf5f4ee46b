/**
 * Job records: one per job a creator of this data dir ran — from `lilynode run`, the SDK or the
 * HTTP API alike — kept in the node's database (sublevel `jobs`) beside its deal records. A
 * record names the job (module, inputs, price bounds), every stage it went through with its time
 * (offered, matched with provider and price, opened with its transaction and gas, running,
 * result, accepted, paid / refunded / resolved), the deal ids it had (a re-offer brings a new
 * one), its outcome and, when it failed, the typed failure reason the provider sent.
 *
 * `lilynode jobs`, `describe`, `get`, the SDK's `jobs()`/`describe()` and the API's GET /jobs
 * read these records. The result bundles stay in the deal store's blob folder
 * (`<data dir>/blobs/<deal id>/bundle`); records and bundles are kept until pruned (the newest
 * `keep` records, default 1000; see `prune`).
 */
import { randomBytes } from 'node:crypto'
import type { Address, Hash } from '../../protocol/index.js'
import { fromJson, LilyError, toJson } from '../../protocol/index.js'
import { KeyedMutex, type KvStore } from '../roles/deals.js'

export type JobSource = 'cli' | 'sdk' | 'api'

export const JOB_RECORD_STATES = ['running', 'paid', 'refunded', 'resolved', 'failed', 'cancelled'] as const
export type JobRecordState = typeof JOB_RECORD_STATES[number]

/** One stage of the job, as the creator saw it. */
export interface JobStageRecord {
  stage: string
  /** Unix ms. */
  at: number
  /** Since the job was submitted. */
  elapsedMs: number
  dealId?: Hash
  jobOfferHash?: Hash
  provider?: Address
  price?: bigint
  tx?: Hash
  /** Gas the stage's transaction used, when it was this node's. */
  gasUsed?: bigint
  resultHash?: Hash
  exitCode?: number | null
  message?: string
}

/** Why a job failed, as typed as the provider (or the creator) could say it. */
export interface JobFailure {
  /** EXECUTOR_IMAGE_MISSING, EXECUTOR_IMAGE_REFUSED, EXECUTOR_GPU_UNAVAILABLE, EXECUTOR_OOM, EXECUTOR_TIMED_OUT, JOB_EXIT_NONZERO, CREATOR_NO_MATCH, … */
  code: string
  message: string
  exitCode?: number | null
  /** The last bytes of the job's stderr, when it ran. */
  stderrTail?: string
  /** The provider that reported it (its signed outcome), when it came from one. */
  provider?: Address
  dealId?: Hash
  at: number
}

export interface JobRecord {
  /** `job-` + 16 hex digits. */
  id: string
  source: JobSource
  /** The module as it was named (name:version or a path). */
  module: string
  moduleName: string
  moduleVersion: string
  /** Input names and their values (files as `<N bytes>`), for display. */
  inputs: Record<string, string | number | boolean>
  maxPrice: bigint
  collateral: bigint
  timeoutS: number
  state: JobRecordState
  /** The last stage reached. */
  stage: string | null
  createdAt: number
  updatedAt: number
  /** Every job offer published for it (a re-offer signs a new one), oldest first. */
  jobOfferHashes: Hash[]
  /** Every deal it had, oldest first; the last one is the one that counts. */
  dealIds: Hash[]
  provider?: Address
  price?: bigint
  resultHash?: Hash
  exitCode?: number | null
  /** Where the run asked the outputs to go. */
  outDir?: string
  stages: JobStageRecord[]
  failure?: JobFailure
  /** Total gas of this node's transactions for the job (opens, challenges, timeouts). */
  gasUsed: bigint
}

export interface JobFilter {
  state?: JobRecordState
  /** Module name, or name:version. */
  module?: string
  /** Unix ms bounds on createdAt. */
  since?: number
  until?: number
  source?: JobSource
}

export class JobRecordError extends LilyError<'JOBS_UNKNOWN' | 'JOBS_AMBIGUOUS'> {
  override readonly name = 'JobRecordError'
}

const MAX_STAGES = 128
const MAX_DEALS = 16
const MAX_INPUT_CHARS = 200
const MAX_MESSAGE = 2000
export const DEFAULT_KEEP_JOBS = 1000
const JOB = 'job:'
const BY_DEAL = 'deal:'
const BY_OFFER = 'offer:'
const JOB_ID_RE = /^job-[0-9a-f]{16}$/

export function newJobId (): string {
  return `job-${randomBytes(8).toString('hex')}`
}

export function isJobId (s: string): boolean {
  return JOB_ID_RE.test(s)
}

/** A displayable copy of a job's inputs: strings cut to 200 characters, files as their size. */
export function inputsSummary (inputs: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [k, v] of Object.entries(inputs).slice(0, 64)) {
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v
    else if (typeof v === 'string') out[k] = v.length > MAX_INPUT_CHARS ? `${v.slice(0, MAX_INPUT_CHARS)}…` : v
    else if (v instanceof Uint8Array) out[k] = `<${v.length} bytes>`
    else out[k] = `<${typeof v}>`
  }
  return out
}

function cut (s: string | undefined): string | undefined {
  return s === undefined ? undefined : s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s
}

export class JobRecords {
  private readonly lock = new KeyedMutex()

  constructor (private readonly db: KvStore, private readonly keep = DEFAULT_KEEP_JOBS) {}

  async get (id: string): Promise<JobRecord | undefined> {
    if (!isJobId(id)) return undefined
    const v = await this.db.get(JOB + id)
    return v === undefined ? undefined : fromJson<JobRecord>(v)
  }

  /** The job a deal id, a job offer hash or a job id names. */
  async find (ref: string): Promise<JobRecord | undefined> {
    const key = ref.toLowerCase()
    if (isJobId(key)) return await this.get(key)
    if (!/^0x[0-9a-f]{64}$/.test(key)) return undefined
    const id = (await this.db.get(BY_DEAL + key)) ?? (await this.db.get(BY_OFFER + key))
    return id === undefined ? undefined : await this.get(id)
  }

  async require (ref: string): Promise<JobRecord> {
    const r = await this.find(ref)
    if (r === undefined) throw new JobRecordError('JOBS_UNKNOWN', `no job ${JSON.stringify(ref.slice(0, 80))} in this data dir; \`lilynode jobs\` lists them (a job id job-…, a deal id or a job offer hash)`)
    return r
  }

  async create (init: Omit<JobRecord, 'createdAt' | 'updatedAt' | 'stages' | 'jobOfferHashes' | 'dealIds' | 'gasUsed' | 'state' | 'stage'> & Partial<Pick<JobRecord, 'createdAt'>>): Promise<JobRecord> {
    const now = Date.now()
    const r: JobRecord = { ...init, state: 'running', stage: null, createdAt: init.createdAt ?? now, updatedAt: now, stages: [], jobOfferHashes: [], dealIds: [], gasUsed: 0n }
    await this.lock.run(r.id, async () => { await this.db.put(JOB + r.id, toJson(r)) })
    await this.prune()
    return r
  }

  /** Changes a record under its lock; `f` edits the copy it gets. */
  async update (id: string, f: (r: JobRecord) => void): Promise<JobRecord | undefined> {
    return await this.lock.run(id, async () => {
      const r = await this.get(id)
      if (r === undefined) return undefined
      const before = new Set([...r.dealIds, ...r.jobOfferHashes])
      f(r)
      r.updatedAt = Date.now()
      if (r.stages.length > MAX_STAGES) r.stages = [...r.stages.slice(0, 8), ...r.stages.slice(-(MAX_STAGES - 8))]
      r.dealIds = r.dealIds.slice(-MAX_DEALS)
      r.jobOfferHashes = r.jobOfferHashes.slice(-MAX_DEALS)
      await this.db.put(JOB + id, toJson(r))
      for (const d of r.dealIds) if (!before.has(d)) await this.db.put(BY_DEAL + d.toLowerCase(), id)
      for (const h of r.jobOfferHashes) if (!before.has(h)) await this.db.put(BY_OFFER + h.toLowerCase(), id)
      return r
    })
  }

  /** Appends a stage (and notes its deal, job offer, provider, price, result). */
  async addStage (id: string, s: JobStageRecord): Promise<JobRecord | undefined> {
    return await this.update(id, (r) => {
      const stage: JobStageRecord = { ...s, ...(s.message !== undefined ? { message: cut(s.message) } : {}) }
      r.stages.push(stage)
      r.stage = s.stage
      if (s.jobOfferHash !== undefined && !r.jobOfferHashes.includes(s.jobOfferHash)) r.jobOfferHashes.push(s.jobOfferHash)
      if (s.dealId !== undefined && !r.dealIds.includes(s.dealId)) r.dealIds.push(s.dealId)
      if (s.provider !== undefined) r.provider = s.provider
      if (s.price !== undefined && s.stage === 'matched') r.price = s.price
      if (s.resultHash !== undefined) r.resultHash = s.resultHash
      if (s.exitCode !== undefined) r.exitCode = s.exitCode
      if (s.gasUsed !== undefined) r.gasUsed += s.gasUsed
    })
  }

  /** Every record that passes `filter`, newest first. */
  async list (filter: JobFilter = {}): Promise<JobRecord[]> {
    const out: JobRecord[] = []
    for await (const v of this.db.values({ gte: JOB, lt: `${JOB}~` })) {
      const r = fromJson<JobRecord>(v)
      if (filter.state !== undefined && r.state !== filter.state) continue
      if (filter.source !== undefined && r.source !== filter.source) continue
      if (filter.module !== undefined && filter.module !== r.moduleName && filter.module !== `${r.moduleName}:${r.moduleVersion}` && filter.module !== r.module) continue
      if (filter.since !== undefined && r.createdAt < filter.since) continue
      if (filter.until !== undefined && r.createdAt > filter.until) continue
      out.push(r)
    }
    return out.sort((a, b) => b.createdAt - a.createdAt)
  }

  /** Drops the oldest finished records past `keep` (their deals and bundles stay in the deal store). */
  async prune (): Promise<number> {
    const all = await this.list()
    const finished = all.filter((r) => r.state !== 'running')
    let n = 0
    for (const r of finished.slice(Math.max(0, this.keep - (all.length - finished.length)))) {
      await this.lock.run(r.id, async () => {
        await this.db.del(JOB + r.id)
        for (const d of r.dealIds) await this.db.del(BY_DEAL + d.toLowerCase())
        for (const h of r.jobOfferHashes) await this.db.del(BY_OFFER + h.toLowerCase())
      })
      n++
    }
    return n
  }
}

/**
 * Jobs started through the API: each runs through the node's CreatorRole in the background,
 * its CreatorEvents are kept (bounded) and fanned out to server-sent-event listeners, and its
 * final state and result are read from the settled deal record and the result bundle.
 *
 * Each job is stored in the node's database as it moves, so a node that stops (or crashes)
 * keeps its jobs: at the next start `load` reads them back, and a job that was running is
 * resumed from its deal's stored state (`CreatorRole.resume`), or ends cancelled when it had
 * no deal yet.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { decodeBundle, readTar } from '../executor/index.js'
import type { Hash } from '../protocol/index.js'
import type { Logger } from '../protocol/index.js'
import { CreatorError, type CreatorEvent, type CreatorRole, type JobRequest } from '../node/index.js'
import type { DealRecord, DealStore, KvStore } from '../node/index.js'
import { describe } from '../node/index.js'
import type { GasLedger } from '../node/index.js'
import { ApiError } from './schema.js'
import type { JobRecord, JobRecords } from '../node/index.js'

export const JOB_STATES = ['running', 'paid', 'refunded', 'resolved', 'failed', 'cancelled'] as const
export type JobState = typeof JOB_STATES[number]

/** A CreatorEvent as JSON (wei as decimal strings). */
export type JobEventJson = Record<string, string | number | boolean | null | string[]>

export interface JobResult {
  dealId: Hash
  provider: string
  price: string
  collateral: string
  openTx: Hash | null
  settleTx: Hash | null
  resultHash: Hash | null
  exitCode: number | null
  stdout: string | null
  /** The job's stderr (the first 64 KiB). */
  stderr: string | null
  /** Files of the output folder, with their sizes. */
  outputs: Array<{ path: string, bytes: number }>
  /** Where the outputs were written on the node (when it keeps them). */
  outDir: string | null
}

export interface ApiJob {
  id: string
  module: string
  moduleName: string
  moduleVersion: string
  maxPrice: string
  collateral: string
  timeoutS: number
  state: JobState
  /** The last progress stage (offered, matched, opened, running, result, accepted, paid, …). */
  stage: string | null
  createdAt: number
  updatedAt: number
  events: JobEventJson[]
  result: JobResult | null
  error: { code: string, message: string } | null
  /** How the job was started: through this API, `lilynode run` or the SDK from the same data dir. */
  source: 'api' | 'cli' | 'sdk'
}

export type JobMessage = { kind: 'event', seq: number, event: JobEventJson } | { kind: 'end', job: ApiJob }

interface Entry {
  job: ApiJob
  controller: AbortController
  done: Promise<void>
  listeners: Set<(m: JobMessage) => void>
}

export interface JobManagerOptions {
  creator: CreatorRole
  deals: DealStore
  gas: GasLedger
  log: Logger
  maxConcurrentJobs: number
  /** Finished jobs kept (oldest dropped first, from memory and from the store). */
  keepFinished?: number
  /** When set, each job's outputs are written to `<outputsDir>/<job id>`. */
  outputsDir?: string
  /** Where jobs are kept across restarts (the node's database); in memory only without it. */
  store?: KvStore
  /** The data dir's job records (every run, CLI and SDK too): GET /jobs lists them all. */
  records?: JobRecords
}

const MAX_EVENTS = 256
const JOB_PREFIX = 'apijob:'
const MAX_STDOUT = 64 * 1024

function eventJson (e: CreatorEvent): JobEventJson {
  const out: JobEventJson = {}
  for (const [k, v] of Object.entries(e) as Array<[string, unknown]>) {
    if (v === undefined) continue
    out[k] = typeof v === 'bigint' ? v.toString() : v as JobEventJson[string]
  }
  return out
}

function stateOf (r: DealRecord): JobState {
  switch (r.state) {
    case 'completed':
    case 'claimed':
      return 'paid'
    case 'timed-out':
      return 'refunded'
    case 'resolved':
      return 'resolved'
    default:
      return 'failed'
  }
}

export class JobManager {
  private readonly jobs = new Map<string, Entry>()
  private running = 0
  /** The last store write of each job (writes of one job go in order). */
  private readonly writes = new Map<string, Promise<void>>()
  private stopping = false

  constructor (private readonly o: JobManagerOptions) {}

  /**
   * Reads the stored jobs back (call once, before serving): finished ones as they were; a job
   * that was running resumes following its deal, or ends cancelled when it had none yet.
   */
  async load (): Promise<void> {
    const { store } = this.o
    if (store === undefined) return
    for await (const v of store.values({ gte: JOB_PREFIX, lt: `${JOB_PREFIX}~` })) {
      let job: ApiJob
      try {
        job = JSON.parse(v) as ApiJob
      } catch {
        continue
      }
      if (typeof job?.id !== 'string' || this.jobs.has(job.id) || !(JOB_STATES as readonly string[]).includes(job.state)) continue
      job.source ??= 'api'
      const entry: Entry = { job, controller: new AbortController(), done: Promise.resolve(), listeners: new Set() }
      this.jobs.set(job.id, entry)
      if (job.state !== 'running') continue
      const dealId = job.events.findLast((e) => typeof e.dealId === 'string')?.dealId as Hash | undefined
      if (dealId === undefined) {
        job.state = 'cancelled'
        job.error = { code: 'API_JOB_CANCELLED', message: 'the node stopped before the job was matched; submit it again' }
        job.updatedAt = Date.now()
        this.save(job)
        continue
      }
      this.track(entry, async (signal, onEvent) => await this.o.creator.resume(dealId, signal, onEvent))
    }
    this.prune()
  }

  get active (): number { return this.running }

  /** Starts a job in the background; throws API_TOO_MANY_JOBS at the cap. */
  start (req: JobRequest, module: string): ApiJob {
    if (this.running >= this.o.maxConcurrentJobs) {
      throw new ApiError('API_TOO_MANY_JOBS', 429, `this node already runs ${this.running} API jobs (the cap is ${this.o.maxConcurrentJobs}); wait for one to finish (GET /jobs) and try again`, { 'retry-after': '10' })
    }
    const id = `job-${randomBytes(8).toString('hex')}`
    const now = Date.now()
    const job: ApiJob = {
      id,
      module,
      moduleName: req.spec.name,
      moduleVersion: req.spec.version,
      maxPrice: req.maxPrice.toString(),
      collateral: req.collateral.toString(),
      timeoutS: req.timeoutS,
      state: 'running',
      stage: null,
      createdAt: now,
      updatedAt: now,
      events: [],
      result: null,
      error: null,
      source: 'api'
    }
    const entry: Entry = { job, controller: new AbortController(), done: Promise.resolve(), listeners: new Set() }
    this.jobs.set(id, entry)
    this.save(job)
    const outDir = this.o.outputsDir === undefined ? undefined : join(this.o.outputsDir, id)
    this.track(entry, async (signal, onEvent) => await this.o.creator.run({ ...req, ...(outDir !== undefined ? { outDir } : {}), record: { id, source: 'api', module } }, signal, onEvent))
    return job
  }

  /** Follows `work` (the job's deal, run or resumed) in the background until it settles. */
  private track (entry: Entry, work: (signal: AbortSignal, onEvent: (e: CreatorEvent) => void) => Promise<DealRecord>): void {
    this.running++
    entry.done = this.drive(entry, work).finally(() => {
      this.running--
      this.prune()
    })
  }

  private async drive (entry: Entry, work: (signal: AbortSignal, onEvent: (e: CreatorEvent) => void) => Promise<DealRecord>): Promise<void> {
    const { job } = entry
    let seq = job.events.length
    const onEvent = (e: CreatorEvent): void => {
      const ev = eventJson(e)
      this.o.gas.note(e.tx)
      if (job.events.length < MAX_EVENTS) job.events.push(ev)
      job.stage = e.stage
      job.updatedAt = Date.now()
      this.save(job)
      const m: JobMessage = { kind: 'event', seq: seq++, event: ev }
      for (const l of entry.listeners) l(m)
    }
    let keepStored = false
    try {
      const record = await work(entry.controller.signal, onEvent)
      this.o.gas.note(record.openTx)
      this.o.gas.note(record.settleTx)
      job.state = stateOf(record)
      job.result = await this.resultOf(record, record.outDir)
      if (job.state === 'failed') job.error = { code: 'API_JOB_FAILED', message: record.error ?? `the deal ended ${record.state}` }
    } catch (e) {
      if (entry.controller.signal.aborted) {
        job.state = 'cancelled'
        job.error = { code: 'API_JOB_CANCELLED', message: 'the API stopped before the job settled; the node follows its deal again when it restarts' }
        // stored as it was (running): the next start resumes it, or cancels it if it had no deal yet
        keepStored = this.stopping
      } else {
        job.state = 'failed'
        job.error = e instanceof CreatorError ? { code: e.code, message: e.message } : { code: 'API_JOB_FAILED', message: describe(e) }
        this.o.log.warn('API job failed', { id: job.id, error: describe(e) })
      }
    }
    job.updatedAt = Date.now()
    if (!keepStored) this.save(job)
    for (const l of entry.listeners) l({ kind: 'end', job })
    entry.listeners.clear()
  }

  /** Writes the job to the store (in the background; a failure is logged, the job goes on). */
  private save (job: ApiJob): void {
    const text = JSON.stringify(job)
    this.write(job.id, async (store) => await store.put(`${JOB_PREFIX}${job.id}`, text))
  }

  /** Queues a store write for job `id` after the ones already queued for it. */
  private write (id: string, op: (store: KvStore) => Promise<void>): void {
    const { store } = this.o
    if (store === undefined) return
    const next = (this.writes.get(id) ?? Promise.resolve()).then(async () => await op(store)).catch((e: unknown) => {
      this.o.log.warn('could not store an API job', { id, error: describe(e) })
    })
    this.writes.set(id, next)
    void next.finally(() => { if (this.writes.get(id) === next) this.writes.delete(id) })
  }

  private async resultOf (r: DealRecord, outDir: string | undefined): Promise<JobResult> {
    const res: JobResult = {
      dealId: r.dealId,
      provider: r.deal.provider,
      price: r.deal.price.toString(),
      collateral: r.deal.collateral.toString(),
      openTx: r.openTx ?? null,
      settleTx: r.settleTx ?? null,
      resultHash: r.resultHash ?? null,
      exitCode: null,
      stdout: null,
      stderr: null,
      outputs: [],
      outDir: outDir ?? null
    }
    const bundle = await this.o.deals.getBlob(r.dealId, 'bundle').catch(() => undefined)
    if (bundle === undefined) return res
    try {
      const b = decodeBundle(bundle)
      res.exitCode = b.exitCode
      res.stdout = new TextDecoder().decode(b.stdout.subarray(0, MAX_STDOUT))
      res.stderr = new TextDecoder().decode(b.stderr.subarray(0, MAX_STDOUT))
      if (b.outputTar.length > 0) res.outputs = readTar(b.outputTar).filter((t) => t.type === 'file').map((t) => ({ path: t.path, bytes: t.data.length }))
    } catch (e) {
      this.o.log.warn('could not read the result bundle of an API job', { dealId: r.dealId, error: describe(e) })
    }
    return res
  }

  get (id: string): ApiJob {
    const e = this.jobs.get(id)
    if (e === undefined) throw new ApiError('API_UNKNOWN_JOB', 404, `no job ${JSON.stringify(id.slice(0, 80))} on this node (it keeps the last ${this.o.keepFinished ?? 1000} finished jobs); GET /jobs lists them`)
    return e.job
  }

  list (): ApiJob[] {
    return [...this.jobs.values()].map((e) => e.job).sort((a, b) => b.createdAt - a.createdAt)
  }

  /** Every job of the data dir: this API's, and those `lilynode run` or the SDK ran from it (from the job records). Newest first. */
  async listAll (): Promise<ApiJob[]> {
    const mine = this.list()
    const records = this.o.records === undefined ? [] : await this.o.records.list()
    const ids = new Set(mine.map((j) => j.id))
    const others = await Promise.all(records.filter((r) => !ids.has(r.id)).map(async (r) => await this.fromRecord(r)))
    return [...mine, ...others].sort((a, b) => b.createdAt - a.createdAt)
  }

  /** One job by id: this API's, else a job record of the data dir. */
  async lookup (id: string): Promise<ApiJob> {
    const e = this.jobs.get(id)
    if (e !== undefined) return e.job
    const r = await this.o.records?.get(id)
    if (r === undefined) return this.get(id)
    return await this.fromRecord(r)
  }

  /** The job's record (the source of its deals and of its stored result bundle). */
  async record (id: string): Promise<JobRecord | undefined> {
    return await this.o.records?.get(id)
  }

  /** A job record (a CLI or SDK run) in this API's shape. */
  private async fromRecord (r: JobRecord): Promise<ApiJob> {
    const dealId = r.dealIds.at(-1)
    const deal = dealId === undefined ? undefined : await this.o.deals.get(dealId).catch(() => undefined)
    return {
      id: r.id,
      module: r.module,
      moduleName: r.moduleName,
      moduleVersion: r.moduleVersion,
      maxPrice: r.maxPrice.toString(),
      collateral: r.collateral.toString(),
      timeoutS: r.timeoutS,
      state: r.state,
      stage: r.stage,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      events: r.stages.slice(-MAX_EVENTS).map((st) => eventJson(st as unknown as CreatorEvent)),
      result: deal !== undefined && r.state !== 'running' ? await this.resultOf(deal, r.outDir) : null,
      error: r.failure !== undefined ? { code: r.failure.code, message: r.failure.message } : null,
      source: r.source
    }
  }

  /** Jobs per state (for /metrics). */
  countByState (): Record<JobState, number> {
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>
    for (const e of this.jobs.values()) out[e.job.state]++
    return out
  }

  /**
   * Replays the job's events (from `after`, exclusive) to `listener` and follows it; a finished
   * job gets its end message at once. Returns the unsubscribe function.
   */
  follow (id: string, after: number, listener: (m: JobMessage) => void): () => void {
    const e = this.jobs.get(id)
    if (e === undefined) return () => {}
    e.job.events.forEach((ev, seq) => { if (seq > after) listener({ kind: 'event', seq, event: ev }) })
    if (e.job.state !== 'running') {
      listener({ kind: 'end', job: e.job })
      return () => {}
    }
    e.listeners.add(listener)
    return () => { e.listeners.delete(listener) }
  }

  private prune (): void {
    const keep = this.o.keepFinished ?? 1000
    const finished = [...this.jobs.values()].filter((e) => e.job.state !== 'running').sort((a, b) => a.job.createdAt - b.job.createdAt)
    for (const e of finished.slice(0, Math.max(0, finished.length - keep))) {
      this.jobs.delete(e.job.id)
      this.write(e.job.id, async (store) => await store.del(`${JOB_PREFIX}${e.job.id}`))
    }
  }

  /** Stops following every running job (their stored records stay as they were, for the next start) and waits for the store writes. */
  async stop (): Promise<void> {
    this.stopping = true
    for (const e of this.jobs.values()) e.controller.abort(new Error('API stopping'))
    await Promise.all([...this.jobs.values()].map(async (e) => await e.done))
    await Promise.all([...this.writes.values()])
  }
}

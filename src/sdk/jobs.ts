/**
 * A data dir's job history without a running node: `LilyJobs.open(dataDir)` opens the node's
 * database (it fails with SDK_DATA_DIR_BUSY while a node of that data dir runs: ask that node,
 * e.g. its API's GET /jobs, or stop it), lists the job records every run from it left
 * (`lilynode run`, the SDK, the API), describes one with its deals, and writes a job's outputs
 * again from the stored result bundle. `lilynode jobs|describe|get` are built on it;
 * `LilyClient.getOutputs` adds the fetch from the provider when the bundle is not stored here.
 *
 * Retention: a creator keeps every result bundle in `<data dir>/blobs/<deal id>/bundle` until
 * the folder is removed; job records beyond the newest 1000 are pruned (their bundles stay).
 * A provider keeps the bundles of its deals in its own `<data dir>/blobs` and hands one to the
 * deal's creator (only) for as long as it is there.
 */
import { join } from 'node:path'
import { bundleFiles, bundleOf, type OutputFile } from '../node/index.js'
import { NodeStore } from '../node/index.js'
import { NodeError } from '../node/errors.js'
import { DealStore, type DealRecord } from '../node/index.js'
import { JobRecords, type JobFilter, type JobRecord } from '../node/index.js'
import type { ExecutorPort } from '../node/index.js'
import { executorPort } from '../node/index.js'
import type { Hash } from '../protocol/index.js'
import { SdkError } from './errors.js'

export type { JobRecord, JobFilter, JobStageRecord, JobFailure, JobRecordState, JobSource } from '../node/index.js'
export { JOB_RECORD_STATES } from '../node/index.js'
export { bundleFiles, bundleOf, type OutputFile }

/** A job and the deals it had, as `lilynode describe` shows them. */
export interface JobDescription {
  /** Undefined when the id names a deal of this data dir that no job record owns (a provider's, a mediator's). */
  job?: JobRecord
  deals: DealRecord[]
}

/** Looks a job up by job id, deal id or job offer hash; SDK_UNKNOWN_JOB when none. */
export async function describeJob (records: JobRecords, deals: DealStore, ref: string): Promise<JobDescription> {
  const r = ref.trim()
  const job = await records.find(r)
  if (job !== undefined) {
    const ds: DealRecord[] = []
    for (const id of job.dealIds) {
      const d = await deals.get(id)
      if (d !== undefined) ds.push(d)
    }
    return { job, deals: ds }
  }
  if (/^0x[0-9a-fA-F]{64}$/.test(r)) {
    const d = await deals.get(r.toLowerCase() as Hash)
    if (d !== undefined) return { deals: [d] }
  }
  throw new SdkError('SDK_UNKNOWN_JOB', `no job or deal ${JSON.stringify(r.slice(0, 80))} in this data dir; \`lilynode jobs\` lists its jobs (a job id job-…, a deal id or a job offer hash)`)
}

export class LilyJobs implements AsyncDisposable {
  private constructor (
    private readonly store: NodeStore,
    readonly records: JobRecords,
    readonly deals: DealStore,
    private readonly executor: Pick<ExecutorPort, 'writeOutputs'>
  ) {}

  /** Opens a data dir's database (SDK_DATA_DIR_BUSY while a node of it runs). */
  static async open (dataDir: string): Promise<LilyJobs> {
    if (typeof dataDir !== 'string' || dataDir === '') throw new SdkError('SDK_BAD_OPTION', 'LilyJobs.open needs the data dir of the runs (the --data-dir of `lilynode run`)')
    let store: NodeStore
    try {
      store = await NodeStore.open(join(dataDir, 'db'))
    } catch (e) {
      if (e instanceof NodeError && e.code === 'NODE_DB_LOCKED') throw new SdkError('SDK_DATA_DIR_BUSY', `${dataDir} is in use by a running node (a run, a creator or its API): wait for it, ask it (GET /jobs on its API), or stop it`, { cause: e })
      throw new SdkError('SDK_BAD_OPTION', `cannot open the database of ${dataDir}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
    }
    return new LilyJobs(store, new JobRecords(store.sublevel('jobs')), new DealStore(store.sublevel('deals'), join(dataDir, 'blobs')), executorPort({ dataDir }))
  }

  /** The job records, newest first. */
  async list (filter: JobFilter = {}): Promise<JobRecord[]> {
    return await this.records.list(filter)
  }

  /** A job (by job id, deal id or job offer hash) and its deals. */
  async describe (ref: string): Promise<JobDescription> {
    return await describeJob(this.records, this.deals, ref)
  }

  /** The stored result bundle of a job or deal, when this data dir holds it. */
  async bundle (ref: string): Promise<{ dealId: Hash, bundle: Uint8Array } | undefined> {
    const d = await this.describe(ref)
    return await bundleOf(this.deals, d.job, d.deals.map((x) => x.dealId))
  }

  /** Writes the job's stdout, stderr, exitCode and outputs/ to `outDir` from the stored bundle; SDK_NO_OUTPUTS when none is stored. */
  async writeOutputs (ref: string, outDir: string): Promise<{ dealId: Hash, files: string[] }> {
    const b = await this.bundle(ref)
    if (b === undefined) throw new SdkError('SDK_NO_OUTPUTS', `no result of ${ref.slice(0, 80)} is stored in this data dir (the job never got one, or it was removed); \`lilynode get --profile …\` asks the provider`)
    return { dealId: b.dealId, files: await this.executor.writeOutputs(b.bundle, outDir) }
  }

  async close (): Promise<void> {
    await this.store.close()
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.close()
  }
}

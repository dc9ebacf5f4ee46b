/**
 * The slurm backend: each deal is one Slurm batch job in the provider's partition, with the
 * deal's CPUs, memory, node-local disk and GRES GPUs, a time limit from the deal's timeout,
 * and a batch script that runs the docker backend's own runner on the compute node
 * (nodeRunner.ts). The provider side stages the job in, submits, follows the job's state,
 * stages the result back and turns whatever happened into a typed outcome:
 *
 *   COMPLETED/FAILED with a result  → the runner's outcome (succeeded, failed, timed_out, oom, …)
 *   TIMEOUT (Slurm's time limit)    → timed_out, as the docker backend's own deadline
 *   OUT_OF_MEMORY                   → oom
 *   NODE_FAIL, BOOT_FAIL            → node_failed ┐ resubmitted while attempts remain; then the
 *   PREEMPTED                       → preempted   │ typed outcome (the provider retries later,
 *   cancelled by someone else, or   → backend_error┘ the deal's timeout refunds the creator)
 *   no result came back
 *   cancelled by us (the deal ended)→ cancelled
 *
 * The job id is handed to `onHandle` as soon as sbatch returns (the provider keeps it in its
 * deal store); a provider that restarts passes it back and the job is followed again. Without
 * one, the job is found by its name and the deal folder's job list.
 */
import { appendFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeInputs, parseModuleSpec, renderCommand, RESOURCE_BOUNDS } from '../../../protocol/index.js'
import type { Hash, Resources } from '../../../protocol/index.js'
import { bundleHash, decodeBundle } from '../../bundle.js'
import type { JobLimits, JobOutcome, RefusedOutcome, StoppedOutcome } from '../../runner.js'
import type { BackendCapacity, BackendJob, BackendOutcome, BackendRunOptions, ExecutorBackend, LostOutcome } from '../types.js'
import { clusterCapacity, type GpuType, type NodeShape } from './capacity.js'
import {
  batchScript, dealFolderName, ensureDir, jobComment, jobName, MAX_RESULT_JSON_BYTES, outFolder, readCapped,
  STAGED_VERSION, submittedJobs, writeAtomic, type StagedJob, type StagedResult
} from './staging.js'
import { SlurmError, TERMINAL_JOB_STATES, type SlurmClient, type SlurmJob, type SubmitRequest } from './types.js'
import { pause } from '../../../protocol/index.js'
import { MAX_TIMEOUT_S } from '../../../protocol/constants.js'

export const DEFAULT_RUNNER_MEM_MIB = 256
export const DEFAULT_OVERHEAD_S = 300
export const DEFAULT_SLURM_POLL_MS = 2000
export const DEFAULT_CAPACITY_REFRESH_MS = 30_000
export const DEFAULT_MAX_ATTEMPTS = 3
/** How long a cancelled job may take to end before the backend stops waiting for it. */
const CANCEL_WAIT_MS = 60_000
/** How long a result file may take to show up on the shared file system after the job ended. */
const RESULT_VISIBLE_MS = 10_000

export interface SlurmBackendOptions {
  client: SlurmClient
  partition: string
  account?: string
  qos?: string
  /** The deal folders' parent: on a file system the compute nodes mount at the same path. */
  workDir: string
  limits: JobLimits
  allowNetwork: boolean
  /** GRES GPU types sold, with their VRAM (an untyped or unknown GPU is not offered). */
  gpuTypes?: Readonly<Record<string, GpuType>>
  /** MiB added to every job's --mem for the runner itself; taken off each node's memory in the offer. */
  runnerMemMiB?: number
  /** Seconds added to the deal's timeout in the Slurm time limit (image pull, staging). */
  overheadS?: number
  pollMs?: number
  capacityRefreshMs?: number
  /** Jobs submitted per deal at most (a node failure or preemption submits the next). */
  maxAttempts?: number
  /** Node.js on the compute nodes (default: this process's). */
  node?: string
  /** nodeRunner.js as the compute nodes see it (default: this installation's). */
  runner?: string
  /** DOCKER_HOST for the compute nodes' engine (e.g. a rootless Podman socket). */
  dockerHost?: string
  log?: (msg: string, fields?: Record<string, unknown>) => void
}

export const DEFAULT_RUNNER = fileURLToPath(new URL('./nodeRunner.js', import.meta.url))

const STOPPED: ReadonlySet<string> = new Set(['timed_out', 'oom', 'output_too_large', 'cancelled'])
const REFUSED: ReadonlySet<string> = new Set(['image_missing', 'image_refused', 'docker_unreachable', 'gpu_unavailable', 'invalid_job', 'docker_error'])
const ACTIVE_FIRST = (a: SlurmJob, b: SlurmJob): number => Number(TERMINAL_JOB_STATES.has(a.state)) - Number(TERMINAL_JOB_STATES.has(b.state)) || Number(b.jobId) - Number(a.jobId)

export function handleOf (jobId: string): string { return `slurm:${jobId}` }
export function jobIdOf (handle: string | undefined): string | undefined {
  const m = /^slurm:([0-9]{1,20})$/.exec(handle ?? '')
  return m === null ? undefined : m[1]
}

export class SlurmBackend implements ExecutorBackend {
  readonly kind = 'slurm' as const
  readonly capacityRefreshMs: number
  private shape: NodeShape | undefined
  private maxTimeMin: number | undefined
  private tested = ''
  /** Why the last capacity() offered nothing, for the operator. */
  lastProblem: string | undefined
  private readonly workDir: string

  constructor (private readonly o: SlurmBackendOptions) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(o.partition)) throw new SlurmError('SLURM_CONFIG', `partition '${o.partition}' is not a Slurm partition name`)
    if (o.account !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(o.account)) throw new SlurmError('SLURM_CONFIG', `account '${o.account}' is not a Slurm account name`)
    if (o.qos !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(o.qos)) throw new SlurmError('SLURM_CONFIG', `qos '${o.qos}' is not a Slurm QOS name`)
    this.capacityRefreshMs = o.capacityRefreshMs ?? DEFAULT_CAPACITY_REFRESH_MS
    this.workDir = resolve(o.workDir)
  }

  private get runnerMem (): number { return this.o.runnerMemMiB ?? DEFAULT_RUNNER_MEM_MIB }
  private log (msg: string, fields?: Record<string, unknown>): void { this.o.log?.(msg, fields) }

  // ------------------------------------------------------------ capacity

  async capacity (): Promise<BackendCapacity | undefined> {
    const [nodes, part] = await Promise.all([this.o.client.nodes(), this.o.client.partition(this.o.partition)])
    if (part === undefined) throw new SlurmError('SLURM_CONFIG', `the cluster has no partition '${this.o.partition}' (see \`sinfo -s\`); pass --slurm-partition`)
    this.maxTimeMin = part.maxTimeMin
    const cc = clusterCapacity(nodes, part, { gpuTypes: this.o.gpuTypes ?? {}, runnerMemMiB: this.runnerMem })
    if (cc.capacity === undefined || cc.shape === undefined) {
      this.lastProblem = `no node of partition ${part.name} can take a job: ${cc.skipped.map((s) => `${s.node} ${s.why}`).join(', ') || 'it has no nodes'}`
      return undefined
    }
    const key = JSON.stringify(cc.capacity)
    if (this.o.client.testSubmit !== undefined && key !== this.tested) {
      // the scheduler itself says whether such a job could ever start (account, QOS and partition limits included)
      try {
        await this.o.client.testSubmit(this.resourceRequest(cc.capacity, cc.shape, 60))
      } catch (e) {
        this.lastProblem = `a job of the offer's size would not start: ${(e as Error).message}`
        return undefined
      }
      this.tested = key
    }
    this.shape = cc.shape
    this.lastProblem = undefined
    return cc.capacity
  }

  private resourceRequest (r: Resources, shape: NodeShape | undefined, timeoutS: number): Omit<SubmitRequest, 'script' | 'scriptPath' | 'output' | 'workDir' | 'comment' | 'name'> {
    const minutes = Math.max(1, Math.ceil((timeoutS + (this.o.overheadS ?? DEFAULT_OVERHEAD_S)) / 60))
    const type = shape?.gpuType
    return {
      partition: this.o.partition,
      ...(this.o.account !== undefined ? { account: this.o.account } : {}),
      ...(this.o.qos !== undefined ? { qos: this.o.qos } : {}),
      cpusPerTask: Math.max(1, Math.ceil(r.cpu / 1000)),
      memMiB: r.ram + this.runnerMem,
      tmpMiB: r.disk,
      timeMin: this.maxTimeMin !== undefined ? Math.min(minutes, this.maxTimeMin) : minutes,
      ...(r.gpus > 0 ? { gres: type !== undefined ? `gpu:${type}:${r.gpus}` : `gpu:${r.gpus}` } : {})
    }
  }

  // ------------------------------------------------------------ run

  async run (job: BackendJob, opts: BackendRunOptions = {}): Promise<BackendOutcome> {
    const t0 = Date.now()
    const dealId = job.dealId
    const bad = this.check(job)
    if (bad !== undefined) return { status: 'invalid_job', dealId, durationMs: Date.now() - t0, message: bad }
    const dealDir = join(this.workDir, dealFolderName(dealId))
    try {
      let jobId = await this.find(dealId, dealDir, jobIdOf(opts.handle))
      for (;;) {
        if (jobId === undefined) {
          const attempts = (await submittedJobs(dealDir)).length
          if (attempts >= (this.o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) {
            return { status: 'backend_error', dealId, durationMs: Date.now() - t0, message: `gave up after ${attempts} Slurm job(s) for this deal (see ${dealDir})` }
          }
          if (opts.signal?.aborted === true) return this.cancelled(dealId, t0, 'the deal ended before its job was submitted')
          jobId = await this.submit(job, dealDir)
          opts.onProgress?.({ kind: 'submitted', handle: handleOf(jobId), attempt: attempts + 1 })
          this.log('slurm job submitted', { dealId, jobId, attempt: attempts + 1 })
        }
        await opts.onHandle?.(handleOf(jobId))
        const outcome = await this.follow(job, dealDir, jobId, t0, opts)
        const retry = outcome.status === 'node_failed' || outcome.status === 'preempted' || (outcome.status === 'backend_error' && outcome.handle !== undefined)
        if (!retry || opts.signal?.aborted === true || opts.detach?.aborted === true) {
          if (outcome.status !== 'detached' && !retry) await rm(dealDir, { recursive: true, force: true }).catch(() => {})
          return outcome
        }
        const left = (this.o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) - (await submittedJobs(dealDir)).length
        if (left <= 0) return outcome
        opts.onProgress?.({ kind: 'resubmitting', handle: handleOf(jobId), why: outcome.message })
        this.log('slurm job lost; submitting it again', { dealId, jobId, status: outcome.status, message: outcome.message })
        jobId = undefined
      }
    } catch (e) {
      const message = (e as Error).message.split('\n')[0]
      return { status: 'backend_error', dealId, durationMs: Date.now() - t0, message: e instanceof SlurmError ? message : `slurm backend: ${message}` }
    }
  }

  /** Refuses before submitting what the compute node would refuse anyway. */
  private check (job: BackendJob): string | undefined {
    try {
      renderCommand(parseModuleSpec(job.spec), job.inputs)
    } catch (e) {
      return (e as Error).message.split('\n')[0]
    }
    for (const k of Object.keys(RESOURCE_BOUNDS) as Array<keyof Resources>) {
      const v = job.resources[k]
      const [lo, hi] = RESOURCE_BOUNDS[k]
      if (!Number.isSafeInteger(v) || v < lo || v > hi) return `resources.${k} must be an integer in [${lo}, ${hi}]`
    }
    if (!Number.isSafeInteger(job.timeoutS) || job.timeoutS < 1 || job.timeoutS > MAX_TIMEOUT_S) return `timeoutS must be an integer in [1, ${MAX_TIMEOUT_S}]`
    return undefined
  }

  /** The deal's current job: from the handle, else by name, else the last one the folder lists that left a result. */
  private async find (dealId: Hash, dealDir: string, fromHandle: string | undefined): Promise<string | undefined> {
    if (fromHandle !== undefined) return fromHandle
    const named = (await this.o.client.jobsByName(jobName(dealId))).filter((j) => j.comment === '' || j.comment === jobComment(dealId)).sort(ACTIVE_FIRST)
    if (named.length > 0) return named[0].jobId
    const listed = await submittedJobs(dealDir)
    const last = listed[listed.length - 1]
    if (last !== undefined && await readCapped(join(outFolder(dealDir, last), 'result.json'), MAX_RESULT_JSON_BYTES).catch(() => undefined) !== undefined) return last
    return undefined
  }

  private async submit (job: BackendJob, dealDir: string): Promise<string> {
    await ensureDir(this.workDir)
    await ensureDir(dealDir)
    const staged: StagedJob = { v: STAGED_VERSION, dealId: job.dealId, resources: job.resources, timeoutS: job.timeoutS, limits: this.o.limits, allowNetwork: this.o.allowNetwork }
    await writeAtomic(join(dealDir, 'job.json'), JSON.stringify(staged))
    await writeAtomic(join(dealDir, 'module.json'), JSON.stringify(job.spec))
    await writeAtomic(join(dealDir, 'inputs.bin'), encodeInputs(job.inputs))
    const script = batchScript({ node: this.o.node ?? process.execPath, runner: this.o.runner ?? DEFAULT_RUNNER, dealDir, ...(this.o.dockerHost !== undefined ? { dockerHost: this.o.dockerHost } : {}) })
    const scriptPath = join(dealDir, 'job.sh')
    await writeAtomic(scriptPath, script, 0o700)
    const jobId = await this.o.client.submit({
      ...this.resourceRequest(job.resources, this.shape, job.timeoutS),
      name: jobName(job.dealId),
      comment: jobComment(job.dealId),
      workDir: dealDir,
      output: join(dealDir, 'slurm-%j.log'),
      script,
      scriptPath
    })
    await appendFile(join(dealDir, 'jobs'), `${jobId}\n`, { mode: 0o600 })
    return jobId
  }

  /** Follows one job to its end (or until cancelled or detached). */
  private async follow (job: BackendJob, dealDir: string, jobId: string, t0: number, opts: BackendRunOptions): Promise<BackendOutcome> {
    const dealId = job.dealId
    const wake = AbortSignal.any([opts.signal, opts.detach].filter((s): s is AbortSignal => s !== undefined))
    let scheduled = false
    let unreachableSince: number | undefined
    for (;;) {
      if (opts.signal?.aborted === true) return await this.cancel(dealId, dealDir, jobId, t0)
      if (opts.detach?.aborted === true) {
        return { status: 'detached', dealId, durationMs: Date.now() - t0, handle: handleOf(jobId), message: `stopped watching; Slurm job ${jobId} runs on and is re-attached from its handle` }
      }
      let info: SlurmJob | undefined
      try {
        info = await this.o.client.job(jobId)
        unreachableSince = undefined
      } catch (e) {
        // the controller restarting must not lose the deal: keep asking
        unreachableSince ??= Date.now()
        this.log('slurm job state unknown; will ask again', { dealId, jobId, error: (e as Error).message, forMs: Date.now() - unreachableSince })
        await pause(Math.min(30_000, 2 * (this.o.pollMs ?? DEFAULT_SLURM_POLL_MS)), wake)
        continue
      }
      if (info === undefined || TERMINAL_JOB_STATES.has(info.state)) return await this.collect(dealId, dealDir, jobId, info, t0, false)
      if (!scheduled && info.state === 'RUNNING') {
        scheduled = true
        opts.onProgress?.({ kind: 'scheduled', handle: handleOf(jobId), node: info.nodes })
      }
      await pause(this.o.pollMs ?? DEFAULT_SLURM_POLL_MS, wake)
    }
  }

  private async cancel (dealId: Hash, dealDir: string, jobId: string, t0: number): Promise<BackendOutcome> {
    this.log('cancelling slurm job', { dealId, jobId })
    const until = Date.now() + CANCEL_WAIT_MS
    let sent = false
    while (Date.now() < until) {
      try {
        if (!sent) { await this.o.client.cancel(jobId); sent = true }
        const info = await this.o.client.job(jobId)
        if (info === undefined || TERMINAL_JOB_STATES.has(info.state)) break
      } catch (e) {
        this.log('scancel failed; trying again', { dealId, jobId, error: (e as Error).message })
      }
      await pause(500)
    }
    await rm(dealDir, { recursive: true, force: true }).catch(() => {})
    return this.cancelled(dealId, t0, `the deal ended: Slurm job ${jobId} cancelled (scancel)`)
  }

  private cancelled (dealId: Hash, t0: number, message: string): StoppedOutcome {
    return { status: 'cancelled', dealId, durationMs: Date.now() - t0, message, stdout: new Uint8Array(), stderr: new Uint8Array() }
  }

  /** Max bytes of a bundle: both logs at their cap, the output folder's files, tar framing. */
  private get maxBundleBytes (): number {
    const l = this.o.limits
    return 2 * l.maxLogBytes + Math.ceil(l.maxOutputBytes * 1.25) + 16 * 1024 * 1024
  }

  private async readResult (dealDir: string, jobId: string, wait: boolean): Promise<StagedResult | undefined> {
    const path = join(outFolder(dealDir, jobId), 'result.json')
    const until = Date.now() + (wait ? RESULT_VISIBLE_MS : 0)
    for (;;) {
      const bytes = await readCapped(path, MAX_RESULT_JSON_BYTES)
      if (bytes !== undefined) {
        const r = JSON.parse(new TextDecoder().decode(bytes)) as Partial<StagedResult>
        if (r.v !== STAGED_VERSION || typeof r.status !== 'string' || r.jobId !== jobId) throw new SlurmError('SLURM_BAD_REPLY', `${path} is not the result of job ${jobId}`)
        return r as StagedResult
      }
      if (Date.now() >= until) return undefined
      await pause(500)
    }
  }

  private async collect (dealId: Hash, dealDir: string, jobId: string, info: SlurmJob | undefined, t0: number, weCancelled: boolean): Promise<BackendOutcome> {
    const durationMs = (): number => Date.now() - t0
    const state = info?.state
    const ended = state === 'COMPLETED' || state === 'FAILED'
    const r = await this.readResult(dealDir, jobId, ended)
    const where = info?.nodes !== undefined && info.nodes !== '' ? ` on ${info.nodes}` : ''
    // a runner stopped by a signal says "cancelled"; the controller's state says who sent it
    if (r !== undefined && r.status !== 'cancelled') return await this.fromResult(dealId, dealDir, jobId, r, durationMs())
    const lost = (status: LostOutcome['status'], message: string): LostOutcome => ({ status, dealId, durationMs: durationMs(), message, handle: handleOf(jobId) })
    const stopped = (status: StoppedOutcome['status'], message: string): StoppedOutcome => ({ status, dealId, durationMs: durationMs(), message, stdout: new Uint8Array(), stderr: new Uint8Array() })
    switch (state) {
      case 'TIMEOUT': return stopped('timed_out', `Slurm job ${jobId} reached its time limit${where}`)
      case 'OUT_OF_MEMORY': return stopped('oom', `Slurm job ${jobId} went past its memory limit${where}`)
      case 'NODE_FAIL':
      case 'BOOT_FAIL': return lost('node_failed', `Slurm job ${jobId} ended ${state}${where}${info?.reason !== undefined && info.reason !== 'None' ? ` (${info.reason})` : ''}`)
      case 'PREEMPTED': return lost('preempted', `Slurm job ${jobId} was preempted${where}`)
      case 'CANCELLED': return weCancelled ? stopped('cancelled', `Slurm job ${jobId} cancelled`) : lost('backend_error', `Slurm job ${jobId} was cancelled on the cluster, not by this provider`)
      case undefined: return lost('backend_error', `Slurm job ${jobId} is unknown to the controller and left no result in ${dealDir}`)
      default: return lost('backend_error', `Slurm job ${jobId} ended ${state}${where} without a result (exit code ${String(info?.exitCode)}); see ${join(dealDir, `slurm-${jobId}.log`)}`)
    }
  }

  private async fromResult (dealId: Hash, dealDir: string, jobId: string, r: StagedResult, durationMs: number): Promise<JobOutcome | LostOutcome> {
    const message = r.message ?? `${r.status} on ${r.node}`
    if (r.status === 'succeeded' || r.status === 'failed') {
      const path = join(outFolder(dealDir, jobId), 'bundle')
      const bytes = await readCapped(path, this.maxBundleBytes)
      if (bytes === undefined) return { status: 'backend_error', dealId, durationMs, message: `job ${jobId} reported ${r.status} but staged back no bundle`, handle: handleOf(jobId) }
      const bundle = decodeBundle(bytes, this.maxBundleBytes)
      const resultHash = bundleHash(bytes)
      if (resultHash !== r.resultHash) return { status: 'backend_error', dealId, durationMs, message: `job ${jobId}: the bundle staged back hashes to ${resultHash}, the runner reported ${String(r.resultHash)}`, handle: handleOf(jobId) }
      return { status: bundle.exitCode === 0 ? 'succeeded' : 'failed', dealId, durationMs, exitCode: bundle.exitCode, bundle, resultHash }
    }
    if (STOPPED.has(r.status)) {
      return { status: r.status as StoppedOutcome['status'], dealId, durationMs, message, ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}), stdout: new Uint8Array(), stderr: new Uint8Array() }
    }
    if (REFUSED.has(r.status)) return { status: r.status as RefusedOutcome['status'], dealId, durationMs, message: `${message} (on ${r.node})` }
    return { status: 'backend_error', dealId, durationMs, message: `job ${jobId}: the runner reported '${r.status.slice(0, 40)}'` }
  }
}

/**
 * The executor as a provider's service: start() checks the engine and finds the GPUs,
 * run() runs a deal's job once (a second call for the same deal joins the first),
 * recover() re-attaches to the jobs a previous process left running, and stop() detaches
 * from running jobs without killing them, so that the next process can recover them.
 */
import { join, resolve } from 'node:path'
import type Docker from 'dockerode'
import { newDocker } from './dockerClient.js'
import type { Hash } from '../protocol/index.js'
import { ExecutorError } from './errors.js'
import { checkNvidiaRuntime, discoverGpus, gpuCapacity, type ExecFn, type GpuCapacity, type GpuInfo, type NvidiaRuntimeStatus } from './gpu.js'
import { DEFAULT_WORK_DIR, findJobContainers, reattach, runJob, unreachableMessage, type JobContainer, type JobLimits, type JobOutcome, type RunJobOptions, type RunJobRequest } from './runner.js'

export const DEFAULT_LIMITS: Readonly<JobLimits> = Object.freeze({ maxLogBytes: 1024 * 1024, maxOutputBytes: 256 * 1024 * 1024 })

export interface ExecutorOptions {
  docker?: Docker
  /** Parent of the job folders (must be visible to dockerd). */
  workDir?: string
  limits?: JobLimits
  /** Whether this provider lets modules that ask for network have it. Default false. */
  allowNetwork?: boolean
  /** How nvidia-smi is run (tests); false skips GPU discovery. */
  nvidiaSmi?: ExecFn | false
}

/** A job as the node asks for it: the provider-wide settings come from the executor. */
export type ExecutorJob = Omit<RunJobRequest, 'limits' | 'allowNetwork' | 'workDir'>

export class Executor {
  readonly docker: Docker
  private readonly jobs = new Map<Hash, Promise<JobOutcome>>()
  private detach = new AbortController()
  private running = false
  private gpuList: GpuInfo[] = []
  private runtime: NvidiaRuntimeStatus | undefined

  constructor (private readonly opts: ExecutorOptions = {}) {
    this.docker = opts.docker ?? newDocker()
  }

  /** Checks that Docker answers (EXECUTOR_DOCKER_UNREACHABLE with the fix otherwise) and discovers GPUs. */
  async start (): Promise<void> {
    if (this.running) return
    try {
      await this.docker.ping()
    } catch (cause) {
      throw new ExecutorError('EXECUTOR_DOCKER_UNREACHABLE', unreachableMessage(this.docker, cause), { cause })
    }
    if (this.opts.nvidiaSmi !== false) {
      this.gpuList = await discoverGpus(this.opts.nvidiaSmi)
      if (this.gpuList.length > 0) this.runtime = await checkNvidiaRuntime(this.docker)
    }
    this.detach = new AbortController()
    this.running = true
  }

  /** Detaches from running jobs (their containers keep running) and waits for the runners to return. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.detach.abort()
    await Promise.allSettled([...this.jobs.values()])
  }

  get gpus (): readonly GpuInfo[] { return this.gpuList }

  /** Whether Docker can give GPUs to containers (undefined when there are none). */
  get gpuRuntime (): NvidiaRuntimeStatus | undefined { return this.runtime }

  /** What the provider may offer: its GPUs only when Docker can actually attach them. */
  capacity (): GpuCapacity {
    if (this.runtime?.available !== true) return { gpus: 0, gpuVram: 0, gpuModel: '', deviceIds: [] }
    return gpuCapacity(this.gpuList)
  }

  /** Runs a deal's job; a second call while it runs returns the same outcome. */
  async run (job: ExecutorJob, opts: Omit<RunJobOptions, 'detach'> = {}): Promise<JobOutcome> {
    if (!this.running) throw new ExecutorError('EXECUTOR_NOT_STARTED', 'call start() before run()')
    const current = this.jobs.get(job.dealId)
    if (current !== undefined) return await current
    const p = runJob(this.docker, {
      ...job,
      limits: this.opts.limits ?? DEFAULT_LIMITS,
      allowNetwork: this.opts.allowNetwork ?? false,
      workDir: this.opts.workDir ?? DEFAULT_WORK_DIR
    }, { ...opts, detach: this.detach.signal })
    return await this.track(job.dealId, p)
  }

  /**
   * Re-attaches to the job containers of this executor (those whose job folder lies in its
   * workDir) after a restart: each comes back with the promise of its outcome (collected
   * when the job ends, or at once if it already has).
   */
  async recover (opts: Omit<RunJobOptions, 'detach'> = {}): Promise<Array<{ job: JobContainer, outcome: Promise<JobOutcome> }>> {
    if (!this.running) throw new ExecutorError('EXECUTOR_NOT_STARTED', 'call start() before recover()')
    // Only this executor's jobs: several providers (a devnet) may share one engine.
    const mine = join(resolve(this.opts.workDir ?? DEFAULT_WORK_DIR), '/')
    const found = (await findJobContainers(this.docker)).filter((c) => c.meta?.jobDir.startsWith(mine) === true)
    return found.map((job) => {
      const current = this.jobs.get(job.dealId)
      if (current !== undefined) return { job, outcome: current }
      const p = reattach(this.docker, job.dealId, { ...opts, detach: this.detach.signal }).then((o): JobOutcome => o ?? {
        status: 'docker_error', dealId: job.dealId, durationMs: 0, message: 'the container vanished before it could be collected'
      })
      return { job, outcome: this.track(job.dealId, p) }
    })
  }

  /** The outcome of a job this executor runs or recovered; undefined when it knows none. */
  outcome (dealId: Hash): Promise<JobOutcome> | undefined {
    return this.jobs.get(dealId)
  }

  private async track (dealId: Hash, p: Promise<JobOutcome>): Promise<JobOutcome> {
    this.jobs.set(dealId, p)
    try {
      return await p
    } finally {
      if (this.jobs.get(dealId) === p) this.jobs.delete(dealId)
    }
  }
}

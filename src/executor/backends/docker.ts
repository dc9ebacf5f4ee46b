/**
 * The docker backend: the deal's container on this machine's Docker Engine (runner.ts), as a
 * provider has always run it. A job whose container still runs (a provider restarted) is
 * re-attached by its deal label first; the provider stopping kills the container (`detach`
 * counts as a cancel here: the next process runs the job again).
 */
import { statfs } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import type Docker from 'dockerode'
import { discoverGpus, gpuCapacity, type ExecFn } from '../gpu.js'
import { reattach, runJob, type JobLimits } from '../runner.js'
import type { GpuRequest } from '../container.js'
import { offeredMillicores, type CpuReserve } from '../cpuReserve.js'
import type { BackendCapacity, BackendJob, BackendOutcome, BackendRunOptions, ExecutorBackend } from './types.js'
import { MAX_DISK_MIB } from '../../protocol/constants.js'

export interface DockerBackendOptions {
  docker: Docker
  /** Folder whose file system's free space is offered as disk. */
  dataDir: string
  limits: JobLimits
  allowNetwork: boolean
  /** Parent of the per-job folders (must be visible to dockerd). */
  workDir?: string
  /** How nvidia-smi is run (tests). */
  nvidiaSmi?: ExecFn
  /** CPU kept for the node and never offered (cpuReserve.ts; default one core or 10 %, at most half). */
  reserveCpu?: CpuReserve
}

/** The GPUs a job with `gpus` GPUs gets: that many of the discovered devices, by UUID (none when too few: the runner then asks Docker by count). */
export function gpuRequestFor (gpus: number, deviceIds: readonly string[]): GpuRequest | undefined {
  return gpus > 0 && deviceIds.length >= gpus ? { deviceIds: deviceIds.slice(0, gpus) } : undefined
}


export class DockerBackend implements ExecutorBackend {
  readonly kind = 'docker' as const
  private gpuIds: string[] = []

  constructor (private readonly o: DockerBackendOptions) {}

  async capacity (): Promise<BackendCapacity> {
    const gpus = gpuCapacity(await discoverGpus(this.o.nvidiaSmi).catch(() => []))
    this.gpuIds = gpus.deviceIds
    const fs = await statfs(this.o.dataDir)
    return {
      cpu: offeredMillicores(cpus().length * 1000, this.o.reserveCpu),
      ram: Math.floor(totalmem() / (1024 * 1024)),
      gpus: gpus.gpus,
      gpuVram: gpus.gpuVram,
      disk: Math.min(MAX_DISK_MIB, Math.floor(Number(BigInt(fs.bavail) * BigInt(fs.bsize) / (1024n * 1024n)))),
      gpuModel: gpus.gpuModel,
      source: 'this machine (cpus less the node\'s reserve, memory, nvidia-smi, free disk)'
    }
  }

  async run (job: BackendJob, opts: BackendRunOptions = {}): Promise<BackendOutcome> {
    const signal = anySignal([opts.signal, opts.detach])
    const again = await reattach(this.o.docker, job.dealId, { signal })
    if (again !== undefined && again.status !== 'docker_unreachable') return again
    const gpus = gpuRequestFor(job.resources.gpus, this.gpuIds)
    return await runJob(this.o.docker, {
      dealId: job.dealId,
      spec: job.spec,
      inputs: job.inputs,
      resources: job.resources,
      timeoutS: job.timeoutS,
      limits: this.o.limits,
      allowNetwork: this.o.allowNetwork,
      ...(gpus !== undefined ? { gpus } : {}),
      ...(this.o.workDir !== undefined ? { workDir: this.o.workDir } : {})
    }, { signal, ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}) })
  }
}

function anySignal (signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const s = signals.filter((x): x is AbortSignal => x !== undefined)
  return s.length === 0 ? undefined : s.length === 1 ? s[0] : AbortSignal.any(s)
}

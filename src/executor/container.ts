/**
 * The create options of a job container: the whole security posture in one pure function,
 * so tests can inspect exactly what is sent to Docker (GPU requests included) without a GPU.
 */
import type Docker from 'dockerode'
import type { RenderedCommand } from '../protocol/index.js'
import type { Hash, Resources } from '../protocol/index.js'
import { JOB_CPU_SHARES } from './cpuReserve.js'

export const LABEL_DEAL = 'lilynode.deal'
export const LABEL_JOB = 'lilynode.job'
export const DEFAULT_PIDS_LIMIT = 256
export const DEFAULT_TMPFS_MIB = 64
export const DEFAULT_NOFILE = 1024

/** Which GPUs a job gets: a number of any GPUs, or specific device ids (UUIDs or indexes). */
export type GpuRequest = { count: number } | { deviceIds: string[] }

/** What a restarted runner needs to finish a job; stored as JSON in the LABEL_JOB label. */
export interface JobMeta {
  v: 1
  /** Unix ms after which the job is killed as timed out. */
  deadlineMs: number
  maxLogBytes: number
  maxOutputBytes: number
  /** Host folder holding in/ and out/ (bind-mounted into the container). */
  jobDir: string
}

export interface ContainerPlan {
  dealId: Hash
  imageId: string
  rendered: RenderedCommand
  resources: Resources
  network: boolean
  gpus?: GpuRequest
  /** Host folders bind-mounted at the spec's inputPath (read-only) and outputPath. */
  inputDir: string
  outputDir: string
  inputPath: string
  outputPath: string
  /** `uid:gid` the job runs as. */
  user: string
  meta: JobMeta
  pidsLimit?: number
  tmpfsMiB?: number
  name?: string
}

const MiB = 1024 * 1024

/** Docker DeviceRequests for a GPU request (driver nvidia, capability gpu). */
export function deviceRequests (gpus: GpuRequest | undefined): Docker.DeviceRequest[] | undefined {
  if (gpus === undefined) return undefined
  if ('count' in gpus) return gpus.count > 0 ? [{ Driver: 'nvidia', Count: gpus.count, Capabilities: [['gpu']] }] : undefined
  return gpus.deviceIds.length > 0 ? [{ Driver: 'nvidia', DeviceIDs: [...gpus.deviceIds], Capabilities: [['gpu']] }] : undefined
}

export function containerCreateOptions (p: ContainerPlan): Docker.ContainerCreateOptions {
  // json-file keeps logs for a restarted runner; bounded well above the cap (JSON framing
  // costs up to ~70 bytes per line) so the daemon's disk is safe before the kill lands.
  const logMax = Math.ceil((p.meta.maxLogBytes * 2 * 8 + 4 * MiB) / 1024)
  const opts: Docker.ContainerCreateOptions = {
    Image: p.imageId,
    Cmd: p.rendered.cmd,
    Env: p.rendered.env,
    User: p.user,
    Labels: { [LABEL_DEAL]: p.dealId, [LABEL_JOB]: JSON.stringify(p.meta) },
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    OpenStdin: false,
    Tty: false,
    NetworkDisabled: !p.network,
    HostConfig: {
      NetworkMode: p.network ? 'bridge' : 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${(p.tmpfsMiB ?? DEFAULT_TMPFS_MIB)}m,mode=1777` },
      Mounts: [
        { Type: 'bind', Source: p.inputDir, Target: p.inputPath, ReadOnly: true },
        { Type: 'bind', Source: p.outputDir, Target: p.outputPath, ReadOnly: false }
      ],
      PidsLimit: p.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      Memory: p.resources.ram * MiB,
      MemorySwap: p.resources.ram * MiB,
      NanoCpus: p.resources.cpu * 1_000_000,
      // below the node's weight: see cpuReserve.ts
      CpuShares: JOB_CPU_SHARES,
      Ulimits: [{ Name: 'nofile', Soft: DEFAULT_NOFILE, Hard: DEFAULT_NOFILE }],
      IpcMode: 'private',
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      LogConfig: { Type: 'json-file', Config: { 'max-size': `${logMax}k`, 'max-file': '1' } }
    }
  }
  if (p.rendered.entrypoint !== undefined) opts.Entrypoint = p.rendered.entrypoint
  if (p.name !== undefined) opts.name = p.name
  const dr = deviceRequests(p.gpus)
  if (dr !== undefined && opts.HostConfig !== undefined) opts.HostConfig.DeviceRequests = dr
  return opts
}

/** Parses the LABEL_JOB label; undefined when absent or malformed. */
export function parseJobMeta (label: string | undefined): JobMeta | undefined {
  if (label === undefined) return undefined
  try {
    const m = JSON.parse(label) as Partial<JobMeta>
    if (m.v !== 1 || typeof m.deadlineMs !== 'number' || typeof m.maxLogBytes !== 'number' ||
      typeof m.maxOutputBytes !== 'number' || typeof m.jobDir !== 'string') return undefined
    return m as JobMeta
  } catch {
    return undefined
  }
}

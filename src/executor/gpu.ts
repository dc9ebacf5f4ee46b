/**
 * GPU discovery (`nvidia-smi --query-gpu`) and the check that Docker can hand GPUs to a
 * container (the NVIDIA container runtime, or CDI). A provider offers only the GPUs found
 * here; a GPU job on an engine without the runtime is refused up front instead of failing
 * deep inside `docker start` (or hanging).
 */
import { execFile } from 'node:child_process'
import type Docker from 'dockerode'
import { ExecutorError } from './errors.js'

export interface GpuInfo {
  index: number
  uuid: string
  /** Model name as nvidia-smi prints it, e.g. "NVIDIA H100 80GB HBM3". */
  name: string
  /** Total memory in MiB. */
  memoryMiB: number
}

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits'] as const

/** Runs a program and returns its stdout; rejects with the spawn error (code ENOENT when absent). */
export type ExecFn = (file: string, args: readonly string[]) => Promise<string>

const defaultExec: ExecFn = async (file, args) => await new Promise((resolve, reject) => {
  execFile(file, [...args], { timeout: 15_000, maxBuffer: 1024 * 1024 }, (err, stdout) => {
    if (err !== null) reject(err)
    else resolve(stdout)
  })
})

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total[,…] --format=csv[,noheader][,nounits]`.
 * Extra columns after the first four are ignored; a header line and " MiB" units are accepted.
 */
export function parseNvidiaSmiCsv (text: string): GpuInfo[] {
  const out: GpuInfo[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('index')) continue
    const f = line.split(',').map((s) => s.trim())
    if (f.length < 4) throw new ExecutorError('EXECUTOR_NVIDIA_SMI', `nvidia-smi line has ${f.length} fields, want ≥ 4: "${line.slice(0, 120)}"`)
    const [index, uuid, name, mem] = f
    const memNum = mem.replace(/\s*MiB$/, '')
    if (!/^[0-9]+$/.test(index) || !/^[0-9]+$/.test(memNum) || !/^(GPU|MIG)-[0-9A-Za-z-]+$/.test(uuid) || name === '') {
      throw new ExecutorError('EXECUTOR_NVIDIA_SMI', `cannot parse nvidia-smi line "${line.slice(0, 120)}"`)
    }
    out.push({ index: Number(index), uuid, name, memoryMiB: Number(memNum) })
  }
  return out
}

/** The GPUs of this machine; [] when nvidia-smi is not installed. Other failures throw EXECUTOR_NVIDIA_SMI. */
export async function discoverGpus (exec: ExecFn = defaultExec): Promise<GpuInfo[]> {
  let stdout: string
  try {
    stdout = await exec('nvidia-smi', NVIDIA_SMI_ARGS)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new ExecutorError('EXECUTOR_NVIDIA_SMI', `nvidia-smi failed: ${(cause as Error).message.split('\n')[0]} (is the NVIDIA driver loaded?)`, { cause })
  }
  return parseNvidiaSmiCsv(stdout)
}

/** What a provider can put in its resource offer: one model, its count and per-GPU VRAM. */
export interface GpuCapacity {
  gpus: number
  /** Smallest total memory among the offered GPUs, in MiB. */
  gpuVram: number
  gpuModel: string
  /** Device UUIDs, for `DeviceRequests.DeviceIDs`. */
  deviceIds: string[]
}

/** The largest group of identical GPUs (ties: the model name that sorts first); zero when none. */
export function gpuCapacity (gpus: GpuInfo[]): GpuCapacity {
  const byModel = new Map<string, GpuInfo[]>()
  for (const g of gpus) byModel.set(g.name, [...(byModel.get(g.name) ?? []), g])
  const best = [...byModel.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))[0]
  if (best === undefined) return { gpus: 0, gpuVram: 0, gpuModel: '', deviceIds: [] }
  const group = best[1].sort((a, b) => a.index - b.index)
  return {
    gpus: group.length,
    gpuVram: Math.min(...group.map((g) => g.memoryMiB)),
    gpuModel: best[0],
    deviceIds: group.map((g) => g.uuid)
  }
}

export interface NvidiaRuntimeStatus {
  available: boolean
  via?: 'runtime' | 'cdi'
  /** Why not, and how to fix it, when unavailable. */
  message: string
}

interface InfoWithCdi { Runtimes?: Record<string, unknown>, CDISpecDirs?: string[] }

/**
 * Whether this Docker Engine can give GPUs to containers: an `nvidia` runtime in
 * `docker info` (nvidia-container-toolkit), or CDI spec folders (Docker ≥ 25). Docker errors
 * propagate (the caller maps them to docker_unreachable).
 */
export async function checkNvidiaRuntime (docker: Docker): Promise<NvidiaRuntimeStatus> {
  const info = await docker.info() as InfoWithCdi
  if (info.Runtimes !== undefined && Object.hasOwn(info.Runtimes, 'nvidia')) {
    return { available: true, via: 'runtime', message: 'nvidia runtime registered' }
  }
  if (Array.isArray(info.CDISpecDirs) && info.CDISpecDirs.length > 0) {
    return { available: true, via: 'cdi', message: `CDI spec folders: ${info.CDISpecDirs.join(', ')}` }
  }
  const runtimes = Object.keys(info.Runtimes ?? {}).join(', ') || 'none'
  return {
    available: false,
    message: `this Docker Engine cannot run GPU containers (runtimes: ${runtimes}; no CDI): install nvidia-container-toolkit, run \`nvidia-ctk runtime configure --runtime=docker\` and restart dockerd`
  }
}

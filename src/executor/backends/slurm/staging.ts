/**
 * The deal folder on the shared file system, the one place the provider and the compute node
 * meet (it must be mounted at the same path on both, as a cluster's home or scratch is):
 *
 *   <workDir>/<deal id hex>/
 *     job.json, module.json, inputs.bin   staged in by the provider before sbatch
 *     job.sh                              the batch script
 *     jobs                                one Slurm job id per line, one per attempt
 *     slurm-<jobid>.log                   the batch script's own output (diagnosis only)
 *     out-<jobid>/bundle, result.json     staged back by the compute node; result.json last
 *
 * The module's container never sees this folder: the compute node copies the inputs to its
 * local disk, and only the result bundle comes back.
 */
import { chmod, lstat, mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hash, Resources } from '../../../protocol/index.js'
import type { JobLimits } from '../../runner.js'

export const STAGED_VERSION = 1
export const MAX_JOB_JSON_BYTES = 64 * 1024
export const MAX_RESULT_JSON_BYTES = 64 * 1024

/** job.json: what the compute node's runner needs beside the module spec and the inputs. */
export interface StagedJob {
  v: typeof STAGED_VERSION
  dealId: Hash
  resources: Resources
  timeoutS: number
  limits: JobLimits
  allowNetwork: boolean
}

/** result.json: the runner's outcome, written after the bundle (its presence means "done"). */
export interface StagedResult {
  v: typeof STAGED_VERSION
  jobId: string
  node: string
  /** A JobOutcome status (succeeded, failed, timed_out, oom, …). */
  status: string
  exitCode?: number
  /** For succeeded/failed: keccak256 of the bundle file. */
  resultHash?: Hash
  message?: string
  durationMs: number
}

export const dealFolderName = (dealId: Hash): string => dealId.slice(2)
export const jobName = (dealId: Hash): string => `lily-${dealId.slice(2, 18)}`
export const jobComment = (dealId: Hash): string => `lilynode deal ${dealId}`
export const outFolder = (dealDir: string, jobId: string): string => join(dealDir, `out-${jobId}`)

/** Writes a file whole or not at all: temp file, fsync, rename. */
export async function writeAtomic (path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  const fh = await open(tmp, 'w', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
}

/** Reads at most `max` bytes of a file; undefined when absent; throws when larger. */
export async function readCapped (path: string, max: number): Promise<Uint8Array | undefined> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new Error(`${path} is not a regular file`)
    if (st.size > max) throw new Error(`${path} holds ${st.size} bytes, more than the ${max} allowed`)
    return new Uint8Array(await fh.readFile())
  } finally {
    await fh.close()
  }
}

/**
 * A folder of ours that no one else may write to: whoever could write the deal folder could
 * rewrite a staged job (its limits, its network consent) or forge the result staged back.
 */
export async function ensureDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await lstat(dir)
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new Error(`${dir} must be a folder owned by this user (uid ${uid ?? '?'}), not a link or someone else's`)
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700)
}

/** The job ids submitted for a deal, oldest first. */
export async function submittedJobs (dealDir: string): Promise<string[]> {
  try {
    return (await readFile(join(dealDir, 'jobs'), 'utf8')).split('\n').filter((l) => /^[0-9]+$/.test(l))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
}

/** Quotes a word for /bin/sh. */
export function shQuote (s: string): string {
  if (s.includes('\0') || s.includes('\n')) throw new Error('a path in the batch script may not hold a NUL or a newline')
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export interface BatchScriptOptions {
  /** Node.js on the compute nodes. */
  node: string
  /** The runner entry (nodeRunner.js) on the compute nodes. */
  runner: string
  dealDir: string
  /** DOCKER_HOST for the compute node's container engine, when not the default socket. */
  dockerHost?: string
}

/**
 * The batch script: a fixed, minimal environment (nothing of the provider's own travels:
 * `--export=NONE`) and one exec of the runner, which stages in, runs the container and
 * stages back.
 */
export function batchScript (o: BatchScriptOptions): string {
  return [
    '#!/bin/sh',
    '# lilynode deal job: runs the module container on this node and stages the result back',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH',
    ...(o.dockerHost !== undefined ? [`DOCKER_HOST=${shQuote(o.dockerHost)}; export DOCKER_HOST`] : []),
    `exec ${shQuote(o.node)} ${shQuote(o.runner)} ${shQuote(o.dealDir)}`,
    ''
  ].join('\n')
}

/** The GPUs Slurm gave this job (SLURM_JOB_GPUS, else CUDA_VISIBLE_DEVICES), as Docker device ids. */
export function allocatedGpus (env: NodeJS.ProcessEnv): string[] {
  const list = env.SLURM_JOB_GPUS ?? env.CUDA_VISIBLE_DEVICES ?? ''
  return list.split(',').map((s) => s.trim()).filter((s) => /^[A-Za-z0-9-]{1,80}$/.test(s))
}

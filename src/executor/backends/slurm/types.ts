/**
 * What the Slurm backend needs from a controller, whichever way it is reached (the Slurm
 * commands on this host, or slurmrestd): nodes, one partition, submit, look up, cancel.
 */
import { LilyError } from '../../../protocol/errors.js'

/** One generic resource of a node, e.g. `gpu:a100:4` → { name: 'gpu', type: 'a100', count: 4 }. */
export interface Gres {
  name: string
  type: string | undefined
  count: number
}

export interface SlurmNode {
  name: string
  /** Base state and flags, upper case: e.g. ['IDLE'], ['MIXED', 'DRAIN'], ['DOWN', 'NOT_RESPONDING']. */
  state: string[]
  cpus: number
  /** MiB. */
  realMemory: number
  /** MiB kept for the node's own daemons (MemSpecLimit), 0 when none. */
  memSpecLimit: number
  /** MiB of TmpDisk. */
  tmpDisk: number
  gres: Gres[]
  partitions: string[]
  reason: string
}

export interface SlurmPartition {
  name: string
  /** UP, DOWN, DRAIN or INACTIVE. */
  state: string
  /** Minutes; undefined = unlimited. */
  maxTimeMin: number | undefined
  maxMemPerNode: number | undefined
  maxCpusPerNode: number | undefined
}

/** A job as the controller reports it. */
export interface SlurmJob {
  jobId: string
  name: string
  /** Upper case, without the `+` suffixes: PENDING, RUNNING, COMPLETED, NODE_FAIL, … */
  state: string
  reason: string
  /** The node list (empty while pending). */
  nodes: string
  /** The batch script's exit code and the signal that ended it, when known. */
  exitCode: number | undefined
  signal: number | undefined
  workDir: string
  comment: string
}

export interface SubmitRequest {
  name: string
  partition: string
  account?: string
  qos?: string
  cpusPerTask: number
  /** MiB for the whole job (the container's memory plus the runner's). */
  memMiB: number
  /** MiB of node-local disk; 0 = no requirement. */
  tmpMiB: number
  timeMin: number
  /** `gpu:<type>:<n>` or `gpu:<n>`; undefined without GPUs. */
  gres?: string
  workDir: string
  /** Path of the batch script's own log (stdout and stderr). */
  output: string
  comment: string
  /** The batch script's text (#!/bin/sh …). */
  script: string
  /** Path the script is also written to (the CLI submits the file). */
  scriptPath: string
}

export interface SlurmClient {
  readonly via: 'cli' | 'rest'
  nodes: () => Promise<SlurmNode[]>
  partition: (name: string) => Promise<SlurmPartition | undefined>
  /** Submits one batch job; returns its id. Throws SlurmError('SLURM_SUBMIT') with the controller's reason. */
  submit: (req: SubmitRequest) => Promise<string>
  /** The job, or undefined when the controller no longer (or never) knew it. */
  job: (jobId: string) => Promise<SlurmJob | undefined>
  /** This user's jobs of that name the controller still knows (any state). */
  jobsByName: (name: string) => Promise<SlurmJob[]>
  cancel: (jobId: string) => Promise<void>
  /** Asks the scheduler whether it could ever run such a job (sbatch --test-only); throws why not. */
  testSubmit?: (req: Omit<SubmitRequest, 'script' | 'scriptPath' | 'output' | 'workDir' | 'comment' | 'name'>) => Promise<void>
}

export type SlurmErrorCode = 'SLURM_UNREACHABLE' | 'SLURM_SUBMIT' | 'SLURM_BAD_REPLY' | 'SLURM_CANCEL' | 'SLURM_CONFIG'

export class SlurmError extends LilyError<SlurmErrorCode> {
  override readonly name = 'SlurmError'
}

/** Job states after which the job will not run again. */
export const TERMINAL_JOB_STATES: ReadonlySet<string> = new Set([
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY', 'REVOKED', 'SPECIAL_EXIT'
])

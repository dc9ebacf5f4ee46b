/**
 * The executor backend: where a deal's container runs. `docker` runs it on this machine's
 * engine (runner.ts); `slurm` hands it to a cluster's scheduler as one batch job, whose
 * compute node runs the very same runner. Whatever the backend, a job ends in a typed
 * outcome (never a throw) and a completed job's result bundle is built by the same code, so
 * the same job gives the same result hash on both.
 */
import type { JobInputs, ModuleSpec } from '../../protocol/index.js'
import type { Hash, Resources } from '../../protocol/index.js'
import type { JobOutcome, JobProgress } from '../runner.js'

export type BackendKind = 'docker' | 'slurm'

/** A deal's job as the provider asks for it; limits and network consent are the backend's settings. */
export interface BackendJob {
  dealId: Hash
  spec: ModuleSpec
  inputs: JobInputs
  resources: Resources
  timeoutS: number
}

export interface BackendRunOptions {
  /** The deal is over (closed on-chain, or given up): stop the job for good (docker kill, scancel). */
  signal?: AbortSignal
  /**
   * The provider is stopping: stop watching. A backend that can leave the job running does
   * (slurm: the batch job runs on and is re-attached from its handle); docker kills it, as it
   * always has.
   */
  detach?: AbortSignal
  /** A handle `onHandle` gave for this deal before (e.g. a Slurm job id kept in the deal store). */
  handle?: string
  /** Called once the job exists, before the backend waits for it: keep the handle to re-attach. */
  onHandle?: (handle: string) => Promise<void>
  onProgress?: (e: JobProgress | BackendProgress) => void
}

export type BackendProgress =
  | { kind: 'submitted', handle: string, attempt: number }
  | { kind: 'scheduled', handle: string, node: string }
  | { kind: 'resubmitting', handle: string, why: string }

/**
 * The job was lost by the infrastructure rather than ended by itself: a node failed under it,
 * the scheduler preempted it, or the backend could not run it (no result came back). Not a
 * result of the job — nothing a mediator could reproduce — so it is never hashed: the provider
 * retries while the deal has time, and the creator is refunded through the deal's timeout if not.
 */
export interface LostOutcome {
  status: 'node_failed' | 'preempted' | 'backend_error'
  dealId: Hash
  durationMs: number
  message: string
  handle?: string
}

/** The backend stopped watching; the job runs on under `handle`. */
export interface HandedOffOutcome {
  status: 'detached'
  dealId: Hash
  durationMs: number
  message: string
  handle: string
}

export type BackendOutcome = JobOutcome | LostOutcome | HandedOffOutcome

/** What one job may ask of this backend: the capacity of a resource offer. */
export interface BackendCapacity extends Resources {
  gpuModel: string
  /** A line for the operator: where the figures come from. */
  source: string
}

export interface ExecutorBackend {
  readonly kind: BackendKind
  /**
   * What the provider may offer now; undefined when nothing can be scheduled at all (every
   * node down or drained): the provider then withdraws its offer.
   */
  capacity: () => Promise<BackendCapacity | undefined>
  /** Runs (or, given a handle or finding the deal's job, re-attaches to) a deal's job. Never throws. */
  run: (job: BackendJob, opts?: BackendRunOptions) => Promise<BackendOutcome>
  /** How often capacity() should be read again (undefined: only when the offer is renewed). */
  readonly capacityRefreshMs?: number
}

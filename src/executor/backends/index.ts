/** Executor backends: where a deal's container runs (docker: this machine; slurm: a cluster). */
export { DockerBackend, gpuRequestFor, type DockerBackendOptions } from './docker.js'
export type { ExecutorBackend, BackendKind, BackendJob, BackendRunOptions, BackendProgress, BackendOutcome, BackendCapacity, LostOutcome, HandedOffOutcome } from './types.js'
export * from './slurm/index.js'

/** The slurm backend: deals as Slurm batch jobs (see backend.ts), via the Slurm commands or slurmrestd. */
export { SlurmBackend, handleOf, jobIdOf, DEFAULT_RUNNER, DEFAULT_RUNNER_MEM_MIB, DEFAULT_OVERHEAD_S, DEFAULT_SLURM_POLL_MS, DEFAULT_CAPACITY_REFRESH_MS, DEFAULT_MAX_ATTEMPTS, type SlurmBackendOptions } from './backend.js'
export { SlurmCli, type SlurmCliOptions } from './cli.js'
export { SlurmRest, type SlurmRestOptions } from './rest.js'
export { clusterCapacity, nodeShape, type GpuType, type CapacityOptions, type ClusterCapacity, type NodeShape } from './capacity.js'
export { parseOneliner, parseOneliners, parseGres, parseNodeState, unusableBecause, parseTimeLimit, nodeFromScontrol, partitionFromScontrol, jobFromScontrol } from './parse.js'
export { batchScript, ensureDir, shQuote, jobName, jobComment, dealFolderName, outFolder, submittedJobs, allocatedGpus, type StagedJob, type StagedResult, type BatchScriptOptions } from './staging.js'
export { SlurmError, TERMINAL_JOB_STATES, type SlurmClient, type SlurmJob, type SlurmNode, type SlurmPartition, type SubmitRequest, type Gres, type SlurmErrorCode } from './types.js'

/**
 * The node: composition of the layers below (p2p host, matcher, chain, executor) into a
 * running LilyNode with its epoch loop, durable store and offer pool, and the roles built on
 * it (provider, creator, mediator, request relay, bootstrap).
 */
export { LilyNode, type LilyNodeOptions, type LilyNodeEvents, type OwnMatch, type AgreedDeal, type EpochEvent, type EpochRecord, type TestHooks } from './network.js'
export { NodeStore, Bucket, epochKey, toJson, fromJson, type Sub, type StoreOp } from './store.js'
export { NodeError, type NodeErrorCode } from './errors.js'
export { OfferPool, type PoolOffer } from './pool.js'
export { runBootstrap, bootstrapIdentity, type BootstrapOptions } from './bootstrapNode.js'
export {
  RoleError, readProfile, resolveModule, parseInputs, runProvider, runMediator, runCreator,
  type RoleOutput, type ProviderRunOptions, type MediatorRunOptions, type CreatorRunOptions, type CreatorRunResult
} from './roles/roles.js'
export { runCreatorNode, type CreatorNodeOptions, type CreatorNodeContext, type AttachedService } from './roles/creatorNode.js'
export { parseWei, parseCount, creatorExitCode } from './roles/outcome.js'
export type { CreatorEvent } from './roles/creator.js'
export type { DealRecord, DealState } from './roles/deals.js'
export { createLogger, logLevelFromEnv, type Logger, type LogLevel } from '../protocol/index.js'
/** The wire types the commands name. */
export type { Address, Hash } from '../protocol/index.js'
export { loadProfile, type Profile } from '../protocol/index.js'
export { RoleHost } from './roles/host.js'
export { GasLedger } from './roles/gas.js'
export { meteredEscrow } from './roles/gas.js'
export { CreatorError } from './roles/creator.js'
export { CreatorRole } from './roles/creator.js'
export type { JobRequest } from './roles/creator.js'
export { DealStore } from './roles/deals.js'
export type { KvStore } from './roles/deals.js'
export { describe } from './roles/util.js'
export type { JobRecord } from './jobs/records.js'
export { JobRecords } from './jobs/records.js'
export { TERMINAL_STATES } from './roles/deals.js'
export { peerViews } from './query.js'
export { bundleFiles } from './jobs/outputs.js'
export { bundleOf } from './jobs/outputs.js'
export { executorPort } from './roles/adapters.js'
export type { ExecutorPort } from './roles/ports.js'
export type { JobFilter } from './jobs/records.js'
export type { JobFailure } from './jobs/records.js'
export type { OutputFile } from './jobs/outputs.js'
export type { JobStageRecord } from './jobs/records.js'
export type { JobRecordState } from './jobs/records.js'
export type { JobSource } from './jobs/records.js'
export { JOB_RECORD_STATES } from './jobs/records.js'
export { sleep } from './roles/util.js'
export { providerLogSource, openJobLogs, bundleLogChunks, providerPeer, type JobLogs, type JobLogsDeps, type ProviderLogSourceOptions } from './jobs/logs.js'
export { serveLocalLogs, openLocalLogs, logSocketPath, LOG_SOCKET, MAX_RELAY_CLIENTS, type LogRelay, type OpenLogs } from './jobs/logRelay.js'

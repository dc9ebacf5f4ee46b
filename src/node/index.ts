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
export { createLogger, logLevelFromEnv, type Logger, type LogLevel } from '../protocol/logger.js'
/** The wire types the commands name. */
export type { Address, Hash } from '../protocol/types.js'
export { loadProfile, type Profile } from '../protocol/profile.js'

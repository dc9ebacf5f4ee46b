/** The SDK: LilyClient and everything its API names. */
export {
  LilyClient, jobResources, DEFAULT_COLLATERAL, DEFAULT_MAX_PRICE, DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S,
  type LilyClientOptions, type RunOptions, type QueryOptions, type QueryAnswer, type EpochInfo, type ModuleRef, type UnfinishedDeal
} from './client.js'
export { LilyJob } from './job.js'
export { LilyError, SdkError, type SdkErrorCode, type LilyErrorCode } from './errors.js'
export { LilyWallet, type ChainBalanceResult, type ChainConnectOptions, type ChainTxResult } from './wallet.js'
export type {
  JobEvent, JobStage, JobResult, JobOutcome,
  OfferedEvent, MatchedEvent, OpenedEvent, RunningEvent, ResultEvent, AcceptedEvent, OutputsEvent,
  PaidEvent, ChallengingEvent, ChallengedEvent, ResolvedEvent, RefundedEvent, FailedEvent
} from './events.js'
export {
  chainDeploy, chainBalance, chainDeposit, chainWithdraw, chainMediatorRegister, parseAddress, parseAmount, ChainCommandError,
  type ChainDeployResult, type ChainMediatorResult
} from './chainChores.js'
export { runRequest, type RequestCommandOptions, type RequestOutcome } from './request.js'
export {
  LilyJobs, bundleFiles, describeJob, JOB_RECORD_STATES,
  type JobDescription, type OutputFile, type JobRecord, type JobFilter, type JobStageRecord, type JobFailure, type JobRecordState, type JobSource
} from './jobs.js'
export { estimate, estimateFrom, formatEstimate, estimateJson, offersOf, fitJobOf, MAX_ESTIMATE_PAGES, type Estimate, type EstimateJob, type EstimateOptions } from './estimate.js'
export { LilyLogs, LogsRefusal, type LogsOptions, type LogChunk, type LogStreamName, type LogsCode } from './logs.js'

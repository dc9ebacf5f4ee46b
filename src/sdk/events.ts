/**
 * What `LilyClient.run` reports: one typed event per stage of a job (the creator role's
 * events, discriminated by `stage`), and the final JobResult once the deal is settled.
 * The CLI prints these same objects (`lilynode run --json` writes one per line).
 */
import type { Address, Hash } from '../protocol/index.js'
import type { CreatorEvent } from '../node/index.js'
import type { DealRecord } from '../node/index.js'
import type { JobFailure } from '../node/index.js'

interface EventBase {
  /** Unix ms. */
  at: number
  /** Since the job was submitted. */
  elapsedMs: number
  message?: string
}

/** The job offer was signed and published (again on a re-offer, with a new hash). */
export interface OfferedEvent extends EventBase { stage: 'offered', jobOfferHash: Hash, /** The job's record id (the first offer only): `lilynode describe|get <id>`. */ jobId?: string }
/** Every node's matcher paired the job with a provider. */
export interface MatchedEvent extends EventBase { stage: 'matched', dealId: Hash, provider: Address, price: bigint, collateral: bigint }
/** The deal is open on-chain; `tx` when this client opened it. */
export interface OpenedEvent extends EventBase { stage: 'opened', dealId: Hash, tx?: Hash }
/** The provider fetched the module and inputs and runs the job. */
export interface RunningEvent extends EventBase { stage: 'running', dealId: Hash, provider: Address }
/** The result bundle arrived and its hash was checked; `message` says why it was not accepted. */
export interface ResultEvent extends EventBase { stage: 'result', dealId: Hash, resultHash?: Hash, exitCode: number | null, stdout: string }
/** The result was accepted (ResultAcceptance signed and sent to the provider). */
export interface AcceptedEvent extends EventBase { stage: 'accepted', dealId: Hash, resultHash: Hash }
/** Outputs were written; `message` is the folder. */
export interface OutputsEvent extends EventBase { stage: 'outputs', dealId: Hash, outputs: string[] }
/** The provider was paid on-chain (complete, or claim after the challenge window). */
export interface PaidEvent extends EventBase { stage: 'paid', dealId: Hash, provider: Address, price: bigint, resultHash?: Hash }
/** The result is about to be challenged: `fee` is the mediation fee it spends (said before the transaction). */
export interface ChallengingEvent extends EventBase { stage: 'challenging', dealId: Hash, fee: bigint }
/** The result was challenged on-chain. */
export interface ChallengedEvent extends EventBase { stage: 'challenged', dealId: Hash, tx?: Hash }
/** A mediator ruled. */
export interface ResolvedEvent extends EventBase { stage: 'resolved', dealId: Hash, winner: 'creator' | 'provider' }
/** No result in time: price and collateral went back to the creator. */
export interface RefundedEvent extends EventBase { stage: 'refunded', dealId: Hash, price: bigint }
/** The job failed before settling; `reason` is typed (EXECUTOR_IMAGE_MISSING, …) when the provider said why. */
export interface FailedEvent extends EventBase { stage: 'failed', dealId?: Hash, provider?: Address, reason?: string }

export type JobEvent =
  | OfferedEvent | MatchedEvent | OpenedEvent | RunningEvent | ResultEvent | AcceptedEvent
  | OutputsEvent | PaidEvent | ChallengingEvent | ChallengedEvent | ResolvedEvent | RefundedEvent | FailedEvent

export type JobStage = JobEvent['stage']

/**
 * The creator role's event as a JobEvent. The creator role sets each stage's fields (see
 * creator.ts); the object is passed on unchanged, so `--json` lines stay what they were.
 */
export function toJobEvent (e: CreatorEvent): JobEvent {
  return e as JobEvent
}

/** How a settled job ended. */
export type JobOutcome =
  /** The provider was paid (complete, or claim after the challenge window). */
  | 'paid'
  /** No result in time: the price and the provider's collateral went to the creator. */
  | 'refunded'
  /** A mediator found the result wrong: price and collateral went to the creator. */
  | 'creator-won'
  /** A mediator upheld a challenged result: the provider was paid. */
  | 'provider-won'
  /** The deal was never opened on-chain before its deadline. */
  | 'expired'
  /** Any other end state (see `record.state` and `reason`). */
  | 'failed'

export interface JobResult {
  /** The job's record in the data dir (`lilynode describe <jobId>`). */
  jobId?: string
  /** Why it failed, typed, when it did (the provider's signed outcome, or a non-zero exit with the tail of stderr). */
  failure?: JobFailure
  outcome: JobOutcome
  /** The exit status `lilynode run` gives this outcome (0 paid, 3 creator won, 4 refunded, 5 expired, 1 other). */
  exitStatus: number
  /** Why, when the outcome is not a payment for a good result. */
  reason: string
  dealId: Hash
  jobOfferHash: Hash
  provider: Address
  price: bigint
  collateral: bigint
  resultHash?: Hash
  /** The job's exit code, from the result bundle (null when it was killed or never ran). */
  exitCode: number | null
  stdout: string
  /** The job's stderr, from the result bundle. */
  stderr: string
  /** Where the outputs were written (the `outDir` option), and which files. */
  outDir?: string
  outputs: string[]
  /** Transactions this client sent for the deal (the open, a timeout or a challenge); the provider sends `complete`. */
  txs: { open?: Hash, settle?: Hash }
  /** Gas used by the transactions in `txs`. */
  gasUsed: bigint
  /** Every event of the job, in order. */
  events: JobEvent[]
  /** The settled deal as the creator's deal store holds it. */
  record: DealRecord
}

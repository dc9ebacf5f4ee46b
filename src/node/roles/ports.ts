/**
 * What the roles need from the rest of the node, as narrow interfaces: the escrow contract
 * (src/chain), the container runner (src/executor) and the p2p node (src/node/network.ts).
 * `adapters.ts` builds each one from the real component; the roles only see these shapes,
 * which keeps each role's logic on one screen per step and the restart paths explicit.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { DomainHasher } from '../../protocol/index.js'
import type { JobInputs, ModuleSpec } from '../../protocol/index.js'
import type { Profile } from '../../protocol/index.js'
import type { Address, Deal, Hash, JobOffer, ResourceOffer, Resources, Signature } from '../../protocol/index.js'

/** The status of a deal in the escrow contract. */
export type ChainStatus = 'none' | 'open' | 'submitted' | 'challenged' | 'completed' | 'claimed' | 'timed-out' | 'provider-won' | 'creator-won' | 'dispute-expired' | 'settled' | 'provider-forfeited' | 'creator-forfeited'

export const CLOSED_STATUSES: ReadonlySet<ChainStatus> = new Set<ChainStatus>(['completed', 'claimed', 'timed-out', 'provider-won', 'creator-won', 'dispute-expired', 'settled', 'provider-forfeited', 'creator-forfeited'])

export interface OnChainDeal {
  status: ChainStatus
  /** Unix seconds: result deadline while open, end of the challenge window while submitted. */
  deadline: number
}

export interface TxResult {
  /** Absent when the step had already happened on-chain and nothing was sent. */
  hash?: Hash
  gasUsed: bigint
}

export interface Dispute {
  /** undefined until drawn. */
  mediator: Address | undefined
  /** How many late mediators were replaced. */
  round: number
  /** Unix seconds by which the mediator must rule (before the draw: by which both parties must reveal). */
  deadline: number
}

export interface ChallengedDeal {
  dealId: Hash
  deal: Deal
  blockNumber: bigint
  /** The creator's signature over the Deal (from the openDeal calldata): names the creator's peer. */
  sigCreator?: Signature
}

export interface EscrowParams {
  challengeWindowS: number
  mediationFee: bigint
  minStake: bigint
  mediatorTimeoutS: number
}

/** The escrow contract, as the account of this node. */
export interface EscrowPort {
  readonly account: Address
  dealId: (deal: Deal) => Hash
  dealState: (deal: Deal) => Promise<OnChainDeal>
  resultOf: (dealId: Hash) => Promise<Hash | undefined>
  disputeOf: (dealId: Hash) => Promise<Dispute>
  freeBalance: (account?: Address) => Promise<bigint>
  params: () => Promise<EscrowParams>
  /** Timestamp of the latest block (unix seconds). */
  blockTime: () => Promise<number>
  deposit: (amount: bigint) => Promise<TxResult>
  openDeal: (deal: Deal, sigCreator: Signature, sigProvider: Signature) => Promise<TxResult>
  complete: (deal: Deal, resultHash: Hash, sigCreatorAcceptsResult: Signature) => Promise<TxResult>
  submitResult: (deal: Deal, resultHash: Hash) => Promise<TxResult>
  claim: (deal: Deal) => Promise<TxResult>
  challenge: (deal: Deal) => Promise<TxResult>
  draw: (deal: Deal) => Promise<TxResult>
  resolve: (deal: Deal, providerWins: boolean) => Promise<TxResult>
  redraw: (deal: Deal) => Promise<TxResult>
  timeout: (deal: Deal) => Promise<TxResult>
  registerMediator: (amount: bigint) => Promise<TxResult>
  mediatorStake: (account: Address) => Promise<bigint>
  /** Both parties' signatures from the calldata that opened the deal (undefined if not open). */
  openingSignatures: (dealId: Hash, deal: Deal) => Promise<{ sigCreator: Signature, sigProvider: Signature } | undefined>
  /** Deals challenged in blocks [fromBlock, latest], with the Deal decoded from the transaction. */
  challengedSince: (fromBlock: bigint) => Promise<{ deals: ChallengedDeal[], toBlock: bigint }>
}

export interface RunJobRequest {
  dealId: Hash
  spec: ModuleSpec
  inputs: JobInputs
  resources: Resources
  timeoutS: number
  /** The backend's handle of this deal's job from an earlier run (a Slurm job id): re-attach to it. */
  handle?: string
  /** Keeps the handle as soon as the job exists, before the wait (the provider writes it to its deal store). */
  onHandle?: (handle: string) => Promise<void>
}

export interface RunJobResult {
  /** The encoded result bundle (what travels and what is hashed). */
  bundle: Uint8Array
  resultHash: Hash
  /** Outcome kind as the executor names it (succeeded, failed, timed-out, …). */
  outcome: string
  exitCode: number | null
}

export interface DecodedResult {
  exitCode: number | null
  outcome: string
  stdout: string
  stderr: string
}

/** The container runner, as a provider or mediator uses it. */
export interface ExecutorPort {
  /**
   * Runs the job, or re-attaches to it when one with this deal id already runs. `signal`: the
   * node is stopping (docker kills the container; slurm leaves the batch job to be re-attached);
   * `cancel`: the deal is over, stop the job for good (docker kill, scancel).
   */
  run: (req: RunJobRequest, signal: AbortSignal, cancel?: AbortSignal) => Promise<RunJobResult>
  /**
   * The stdout/stderr of the deal's job while it runs (`follow`: until it exits), when the
   * backend can read them live (docker); undefined when no job of the deal runs here.
   */
  liveLogs?: (dealId: Hash, follow: boolean, signal: AbortSignal) => Promise<AsyncIterable<{ stream: 'stdout' | 'stderr', data: Uint8Array }> | undefined>
  /** The result hash of an encoded bundle (the one the contract sees). */
  hashBundle: (bundle: Uint8Array) => Hash
  /** Decodes a received bundle; throws when it is malformed. */
  decodeBundle: (bundle: Uint8Array) => DecodedResult
  /** Writes the bundle's outputs, stdout and stderr into `dir`; returns the files written. */
  writeOutputs: (bundle: Uint8Array, dir: string) => Promise<string[]>
  /** What this machine (or cluster) can really run; undefined when nothing can be scheduled now. */
  capacity: () => Promise<(Resources & { gpuModel: string, source?: string }) | undefined>
  /** Read capacity() again this often and re-offer when it changed (undefined: only when the offer is renewed). */
  readonly capacityRefreshMs?: number
  /**
   * A mediator's ruling on a claimed bundle against its re-run (undefined when the module's
   * verification is `none` and nothing was re-run), as the module's `verification` says.
   */
  judge: (req: JudgeRequest, signal: AbortSignal) => Promise<Judgement>
}

export interface JudgeRequest {
  dealId: Hash
  spec: ModuleSpec
  claimed: Uint8Array
  reference: Uint8Array | undefined
}

export interface Judgement {
  providerWins: boolean
  by: 'exact' | 'verifier' | 'none'
  reason: string
}

export interface AgreedDeal {
  deal: Deal
  dealId: Hash
  sigCreator: Signature
  sigProvider: Signature
}

/** The p2p node. */
export interface NetworkPort {
  readonly libp2p: Libp2p
  readonly profile: Profile
  readonly hasher: DomainHasher
  readonly address: Address
  /** Signs a digest with the node key (the key never leaves the node). */
  sign: (digest: Uint8Array) => Signature
  currentEpoch: () => bigint
  publishJobOffer: (offer: JobOffer) => Promise<Hash>
  publishResourceOffer: (offer: ResourceOffer) => Promise<Hash>
  /** Deals of this node that both parties signed (also those agreed before the call, replayed). */
  onAgreed: (handler: (a: AgreedDeal) => void) => () => void
  /** This node's own matches, as soon as it has signed its side. */
  onMatch: (handler: (m: OwnMatch) => void) => () => void
  /** The signatures over a deal this node has seen so far. */
  acceptances: (dealId: Hash) => { creator?: Signature, provider?: Signature }
  /** The peer an address was last seen publishing from, if any. */
  peerOf: (address: Address) => PeerId | undefined
  /** Resolves once a peer subscribes to the jobs topic (so a job offer is gossiped), or after `maxWaitMs`. */
  gossipReady?: (maxWaitMs: number) => Promise<void>
  /** Registers `wants`: the node signs a deal for one of its job offers only when some `wants` says yes. */
  followJobs?: (wants: (jobOfferHash: Hash) => boolean) => () => void
}

export interface OwnMatch {
  dealId: Hash
  deal: Deal
  role: 'creator' | 'provider'
}

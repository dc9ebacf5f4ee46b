/**
 * The creator role (DESIGN §5; `lilynode run`): publishes a job offer, opens the deal it is
 * matched into, serves the module spec and inputs to the provider, checks the result bundle
 * it receives, accepts it with a ResultAcceptance signature (the provider then settles in one
 * `complete`), challenges a result that does not verify, and takes the timeout refund when
 * no result comes. Every stage is reported as an event with its time.
 *
 * Each step is written to the deal store before it is acted on; `drive` looks at the stored
 * state and the chain on each tick and takes the next step, so it resumes after a restart.
 */
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { verifySigner } from '../../protocol/index.js'
import { encodeInputs, resolveInputs, serializeModuleSpec, moduleHash, inputsHash, parseModuleSpec, verificationOf, type JobInputs, type ModuleSpec, type Verification } from '../../protocol/index.js'
import type { Address, Deal, Hash, JobOffer, Resources, Signature } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import { TERMINAL_STATES, type DealRecord, type DealStore } from './deals.js'
import { fromJson, toJson } from '../../protocol/index.js'
import { peerIdFromSignature } from '../../p2p/index.js'
import { CLOSED_STATUSES, type ChainStatus, type EscrowPort, type ExecutorPort, type NetworkPort } from './ports.js'
import { fetchCounterpartySignature, ownSignatureBlob } from './signatures.js'
import { fetchBlob, pushBlob, TransferError, type TransferService } from '../../p2p/index.js'
import { describe, Kicks, nowS, sleep } from './util.js'
import { epochAt, epochEnd, type Profile } from '../../protocol/index.js'
import { inputsSummary, newJobId, type JobFailure, type JobRecords, type JobSource } from '../jobs/records.js'
import { JobTracker } from '../jobs/tracker.js'
import { NOT_RUN_KINDS, OUTCOME_CODES, REOFFER_KINDS, outcomeSigner, serveOutcomes, type OutcomeKind, type SignedOutcome } from '../../p2p/index.js'
import { RpcRefusal } from '../../p2p/index.js'
import { LilyError } from '../../protocol/errors.js'

/**
 * The epoch a job offer made at `nowMs` names: the current one while at least a quarter of an
 * epoch (and 250 ms) of it is left — the offer then has that time plus graceMs to reach every
 * node before they match the epoch (gossip takes tens of ms; a node that missed it still pulls
 * it from its peers when it reconciles the epoch's offer set at match time) — else the next
 * one. Offering for the next epoch always would wait a whole extra epoch.
 */
export function offerEpoch (p: Profile, nowMs: number): bigint {
  const cur = epochAt(p, nowMs)
  const left = epochEnd(p, cur) - nowMs
  return left >= Math.max(250, p.epochMs / 4) ? cur : cur + 1n
}

/** Poll interval (ms) while a deal waits on the chain or a counterparty for a step that comes within moments. */
export const FAST_POLL_MS = 100

export type CreatorStage =
  | 'offered' | 'matched' | 'opened' | 'running' | 'result' | 'accepted' | 'paid'
  | 'challenging' | 'challenged' | 'resolved' | 'refunded' | 'outputs' | 'failed'

export interface CreatorEvent {
  stage: CreatorStage
  /** Unix ms. */
  at: number
  /** Since the job was submitted. */
  elapsedMs: number
  jobOfferHash?: Hash
  dealId?: Hash
  provider?: Address
  price?: bigint
  collateral?: bigint
  tx?: Hash
  resultHash?: Hash
  exitCode?: number | null
  stdout?: string
  outputs?: string[]
  winner?: 'creator' | 'provider'
  /** The mediation fee a challenge is about to spend (on `challenging`). */
  fee?: bigint
  /** The job's record id (on `offered`), for `lilynode describe|get|logs`. */
  jobId?: string
  /** A failure reason (on `failed`): EXECUTOR_IMAGE_MISSING, JOB_EXIT_NONZERO, … */
  reason?: string
  message?: string
}

export interface JobRequest {
  spec: ModuleSpec
  inputs: JobInputs
  /** Highest total price, in wei. */
  maxPrice: bigint
  /** Collateral the provider must put up, in wei. */
  collateral: bigint
  timeoutS: number
  resources?: Resources
  /** Epochs the offer stays matchable. */
  lifetimeEpochs?: number
  /** Where to write the outputs once the result is in. */
  outDir?: string
  /** Challenge a result whose job exited non-zero (it costs the mediation fee); default: accept it as the answer. */
  challengeOnFailure?: boolean
  /** How the job's record names it (recorded when the role has a JobRecords). */
  record?: { id?: string, source: JobSource, module: string }
}

export interface CreatorOptions {
  net: NetworkPort
  escrow: EscrowPort
  executor: Pick<ExecutorPort, 'decodeBundle' | 'hashBundle' | 'writeOutputs'>
  store: DealStore
  log: Logger
  maxTransferBytes: number
  /** Chain/store polling interval (default 500 ms). */
  pollMs?: number
  /**
   * TEST ONLY (env LILYNODE_TEST_DISPUTE=1): refuse every result, so that the provider puts it
   * on-chain and it is challenged and mediated (how tests reach a verifier's tolerance).
   */
  disputeAll?: boolean
  /** Where each run's job record is kept (the node's database); none without it. */
  jobs?: JobRecords
  /** Gas a transaction used (a receipt lookup), for the job records. */
  gasOf?: (tx: Hash) => Promise<bigint | undefined>
  /** Providers with a live resource offer in the node's pool (to tell whether a re-offer can reach another one). */
  liveProviders?: () => Address[]
}

/** The last 2 KiB of a job's stderr. */
export function tail (s: string, max = 2048): string {
  return s.length > max ? s.slice(s.length - max) : s
}

export class CreatorError extends LilyError<'CREATOR_NO_MATCH' | 'CREATOR_FAILED' | 'CREATOR_BAD_RESULT' | 'CREATOR_UNKNOWN_DEAL' | 'CREATOR_BUSY'> {
  override readonly name = 'CreatorError'
}

/** How many times a job is offered when its matches are not opened in time. */
const MAX_OFFER_ATTEMPTS = 3

interface AcceptanceBlob { resultHash: Hash, signature: Signature }

export class CreatorRole {
  private readonly pollMs: number
  private readonly kicks = new Kicks()
  /** Deals a `drive` loop of this process follows now. */
  private readonly driving = new Set<Hash>()
  /** Job offers a `run` of this process waits on: the node signs deals for these only. */
  private readonly offering = new Set<Hash>()

  constructor (private readonly o: CreatorOptions) {
    this.pollMs = o.pollMs ?? 500
    o.net.followJobs?.((jobOfferHash) => this.offering.has(jobOfferHash))
  }

  /** What this creator serves over `transfer`: offer/module/inputs to its provider or drawn mediator; it takes bundles from its provider. */
  transferService (): TransferService {
    const { store, escrow } = this.o
    return {
      authorize: async (dealId, remote, op, kind) => {
        const r = await store.get(dealId)
        if (r === undefined || r.role !== 'creator') return false
        if (op === 'put') return kind === 'bundle' && remote === r.deal.provider
        if (kind === 'signature') return remote === r.deal.provider
        if (kind !== 'offer' && kind !== 'module' && kind !== 'inputs' && kind !== 'bundle') return false
        if (kind === 'bundle') {
          // the drawn mediator may need the claimed bundle for the module's verifier
          const d = await escrow.disputeOf(dealId).catch(() => undefined)
          return d?.mediator !== undefined && d.mediator === remote
        }
        if (remote === r.deal.provider) return true
        const d = await escrow.disputeOf(dealId).catch(() => undefined)
        return d?.mediator !== undefined && d.mediator === remote
      },
      get: async (dealId, kind) => {
        const r = await store.get(dealId)
        if (r === undefined) return undefined
        if (kind === 'signature') return ownSignatureBlob(this.o.net, r)
        if (kind === 'bundle') return await store.getBlob(dealId, 'bundle')
        const data = await store.getBlob(r.deal.jobOfferHash, kind)
        if (data !== undefined && kind === 'inputs' && r.state === 'opened') {
          await store.move(dealId, 'running', {}, 'provider fetched the inputs').catch(() => undefined)
          this.kicks.kick(dealId)
        }
        return data
      },
      put: async (dealId, kind, data) => {
        if (kind !== 'bundle') throw new TransferError('TRANSFER_REFUSED', 'a creator only takes result bundles')
        await this.takeBundle(dealId, data)
      }
    }
  }

  /** Builds, stores and publishes the job offer; returns it with its hash. */
  async offer (job: JobRequest): Promise<{ offer: JobOffer, jobOfferHash: Hash }> {
    const { net, store, escrow } = this.o
    // an offer published before any peer subscribes to the jobs topic reaches nobody by gossip:
    // wait for one (bounded) while the escrow is checked
    const gossipReady = net.gossipReady?.(Math.max(1000, net.profile.epochMs))
    const inputs = resolveInputs(job.spec, job.inputs)
    const specBytes = new TextEncoder().encode(serializeModuleSpec(job.spec))
    const inputBytes = encodeInputs(inputs)
    // the price and a challenge fee must be free in escrow before a deal can open
    const { mediationFee } = await escrow.params()
    const need = job.maxPrice + mediationFee
    const free = await escrow.freeBalance()
    if (free < need) await escrow.deposit(need - free)
    const res = job.resources ?? job.spec.resources
    const nonce = BigInt('0x' + randomBytes(6).toString('hex'))
    const build = (epoch: bigint): JobOffer => ({
      creator: net.address,
      nonce,
      module: moduleHash(job.spec),
      inputsHash: inputsHash(inputs),
      cpu: res.cpu, ram: res.ram, gpus: res.gpus, gpuVram: res.gpuVram, disk: res.disk,
      maxPrice: job.maxPrice,
      timeout: job.timeoutS,
      collateral: job.collateral,
      epoch,
      expiryEpoch: epoch + BigInt(job.lifetimeEpochs ?? 20)
    })
    await gossipReady
    // the epoch is fixed just before publishing, so the time it leaves is real: if storing the
    // blobs took us past the margin (a loaded machine), the offer names the next epoch instead
    let offer = build(offerEpoch(net.profile, Date.now()))
    let jobOfferHash = net.hasher.digest('JobOffer', offer)
    for (let i = 0; ; i++) {
      await store.putBlob(jobOfferHash, 'offer', new TextEncoder().encode(toJson(offer)))
      await store.putBlob(jobOfferHash, 'module', specBytes)
      await store.putBlob(jobOfferHash, 'inputs', inputBytes)
      const now = offerEpoch(net.profile, Date.now())
      if (now <= offer.epoch || i >= 2) break
      offer = build(now)
      jobOfferHash = net.hasher.digest('JobOffer', offer)
    }
    this.offering.add(jobOfferHash)
    await net.publishJobOffer(offer)
    return { offer, jobOfferHash }
  }

  /**
   * Runs one job from offer to settlement, reporting each stage. Resolves with the final
   * deal record; throws CreatorError when no provider matched in time.
   */
  async run (job: JobRequest, signal: AbortSignal, onEvent: (e: CreatorEvent) => void): Promise<DealRecord> {
    const t0 = Date.now()
    const tracker = await this.startRecord(job, t0)
    let jobIdSent = false
    const emit = (stage: CreatorStage, extra: Partial<CreatorEvent> = {}): void => {
      const at = Date.now()
      const e: CreatorEvent = { stage, at, elapsedMs: at - t0, ...extra }
      if (tracker !== undefined && !jobIdSent && stage === 'offered') { jobIdSent = true; e.jobId = tracker.id }
      tracker?.event(e)
      onEvent(e)
    }
    try {
      // a match that was never opened in time (a slow network, a vanished provider) costs
      // nothing: the offer is published again with a fresh nonce
      let why: string | undefined
      for (let attempt = 1; ; attempt++) {
        const r = await this.runOnce(job, signal, emit, attempt, why)
        const reoffer = attempt < MAX_OFFER_ATTEMPTS && (r.state === 'expired' || this.reofferHelps(r))
        if (!reoffer) {
          await this.endRecord(tracker, r)
          return r
        }
        why = r.state === 'expired' ? 'the previous match was not opened in time' : `provider ${r.deal.provider} could not run it: ${String(r.outcome?.code)}`
      }
    } catch (e) {
      if (tracker !== undefined) {
        tracker.finish({ error: { code: e instanceof CreatorError ? e.code : undefined, message: describe(e) }, cancelled: signal.aborted })
        await tracker.flush()
      }
      throw e
    }
  }

  /** The job's record, created before anything is published (none when the role keeps none). */
  private async startRecord (job: JobRequest, t0: number): Promise<JobTracker | undefined> {
    const { jobs } = this.o
    if (jobs === undefined) return undefined
    const id = job.record?.id ?? newJobId()
    await jobs.create({
      id,
      source: job.record?.source ?? 'sdk',
      module: job.record?.module ?? `${job.spec.name}:${job.spec.version}`,
      moduleName: job.spec.name,
      moduleVersion: job.spec.version,
      inputs: inputsSummary(job.inputs),
      maxPrice: job.maxPrice,
      collateral: job.collateral,
      timeoutS: job.timeoutS,
      createdAt: t0,
      ...(job.outDir !== undefined ? { outDir: job.outDir } : {})
    })
    return new JobTracker(jobs, id, this.o.log, this.o.gasOf)
  }

  /** The tracker of the job a deal belongs to (a resumed deal), back to running. */
  private async trackerOfDeal (dealId: Hash): Promise<JobTracker | undefined> {
    const { jobs } = this.o
    if (jobs === undefined) return undefined
    const j = await jobs.find(dealId).catch(() => undefined)
    if (j === undefined) return undefined
    await jobs.update(j.id, (r) => { r.state = 'running' })
    return new JobTracker(jobs, j.id, this.o.log, this.o.gasOf)
  }

  /** The settled deal into the job's record: state, exit code, the failure reason. */
  private async endRecord (tracker: JobTracker | undefined, r: DealRecord): Promise<void> {
    if (tracker === undefined) return
    let exitCode: number | null | undefined
    const o = r.outcome
    let failure: JobFailure | undefined = o !== undefined && o.kind !== 'succeeded'
      ? { code: o.code, message: o.message, exitCode: o.exitCode, ...(o.stderrTail !== '' ? { stderrTail: o.stderrTail } : {}), provider: r.deal.provider, dealId: r.dealId, at: o.at }
      : undefined
    const bundle = await this.o.store.getBlob(r.dealId, 'bundle').catch(() => undefined)
    if (bundle !== undefined) {
      try {
        const d = this.o.executor.decodeBundle(bundle)
        exitCode = d.exitCode
        if (d.exitCode !== 0 && failure === undefined) {
          failure = { code: 'JOB_EXIT_NONZERO', message: `the job exited with code ${String(d.exitCode)}`, exitCode: d.exitCode, stderrTail: tail(d.stderr), provider: r.deal.provider, dealId: r.dealId, at: Date.now() }
        }
      } catch {}
    }
    tracker.finish({ record: r, ...(exitCode !== undefined ? { exitCode } : {}), ...(failure !== undefined ? { failure } : {}) })
    await tracker.flush()
  }

  /**
   * Whether offering the job again can help after this deal: its provider could not run it for a
   * reason another machine may not share (the image missing, no GPU), and the pool holds a live
   * offer of another provider. (The matcher still picks the cheapest fit: should that be the same
   * provider again, it reports the same and the run ends with the reason.)
   */
  private reofferHelps (r: DealRecord): boolean {
    if (r.outcome === undefined || !REOFFER_KINDS.has(r.outcome.kind as OutcomeKind)) return false
    const others = (this.o.liveProviders?.() ?? []).filter((p) => p.toLowerCase() !== r.deal.provider.toLowerCase() && p.toLowerCase() !== this.o.net.address.toLowerCase())
    return others.length > 0
  }

  /** Serves the `outcome` protocol: the providers of this creator's deals report there. */
  async serveOutcomes (): Promise<void> {
    const { net } = this.o
    await serveOutcomes(net.libp2p, net.profile, async (s) => { await this.takeOutcome(s) })
  }

  /** A provider's signed outcome: kept on the deal (signature included) and acted on by its loop. */
  async takeOutcome (s: SignedOutcome): Promise<void> {
    const { store, net, log } = this.o
    const r = await store.get(s.report.dealId)
    if (r === undefined || r.role !== 'creator') throw new RpcRefusal('P2P_RPC_BAD_REQUEST', `no deal ${s.report.dealId} of this creator`)
    let signer: Address
    try {
      signer = outcomeSigner(net.profile, s)
    } catch {
      throw new RpcRefusal('P2P_RPC_BAD_REQUEST', 'the outcome signature does not verify')
    }
    if (signer.toLowerCase() !== r.deal.provider.toLowerCase()) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', `the outcome is signed by ${signer}, not by the deal's provider`)
    if (TERMINAL_STATES.has(r.state)) return
    const k = s.report.kind
    const outcome = { kind: k, code: OUTCOME_CODES[k], message: s.report.message, exitCode: s.report.exitCode, stderrTail: s.report.stderrTail, at: s.report.at, signature: s.signature }
    await store.update(r.dealId, { outcome, ...(NOT_RUN_KINDS.has(k) ? { error: `${outcome.code}: ${outcome.message}` } : {}) })
    log.info('provider reported the outcome', { dealId: r.dealId, code: outcome.code })
    this.kicks.kick(r.dealId)
  }

  private async runOnce (job: JobRequest, signal: AbortSignal, emit: (s: CreatorStage, e?: Partial<CreatorEvent>) => void, attempt: number, why?: string): Promise<DealRecord> {
    const { net, store } = this.o
    let found: { dealId: Hash, deal: Deal } | undefined
    let wake: (() => void) | undefined
    let wantedHash: Hash | undefined
    const early: Array<{ dealId: Hash, deal: Deal }> = []
    const seen = (m: { dealId: Hash, deal: Deal }): void => {
      if (m.deal.creator !== net.address) return
      if (wantedHash === undefined) { early.push(m); return }
      if (m.deal.jobOfferHash === wantedHash && found === undefined) { found = m; wake?.() }
    }
    const offMatch = net.onMatch((m) => { if (m.role === 'creator') seen(m) })
    const offAgreed = net.onAgreed((a) => {
      seen(a)
      // a deal we hold as matched gets the provider's signature
      void store.get(a.dealId).then(async (r) => {
        if (r?.state === 'matched') await store.move(a.dealId, 'agreed', { sigCreator: a.sigCreator, sigProvider: a.sigProvider }, 'both signatures in')
        this.kicks.kick(a.dealId)
      }).catch(() => undefined)
    })
    try {
      const { offer, jobOfferHash } = await this.offer(job)
      wantedHash = jobOfferHash
      found = early.find((a) => a.deal.jobOfferHash === jobOfferHash)
      const challenging = job.challengeOnFailure === true ? `; a result whose job exits non-zero will be challenged, spending the mediation fee of ${(await this.o.escrow.params()).mediationFee} wei plus gas` : ''
      const unmediated = verificationOf(job.spec).kind === 'none' ? `; NOTE: module ${job.spec.name} declares verification none: no mediator will check its result, and a result you do not accept is paid after the challenge window` : ''
      emit('offered', { jobOfferHash, message: `max price ${offer.maxPrice} wei, epochs ${offer.epoch}..${offer.expiryEpoch}${attempt > 1 ? ` (attempt ${attempt}: ${why ?? 'the previous match was not opened in time'})` : ''}${unmediated}${challenging}` })
      const { profile } = net
      const giveUpAt = Date.now() + Number(offer.expiryEpoch - offer.epoch + 3n) * profile.epochMs + profile.graceMs
      while (found === undefined) {
        if (Date.now() > giveUpAt) throw new CreatorError('CREATOR_NO_MATCH', `no provider matched the job within ${offer.expiryEpoch - offer.epoch + 1n} epochs; check that providers are up and that --max-price covers their prices`)
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, this.pollMs) })
        signal.throwIfAborted()
      }
      const a: { dealId: Hash, deal: Deal } = found
      const acc = net.acceptances(a.dealId)
      await store.create({
        dealId: a.dealId,
        role: 'creator',
        state: acc.creator !== undefined && acc.provider !== undefined ? 'agreed' : 'matched',
        deal: a.deal,
        jobOffer: offer,
        ...(acc.creator !== undefined ? { sigCreator: acc.creator } : {}),
        ...(acc.provider !== undefined ? { sigProvider: acc.provider } : {}),
        ...(job.outDir !== undefined ? { outDir: job.outDir } : {}),
        ...(job.challengeOnFailure === true ? { challengeOnFailure: true } : {})
      })
      emit('matched', { dealId: a.dealId, provider: a.deal.provider, price: a.deal.price, collateral: a.deal.collateral })
      return await this.drive(a.dealId, signal, emit, job.outDir, true)
    } finally {
      offMatch()
      offAgreed()
      if (wantedHash !== undefined) this.offering.delete(wantedHash)
    }
  }

  /** Takes a pushed result bundle: stores it, checks it, and accepts it when it verifies. */
  private async takeBundle (dealId: Hash, data: Uint8Array): Promise<void> {
    const { store, executor } = this.o
    const r = await store.require(dealId)
    if (TERMINAL_STATES.has(r.state)) return
    const resultHash = executor.hashBundle(data)
    await store.putBlob(dealId, 'bundle', data)
    if (r.state === 'opened' || r.state === 'running' || r.state === 'fetching') {
      await store.move(dealId, 'result', { resultHash }, 'bundle received')
    } else {
      await store.update(dealId, { resultHash })
    }
    this.kicks.kick(dealId)
  }

  /**
   * Whether a bundle is an answer to accept: it decodes (its hash was checked on arrival). A job
   * that exited non-zero is an answer too — its stderr says why — unless the run asked for
   * `challengeOnFailure`.
   */
  private verify (bundle: Uint8Array, r: DealRecord): { ok: boolean, why: string, exitCode: number | null, stdout: string } {
    try {
      const d = this.o.executor.decodeBundle(bundle)
      if (d.exitCode !== 0 && r.challengeOnFailure === true) return { ok: false, why: `the job did not succeed (${d.outcome}, exit code ${String(d.exitCode)}) and the run asked to challenge failures`, exitCode: d.exitCode, stdout: d.stdout }
      if (this.o.disputeAll === true) return { ok: false, why: 'LILYNODE_TEST_DISPUTE=1: disputing every result (test only)', exitCode: d.exitCode, stdout: d.stdout }
      return { ok: true, why: '', exitCode: d.exitCode, stdout: d.stdout }
    } catch (e) {
      return { ok: false, why: `the bundle is malformed: ${describe(e)}`, exitCode: null, stdout: '' }
    }
  }

  /** The job's verification kind, from the module spec stored with its offer (`exact` when unknown). */
  private async verificationKind (r: DealRecord): Promise<Verification['kind']> {
    const spec = await this.o.store.getBlob(r.deal.jobOfferHash, 'module').catch(() => undefined)
    try {
      return spec === undefined ? 'exact' : verificationOf(parseModuleSpec(spec)).kind
    } catch {
      return 'exact'
    }
  }

  private providerPeer (r: DealRecord): PeerId {
    const { net } = this.o
    if (r.sigProvider !== undefined) return peerIdFromSignature(net.hasher.digestBytes('Deal', r.deal), r.sigProvider)
    const p = net.peerOf(r.deal.provider)
    if (p === undefined) throw new TransferError('TRANSFER_UNREACHABLE', `no peer known for provider ${r.deal.provider}`)
    return p
  }

  private acceptanceDigest (dealId: Hash, resultHash: Hash): Uint8Array {
    return this.o.net.hasher.digestBytes('ResultAcceptance', { dealId, resultHash })
  }

  private async sendAcceptance (r: DealRecord): Promise<void> {
    if (r.resultHash === undefined || r.acceptance === undefined) return
    const { net, maxTransferBytes } = this.o
    const target = this.providerPeer(r)
    const blob: AcceptanceBlob = { resultHash: r.resultHash, signature: r.acceptance }
    await pushBlob(net.libp2p, net.profile, target, r.dealId, 'acceptance', new TextEncoder().encode(JSON.stringify(blob)), { maxBytes: maxTransferBytes })
  }

  /**
   * This node's own deals that have not settled and that no loop of this process follows: what
   * a run that stopped or crashed left behind (its deal may still need the result checked, the
   * acceptance sent, a challenge, or the timeout refund taken). Oldest first.
   */
  async unfinished (): Promise<DealRecord[]> {
    const me = this.o.net.address.toLowerCase()
    const left = (await this.o.store.active('creator')).filter((r) => r.deal.creator.toLowerCase() === me && !this.driving.has(r.dealId))
    return left.sort((a, b) => a.createdAt - b.createdAt)
  }

  /** Follows one of `unfinished()` to settlement, from its stored state, reporting each stage as `run` does. */
  async resume (dealId: Hash, signal: AbortSignal, onEvent: (e: CreatorEvent) => void): Promise<DealRecord> {
    const t0 = Date.now()
    this.claim(dealId) // at once, before any await: `unfinished()` no longer lists it
    let tracker: JobTracker | undefined
    try {
      const r = await this.o.store.get(dealId)
      if (r === undefined || r.role !== 'creator' || r.deal.creator.toLowerCase() !== this.o.net.address.toLowerCase()) {
        throw new CreatorError('CREATOR_UNKNOWN_DEAL', `no deal ${dealId} of this creator in its store; unfinished() lists the ones to resume`)
      }
      tracker = await this.trackerOfDeal(dealId)
      const done = await this.driveLoop(dealId, signal, (stage, extra = {}) => {
        const at = Date.now()
        const e: CreatorEvent = { stage, at, elapsedMs: at - t0, ...extra }
        tracker?.event(e)
        onEvent(e)
      }, r.outDir)
      await this.endRecord(tracker, done)
      return done
    } catch (e) {
      if (tracker !== undefined) {
        tracker.finish({ error: { code: e instanceof CreatorError ? e.code : undefined, message: describe(e) }, cancelled: signal.aborted })
        await tracker.flush()
      }
      throw e
    } finally {
      this.driving.delete(dealId)
    }
  }

  /** The main loop of one deal (one loop per deal at a time): one step per tick, from what the store and the chain say. */
  async drive (dealId: Hash, signal: AbortSignal, emit: (s: CreatorStage, e?: Partial<CreatorEvent>) => void, outDir?: string, failFast = false): Promise<DealRecord> {
    this.claim(dealId)
    try {
      return await this.driveLoop(dealId, signal, emit, outDir, failFast)
    } finally {
      this.driving.delete(dealId)
    }
  }

  /** Marks the deal followed by this process; CREATOR_BUSY when it already is. */
  private claim (dealId: Hash): void {
    if (this.driving.has(dealId)) throw new CreatorError('CREATOR_BUSY', `deal ${dealId} is already followed by this node`)
    this.driving.add(dealId)
  }

  /**
   * `failFast`: a run's own loop returns as soon as the provider reports that the job cannot run
   * there (the deal stays open until its deadline; a later `resume` takes the timeout refund).
   */
  private async driveLoop (dealId: Hash, signal: AbortSignal, emit: (s: CreatorStage, e?: Partial<CreatorEvent>) => void, outDir?: string, failFast = false): Promise<DealRecord> {
    const { store, escrow, log, executor, net } = this.o
    let runningEmitted = false
    let sentAcceptanceAt = 0
    let challengedEmitted = false
    for (;;) {
      signal.throwIfAborted()
      let r = await store.require(dealId)
      if (TERMINAL_STATES.has(r.state)) return r
      const chain = await escrow.dealState(r.deal).catch((e: unknown) => { log.warn('chain read failed', { dealId, error: describe(e) }); return undefined })
      if (chain === undefined) { await sleep(this.pollMs, signal); continue }
      if (CLOSED_STATUSES.has(chain.status)) {
        r = await this.finish(r, chain.status, emit, outDir)
        return r
      }
      try {
        switch (r.state) {
          case 'matched': {
            if (chain.status !== 'none') {
              const sigs = await escrow.openingSignatures(dealId, r.deal)
              await store.move(dealId, 'opened', sigs ?? {}, 'opened on-chain by the provider')
              emit('opened', { dealId })
              break
            }
            const acc = net.acceptances(dealId)
            if (acc.creator !== undefined && acc.provider !== undefined) {
              await store.move(dealId, 'agreed', { sigCreator: acc.creator, sigProvider: acc.provider }, 'both signatures in')
            } else if (BigInt(nowS()) > r.deal.openBy) {
              await store.move(dealId, 'expired', {}, 'the provider never signed')
            } else if (acc.creator !== undefined && Date.now() - r.updatedAt > 1500) {
              const sigProvider = await fetchCounterpartySignature(net, r, this.providerPeer(r), this.o.maxTransferBytes, signal)
              await store.move(dealId, 'agreed', { sigCreator: acc.creator, sigProvider }, 'provider signature fetched directly')
            }
            break
          }
          case 'agreed':
          case 'opening': {
            if (chain.status !== 'none') {
              await store.move(dealId, 'opened', {}, 'opened on-chain')
              emit('opened', { dealId, tx: r.openTx })
              break
            }
            if (BigInt(nowS()) > r.deal.openBy) {
              await store.move(dealId, 'expired', {}, 'not opened before openBy')
              break
            }
            await store.move(dealId, 'opening')
            const tx = await escrow.openDeal(r.deal, r.sigCreator as Signature, r.sigProvider as Signature)
            await store.move(dealId, 'opened', { openTx: tx.hash }, 'openDeal mined')
            emit('opened', { dealId, tx: tx.hash })
            break
          }
          case 'opened':
          case 'running':
          case 'fetching':
            if (failFast && r.outcome !== undefined && NOT_RUN_KINDS.has(r.outcome.kind as OutcomeKind) && chain.status === 'open') {
              emit('failed', { dealId, provider: r.deal.provider, reason: r.outcome.code, message: `the provider could not run the job: ${r.outcome.message} (signed report); the deal stays open until its deadline, then the timeout refund returns the price (lilynode resume takes it)` })
              return r
            }
            if (r.state === 'running' && !runningEmitted) { runningEmitted = true; emit('running', { dealId, provider: r.deal.provider }) }
            if (chain.status === 'open' && (await escrow.blockTime()) > chain.deadline) {
              const tx = await escrow.timeout(r.deal)
              await store.update(dealId, { settleTx: tx.hash })
            } else if (chain.status === 'submitted') {
              await this.checkSubmitted(r, emit)
            }
            break
          case 'result': {
            const bundle = await store.getBlob(dealId, 'bundle')
            const v = bundle === undefined ? { ok: false, why: 'bundle missing', exitCode: null, stdout: '' } : this.verify(bundle, r)
            if (v.ok || r.error !== v.why) emit('result', { dealId, resultHash: r.resultHash, exitCode: v.exitCode, stdout: v.stdout, ...(v.ok ? {} : { message: v.why }) })
            if (v.ok && r.resultHash !== undefined) {
              const acceptance = net.sign(this.acceptanceDigest(dealId, r.resultHash))
              await store.move(dealId, 'accepted', { acceptance }, 'result verified')
              if (outDir !== undefined && bundle !== undefined) {
                const outputs = await executor.writeOutputs(bundle, outDir)
                emit('outputs', { dealId, outputs, message: outDir })
              }
              emit('accepted', { dealId, resultHash: r.resultHash })
            } else {
              // not accepted: the provider must put its claim on-chain, and we challenge it there
              if (r.error !== v.why) await store.update(dealId, { error: v.why })
              if (chain.status === 'submitted' && await this.verificationKind(r) === 'none') break // nothing to challenge: it is paid after the window
              if (chain.status === 'submitted') await this.checkSubmitted(r, emit)
              else if (chain.status === 'open' && (await escrow.blockTime()) > chain.deadline) await escrow.timeout(r.deal)
            }
            break
          }
          case 'accepted':
            if (Date.now() - sentAcceptanceAt > 5000) {
              sentAcceptanceAt = Date.now()
              await this.sendAcceptance(r).catch((e: unknown) => { log.warn('sending the acceptance failed; will retry', { dealId, error: describe(e) }) })
            }
            if (chain.status === 'submitted') await this.checkSubmitted(r, emit)
            break
          case 'challenged':
          case 'drawn':
            if (!challengedEmitted) { challengedEmitted = true; emit('challenged', { dealId, message: r.error }) }
            // reveal this creator's draw secret (the second reveal draws the mediator)
            if (chain.status === 'challenged') await escrow.draw(r.deal)
            break
          default:
            break
        }
      } catch (e) {
        log.warn('creator step failed; will retry', { dealId, state: r.state, error: describe(e) })
        await store.update(dealId, { error: describe(e), attempts: r.attempts + 1 })
        await sleep(Math.min(5000, this.pollMs * (r.attempts + 1)), signal)
        continue
      }
      const after = await store.require(dealId)
      // waiting for the provider's `complete` (or its signature): it comes within moments, so look more often
      const ms = after.state === 'accepted' || after.state === 'matched' ? Math.min(this.pollMs, FAST_POLL_MS) : this.pollMs
      if (after.state === r.state && after.updatedAt === r.updatedAt) await this.kicks.sleep(dealId, ms, signal)
    }
  }

  /** The provider put a result hash on-chain: accept it if it is what we verified, else challenge. */
  private async checkSubmitted (r: DealRecord, emit: (s: CreatorStage, e?: Partial<CreatorEvent>) => void): Promise<void> {
    const { escrow, store, net, maxTransferBytes, log } = this.o
    const claimed = await escrow.resultOf(r.dealId)
    if (claimed === undefined) return
    if (r.state === 'accepted' && r.resultHash === claimed) {
      await this.sendAcceptance(r).catch(() => undefined)
      return
    }
    let bundle = await store.getBlob(r.dealId, 'bundle')
    if (bundle === undefined || this.o.executor.hashBundle(bundle) !== claimed) {
      try {
        const target = this.providerPeer(r)
        bundle = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'bundle', { maxBytes: maxTransferBytes, expectHash: undefined })
        if (this.o.executor.hashBundle(bundle) !== claimed) bundle = undefined
      } catch (e) {
        log.info('could not fetch the claimed result from the provider', { dealId: r.dealId, error: describe(e) })
        bundle = undefined
      }
    }
    const v = bundle === undefined ? { ok: false, why: `no bundle with the claimed hash ${claimed} was delivered` } : this.verify(bundle, r)
    // kept whatever it holds: a drawn mediator running the module's verifier may fetch it from us
    if (bundle !== undefined && !v.ok) await store.putBlob(r.dealId, 'bundle', bundle)
    if (!v.ok && await this.verificationKind(r) === 'none') {
      if (r.error !== v.why) await store.update(r.dealId, { error: `${v.why}; not challenged: the module declares verification none` })
      return
    }
    if (v.ok && bundle !== undefined) {
      await store.putBlob(r.dealId, 'bundle', bundle)
      const acceptance = net.sign(this.acceptanceDigest(r.dealId, claimed))
      if (r.state !== 'accepted') await store.move(r.dealId, r.state === 'result' ? 'accepted' : 'result', { resultHash: claimed, acceptance })
      return
    }
    const { mediationFee } = await escrow.params()
    emit('challenging', { dealId: r.dealId, fee: mediationFee, message: `challenging the result (${v.why}): this spends the mediation fee of ${mediationFee} wei plus gas; a mediator re-runs the job and rules` })
    await store.move(r.dealId, 'challenged', { error: v.why }, `challenging: ${v.why}`)
    const tx = await escrow.challenge(r.deal)
    await store.update(r.dealId, { settleTx: tx.hash })
    emit('challenged', { dealId: r.dealId, tx: tx.hash, message: v.why })
  }

  private async finish (r: DealRecord, status: ChainStatus, emit: (s: CreatorStage, e?: Partial<CreatorEvent>) => void, outDir?: string): Promise<DealRecord> {
    const { store, executor } = this.o
    const dealId = r.dealId
    switch (status) {
      case 'completed':
      case 'claimed': {
        if (outDir !== undefined && r.state !== 'accepted') {
          const bundle = await store.getBlob(dealId, 'bundle')
          if (bundle !== undefined) emit('outputs', { dealId, outputs: await executor.writeOutputs(bundle, outDir), message: outDir })
        }
        const next = await store.move(dealId, status, {}, `chain: ${status}`)
        emit('paid', { dealId, provider: r.deal.provider, price: r.deal.price, resultHash: r.resultHash, message: status === 'completed' ? 'provider paid by complete' : 'provider paid by claim after the challenge window' })
        return next
      }
      case 'timed-out': {
        const next = await store.move(dealId, 'timed-out', {}, 'chain: timed out, refunded')
        emit('refunded', { dealId, price: r.deal.price, message: `no result in time: price and ${r.deal.collateral} wei collateral refunded to the creator` })
        return next
      }
      case 'creator-won':
      case 'provider-won': {
        const next = await store.move(dealId, 'resolved', {}, `chain: ${status}`)
        emit('resolved', { dealId, winner: status === 'creator-won' ? 'creator' : 'provider', message: status === 'creator-won' ? 'the mediator found the result wrong: price and collateral to the creator' : 'the mediator upheld the result: the provider is paid' })
        return next
      }
      default:
        return r
    }
  }

  /** The acceptance blob a creator sends, parsed and checked against the deal's creator. */
  static parseAcceptance (data: Uint8Array, r: DealRecord, digest: (dealId: Hash, resultHash: Hash) => Uint8Array): AcceptanceBlob {
    const a = fromJson<AcceptanceBlob>(new TextDecoder().decode(data))
    if (typeof a.resultHash !== 'string' || typeof a.signature !== 'string') throw new TransferError('TRANSFER_MALFORMED', 'acceptance needs resultHash and signature')
    verifySigner(digest(r.dealId, a.resultHash), a.signature, r.deal.creator)
    return a
  }
}


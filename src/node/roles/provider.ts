/**
 * The provider role (DESIGN §5; `lilynode provider`): advertises what the machine really has
 * at the configured prices (a new `version` of the offer as epochs pass), and for each deal
 * it is matched into: waits for the deal to open (opens it itself when the creator does not
 * within a bound), fetches the job offer, module spec and inputs from the creator and checks
 * their hashes, runs the container, sends the result bundle, and settles — `complete` with
 * the creator's ResultAcceptance, or `submitResult` then `claim` when the creator is gone.
 *
 * Deals of on-chain requests (creator = the profile's LilyRequests companion, see requests.ts)
 * differ in two places: the module and inputs come from the node that relayed the request's
 * job offer (its signer's peer), and the result is settled with `fulfill(requestId, deal,
 * resultHash, data)` — `data` being the first 512 bytes of the job's stdout — instead of a
 * creator's ResultAcceptance: the companion completes the deal (the provider is paid) and
 * then calls the consumer back, whose failure never undoes the payment.
 *
 * Each step is written to the deal store before it is acted on. On start every unfinished
 * deal is resumed from its stored state: a job that still runs is re-attached by the executor
 * (containers carry the deal id; a Slurm job's id is kept in the deal record as `jobHandle`),
 * a bundle is re-sent, a transaction is only re-sent after the chain says it is still needed.
 * A job whose deal closes on-chain while it runs (the creator took the timeout refund) is
 * cancelled with it.
 *
 * The offer follows what the executor can run: an executor that names a `capacityRefreshMs`
 * (a cluster whose nodes come, go and drain) is read again that often and a changed capacity is
 * offered at once as a new version; with no capacity at all the offer is withdrawn (a version
 * that expires in its own epoch and fits no job).
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import type { PeerId } from '@libp2p/interface'
import { randomBytes } from 'node:crypto'
import { decodeInputs, inputsHash, moduleHash, parseModuleSpec } from '../../protocol/index.js'
import type { Hash, JobOffer, Prices, ResourceOffer, Signature } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import { CreatorRole, FAST_POLL_MS } from './creator.js'
import { resultData, type RequestsPort } from './requests.js'
import { TERMINAL_STATES, type DealRecord, type DealStore } from './deals.js'
import { fromJson } from '../../protocol/index.js'
import { peerIdFromSignature } from '../../p2p/index.js'
import { CLOSED_STATUSES, type AgreedDeal, type ChainStatus, type EscrowPort, type ExecutorPort, type NetworkPort, type OwnMatch, type RunJobResult, type TxResult } from './ports.js'
import { fetchCounterpartySignature, ownSignatureBlob } from './signatures.js'
import { blobHash, fetchBlob, pushBlob, TransferError, type TransferService } from '../../p2p/index.js'
import { describe, Kicks, sleep } from './util.js'
import { OUTCOME_CODES, sendOutcome, signOutcome, type OutcomeKind } from '../../p2p/index.js'

/** The executor's error codes for a job that could not start here, as outcome kinds. */
const NOT_STARTED: Readonly<Record<string, OutcomeKind>> = {
  EXECUTOR_IMAGE_MISSING: 'image-missing',
  EXECUTOR_IMAGE_REFUSED: 'image-refused',
  EXECUTOR_GPU_UNAVAILABLE: 'gpu-unavailable'
}

const NOT_STARTED_KINDS: Readonly<Record<string, true>> = { 'image-missing': true, 'image-refused': true, 'gpu-unavailable': true }

/** The executor's outcome of a job that ran, as an outcome kind. */
function ranKind (outcome: string, exitCode: number | null): OutcomeKind {
  if (outcome === 'oom') return 'out-of-memory'
  if (outcome === 'timed_out') return 'timed-out'
  return exitCode === 0 ? 'succeeded' : 'failed'
}

export interface ProviderConfig {
  prices: Prices
  /** Collateral put up per deal, in wei. */
  collateral: bigint
  /** Module hashes accepted (empty = any). */
  modules: Hash[]
  /** Advertise at most this much (defaults: all the machine has). */
  maxCpu?: number
  maxRam?: number
  /** Epochs each version of the offer lives. */
  offerLifetimeEpochs: number
  /** Keep at least this much free in escrow for collateral (deposit tops it up). */
  depositWei: bigint
  /** Wait this long for the creator to open an agreed deal before opening it ourselves. */
  openWaitMs: number
  /** Wait this long for the creator's acceptance after delivering before `submitResult`. */
  acceptWaitMs: number
  /** Where the offer's nonce and version persist across restarts. */
  offerStatePath: string
  /**
   * TEST ONLY (env LILYNODE_TEST_CHEAT): `true` (=1) skips the job and claims a made-up result;
   * `{ input, value }` (=input:NAME=VALUE) runs the job with that input changed (a result that
   * looks right but differs: within or beyond a verifier's tolerance), to exercise challenge
   * and mediation end to end. Never set it on a real provider: it loses its collateral.
   */
  cheat?: boolean | { input: string, value: string }
}

/** The test-only cheat of LILYNODE_TEST_CHEAT (see ProviderConfig.cheat); undefined when unset. */
export function parseCheat (env: string | undefined): ProviderConfig['cheat'] {
  if (env === undefined || env === '' || env === '0') return undefined
  if (env === '1') return true
  const m = /^input:([A-Za-z][A-Za-z0-9_]{0,63})=(.{0,256})$/.exec(env)
  if (m === null) throw new Error(`LILYNODE_TEST_CHEAT must be 1 or input:NAME=VALUE, got '${env.slice(0, 80)}'`)
  return { input: m[1], value: m[2] }
}

export interface ProviderOptions {
  net: NetworkPort
  escrow: EscrowPort
  executor: ExecutorPort
  store: DealStore
  log: Logger
  config: ProviderConfig
  maxTransferBytes: number
  pollMs?: number
  /** Serving on-chain requests (the profile names a LilyRequests companion). */
  requests?: RequestsPort
}

interface OfferState { nonce: string, version: number }

export type ProviderEvent = { dealId: Hash, state: string, at: number, module?: string, tx?: Hash, message?: string }

/** A new version of the resource offer (`withdrawn`: one that fits no job and expires at once). */
export type OfferEvent = { offer: ResourceOffer, withdrawn: boolean, source?: string }

export class ProviderRole {
  private readonly controller = new AbortController()
  private readonly drivers = new Map<Hash, Promise<void>>()
  private offTimer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined
  private running = false
  private current: ResourceOffer | undefined
  private readonly pollMs: number
  private readonly kicks = new Kicks()
  /** Called on every state change (for the CLI's output and for tests). */
  onEvent: (e: ProviderEvent) => void = () => {}
  /** Called for every version of the offer published. */
  onOffer: (e: OfferEvent) => void = () => {}
  private capacityReadAt = 0
  private withdrawn = false
  /** name:version of each deal's module, once its spec is fetched (job lines name it). */
  private readonly moduleOf = new Map<Hash, string>()

  constructor (private readonly o: ProviderOptions) {
    this.pollMs = o.pollMs ?? 500
  }

  get offer (): ResourceOffer | undefined { return this.current }

  transferService (): TransferService {
    const { store, net } = this.o
    return {
      authorize: async (dealId, remote, op, kind) => {
        const r = await store.get(dealId)
        if (r === undefined || r.role !== 'provider') return false
        if (remote !== r.deal.creator) {
          // the drawn mediator takes the claimed bundle to run the module's verifier on it
          if (op !== 'get' || kind !== 'bundle') return false
          const d = await this.o.escrow.disputeOf(dealId).catch(() => undefined)
          return d?.mediator !== undefined && d.mediator === remote
        }
        return op === 'get' ? kind === 'bundle' || kind === 'signature' : kind === 'acceptance'
      },
      get: async (dealId, kind) => {
        if (kind !== 'signature') return await store.getBlob(dealId, kind)
        const r = await store.get(dealId)
        return r === undefined ? undefined : ownSignatureBlob(net, r)
      },
      put: async (dealId, kind, data) => {
        if (kind !== 'acceptance') throw new TransferError('TRANSFER_REFUSED', 'a provider only takes result acceptances')
        const r = await store.require(dealId)
        const a = CreatorRole.parseAcceptance(data, r, (id, h) => net.hasher.digestBytes('ResultAcceptance', { dealId: id, resultHash: h }))
        if (a.resultHash !== r.resultHash) throw new TransferError('TRANSFER_REFUSED', `acceptance is for result ${a.resultHash}, ours is ${String(r.resultHash)}`)
        await store.putBlob(dealId, 'acceptance', data)
        if (r.state === 'result' || r.state === 'delivered' || r.state === 'submitted') {
          await store.update(dealId, { acceptance: a.signature })
          if (r.state !== 'submitted') await store.move(dealId, 'accepted', { acceptance: a.signature }, 'creator accepted the result')
        }
        this.kicks.kick(dealId)
      }
    }
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    const { escrow, config, log } = this.o
    try {
      const free = await escrow.freeBalance()
      if (free < config.depositWei) await escrow.deposit(config.depositWei - free)
    } catch (e) {
      log.error('could not deposit collateral', { error: describe(e) })
      throw e
    }
    const offAgreed = this.o.net.onAgreed((a) => { void this.onAgreed(a) })
    const offMatch = this.o.net.onMatch((m) => { if (m.role === 'provider') void this.onMatch(m) })
    this.unsubscribe = () => { offAgreed(); offMatch() }
    for (const r of await this.o.store.active('provider')) this.spawn(r.dealId)
    await this.publishOffer()
    const tick = (): void => {
      this.offTimer = setTimeout(() => {
        this.publishOffer().catch((e: unknown) => log.warn('publishing the resource offer failed', { error: describe(e) })).finally(() => { if (this.running) tick() })
      }, this.o.net.profile.epochMs)
    }
    tick()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.offTimer)
    this.unsubscribe?.()
    this.controller.abort(new Error('provider stopping'))
    await Promise.allSettled([...this.drivers.values()])
  }

  /**
   * Publishes a new version of the offer when none is live or the live one is near its end, or
   * (executors that name a refresh interval) when the capacity read again differs from the offer's.
   */
  private async publishOffer (): Promise<void> {
    const { net, executor, config } = this.o
    const epoch = net.currentEpoch()
    const renew = this.current === undefined || this.current.expiryEpoch - epoch <= 2n
    const refresh = executor.capacityRefreshMs
    const reread = refresh !== undefined && Date.now() - this.capacityReadAt >= refresh
    if (this.withdrawn ? !reread : (!renew && !reread)) return
    const cap = await executor.capacity()
    this.capacityReadAt = Date.now()
    if (cap === undefined) {
      if (!this.withdrawn) await this.withdraw(epoch)
      return
    }
    const fields = {
      cpu: Math.min(cap.cpu, config.maxCpu ?? cap.cpu),
      ram: Math.min(cap.ram, config.maxRam ?? cap.ram),
      gpus: cap.gpus,
      gpuVram: cap.gpuVram,
      disk: cap.disk,
      gpuModel: cap.gpuModel
    }
    const same = this.current !== undefined && !this.withdrawn && (Object.keys(fields) as Array<keyof typeof fields>).every((k) => this.current?.[k] === fields[k])
    if (!renew && same) return
    const offer = await this.nextVersion(epoch, fields, epoch + BigInt(config.offerLifetimeEpochs))
    await net.publishResourceOffer(offer)
    this.current = offer
    this.withdrawn = false
    this.onOffer({ offer, withdrawn: false, ...(cap.source !== undefined ? { source: cap.source } : {}) })
    this.o.log.info('resource offer published', { version: offer.version, cpu: offer.cpu, ram: offer.ram, gpus: offer.gpus, epoch: offer.epoch, ...(cap.source !== undefined ? { source: cap.source } : {}) })
  }

  /** Nothing can run: a version that supersedes the live one, fits no job and expires in its own epoch. */
  private async withdraw (epoch: bigint): Promise<void> {
    const offer = await this.nextVersion(epoch, { cpu: 1, ram: 1, gpus: 0, gpuVram: 0, disk: 0, gpuModel: '' }, epoch)
    await this.o.net.publishResourceOffer(offer)
    this.current = undefined
    this.withdrawn = true
    this.onOffer({ offer, withdrawn: true })
    this.o.log.warn('resource offer withdrawn: the executor can run nothing now', { version: offer.version, epoch })
  }

  private async nextVersion (epoch: bigint, fields: Pick<ResourceOffer, 'cpu' | 'ram' | 'gpus' | 'gpuVram' | 'disk' | 'gpuModel'>, expiryEpoch: bigint): Promise<ResourceOffer> {
    const { net, config } = this.o
    const state = await this.loadOfferState()
    state.version++
    await this.saveOfferState(state)
    return {
      provider: net.address,
      nonce: BigInt(state.nonce),
      version: state.version,
      ...fields,
      ...config.prices,
      modules: config.modules,
      collateral: config.collateral,
      epoch,
      expiryEpoch
    }
  }

  private async loadOfferState (): Promise<OfferState> {
    try {
      const s = JSON.parse(await readFile(this.o.config.offerStatePath, 'utf8')) as OfferState
      if (typeof s.nonce === 'string' && /^[0-9]{1,20}$/.test(s.nonce) && Number.isSafeInteger(s.version)) return s
    } catch {}
    return { nonce: BigInt('0x' + randomBytes(6).toString('hex')).toString(), version: 0 }
  }

  private async saveOfferState (s: OfferState): Promise<void> {
    const tmp = `${this.o.config.offerStatePath}.tmp`
    await writeFile(tmp, JSON.stringify(s), { mode: 0o600 })
    await rename(tmp, this.o.config.offerStatePath)
  }

  /** Our own match: recorded at once, so that a lost acceptance cannot lose the deal. */
  private async onMatch (m: OwnMatch): Promise<void> {
    if (m.deal.provider !== this.o.net.address || !this.running) return
    try {
      const acc = this.o.net.acceptances(m.dealId)
      const { created } = await this.o.store.create({ dealId: m.dealId, role: 'provider', state: 'matched', deal: m.deal, ...(acc.provider !== undefined ? { sigProvider: acc.provider } : {}) })
      if (created) this.emit(m.dealId, 'matched', undefined, `price ${m.deal.price} wei`)
      this.spawn(m.dealId)
    } catch (e) {
      this.o.log.error('storing a match failed', { dealId: m.dealId, error: describe(e) })
    }
  }

  private async onAgreed (a: AgreedDeal): Promise<void> {
    if (a.deal.provider !== this.o.net.address || !this.running) return
    try {
      const { created, record } = await this.o.store.create({ dealId: a.dealId, role: 'provider', state: 'agreed', deal: a.deal, sigCreator: a.sigCreator, sigProvider: a.sigProvider })
      if (created) this.emit(a.dealId, 'agreed', undefined, `price ${a.deal.price} wei`)
      else if (record.state === 'matched') await this.move(record, 'agreed', { sigCreator: a.sigCreator, sigProvider: a.sigProvider }, 'both signatures in')
      this.spawn(a.dealId)
      this.kicks.kick(a.dealId)
    } catch (e) {
      this.o.log.error('storing an agreed deal failed', { dealId: a.dealId, error: describe(e) })
    }
  }

  private spawn (dealId: Hash): void {
    if (this.drivers.has(dealId)) return
    const p = this.drive(dealId).catch((e: unknown) => {
      if (!this.controller.signal.aborted) this.o.log.error('deal driver stopped', { dealId, error: describe(e) })
    }).finally(() => this.drivers.delete(dealId))
    this.drivers.set(dealId, p)
  }

  private emit (dealId: Hash, state: string, tx?: Hash, message?: string): void {
    const module = this.moduleOf.get(dealId)
    this.onEvent({ dealId, state, at: Date.now(), ...(module !== undefined ? { module } : {}), ...(tx !== undefined ? { tx } : {}), ...(message !== undefined ? { message } : {}) })
    if (TERMINAL_STATES.has(state as DealRecord['state'])) this.moduleOf.delete(dealId)
  }

  private async move (r: DealRecord, to: DealRecord['state'], patch: Partial<DealRecord> = {}, note?: string): Promise<DealRecord> {
    const next = await this.o.store.move(r.dealId, to, patch, note)
    if (r.state !== to) this.emit(r.dealId, to, patch.settleTx ?? patch.openTx, note)
    return next
  }

  /** Whether the deal is an on-chain request's (its creator is the LilyRequests companion). */
  private isRequest (r: DealRecord): boolean {
    return this.o.requests !== undefined && r.deal.creator === this.o.requests.address
  }

  private creatorPeer (r: DealRecord): PeerId {
    if (this.isRequest(r)) {
      // the companion cannot serve files: its relay (the job offer's signer) does
      const p = this.o.requests?.relayPeer(r.deal.jobOfferHash)
      if (p === undefined) throw new TransferError('TRANSFER_UNREACHABLE', `the job offer ${r.deal.jobOfferHash} of request deal ${r.dealId} is not in the offer pool; no relay to fetch from`)
      return p
    }
    if (r.sigCreator !== undefined) return peerIdFromSignature(this.o.net.hasher.digestBytes('Deal', r.deal), r.sigCreator)
    const p = this.o.net.peerOf(r.deal.creator)
    if (p === undefined) throw new TransferError('TRANSFER_UNREACHABLE', `no peer known for creator ${r.deal.creator}`)
    return p
  }

  private async drive (dealId: Hash): Promise<void> {
    const { store, escrow, log } = this.o
    const signal = this.controller.signal
    const since = new Map<string, number>()
    const waited = (state: string): number => {
      if (!since.has(state)) since.set(state, Date.now())
      return Date.now() - (since.get(state) ?? Date.now())
    }
    for (;;) {
      signal.throwIfAborted()
      const r = await store.require(dealId)
      if (TERMINAL_STATES.has(r.state)) return
      const chain = await escrow.dealState(r.deal).catch((e: unknown) => { log.warn('chain read failed', { dealId, error: describe(e) }); return undefined })
      if (chain === undefined) { await sleep(this.pollMs, signal); continue }
      if (CLOSED_STATUSES.has(chain.status)) { await this.finish(r, chain.status); return }
      try {
        await this.step(r, chain.status, chain.deadline, waited)
      } catch (e) {
        if (signal.aborted) throw e
        log.warn('provider step failed; will retry', { dealId, state: r.state, error: describe(e) })
        await store.update(dealId, { error: describe(e), attempts: r.attempts + 1 })
        await sleep(Math.min(5000, this.pollMs * (r.attempts + 1)), signal)
        continue
      }
      const after = await store.require(dealId)
      // an agreed deal opens on-chain within moments (the creator sends openDeal at once): look often, so the job starts soon after
      const ms = after.state === 'agreed' || after.state === 'matched' ? Math.min(this.pollMs, FAST_POLL_MS) : this.pollMs
      if (after.state === r.state && after.updatedAt === r.updatedAt) await this.kicks.sleep(dealId, ms, signal)
    }
  }

  private async step (r: DealRecord, status: ChainStatus, deadline: number, waited: (s: string) => number): Promise<void> {
    const { escrow, config } = this.o
    switch (r.state) {
      case 'matched': {
        if (status !== 'none') {
          const sigs = await escrow.openingSignatures(r.dealId, r.deal)
          await this.move(r, 'opened', sigs ?? {}, 'deal opened on-chain')
          return
        }
        const acc = this.o.net.acceptances(r.dealId)
        if (acc.creator !== undefined && acc.provider !== undefined) await this.move(r, 'agreed', { sigCreator: acc.creator, sigProvider: acc.provider }, 'both signatures in')
        else if (BigInt(Math.floor(Date.now() / 1000)) > r.deal.openBy) await this.move(r, 'expired', {}, 'the creator never signed')
        else if (acc.provider !== undefined && waited('matched') > 1500 && !this.isRequest(r)) {
          // (a request's deal has no creator signature: its relay opens it with ours alone)
          const sigCreator = await fetchCounterpartySignature(this.o.net, r, this.creatorPeer(r), this.o.maxTransferBytes, this.controller.signal)
          await this.move(r, 'agreed', { sigCreator, sigProvider: acc.provider }, 'creator signature fetched directly')
        }
        return
      }
      case 'agreed':
      case 'opening': {
        if (status !== 'none') { await this.move(r, 'opened', {}, 'deal opened on-chain'); return }
        if (BigInt(Math.floor(Date.now() / 1000)) > r.deal.openBy) { await this.move(r, 'expired', {}, 'not opened before openBy'); return }
        if (r.state === 'opening' || waited('agreed') > config.openWaitMs) {
          await this.move(r, 'opening', {}, 'creator did not open the deal; opening it ourselves')
          const tx = await escrow.openDeal(r.deal, r.sigCreator as Signature, r.sigProvider as Signature)
          await this.move(await this.o.store.require(r.dealId), 'opened', { openTx: tx.hash }, 'openDeal mined')
        }
        return
      }
      case 'opened':
      case 'fetching':
        if (status === 'submitted' || status === 'challenged') return
        await this.fetchJob(r)
        return
      case 'running':
        if (r.outcome !== undefined && r.outcome.kind in NOT_STARTED_KINDS) {
          // the job cannot start here: not retried; the report goes to the creator until it takes it
          if (r.outcome.sent !== true && !this.isRequest(r)) await this.reportOutcome(r)
          return
        }
        await this.runJob(r)
        return
      case 'result': {
        if (r.outcome !== undefined && r.outcome.sent !== true && !this.isRequest(r)) await this.reportOutcome(r).catch((e: unknown) => { this.o.log.info('the outcome did not reach the creator (the bundle follows)', { dealId: r.dealId, error: describe(e) }) })
        if (status === 'submitted') { await this.move(r, 'submitted', {}, 'result on-chain'); return }
        if (this.isRequest(r)) { await this.fulfill(r); return }
        try {
          const bundle = await this.o.store.getBlob(r.dealId, 'bundle')
          if (bundle === undefined) throw new Error('stored bundle missing')
          await pushBlob(this.o.net.libp2p, this.o.net.profile, this.creatorPeer(r), r.dealId, 'bundle', bundle, { maxBytes: this.o.maxTransferBytes })
          await this.move(r, 'delivered', {}, 'bundle delivered to the creator')
        } catch (e) {
          if (waited('result') > config.acceptWaitMs || await this.nearDeadline(r, deadline)) await this.submit(r, `creator unreachable (${describe(e)})`)
          else throw e
        }
        return
      }
      case 'delivered':
        if (status === 'submitted') { await this.move(r, 'submitted', {}, 'result on-chain'); return }
        if (waited('delivered') > config.acceptWaitMs || await this.nearDeadline(r, deadline)) await this.submit(r, 'no acceptance from the creator')
        return
      case 'accepted': {
        const tx = await escrow.complete(r.deal, r.resultHash as Hash, r.acceptance as Signature)
        await this.o.store.update(r.dealId, { settleTx: tx.hash })
        return
      }
      case 'submitted':
        if (status === 'challenged') { await this.move(r, 'challenged', {}, 'the creator challenged the result'); return }
        if (r.acceptance !== undefined) {
          const tx = await escrow.complete(r.deal, r.resultHash as Hash, r.acceptance)
          await this.o.store.update(r.dealId, { settleTx: tx.hash })
          return
        }
        if (status === 'submitted' && (await escrow.blockTime()) > deadline) {
          // a request's deal is claimed through the companion, which also gives the consumer its final callback
          const tx = this.isRequest(r) ? await this.settleRequest(r) : await escrow.claim(r.deal)
          await this.o.store.update(r.dealId, { settleTx: tx.hash })
        }
        return
      case 'challenged':
        // reveal this provider's draw secret: not revealing in time forfeits the dispute
        if (status === 'challenged') await this.o.escrow.draw(r.deal)
        return
      default:
        return
    }
  }

  /** After the window: settle a request's deal through the companion (claims it: the provider is paid). */
  private async settleRequest (r: DealRecord): Promise<TxResult> {
    const { requests } = this.o
    const offer = r.jobOffer
    if (requests === undefined || offer === undefined) throw new Error('request deal without its job offer')
    const tx = await requests.settle(offer.nonce, r.deal, resultData(await this.stdoutOf(r)))
    this.emit(r.dealId, 'settled', tx.hash, `request ${offer.nonce} settled; ${tx.finalized ? 'paid, the consumer got the final result' : 'not paid'}`)
    return tx
  }

  private async stdoutOf (r: DealRecord): Promise<string> {
    const bundle = await this.o.store.getBlob(r.dealId, 'bundle')
    if (bundle === undefined) return ''
    try { return this.o.executor.decodeBundle(bundle).stdout } catch { return '' }
  }

  /** An on-chain request's deal: put the result on-chain and deliver the short result through the companion (paid after the window). */
  private async fulfill (r: DealRecord): Promise<void> {
    const { store, executor, requests } = this.o
    const offer = r.jobOffer
    if (requests === undefined || offer === undefined || r.resultHash === undefined) throw new Error('request deal without its job offer or result')
    const bundle = await store.getBlob(r.dealId, 'bundle')
    if (bundle === undefined) throw new Error('stored bundle missing')
    let stdout = ''
    try { stdout = executor.decodeBundle(bundle).stdout } catch {}
    const tx = await requests.fulfill(offer.nonce, r.deal, r.resultHash, resultData(stdout))
    await store.update(r.dealId, { settleTx: tx.hash })
    this.emit(r.dealId, 'fulfilled', tx.hash, `request ${offer.nonce} fulfilled (not final until the challenge window passes); callback ${tx.callbackOk ? 'ok' : 'failed (payment unaffected)'}`)
  }

  /** True when less than a quarter of the deal's result time (at least 5 s) is left. */
  private async nearDeadline (r: DealRecord, deadline: number): Promise<boolean> {
    const left = deadline - await this.o.escrow.blockTime()
    return left < Math.max(5, Math.floor(r.deal.timeout / 4))
  }

  private async submit (r: DealRecord, why: string): Promise<void> {
    const tx = await this.o.escrow.submitResult(r.deal, r.resultHash as Hash)
    await this.move(await this.o.store.require(r.dealId), 'submitted', { settleTx: tx.hash }, `submitResult: ${why}`)
  }

  private async fetchJob (r: DealRecord): Promise<void> {
    const { net, store, maxTransferBytes } = this.o
    if (r.state === 'opened') r = await this.move(r, 'fetching', {}, 'fetching module and inputs')
    const target = this.creatorPeer(r)
    const opts = { maxBytes: maxTransferBytes, signal: this.controller.signal }
    const offerBytes = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'offer', opts)
    const offer = fromJson<JobOffer>(new TextDecoder().decode(offerBytes))
    if (net.hasher.digest('JobOffer', offer) !== r.deal.jobOfferHash) throw new TransferError('TRANSFER_HASH_MISMATCH', 'the job offer the creator sent is not the one the deal names')
    const specBytes = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'module', opts)
    const spec = parseModuleSpec(specBytes)
    if (moduleHash(spec) !== offer.module) throw new TransferError('TRANSFER_HASH_MISMATCH', 'the module spec does not hash to the job offer\'s module')
    this.moduleOf.set(r.dealId, `${spec.name}:${spec.version}`)
    const inputBytes = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'inputs', opts)
    if (inputsHash(decodeInputs(inputBytes)) !== offer.inputsHash) throw new TransferError('TRANSFER_HASH_MISMATCH', 'the inputs do not hash to the job offer\'s inputsHash')
    await store.putBlob(r.dealId, 'offer', offerBytes)
    await store.putBlob(r.dealId, 'module', specBytes)
    await store.putBlob(r.dealId, 'inputs', inputBytes)
    await this.move(r, 'running', { jobOffer: offer }, 'module and inputs verified; running')
  }

  private async runJob (r: DealRecord): Promise<void> {
    const { store, executor, config } = this.o
    const offer = r.jobOffer as JobOffer
    let bundle: Uint8Array
    let resultHash: Hash
    if (config.cheat === true) {
      bundle = new TextEncoder().encode(`lilynode test cheat: no job was run for ${r.dealId}`)
      resultHash = blobHash(bundle)
    } else {
      const spec = parseModuleSpec(await store.getBlob(r.dealId, 'module') as Uint8Array)
      this.moduleOf.set(r.dealId, `${spec.name}:${spec.version}`)
      const inputs = decodeInputs(await store.getBlob(r.dealId, 'inputs') as Uint8Array)
      if (typeof config.cheat === 'object') {
        const { input, value } = config.cheat
        inputs[input] = spec.inputs[input]?.type === 'int' ? Number(value) : spec.inputs[input]?.type === 'bool' ? value === 'true' : value
      }
      const cancel = new AbortController()
      const unwatch = this.cancelWhenClosed(r, cancel)
      let res: RunJobResult
      try {
        res = await executor.run({
          dealId: r.dealId,
          spec,
          inputs,
          resources: { cpu: offer.cpu, ram: offer.ram, gpus: offer.gpus, gpuVram: offer.gpuVram, disk: offer.disk },
          timeoutS: offer.timeout,
          ...(r.jobHandle !== undefined ? { handle: r.jobHandle } : {}),
          onHandle: async (handle) => {
            if (handle === (await store.require(r.dealId)).jobHandle) return
            await store.update(r.dealId, { jobHandle: handle })
            this.emit(r.dealId, 'job', undefined, handle)
          }
        }, this.controller.signal, cancel.signal)
      } catch (e) {
        if (cancel.signal.aborted) this.emit(r.dealId, 'cancelled', undefined, describe(cancel.signal.reason))
        const code = (e as { code?: unknown }).code
        const kind = typeof code === 'string' ? NOT_STARTED[code] : undefined
        if (kind !== undefined && !cancel.signal.aborted && !this.controller.signal.aborted) {
          // typed and final: the job does not start on this machine, so the creator hears it now
          const outcome = { kind, code: OUTCOME_CODES[kind], message: describe(e), exitCode: null, stderrTail: '', at: Date.now() }
          const next = await this.move(r, 'running', { outcome, error: `${outcome.code}: ${outcome.message}` }, `the job cannot run here: ${outcome.code}`)
          this.emit(r.dealId, 'not-run', undefined, `${outcome.code}: ${outcome.message}`)
          if (!this.isRequest(r)) await this.reportOutcome(next).catch((err: unknown) => { this.o.log.warn('could not report the outcome to the creator; will retry', { dealId: r.dealId, error: describe(err) }) })
          return
        }
        throw e
      } finally {
        unwatch()
      }
      bundle = res.bundle
      resultHash = res.resultHash
      let stderrTail = ''
      try { const d = executor.decodeBundle(bundle); stderrTail = d.stderr.slice(-2048) } catch {}
      const kind = ranKind(res.outcome, res.exitCode)
      const outcome = { kind, code: OUTCOME_CODES[kind], message: kind === 'succeeded' ? 'the job succeeded' : `the job ${res.outcome === 'oom' ? 'ran out of memory' : res.outcome === 'timed_out' ? 'ran past its timeout' : 'failed'} (exit code ${String(res.exitCode)})`, exitCode: res.exitCode, stderrTail, at: Date.now() }
      await store.putBlob(r.dealId, 'bundle', bundle)
      await this.move(r, 'result', { resultHash, outcome }, `result ${resultHash}`)
      return
    }
    await store.putBlob(r.dealId, 'bundle', bundle)
    await this.move(r, 'result', { resultHash }, `result ${resultHash}`)
  }

  /** Sends the deal's typed outcome, signed, to its creator; notes that it was taken. */
  private async reportOutcome (r: DealRecord): Promise<void> {
    const o = r.outcome
    if (o === undefined) return
    const { net } = this.o
    const signed = signOutcome(net.profile, { dealId: r.dealId, kind: o.kind as OutcomeKind, message: o.message, exitCode: o.exitCode, stderrTail: o.stderrTail, at: o.at }, (d) => net.sign(d))
    await sendOutcome(net.libp2p, net.profile, this.creatorPeer(r), signed, this.controller.signal)
    await this.o.store.update(r.dealId, { outcome: { ...o, signature: signed.signature, sent: true } })
    this.emit(r.dealId, 'reported', undefined, `outcome ${o.code} sent to the creator`)
  }

  /** Aborts `cancel` once the deal is closed on-chain (the job's result can no longer be paid for). */
  private cancelWhenClosed (r: DealRecord, cancel: AbortController): () => void {
    let busy = false
    const timer = setInterval(() => {
      if (busy) return
      busy = true
      this.o.escrow.dealState(r.deal)
        .then((c) => { if (CLOSED_STATUSES.has(c.status)) cancel.abort(new Error(`the deal closed on-chain (${c.status}) while its job ran: job cancelled`)) })
        .catch(() => {})
        .finally(() => { busy = false })
    }, Math.max(this.pollMs, 1000))
    return () => clearInterval(timer)
  }

  private async finish (r: DealRecord, status: ChainStatus): Promise<void> {
    const to = status === 'completed' ? 'completed' : status === 'claimed' ? 'claimed' : status === 'timed-out' ? 'timed-out' : 'resolved'
    await this.move(r, to, {}, `chain: ${status}`)
  }
}

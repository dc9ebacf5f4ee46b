/**
 * The relay of on-chain job requests (issue 7; `lilynode creator --requests`): follows the
 * LilyRequests companion's JobRequested events and serves each request it can.
 *
 *   new ──► offered ──► open ──► fulfilled | settled
 *    │         │  ▲                (the provider fulfils; or the deal closed another way → settle)
 *    │         └──┘ re-offered when a match was not opened in time
 *    ├──► skipped (module or inputs unknown here; another relay may serve it)
 *    └──► refunded (pending past its deadline: refundRequest) | taken (another relay opened it)
 *
 * The offer is `jobOfferForRequest` (creator = the companion, nonce = requestId), signed and
 * gossiped by this node; the relay cannot change a term or take money, since the companion's
 * `openRequestDeal` checks the deal against the stored request, and only the request's `agent`
 * (this node's account) may send it. The relay opens only the deal its own matcher derived for
 * the offer (rebuilt from the head state's reservation, as the matcher builds it), once that
 * deal's provider signed it; a provider's signature over any other deal naming the offer (a
 * made-up price, say) is ignored. It then serves the module spec and inputs over `transfer` (the
 * CreatorRole's service reads them from the deal store, keyed by the job offer hash), and
 * follows the deal to its close: the provider submits its result and delivers the short result
 * (`fulfill`, a provisional callback), and after the challenge window the request is settled
 * (`settle`: the provider is paid and the consumer gets the final callback).
 *
 * Inputs: a request carries only `inputsHash`. The relay serves a request when that hash is
 * the module's default inputs (resolveInputs(spec, {})), or when `<inputsDir>/<inputsHash>`
 * holds the encoded inputs (encodeInputs bytes) that hash to it — consumers publish their
 * inputs to a relay that way before requesting.
 *
 * State lives in the node's database (KvStore): the block cursor and one record per request,
 * written before each step is acted on, so a restarted relay resumes without serving a
 * request twice.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { lilyRequestsAbi } from '../../chain/index.js'
import type { ChainClients } from '../../chain/index.js'
import { getRequest } from '../../chain/index.js'
import { jobOfferForRequest } from '../../chain/index.js'
import { openRequestDeal } from '../../chain/index.js'
import { refundRequest } from '../../chain/index.js'
import { settleRequest } from '../../chain/index.js'
import type { OnChainRequest, RequestParams } from '../../chain/index.js'
import { decodeInputs, encodeInputs, inputsHash, resolveInputs, serializeModuleSpec, type ModuleSpec } from '../../protocol/index.js'
import { epochAt } from '../../protocol/index.js'
import { dealPrice } from '../../matching/index.js'
import type { Deal, Hash, JobOffer, ResourceOffer, Signature } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import type { LilyNode } from '../network.js'
import { offerEpoch } from './creator.js'
import type { DealStore, KvStore } from './deals.js'
import { fromJson, toJson } from '../../protocol/index.js'
import { CLOSED_STATUSES, type EscrowPort, type NetworkPort } from './ports.js'
import { describe, sleep } from './util.js'

export type RelayState = 'new' | 'offered' | 'open' | 'skipped' | 'fulfilled' | 'settled' | 'refunded' | 'taken'

const FINAL: ReadonlySet<RelayState> = new Set<RelayState>(['fulfilled', 'settled', 'refunded', 'taken'])

/** One request as the relay tracks it (stored as JSON in the node's database). */
export interface RelayRecord {
  requestId: bigint
  state: RelayState
  /** Unix seconds: the request's deadline. */
  deadline: bigint
  jobOfferHash?: Hash
  epoch?: bigint
  expiryEpoch?: bigint
  dealId?: Hash
  deal?: Deal
  /** Why it was skipped, or the last error. */
  note?: string
  offers: number
}

export interface RelayEvent {
  requestId: bigint
  state: RelayState
  at: number
  dealId?: Hash
  provider?: Address
  tx?: Hash
  message?: string
}

export interface RequestRelayOptions {
  node: LilyNode
  net: NetworkPort
  escrow: EscrowPort
  chain: ChainClients
  deals: DealStore
  meta: KvStore
  log: Logger
  /** The LilyRequests address. */
  requests: Address
  /** Modules this relay can serve, by module hash. */
  modules: ReadonlyMap<Hash, ModuleSpec>
  /** Folder of encoded inputs named by their hash (optional). */
  inputsDir?: string
  /** First block to follow when no cursor is stored (default: the latest block at start). */
  fromBlock?: bigint
  pollMs?: number
  /** Epochs each offer stays matchable (default 20). */
  offerLifetimeEpochs?: number
  onEvent?: (e: RelayEvent) => void
}

/** Blocks per getLogs call. */
const LOG_RANGE = 2000n
const CURSOR_KEY = 'requests:cursor'
const RECORD_PREFIX = 'requests:r:'

function recordKey (id: bigint): string {
  return `${RECORD_PREFIX}${id.toString().padStart(20, '0')}`
}

export class RequestRelay {
  private readonly controller = new AbortController()
  private loop: Promise<void> | undefined
  private readonly pollMs: number
  /** Ids of the requests not yet in a final state (read from the store once, at start). */
  private readonly unfinished = new Set<bigint>()

  constructor (private readonly o: RequestRelayOptions) {
    this.pollMs = o.pollMs ?? 1000
  }

  async start (): Promise<void> {
    if (this.loop !== undefined) return
    if (await this.o.meta.get(CURSOR_KEY) === undefined) {
      const from = this.o.fromBlock ?? await this.o.chain.public.getBlockNumber()
      await this.o.meta.put(CURSOR_KEY, (from - 1n).toString())
    }
    for await (const v of this.o.meta.values({ gte: RECORD_PREFIX, lt: `${RECORD_PREFIX}~` })) {
      const r = fromJson<RelayRecord>(v)
      if (!FINAL.has(r.state)) this.unfinished.add(r.requestId)
    }
    const signal = this.controller.signal
    this.loop = (async () => {
      while (!signal.aborted) {
        try {
          await this.tick()
        } catch (e) {
          if (!signal.aborted) this.o.log.warn('request relay tick failed; will retry', { error: describe(e) })
        }
        await sleep(this.pollMs, signal).catch(() => undefined)
      }
    })()
  }

  async stop (): Promise<void> {
    this.controller.abort(new Error('relay stopping'))
    await this.loop
    this.loop = undefined
  }

  /** One pass: new JobRequested events, then one step for every unfinished request (finished ones are not read again). */
  async tick (): Promise<void> {
    await this.follow()
    for (const id of [...this.unfinished].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)) {
      this.controller.signal.throwIfAborted()
      const v = await this.o.meta.get(recordKey(id))
      if (v === undefined) { this.unfinished.delete(id); continue }
      const r = fromJson<RelayRecord>(v)
      if (FINAL.has(r.state)) { this.unfinished.delete(id); continue }
      try {
        await this.step(r)
      } catch (e) {
        this.o.log.warn('request step failed; will retry', { requestId: r.requestId.toString(), state: r.state, error: describe(e) })
      }
    }
  }

  private async follow (): Promise<void> {
    const { chain, meta, requests } = this.o
    const latest = await chain.public.getBlockNumber()
    let cursor = BigInt(await meta.get(CURSOR_KEY) ?? '0')
    while (cursor < latest) {
      const to = cursor + LOG_RANGE < latest ? cursor + LOG_RANGE : latest
      const logs = await chain.public.getContractEvents({ abi: lilyRequestsAbi, address: requests, eventName: 'JobRequested', fromBlock: cursor + 1n, toBlock: to, strict: true })
      for (const l of logs) {
        const id = l.args.requestId
        if (await meta.get(recordKey(id)) !== undefined) continue
        await this.save({ requestId: id, state: 'new', deadline: l.args.params.deadline, offers: 0 })
      }
      cursor = to
      await meta.put(CURSOR_KEY, cursor.toString())
    }
  }

  private async save (r: RelayRecord, event?: Omit<RelayEvent, 'requestId' | 'state' | 'at'>): Promise<void> {
    const prev = await this.o.meta.get(recordKey(r.requestId))
    await this.o.meta.put(recordKey(r.requestId), toJson(r))
    if (FINAL.has(r.state)) this.unfinished.delete(r.requestId)
    else this.unfinished.add(r.requestId)
    const changed = prev === undefined || fromJson<RelayRecord>(prev).state !== r.state
    if (changed || event !== undefined) this.o.onEvent?.({ requestId: r.requestId, state: r.state, at: Date.now(), ...(event ?? {}), ...(r.note !== undefined && event?.message === undefined ? { message: r.note } : {}) })
  }

  private async step (r: RelayRecord): Promise<void> {
    const { chain, requests, escrow } = this.o
    const req = await getRequest(chain, { requests, requestId: r.requestId })
    const now = BigInt(await escrow.blockTime())
    if (req.status === 'Pending' && now > req.params.deadline) {
      const tx = await refundRequest(chain, { requests, requestId: r.requestId })
      await this.save({ ...r, state: 'refunded', note: `nobody served it by its deadline; ${req.params.maxPrice} wei credited to ${req.consumer}` }, { tx: tx.hash })
      return
    }
    if (req.status === 'Refunded') { await this.save({ ...r, state: 'refunded', note: 'refunded (by someone else)' }); return }
    switch (r.state) {
      case 'new':
        if (req.status !== 'Pending') { await this.save({ ...r, state: 'taken', note: `already ${req.status}` }); return }
        await this.offer(r, req)
        return
      case 'skipped':
        return
      case 'offered':
        await this.watchMatch(r, req, now)
        return
      case 'open':
        await this.follow1(r, req)
    }
  }

  /** The inputs bytes of a request: the module's defaults, or a file in inputsDir named by the hash. */
  private async inputsFor (spec: ModuleSpec, hash: Hash): Promise<Uint8Array | undefined> {
    try {
      const defaults = resolveInputs(spec, {})
      if (inputsHash(defaults) === hash) return encodeInputs(defaults)
    } catch {}
    if (this.o.inputsDir === undefined || !/^0x[0-9a-f]{64}$/.test(hash)) return undefined
    const bytes = await readFile(join(this.o.inputsDir, hash)).catch(() => undefined)
    if (bytes === undefined) return undefined
    try {
      const b = new Uint8Array(bytes)
      return inputsHash(decodeInputs(b)) === hash ? b : undefined
    } catch {
      return undefined
    }
  }

  private async offer (r: RelayRecord, req: OnChainRequest): Promise<void> {
    const { net, deals, requests, modules, log } = this.o
    const p: RequestParams = req.params
    const spec = modules.get(p.module.toLowerCase() as Hash)
    if (spec === undefined) {
      log.info('request for a module this relay does not know; skipped', { requestId: r.requestId.toString(), module: p.module })
      await this.save({ ...r, state: 'skipped', note: `module ${p.module} is not in this relay's module directory (another relay may serve it)` })
      return
    }
    const inputs = await this.inputsFor(spec, p.inputsHash.toLowerCase() as Hash)
    if (inputs === undefined) {
      await this.save({ ...r, state: 'skipped', note: `inputs ${p.inputsHash} are neither ${spec.name}'s defaults nor in the relay's inputs folder` })
      return
    }
    const epoch = offerEpoch(net.profile, Date.now())
    const lifetime = BigInt(Math.min(this.o.offerLifetimeEpochs ?? 20, net.profile.limits.maxOfferLifetimeEpochs))
    const offer = jobOfferForRequest({ requests, requestId: r.requestId, params: p, epoch, expiryEpoch: epoch + lifetime })
    const jobOfferHash = net.hasher.digest('JobOffer', offer)
    await deals.putBlob(jobOfferHash, 'offer', new TextEncoder().encode(toJson(offer)))
    await deals.putBlob(jobOfferHash, 'module', new TextEncoder().encode(serializeModuleSpec(spec)))
    await deals.putBlob(jobOfferHash, 'inputs', inputs)
    const next: RelayRecord = { ...r, state: 'offered', jobOfferHash, epoch: offer.epoch, expiryEpoch: offer.expiryEpoch, offers: r.offers + 1 }
    delete next.note
    await this.save(next, { message: `${spec.name}:${spec.version} offered for epochs ${offer.epoch}..${offer.expiryEpoch}, max price ${p.maxPrice} wei` })
    await net.publishJobOffer(offer)
  }

  /** Waits for a provider's signature over a deal for our offer, then opens it through the companion. */
  private async watchMatch (r: RelayRecord, req: OnChainRequest, now: bigint): Promise<void> {
    const { node, deals, chain, requests, net } = this.o
    if (req.status === 'Open' || req.status === 'Delivered') {
      const mine = r.dealId !== undefined && req.dealId.toLowerCase() === r.dealId
      await this.save({ ...r, ...(mine ? { state: 'open' } : { state: 'taken', note: `another relay opened deal ${req.dealId}` }) })
      return
    }
    if (req.status !== 'Pending') { await this.save({ ...r, state: 'taken', note: `request is ${req.status}` }); return }
    const derived = this.matchedDeal(r.jobOfferHash as Hash)
    const signed = derived === undefined ? undefined : node.getAcceptances(derived.dealId).provider
    const found = derived !== undefined && signed !== undefined && derived.deal.openBy >= now ? derived : undefined
    if (found === undefined) {
      // offer expired unmatched (or its match was never opened): offer it again with new epochs
      const last = (r.expiryEpoch ?? 0n) + BigInt(net.profile.reserveEpochs) + 1n
      if (epochAt(net.profile, Date.now()) > last) await this.offer(r, req)
      return
    }
    const sigProvider = signed as Signature
    const { created } = await deals.create({ dealId: found.dealId, role: 'creator', state: 'matched', deal: found.deal, sigProvider })
    if (created) await this.save({ ...r, dealId: found.dealId, deal: found.deal }, { dealId: found.dealId, provider: found.deal.provider, message: `matched with ${found.deal.provider} at ${found.deal.price} wei` })
    const tx = await openRequestDeal(chain, { requests, requestId: r.requestId, deal: found.deal, epoch: r.epoch as bigint, expiryEpoch: r.expiryEpoch as bigint, sigProvider })
    await deals.move(found.dealId, 'opened', { openTx: tx.hash }, 'openRequestDeal mined').catch(() => undefined)
    await this.save({ ...r, state: 'open', dealId: found.dealId, deal: found.deal }, { dealId: found.dealId, provider: found.deal.provider, tx: tx.hash, message: `deal opened; ${found.deal.price} wei to the provider on fulfil` })
  }

  /**
   * The deal this node's matcher derived for the job offer: the head state's reservation of it,
   * with the Deal `step` builds (price = dealPrice, collateral and timeout from the offers, openBy
   * from the matcher config). Undefined while unmatched (or the offers are not in the pool).
   */
  private matchedDeal (jobOfferHash: Hash): { dealId: Hash, deal: Deal } | undefined {
    const { node } = this.o
    const head = node.headSnapshot()
    const res = head?.state.reserved.find((x) => x.jobId === jobOfferHash)
    if (res === undefined) return undefined
    const job = node.pool.get(res.jobId)
    const offer = node.pool.get(res.resourceId)
    if (job?.kind !== 'job' || offer?.kind !== 'resource') return undefined
    const j = job.offer as JobOffer
    const o = offer.offer as ResourceOffer
    const deal: Deal = {
      jobOfferHash: res.jobId,
      resourceOfferHash: res.resourceId,
      creator: j.creator,
      provider: o.provider,
      price: dealPrice(j, o),
      collateral: o.collateral,
      timeout: j.timeout,
      matchEpoch: res.matchEpoch,
      openBy: node.config.openBy(res.matchEpoch)
    }
    return { dealId: node.hasher.digest('Deal', deal), deal }
  }

  /** The short result the provider delivered with `fulfill` ('0x' when it delivered none). */
  private async deliveredData (requestId: bigint): Promise<Hex> {
    const { chain, requests } = this.o
    const [f] = await chain.public.getContractEvents({ abi: lilyRequestsAbi, address: requests, eventName: 'RequestFulfilled', args: { requestId }, fromBlock: 0n, strict: true })
    return f?.args.data ?? '0x'
  }

  /** Follows an opened deal: times it out when its provider is late, settles it when it is over in the escrow. */
  private async follow1 (r: RelayRecord, req: OnChainRequest): Promise<void> {
    const { escrow, chain, requests, deals } = this.o
    const deal = r.deal as Deal
    if (req.status === 'Fulfilled') {
      await deals.move(r.dealId as Hash, 'completed', {}, 'chain: fulfilled').catch(() => undefined)
      await this.save({ ...r, state: 'fulfilled' }, { dealId: r.dealId, message: 'fulfilled: the provider was paid and the consumer called back (CallbackResult says whether it succeeded)' })
      return
    }
    if (req.status === 'Settled') { await this.save({ ...r, state: 'settled' }); return }
    const chainDeal = await escrow.dealState(deal)
    if (chainDeal.status === 'open' && await escrow.blockTime() > chainDeal.deadline) {
      await escrow.timeout(deal)
      return
    }
    const windowOver = chainDeal.status === 'submitted' && await escrow.blockTime() > chainDeal.deadline
    if (windowOver || CLOSED_STATUSES.has(chainDeal.status)) {
      const data = req.status === 'Delivered' ? await this.deliveredData(r.requestId) : '0x'
      const tx = await settleRequest(chain, { requests, requestId: r.requestId, deal, data })
      const outcome = windowOver ? 'claimed' : chainDeal.status
      await deals.move(r.dealId as Hash, outcome === 'timed-out' ? 'timed-out' : outcome === 'claimed' ? 'claimed' : outcome === 'completed' ? 'completed' : 'resolved', {}, `chain: ${outcome}`).catch(() => undefined)
      if (tx.finalized) {
        await this.save({ ...r, state: 'fulfilled' }, { dealId: r.dealId, tx: tx.hash, message: 'fulfilled: the result is final, the provider was paid and the consumer called back (CallbackResult says whether it succeeded)' })
      } else {
        await this.save({ ...r, state: 'settled', note: `deal closed (${outcome}) without a paid result; settled` }, { dealId: r.dealId, tx: tx.hash })
      }
    }
  }
}

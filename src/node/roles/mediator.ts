/**
 * The mediator role (DESIGN §5, §6; `lilynode mediator`): registers with stake, follows the
 * chain for challenged deals, makes the draw when it can (anyone may), and when it is the one
 * drawn fetches the job offer, module spec and inputs from the creator, re-runs the job with
 * the executor, rules as the module's `verification` says (the same result hash; the module's
 * verifier within its tolerance; or no mediation), and calls `resolve`.
 *
 * Like the other roles it writes each step to the deal store first; the chain cursor is
 * stored too, so a restarted mediator neither misses a challenge nor handles one twice.
 */
import { decodeInputs, inputsHash, moduleHash, parseModuleSpec, verificationOf } from '../../protocol/index.js'
import type { Hash, JobOffer, Signature } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import { TERMINAL_STATES, type DealRecord, type DealStore, type KvStore } from './deals.js'
import { fromJson } from '../../protocol/index.js'
import { peerIdFromSignature } from '../../p2p/index.js'
import { CLOSED_STATUSES, type EscrowPort, type ExecutorPort, type NetworkPort } from './ports.js'
import { fetchBlob, TransferError } from '../../p2p/index.js'
import { describe, sleep } from './util.js'

export interface MediatorOptions {
  net: NetworkPort
  escrow: EscrowPort
  executor: ExecutorPort
  store: DealStore
  /** Where the chain cursor persists. */
  meta: KvStore
  log: Logger
  /** Stake to hold (registers or tops up to it; at least the contract's minimum). */
  stake: bigint
  maxTransferBytes: number
  pollMs?: number
  /** First block to scan when no cursor is stored. */
  fromBlock?: bigint
}

export interface MediatorEvent { dealId: Hash, state: string, at: number, tx?: Hash, message?: string }

const CURSOR_KEY = 'mediator-cursor'

export class MediatorRole {
  private readonly controller = new AbortController()
  private readonly drivers = new Map<Hash, Promise<void>>()
  private loop: Promise<void> | undefined
  private running = false
  private readonly pollMs: number
  onEvent: (e: MediatorEvent) => void = () => {}

  constructor (private readonly o: MediatorOptions) {
    this.pollMs = o.pollMs ?? 500
  }

  async start (): Promise<void> {
    if (this.running) return
    const { escrow, log } = this.o
    const { minStake } = await escrow.params()
    const want = this.o.stake > minStake ? this.o.stake : minStake
    const have = await escrow.mediatorStake(escrow.account)
    if (have < want) {
      const tx = await escrow.registerMediator(want - have)
      log.info('registered as mediator', { stake: want, tx: tx.hash })
    }
    this.running = true
    for (const r of await this.o.store.active('mediator')) this.spawn(r.dealId)
    this.loop = this.follow().catch((e: unknown) => {
      if (!this.controller.signal.aborted) log.error('mediator chain follower stopped', { error: describe(e) })
    })
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.controller.abort(new Error('mediator stopping'))
    await Promise.allSettled([this.loop, ...this.drivers.values()])
  }

  /** Follows the chain for challenges, from the stored cursor. */
  private async follow (): Promise<void> {
    const { escrow, store, meta, log } = this.o
    const signal = this.controller.signal
    const stored = await meta.get(CURSOR_KEY)
    let from = stored !== undefined ? BigInt(stored) : (this.o.fromBlock ?? 0n)
    for (;;) {
      signal.throwIfAborted()
      try {
        const { deals, toBlock } = await escrow.challengedSince(from)
        for (const c of deals) {
          if (c.deal.creator === escrow.account || c.deal.provider === escrow.account) continue
          const { created } = await store.create({ dealId: c.dealId, role: 'mediator', state: 'challenged', deal: c.deal, ...(c.sigCreator !== undefined ? { sigCreator: c.sigCreator } : {}) })
          if (created) this.emit(c.dealId, 'challenged')
          this.spawn(c.dealId)
        }
        from = toBlock + 1n
        await meta.put(CURSOR_KEY, from.toString())
      } catch (e) {
        log.warn('reading challenges failed; will retry', { error: describe(e) })
      }
      await sleep(this.pollMs, signal)
    }
  }

  private emit (dealId: Hash, state: string, tx?: Hash, message?: string): void {
    this.onEvent({ dealId, state, at: Date.now(), ...(tx !== undefined ? { tx } : {}), ...(message !== undefined ? { message } : {}) })
  }

  private spawn (dealId: Hash): void {
    if (this.drivers.has(dealId)) return
    const p = this.drive(dealId).catch((e: unknown) => {
      if (!this.controller.signal.aborted) this.o.log.error('mediation stopped', { dealId, error: describe(e) })
    }).finally(() => this.drivers.delete(dealId))
    this.drivers.set(dealId, p)
  }

  private async drive (dealId: Hash): Promise<void> {
    const { store, escrow, log } = this.o
    const signal = this.controller.signal
    for (;;) {
      signal.throwIfAborted()
      const r = await store.require(dealId)
      if (TERMINAL_STATES.has(r.state)) return
      try {
        const chain = await escrow.dealState(r.deal)
        if (CLOSED_STATUSES.has(chain.status)) {
          await store.move(dealId, 'resolved', {}, `chain: ${chain.status}`)
          this.emit(dealId, 'resolved', undefined, chain.status)
          return
        }
        const d = await escrow.disputeOf(dealId)
        if (d.mediator === undefined) {
          // anyone may draw once the block after the challenge exists; a revert just means "not yet"
          await escrow.draw(r.deal).catch((e: unknown) => log.debug('draw not possible yet', { dealId, error: describe(e) }))
        } else if (d.mediator === escrow.account) {
          if (r.state === 'challenged' || r.state === 'failed') {
            await store.move(dealId, 'drawn', {}, 'drawn as mediator')
            this.emit(dealId, 'drawn')
          } else {
            await this.mediate(await store.require(dealId))
          }
        } else if ((await escrow.blockTime()) > d.deadline) {
          await escrow.redraw(r.deal).catch((e: unknown) => log.debug('redraw not possible', { dealId, error: describe(e) }))
        }
      } catch (e) {
        if (signal.aborted) throw e
        log.warn('mediation step failed; will retry', { dealId, state: r.state, error: describe(e) })
        await store.update(dealId, { error: describe(e), attempts: r.attempts + 1 })
      }
      await sleep(this.pollMs, signal)
    }
  }

  /** Fetches the job from the creator, re-runs it, and rules. */
  private async mediate (r: DealRecord): Promise<void> {
    const { net, store, escrow, executor, maxTransferBytes } = this.o
    if (r.state === 'drawn' || r.state === 'fetching') {
      if (r.state === 'drawn') await store.move(r.dealId, 'fetching')
      const sigCreator = r.sigCreator
      const target = sigCreator !== undefined ? peerIdFromSignature(net.hasher.digestBytes('Deal', r.deal), sigCreator as Signature) : undefined
      if (target === undefined) throw new TransferError('TRANSFER_UNREACHABLE', 'the creator\'s peer id is unknown (no signature over the deal)')
      const opts = { maxBytes: maxTransferBytes, signal: this.controller.signal }
      const offerBytes = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'offer', opts)
      const offer = fromJson<JobOffer>(new TextDecoder().decode(offerBytes))
      if (net.hasher.digest('JobOffer', offer) !== r.deal.jobOfferHash) throw new TransferError('TRANSFER_HASH_MISMATCH', 'the creator sent a job offer the deal does not name')
      const specBytes = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'module', opts)
      if (moduleHash(parseModuleSpec(specBytes)) !== offer.module) throw new TransferError('TRANSFER_HASH_MISMATCH', 'module spec does not match the job offer')
      const inputBytes = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'inputs', opts)
      if (inputsHash(decodeInputs(inputBytes)) !== offer.inputsHash) throw new TransferError('TRANSFER_HASH_MISMATCH', 'inputs do not match the job offer')
      await store.putBlob(r.dealId, 'module', specBytes)
      await store.putBlob(r.dealId, 'inputs', inputBytes)
      await store.move(r.dealId, 'running', { jobOffer: offer }, 're-running the job')
      this.emit(r.dealId, 'running')
      return
    }
    if (r.state === 'running') {
      const offer = r.jobOffer as JobOffer
      const spec = parseModuleSpec(await store.getBlob(r.dealId, 'module') as Uint8Array)
      if (verificationOf(spec).kind === 'none') {
        await store.move(r.dealId, 'result', {}, 'the module declares verification none: nothing to re-run')
        return
      }
      const res = await executor.run({
        dealId: r.dealId,
        spec,
        inputs: decodeInputs(await store.getBlob(r.dealId, 'inputs') as Uint8Array),
        resources: { cpu: offer.cpu, ram: offer.ram, gpus: offer.gpus, gpuVram: offer.gpuVram, disk: offer.disk },
        timeoutS: offer.timeout
      }, this.controller.signal)
      await store.putBlob(r.dealId, 'bundle', res.bundle)
      await store.move(r.dealId, 'result', { resultHash: res.resultHash }, `re-run gave ${res.resultHash}`)
      return
    }
    if (r.state === 'result') {
      const claimed = await escrow.resultOf(r.dealId)
      const { providerWins, reason } = await this.rule(r, claimed)
      const tx = await escrow.resolve(r.deal, providerWins)
      await store.update(r.dealId, { settleTx: tx.hash })
      this.emit(r.dealId, 'ruled', tx.hash, `${providerWins ? 'the provider\'s result stands' : 'the provider\'s result is rejected'}: ${reason}`)
    }
  }

  /**
   * The ruling, as the module's verification says: `exact` compares the claimed hash with the
   * re-run's; `verifier` runs the module's verifier on the claimed bundle (fetched from the
   * provider, else the creator, and checked against the claimed hash) and the re-run's;
   * `none` lets the claim stand.
   */
  private async rule (r: DealRecord, claimed: Hash | undefined): Promise<{ providerWins: boolean, reason: string }> {
    if (claimed === undefined) return { providerWins: false, reason: 'no result was claimed on-chain' }
    const spec = parseModuleSpec(await this.o.store.getBlob(r.dealId, 'module') as Uint8Array)
    const kind = verificationOf(spec).kind
    if (kind === 'none') return { providerWins: true, reason: `module ${spec.name} declares verification none` }
    if (claimed === r.resultHash) return { providerWins: true, reason: `the re-run gave the same result ${claimed}` }
    if (kind === 'exact') return { providerWins: false, reason: `the provider claimed ${claimed}, the re-run gave ${String(r.resultHash)}` }
    const bundle = await this.claimedBundle(r, claimed)
    if (bundle === undefined) return { providerWins: false, reason: `neither party delivered a bundle with the claimed hash ${claimed}` }
    const reference = await this.o.store.getBlob(r.dealId, 'bundle')
    const j = await this.o.executor.judge({ dealId: r.dealId, spec, claimed: bundle, reference }, this.controller.signal)
    return { providerWins: j.providerWins, reason: `${j.by}: ${j.reason}` }
  }

  /** The bundle the provider claimed: from the provider (its interest), else from the creator; only with the claimed hash. */
  private async claimedBundle (r: DealRecord, claimed: Hash): Promise<Uint8Array | undefined> {
    const { net, escrow, executor, maxTransferBytes, log } = this.o
    const digest = net.hasher.digestBytes('Deal', r.deal)
    const sigs = await escrow.openingSignatures(r.dealId, r.deal).catch(() => undefined)
    const peers = [
      sigs !== undefined ? peerIdFromSignature(digest, sigs.sigProvider) : net.peerOf(r.deal.provider),
      r.sigCreator !== undefined ? peerIdFromSignature(digest, r.sigCreator as Signature) : net.peerOf(r.deal.creator)
    ]
    for (const target of peers) {
      if (target === undefined) continue
      try {
        const b = await fetchBlob(net.libp2p, net.profile, target, r.dealId, 'bundle', { maxBytes: maxTransferBytes, signal: this.controller.signal, expectHash: undefined })
        if (executor.hashBundle(b) === claimed) return b
      } catch (e) {
        log.info('could not fetch the claimed bundle', { dealId: r.dealId, peer: target.toString(), error: describe(e) })
      }
    }
    return undefined
  }
}

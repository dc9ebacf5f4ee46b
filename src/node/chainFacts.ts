/**
 * Chain facts for the matcher (DESIGN §4): which deals were opened and closed on-chain, fed
 * into every epoch's `step` so that an opened deal keeps its job consumed and its capacity
 * held past `reserveEpochs`, and a closed one frees the capacity again.
 *
 * The state root is compared across nodes, so the facts of an epoch must be the same on every
 * node whatever its chain view and whenever it asks. They are a pure function of the epoch
 * and the chain's history:
 *
 *   facts(E) = the escrow's DealOpened / closing events in blocks with
 *              cutoff(E − 1) < block.timestamp ≤ cutoff(E),
 *   cutoff(E) = floor((epochStart(E) − factsLagMs(profile)) / 1000)   (unix seconds)
 *
 * The windows of consecutive epochs do not overlap, so an event is handed to the matcher once,
 * and the lag is a function of the profile only, so every node uses the same one. Before it
 * answers, the source waits (bounded) until its chain view provably holds every block with
 * timestamp ≤ cutoff(E): either it has seen a later block, or it read the head at a wall-clock
 * time at least CLOCK_MARGIN_S after the cutoff (a block mined later cannot be stamped earlier
 * than that on a chain whose clock is ours within the margin — anvil on the same host, or an
 * L2 sequencer stamping real time).
 *
 * Chain unreachable or too far behind: `facts` throws CHAINFACTS_UNAVAILABLE after the bounded
 * wait, and logs it once per outage. The node's epoch loop then retries the same epoch instead
 * of stepping on a partial view: a node without a chain view stops matching (and signing)
 * rather than diverging silently; when the chain is back it replays the missed epochs, or, if
 * it fell too far behind, rejoins through a verified snapshot from its peers. Returning empty
 * facts instead would give a state root that differs from the network's for every epoch with
 * an event — unsafe.
 *
 * Reorgs deeper than `confirmations` are not undone (as in the EventFollower).
 */
import type { Level } from 'level'
import { ChainEventLog, type StoredEvent, type StringStore } from '../chain/index.js'
import { EventFollower } from '../chain/index.js'
import type { ChainClients } from '../chain/index.js'
import { lilyEscrowAbi, lilyRequestsAbi } from '../chain/index.js'
import type { ChainFacts, OpenedFact } from '../matching/index.js'
import { epochMatchTime, epochStart, escrowStartBlock, type Profile } from '../protocol/index.js'
import type { Address, Hash } from '../protocol/index.js'
import type { Logger } from '../protocol/index.js'
import { LilyError } from '../protocol/errors.js'
import { sleep } from '../protocol/index.js'
import { FundsReader, type EpochFacts, type FundsReads, type RequestTerms } from './funding.js'

/** How far behind an epoch's start its chain facts stop (ms): the same on every node of a profile. */
export function factsLagMs (p: Profile): number {
  return Math.max(2000, p.graceMs + p.epochMs)
}

/** Last block timestamp (unix s) whose events belong to the facts of `epoch` or earlier. */
export function factsCutoff (p: Profile, epoch: bigint): bigint {
  return BigInt(Math.floor((epochStart(p, epoch) - factsLagMs(p)) / 1000))
}

/**
 * The epoch's seed block is the first block stamped after this (unix s): the epoch's offers are
 * closed at its match time (the node reconciles and steps then), so the block is mined after
 * every offer of the epoch was fixed and its hash could not be known to whoever made one.
 */
export function seedBlockAfter (p: Profile, epoch: bigint): bigint {
  return BigInt(Math.floor(epochMatchTime(p, epoch) / 1000))
}

/** Seconds a new block's timestamp may lie before the wall clock at which we read the head. */
export const CLOCK_MARGIN_S = 2n

export class ChainFactsError extends LilyError<'CHAINFACTS_UNAVAILABLE' | 'CHAINFACTS_NOT_STARTED'> {
  override readonly name = 'ChainFactsError'
}

export interface ChainFactsOptions {
  profile: Profile
  client: ChainClients
  /** Where the event log lives (a sublevel of the node's database). */
  db: StringStore | ReturnType<Level<string, string>['sublevel']>
  /** First block to read on a fresh log (default: the profile's `escrowBlock`, else 0). */
  fromBlock?: bigint
  /** Poll interval of the background follower (default min(500, epochMs / 2)). */
  pollMs?: number
  /** Longest `facts` waits for the chain view to pass the cutoff (default max(3000, 2 × epochMs)). */
  waitMs?: number
  confirmations?: number
  /**
   * Put the epoch's seed block (`seedBlockAfter`) into its facts, so the matcher's tie-breaks
   * cannot be ground. Every node of a network must agree on it, and it needs a chain that mines
   * blocks on a clock (an L2 sequencer, anvil --block-time): on an idle automine chain the
   * block never comes and facts fail after `waitMs`. Default false.
   */
  seedBlocks?: boolean
  log: Logger
}

interface Hint { cutoff: bigint, nextBlock: bigint }

export class ChainFactsSource {
  readonly log: ChainEventLog
  private readonly follower: EventFollower
  private readonly pollMs: number
  private readonly waitMs: number
  private controller?: AbortController
  private loop?: Promise<void>
  /** Timestamp of the last block the log covers (unknown until the first batch after start). */
  private cursorTs: bigint | undefined
  /** Wall clock (ms) read before the last step that found the log caught up with the head. */
  private caughtUpAt = 0
  /** One follower step at a time: the background loop and `facts` share it. */
  private stepping: Promise<void> = Promise.resolve()
  private hint: Hint | undefined
  private failing = false
  /** account (lower case) → block of its first Deposited event (see funding.ts). */
  private readonly depositors = new Map<string, bigint>()
  private depositorsLoaded?: Promise<void>
  readonly funds: FundsReader

  constructor (private readonly o: ChainFactsOptions) {
    this.log = new ChainEventLog(o.db as StringStore)
    this.pollMs = o.pollMs ?? Math.max(50, Math.min(500, Math.floor(o.profile.epochMs / 2)))
    this.waitMs = o.waitMs ?? Math.max(3000, 2 * o.profile.epochMs)
    this.follower = new EventFollower({
      client: o.client,
      address: o.profile.escrow,
      fromBlock: o.fromBlock ?? escrowStartBlock(o.profile),
      cursorStore: this.log,
      confirmations: o.confirmations ?? 0,
      onEvents: async (b) => {
        await this.log.record(b)
        for (const e of b.events) {
          if (e.eventName === 'Deposited') this.noteDeposit(String((e.args as Record<string, unknown>).account), e.blockNumber)
        }
        this.cursorTs = b.toBlockTimestamp
      }
    })
    this.funds = new FundsReader(chainReads(o.client, o.profile), this.depositors)
    const reserveMs = o.profile.reserveEpochs * o.profile.epochMs
    if (reserveMs < factsLagMs(o.profile) + o.profile.epochMs + o.profile.graceMs) {
      o.log.warn('reserveEpochs is shorter than the chain facts lag: an opened deal may be released before its DealOpened event reaches the matcher', { reserveMs, lagMs: factsLagMs(o.profile) })
    }
  }

  /** Follows the chain in the background until stop() or `signal`. */
  start (signal?: AbortSignal): void {
    if (this.controller !== undefined) return
    const c = new AbortController()
    this.controller = c
    const onAbort = (): void => { c.abort() }
    signal?.addEventListener('abort', onAbort, { once: true })
    this.loop = this.run(c.signal).finally(() => signal?.removeEventListener('abort', onAbort))
  }

  async stop (): Promise<void> {
    this.controller?.abort()
    await this.loop
    await this.stepping.catch(() => {})
    this.controller = undefined
    this.loop = undefined
  }

  private noteDeposit (account: string, block: bigint): void {
    const a = account.toLowerCase()
    const first = this.depositors.get(a)
    if (first === undefined || block < first) this.depositors.set(a, block)
  }

  /**
   * Whether `account` has a Deposited event in what this node has read of the chain so far (no
   * read; false while the stored log is still being loaded): for the pool's quotas before the node
   * has matched an epoch with balances of its own (quota.ts).
   */
  deposited (account: Address): boolean {
    void this.loadDepositors().catch(() => {})
    return this.depositors.has(account.toLowerCase())
  }

  /** Reads the depositors of the stored log once (later ones come with each batch). */
  private async loadDepositors (): Promise<void> {
    this.depositorsLoaded ??= (async () => {
      for await (const e of this.log.events()) {
        if (e.eventName === 'Deposited') this.noteDeposit(String(e.args.account), BigInt(e.blockNumber))
      }
    })()
    await this.depositorsLoaded
  }

  /**
   * The matcher's facts of `epoch` (see the header), with the balances at B(epoch) (funding.ts);
   * throws CHAINFACTS_UNAVAILABLE when the chain view cannot be completed in time.
   */
  async facts (epoch: bigint, signal?: AbortSignal): Promise<EpochFacts> {
    const p = this.o.profile
    const hi = factsCutoff(p, epoch)
    const lo = factsCutoff(p, epoch - 1n)
    await this.loadDepositors()
    if (hi <= lo) return await this.withSeed({ opened: [], closed: [], funds: this.funds.at(null) }, epoch, signal)
    const asked = Date.now()
    const deadline = asked + this.waitMs
    let lastErr: unknown
    while (!this.complete(hi)) {
      signal?.throwIfAborted()
      if (Date.now() > deadline) {
        const msg = `chain view has not reached block time ${hi} (epoch ${epoch}) after ${this.waitMs} ms: is the RPC at ${p.rpcUrl} reachable? Not matching until it catches up`
        if (!this.failing) this.o.log.warn('chain facts unavailable', { epoch, cutoff: hi, cursorTs: this.cursorTs, error: lastErr instanceof Error ? lastErr.message : undefined })
        this.failing = true
        throw new ChainFactsError('CHAINFACTS_UNAVAILABLE', msg, { cause: lastErr })
      }
      try {
        await this.stepOnce()
      } catch (e) {
        lastErr = e
        await sleep(Math.min(200, this.pollMs), signal)
      }
      if (!this.complete(hi)) await sleep(Math.min(100, this.pollMs), signal)
    }
    const waited = Date.now() - asked
    if (waited > 50) this.o.log.debug('waited for the chain view', { epoch, cutoff: hi, ms: waited })
    if (this.failing) {
      this.failing = false
      this.o.log.info('chain facts available again', { epoch })
    }
    const f = await this.window(lo, hi)
    if (f.opened.length + f.closed.length > 0) this.o.log.debug('chain facts', { epoch, cutoff: hi, opened: f.opened.map((o) => o.dealId), closed: f.closed })
    return await this.withSeed({ opened: f.opened, closed: f.closed, funds: this.funds.at(f.block) }, epoch, signal)
  }

  private async withSeed (f: EpochFacts, epoch: bigint, signal?: AbortSignal): Promise<EpochFacts> {
    if (this.o.seedBlocks !== true) return f
    return { ...f, seedBlock: await this.seedBlock(epoch, signal) }
  }

  /** every block below `below` is stamped at or before `after` (timestamps never decrease) */
  private seedHint = { after: -1n, below: 0n }
  private readonly seeds = new Map<bigint, Hash>()

  /**
   * The hash of the first block stamped after `seedBlockAfter(epoch)`: waits (bounded by
   * `waitMs`) until the head passes it, then finds it by bisection over block numbers.
   */
  async seedBlock (epoch: bigint, signal?: AbortSignal): Promise<Hash> {
    const known = this.seeds.get(epoch)
    if (known !== undefined) return known
    const after = seedBlockAfter(this.o.profile, epoch)
    const pub = this.o.client.public
    const deadline = Date.now() + this.waitMs
    let head = await pub.getBlock({ blockTag: 'latest' })
    while (head.timestamp <= after) {
      signal?.throwIfAborted()
      if (Date.now() > deadline) {
        throw new ChainFactsError('CHAINFACTS_UNAVAILABLE', `no block stamped after ${after} (epoch ${epoch}'s seed time) within ${this.waitMs} ms: the chain at ${this.o.profile.rpcUrl} must mine blocks on a clock for seedBlocks`)
      }
      await sleep(Math.min(200, this.pollMs), signal)
      head = await pub.getBlock({ blockTag: 'latest' })
    }
    // invariant: block `hi` is stamped after `after`; every block below `lo` is not (or lo = 0)
    let lo = this.seedHint.after <= after ? this.seedHint.below : 0n
    let hi = head.number
    let hiHash = head.hash
    while (lo < hi) {
      const mid = (lo + hi) / 2n
      const b = await pub.getBlock({ blockNumber: mid })
      if (b.timestamp > after) { hi = mid; hiHash = b.hash } else lo = mid + 1n
    }
    const hash = hiHash.toLowerCase() as Hash
    if (after >= this.seedHint.after) this.seedHint = { after, below: hi }
    this.seeds.set(epoch, hash)
    if (this.seeds.size > 256) this.seeds.delete(this.seeds.keys().next().value as bigint)
    return hash
  }

  /** Where the deal's DealOpened event is, if the log has seen it. */
  async openedIn (dealId: Hash): Promise<{ blockNumber: bigint, transactionHash: Hash } | undefined> {
    return await this.log.openedIn(dealId)
  }

  /** Every block with timestamp ≤ `cutoff` is in the log. */
  private complete (cutoff: bigint): boolean {
    if (this.cursorTs !== undefined && this.cursorTs > cutoff) return true
    return BigInt(Math.floor(this.caughtUpAt / 1000)) - CLOCK_MARGIN_S > cutoff
  }

  /** Events with lo < timestamp ≤ hi, from the log, and the block of the last event with timestamp ≤ hi (null: none). */
  private async window (lo: bigint, hi: bigint): Promise<ChainFacts & { block: bigint | null }> {
    const since = this.hint !== undefined && this.hint.cutoff <= lo ? this.hint.nextBlock : 0n
    const opened: OpenedFact[] = []
    const closed: Hash[] = []
    let lastLe: bigint | undefined
    for await (const e of this.log.events(since)) {
      const ts = BigInt(e.blockTimestamp)
      if (ts > hi) break
      lastLe = BigInt(e.blockNumber)
      if (ts <= lo) continue
      collect(e, opened, closed)
    }
    if (lastLe !== undefined && (this.hint === undefined || this.hint.cutoff <= hi)) this.hint = { cutoff: hi, nextBlock: lastLe + 1n }
    // nothing from `since` on: the last event ≤ hi is the one the hint stopped after
    const block = lastLe ?? (since > 0n ? since - 1n : null)
    return { opened, closed, block }
  }

  private async stepOnce (): Promise<void> {
    const run = this.stepping.then(async () => {
      const t0 = Date.now()
      const b = await this.follower.step()
      if (b === undefined) this.caughtUpAt = t0
    })
    this.stepping = run.catch(() => {})
    await run
  }

  private async run (signal: AbortSignal): Promise<void> {
    let reported = false
    while (!signal.aborted) {
      try {
        await this.stepOnce()
        reported = false
      } catch (e) {
        if (!reported) this.o.log.warn('chain follower: RPC failed; retrying', { error: e instanceof Error ? e.message : String(e) })
        reported = true
      }
      await sleep(this.pollMs, signal).catch(() => {})
    }
  }
}

const CLOSING = new Set(['DealCompleted', 'DealClaimed', 'DealTimedOut', 'DealResolved'])

/** Balances and requests read at a block with viem (the RPC must keep the state of recent blocks, as anvil and Arbitrum full nodes do). */
export function chainReads (client: ChainClients, profile: Profile): FundsReads {
  return {
    balanceAt: async (account: Address, block: bigint) => await client.public.readContract({
      abi: lilyEscrowAbi, address: profile.escrow, functionName: 'balanceOf', args: [account], blockNumber: block
    }),
    requestAt: async (id: bigint, block: bigint): Promise<RequestTerms | undefined> => {
      const requests = profile.requests
      if (requests === undefined || id >= 1n << 64n) return undefined
      const [, status, params] = await client.public.readContract({
        abi: lilyRequestsAbi, address: requests, functionName: 'getRequest', args: [id], blockNumber: block
      })
      if (status === 0) return undefined
      return {
        status,
        module: params.module,
        inputsHash: params.inputsHash,
        cpu: params.cpu,
        ram: params.ram,
        gpus: params.gpus,
        gpuVram: params.gpuVram,
        disk: params.disk,
        maxPrice: params.maxPrice,
        collateral: params.collateral,
        timeout: params.timeout
      }
    }
  }
}

function collect (e: StoredEvent, opened: OpenedFact[], closed: Hash[]): void {
  if (e.eventName === 'DealOpened') {
    opened.push({
      dealId: (e.args.dealId as string).toLowerCase() as Hash,
      jobOfferHash: (e.args.jobOfferHash as string).toLowerCase() as Hash,
      resourceOfferHash: (e.args.resourceOfferHash as string).toLowerCase() as Hash
    })
  } else if (CLOSING.has(e.eventName)) {
    closed.push((e.args.dealId as string).toLowerCase() as Hash)
  }
}

/**
 * The `chainFacts` option of a LilyNode whose chain may not answer yet (a bootstrap node):
 * the node may ask before the source exists, and then waits for it. `attach` keeps trying to
 * reach the RPC in the background (logging once), so a node whose chain is down at start
 * still starts — it matches once the chain answers (see the header).
 */
export class DeferredChainFacts {
  private source?: ChainFactsSource
  private resolveReady: (s: ChainFactsSource) => void = () => {}
  private readonly ready = new Promise<ChainFactsSource>((resolve) => { this.resolveReady = resolve })
  private readonly controller = new AbortController()
  private attaching?: Promise<void>

  /** Pass as LilyNode's `chainFacts`. */
  readonly fn = async (epoch: bigint): Promise<EpochFacts> => {
    const s = this.source ?? await Promise.race([this.ready, abortable(this.controller.signal)])
    return await s.facts(epoch, this.controller.signal)
  }

  /** ChainFactsSource.deposited; false until the source is attached. */
  readonly deposited = (account: Address): boolean => this.source?.deposited(account) ?? false

  /** Starts the source once `client()` succeeds (retried every 2 s until stop()). */
  attach (o: Omit<ChainFactsOptions, 'client'>, client: () => Promise<ChainClients>): void {
    const signal = this.controller.signal
    this.attaching = (async () => {
      let warned = false
      while (!signal.aborted) {
        try {
          const c = await client()
          const s = new ChainFactsSource({ ...o, client: c })
          s.start(signal)
          this.source = s
          this.resolveReady(s)
          if (warned) o.log.info('chain reachable again: chain facts follow it')
          return
        } catch (e) {
          if (!warned) o.log.warn('chain unreachable: not matching until it answers', { rpcUrl: o.profile.rpcUrl, error: e instanceof Error ? e.message : String(e) })
          warned = true
          await sleep(2000, signal).catch(() => {})
        }
      }
    })()
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.attaching
    await this.source?.stop()
  }
}

async function abortable (signal: AbortSignal): Promise<never> {
  return await new Promise<never>((_resolve, reject) => {
    const fail = (): void => { reject(new ChainFactsError('CHAINFACTS_NOT_STARTED', 'chain facts stopped before the chain was reached')) }
    if (signal.aborted) fail()
    else signal.addEventListener('abort', fail, { once: true })
  })
}

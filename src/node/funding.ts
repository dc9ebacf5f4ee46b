/**
 * What an identity holds on-chain, as of an epoch's chain facts (DESIGN §4: every input that
 * steers the shared state costs something on-chain).
 *
 * The facts of epoch E end at the cutoff block time (chainFacts.ts). Balances are read at
 * B(E) = the block of the last escrow event with timestamp ≤ cutoff(E). Every change of an
 * escrow balance emits an escrow event (Deposited, Withdrawn, DealOpened, the closing events,
 * mediator staking), so the balances at B(E) are the balances at the last block before the
 * cutoff, and every node picks the same block from the same event log: the check is
 * deterministic. An account that never appears in a `Deposited` event up to B(E) holds nothing
 * and costs no read at all: a throwaway key is answered from memory.
 *
 *   job offer       counts iff its creator's free balance at B(E) is non-zero and covers the
 *                   maxPrice of all its live job offers of the epoch (live: effective at E and
 *                   not already consumed by a deal opened on-chain); all or none of them;
 *   LilyRequests    (creator = profile.requests) counts iff the request `nonce` exists at B(E),
 *   job offer       is Pending (paid, not served) and its terms are the offer's;
 *   resource offer  counts iff its provider's free balance at B(E) is non-zero and covers the
 *                   offer's collateral (one deal's).
 */
import type { Address, Hash, JobOffer, ResourceOffer } from '../protocol/index.js'
import type { ChainFacts, MatcherState } from '../matching/index.js'
import type { PoolOffer } from './pool.js'

/** The on-chain terms of a LilyRequests request that a relayed job offer must repeat. */
export interface RequestTerms {
  status: number
  module: Hash
  inputsHash: Hash
  cpu: number
  ram: number
  gpus: number
  gpuVram: number
  disk: number
  maxPrice: bigint
  collateral: bigint
  timeout: number
}

/** LilyRequests STATUS_PENDING: paid, not yet served. */
export const REQUEST_PENDING = 1

/** Balances and requests at one block, B(E). */
export interface FundsView {
  /** The block read (null: no escrow event up to the cutoff; everyone holds nothing). */
  readonly block: bigint | null
  /** Whether `account` appears in a Deposited event up to `block` (no read). */
  depositor: (account: Address) => boolean
  /** Free escrow balance of `account` at `block` (0 without a Deposited event up to it, without a read). */
  balanceOf: (account: Address) => Promise<bigint>
  /** The LilyRequests request at `block`, undefined when there is none. */
  request: (id: bigint) => Promise<RequestTerms | undefined>
}

/** Chain facts of an epoch with the balances they imply (absent on a node without a chain). */
export interface EpochFacts extends ChainFacts {
  funds?: FundsView
}

/** How a reader gets one value at a block (viem reads in chainFacts.ts; tests may give anvil directly). */
export interface FundsReads {
  balanceAt: (account: Address, block: bigint) => Promise<bigint>
  requestAt: (id: bigint, block: bigint) => Promise<RequestTerms | undefined>
}

const CACHE_ENTRIES = 16_384
const LOOKUP_CONCURRENCY = 8

/**
 * Reads of balances and requests at fixed blocks, cached (a value at a block never changes) and
 * deduplicated while in flight. `depositors` maps an account (lower case) to the block of its
 * first Deposited event: accounts not in it, or first seen after the block, read as 0.
 */
export class FundsReader {
  private readonly cache = new Map<string, Promise<unknown>>()

  constructor (private readonly reads: FundsReads, private readonly depositors: ReadonlyMap<string, bigint>) {}

  /** Whether `account` deposited at or before `block` (no read). */
  depositedBy (account: Address, block: bigint | null): boolean {
    const first = this.depositors.get(account.toLowerCase())
    return block !== null && first !== undefined && first <= block
  }

  at (block: bigint | null): FundsView {
    return {
      block,
      depositor: (account) => this.depositedBy(account, block),
      balanceOf: async (account) => {
        if (block === null || !this.depositedBy(account, block)) return 0n
        return await this.cached(`b:${block}:${account.toLowerCase()}`, async () => await this.reads.balanceAt(account, block))
      },
      request: async (id) => {
        if (block === null) return undefined
        return await this.cached(`r:${block}:${id}`, async () => await this.reads.requestAt(id, block))
      }
    }
  }

  private async cached<T> (key: string, read: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key)
    if (hit !== undefined) return await (hit as Promise<T>)
    const p = read()
    this.cache.set(key, p)
    // a failed read is not remembered (the epoch is retried)
    p.catch(() => { this.cache.delete(key) })
    while (this.cache.size > CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value
      if (oldest === undefined) break
      this.cache.delete(oldest)
    }
    return await p
  }
}

/** Whether a relayed job offer repeats its request's terms and the request is paid and unserved. */
export function requestBacks (offer: JobOffer, r: RequestTerms | undefined): boolean {
  return r !== undefined && r.status === REQUEST_PENDING &&
    r.module.toLowerCase() === offer.module.toLowerCase() && r.inputsHash.toLowerCase() === offer.inputsHash.toLowerCase() &&
    r.cpu === offer.cpu && r.ram === offer.ram && r.gpus === offer.gpus && r.gpuVram === offer.gpuVram && r.disk === offer.disk &&
    r.maxPrice === offer.maxPrice && r.collateral === offer.collateral && r.timeout === offer.timeout
}

async function eachLimited<T> (items: T[], fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0
  await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, items.length) }, async () => {
    while (i < items.length) await fn(items[i++])
  }))
}

/** Why an offer was left out of the matcher's input (counts for logs and tests). */
export interface FundingVerdict {
  kept: PoolOffer[]
  dropped: { jobs: number, resources: number, requests: number }
}

/**
 * The offers of an epoch's input that are backed on-chain (see the header), in the order given.
 * Pure given `funds` (reads at a fixed block); a failed read throws, so the epoch is retried
 * instead of stepping on a partial view.
 */
export async function fundedOffers (offers: PoolOffer[], prev: MatcherState, funds: FundsView, requests?: Address, opened: ReadonlyArray<{ jobOfferHash: Hash }> = []): Promise<FundingVerdict> {
  // consumed: opened before (prev) or in this epoch's facts (its price already left the free balance at B(E))
  const consumed = new Set<Hash>([...prev.spent.map((s) => s.jobId), ...prev.open.map((o) => o.jobId), ...opened.map((o) => o.jobOfferHash.toLowerCase() as Hash)])
  const relay = requests?.toLowerCase()
  const need = new Map<string, bigint>()
  const providers = new Map<string, Address>()
  const requestIds = new Set<bigint>()
  for (const o of offers) {
    if (o.kind === 'job') {
      const j = o.offer as JobOffer
      const c = j.creator.toLowerCase()
      if (c === relay) { requestIds.add(j.nonce); continue }
      const live = consumed.has(o.id) ? 0n : j.maxPrice
      need.set(c, (need.get(c) ?? 0n) + live)
    } else {
      const r = o.offer as ResourceOffer
      providers.set(r.provider.toLowerCase(), r.provider)
    }
  }
  const balances = new Map<string, bigint>()
  const accounts = [...new Set([...need.keys(), ...providers.keys()])].sort()
  await eachLimited(accounts, async (a) => { balances.set(a, await funds.balanceOf(a as Address)) })
  const reqs = new Map<bigint, RequestTerms | undefined>()
  await eachLimited([...requestIds].sort((x, y) => x < y ? -1 : x > y ? 1 : 0), async (id) => { reqs.set(id, await funds.request(id)) })
  const dropped = { jobs: 0, resources: 0, requests: 0 }
  const kept = offers.filter((o) => {
    if (o.kind === 'job') {
      const j = o.offer as JobOffer
      const c = j.creator.toLowerCase()
      if (c === relay) {
        const ok = requestBacks(j, reqs.get(j.nonce))
        if (!ok) dropped.requests++
        return ok
      }
      const bal = balances.get(c) ?? 0n
      const ok = bal > 0n && bal >= (need.get(c) ?? 0n)
      if (!ok) dropped.jobs++
      return ok
    }
    const r = o.offer as ResourceOffer
    const bal = balances.get(r.provider.toLowerCase()) ?? 0n
    const ok = bal > 0n && bal >= r.collateral
    if (!ok) dropped.resources++
    return ok
  })
  return { kept, dropped }
}

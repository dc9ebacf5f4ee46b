/**
 * Follows the escrow's events with eth_getLogs from a stored cursor: block ranges up to
 * `head − confirmations`, decoded with the escrow ABI, handed to `onEvents` in block order,
 * then the cursor moves past the range. A restart resumes after the stored cursor, so no
 * event is missed; an event can be handed over twice only if the process dies between
 * `onEvents` and the cursor write — handlers that are idempotent by (blockNumber, logIndex),
 * or a store that writes events and cursor in one batch (ChainEventLog), never double-count.
 * Reorgs deeper than `confirmations` blocks are not undone.
 */
import { parseEventLogs, type Address, type Chain, type Hex, type PublicClient, type Transport } from 'viem'
import { lilyEscrowAbi } from './artifacts.js'
import type { ChainClients } from './client.js'
import { ChainError, toChainError } from './errors.js'
import type { EscrowEventLog } from './tx.js'
import { pause } from '../protocol/index.js'

/** Where the follower keeps the last block it has fully handled. */
export interface CursorStore {
  get: () => Promise<bigint | undefined>
  put: (block: bigint) => Promise<void>
}

/** One decoded escrow event with its position and block time. */
export type FollowedEvent = EscrowEventLog & { blockNumber: bigint, logIndex: number, transactionHash: Hex, blockTimestamp: bigint }

export interface EventBatch {
  fromBlock: bigint
  toBlock: bigint
  /** Timestamp of `toBlock`, unix seconds. */
  toBlockTimestamp: bigint
  /** In (blockNumber, logIndex) order. */
  events: FollowedEvent[]
}

export interface EventFollowerOptions {
  client: ChainClients | PublicClient<Transport, Chain>
  /** The escrow. */
  address: Address
  /** First block to read when the cursor store is empty (usually the deployment block). */
  fromBlock?: bigint
  cursorStore: CursorStore
  /** Blocks to stay behind the head (default 0: anvil and Arbitrum do not reorg in practice). */
  confirmations?: number
  /** Pause between polls when caught up (default 1000 ms). */
  pollMs?: number
  /** Most blocks per getLogs call (default 2000). */
  maxBlockRange?: bigint
  onEvents: (batch: EventBatch) => Promise<void>
  /** Called with poll errors (the follower retries after pollMs); default: ignore. */
  onError?: (err: ChainError) => void
}

const DEFAULT_POLL_MS = 1000
const DEFAULT_RANGE = 2000n

export class EventFollower {
  private readonly pub: PublicClient<Transport, Chain>
  private readonly rpcUrl?: string
  private controller?: AbortController
  private loop?: Promise<void>

  constructor (private readonly opts: EventFollowerOptions) {
    if ('public' in opts.client) {
      this.pub = opts.client.public
      this.rpcUrl = opts.client.rpcUrl
    } else {
      this.pub = opts.client
    }
  }

  get running (): boolean { return this.controller !== undefined }

  /** Starts polling in the background; `signal` (or stop()) ends it. */
  start (signal?: AbortSignal): void {
    if (this.controller !== undefined) return
    const controller = new AbortController()
    this.controller = controller
    const onAbort = (): void => { controller.abort() }
    signal?.addEventListener('abort', onAbort, { once: true })
    this.loop = this.run(controller.signal).finally(() => signal?.removeEventListener('abort', onAbort))
  }

  /** Stops polling and waits for the batch in hand to finish. */
  async stop (): Promise<void> {
    this.controller?.abort()
    await this.loop
    this.controller = undefined
    this.loop = undefined
  }

  /** Handles every confirmed block up to the current head; returns the new cursor. */
  async catchUp (signal?: AbortSignal): Promise<bigint | undefined> {
    while (true) {
      signal?.throwIfAborted()
      const batch = await this.step()
      if (batch === undefined) return await this.opts.cursorStore.get()
    }
  }

  /** Handles the next range of confirmed blocks; undefined when caught up. */
  async step (): Promise<EventBatch | undefined> {
    const cursor = await this.opts.cursorStore.get()
    const from = cursor === undefined ? (this.opts.fromBlock ?? 0n) : cursor + 1n
    let head: bigint
    try {
      head = await this.pub.getBlockNumber({ cacheTime: 0 })
    } catch (e) {
      throw toChainError(e, { action: 'follow', rpcUrl: this.rpcUrl })
    }
    const safe = head - BigInt(this.opts.confirmations ?? 0)
    if (safe < from) return undefined
    const range = this.opts.maxBlockRange ?? DEFAULT_RANGE
    const to = safe < from + range - 1n ? safe : from + range - 1n
    const batch = await this.read(from, to)
    await this.opts.onEvents(batch)
    await this.opts.cursorStore.put(to)
    return batch
  }

  private async read (from: bigint, to: bigint): Promise<EventBatch> {
    try {
      const logs = await this.pub.getLogs({ address: this.opts.address, fromBlock: from, toBlock: to })
      const decoded = parseEventLogs({ abi: lilyEscrowAbi, logs, strict: true })
      const times = new Map<bigint, bigint>()
      const blocks = new Set<bigint>([to, ...decoded.map((l) => l.blockNumber)])
      await Promise.all([...blocks].map(async (n) => {
        const b = await this.pub.getBlock({ blockNumber: n })
        times.set(n, b.timestamp)
      }))
      const events = decoded
        .map((l) => ({ ...l, blockTimestamp: times.get(l.blockNumber) ?? 0n }) as FollowedEvent)
        .sort((a, b) => a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1)
      return { fromBlock: from, toBlock: to, toBlockTimestamp: times.get(to) ?? 0n, events }
    } catch (e) {
      throw toChainError(e, { action: 'follow', rpcUrl: this.rpcUrl })
    }
  }

  private async run (signal: AbortSignal): Promise<void> {
    const pollMs = this.opts.pollMs ?? DEFAULT_POLL_MS
    while (!signal.aborted) {
      let batch: EventBatch | undefined
      try {
        batch = await this.step()
      } catch (e) {
        const err = e instanceof ChainError ? e : new ChainError('CHAIN_FOLLOWER', `event follower: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
        this.opts.onError?.(err)
      }
      if (batch !== undefined) continue
      await pause(pollMs, signal)
    }
  }
}


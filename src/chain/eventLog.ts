/**
 * A LevelDB record of the escrow's events, written by the EventFollower: each batch of events
 * and the cursor that follows it go into one atomic `batch`, keyed by (blockNumber, logIndex),
 * so a restart neither misses nor double-counts an event. It also answers the matcher's
 * question: which deals were opened and closed up to a given time (DESIGN §4).
 */
import type { Hex } from 'viem'
import type { CursorStore, EventBatch, FollowedEvent } from './follower.js'

/** The few methods of a `level` (sub)level with string keys and values this record uses. */
export interface StringStore {
  get: (key: string) => Promise<string | undefined>
  batch: (ops: Array<{ type: 'put', key: string, value: string } | { type: 'del', key: string }>) => Promise<void>
  iterator: (options: { gte?: string, lt?: string }) => AsyncIterable<[string, string]> & { close: () => Promise<void> }
}

/** An escrow event as stored: bigints as decimal strings. */
export interface StoredEvent {
  eventName: string
  args: Record<string, string | boolean>
  blockNumber: string
  logIndex: number
  transactionHash: Hex
  blockTimestamp: string
}

export interface OpenedDeal {
  dealId: Hex
  jobOfferHash: Hex
  resourceOfferHash: Hex
  blockNumber: bigint
}

export interface DealFacts {
  /** Deals opened up to the time, in chain order. */
  opened: OpenedDeal[]
  /** Ids of deals closed (completed, claimed, timed out, resolved) up to the time. */
  closed: Hex[]
  /** The last block (≤ the time) the record has seen. */
  upToBlock: bigint | undefined
  /**
   * True when the record has seen a block later than the time, so no block with
   * timestamp ≤ the time can still be missing.
   */
  complete: boolean
}

const CURSOR = 'cursor'
const EVENT_PREFIX = 'ev:'
/** dealId → where its DealOpened event is (block, transaction), written with the event. */
const OPENED_PREFIX = 'opened:'
const CLOSING = new Set(['DealCompleted', 'DealClaimed', 'DealTimedOut', 'DealResolved'])

function eventKey (block: bigint, logIndex: number): string {
  return `${EVENT_PREFIX}${block.toString().padStart(20, '0')}:${logIndex.toString().padStart(8, '0')}`
}

function toStored (e: FollowedEvent): StoredEvent {
  const args: Record<string, string | boolean> = {}
  for (const [k, v] of Object.entries(e.args as Record<string, unknown>)) {
    args[k] = typeof v === 'boolean' ? v : typeof v === 'bigint' ? v.toString() : String(v)
  }
  return {
    eventName: e.eventName,
    args,
    blockNumber: e.blockNumber.toString(),
    logIndex: e.logIndex,
    transactionHash: e.transactionHash,
    blockTimestamp: e.blockTimestamp.toString()
  }
}

interface Cursor { block: string, timestamp: string }

export class ChainEventLog implements CursorStore {
  constructor (private readonly db: StringStore) {}

  async get (): Promise<bigint | undefined> {
    const c = await this.cursor()
    return c === undefined ? undefined : BigInt(c.block)
  }

  /** Moves the cursor (never backwards); `record` already moved it with its events. */
  async put (block: bigint): Promise<void> {
    const c = await this.cursor()
    if (c !== undefined && BigInt(c.block) >= block) return
    await this.db.batch([{ type: 'put', key: CURSOR, value: JSON.stringify({ block: block.toString(), timestamp: c?.timestamp ?? '0' }) }])
  }

  /** Stores a batch's events and the cursor after it, atomically. Use as the follower's onEvents. */
  readonly record = async (batch: EventBatch): Promise<void> => {
    const ops: Array<{ type: 'put', key: string, value: string }> = []
    for (const e of batch.events) {
      ops.push({ type: 'put', key: eventKey(e.blockNumber, e.logIndex), value: JSON.stringify(toStored(e)) })
      if (e.eventName === 'DealOpened') {
        ops.push({ type: 'put', key: `${OPENED_PREFIX}${e.args.dealId.toLowerCase()}`, value: JSON.stringify({ block: e.blockNumber.toString(), tx: e.transactionHash }) })
      }
    }
    ops.push({ type: 'put', key: CURSOR, value: JSON.stringify({ block: batch.toBlock.toString(), timestamp: batch.toBlockTimestamp.toString() }) })
    await this.db.batch(ops)
  }

  /**
   * Where the deal's DealOpened event is, if the log has seen it (one read, whatever the
   * log's size): the block and the transaction that opened it.
   */
  async openedIn (dealId: Hex): Promise<{ blockNumber: bigint, transactionHash: Hex } | undefined> {
    const raw = await this.db.get(`${OPENED_PREFIX}${dealId.toLowerCase()}`)
    if (raw === undefined) return undefined
    const v = JSON.parse(raw) as { block: string, tx: Hex }
    return { blockNumber: BigInt(v.block), transactionHash: v.tx }
  }

  /** Every stored event from block `sinceBlock` (default 0) on, in chain order. */
  async * events (sinceBlock = 0n): AsyncGenerator<StoredEvent> {
    const it = this.db.iterator({ gte: eventKey(sinceBlock, 0), lt: `${EVENT_PREFIX}~` })
    try {
      for await (const [, value] of it) yield JSON.parse(value) as StoredEvent
    } finally {
      await it.close()
    }
  }

  /**
   * Deals opened and closed in blocks with timestamp ≤ `timestampSec` (and, with
   * `sinceBlock`, from that block on — for callers that keep the earlier facts already).
   */
  async dealFactsUpTo (timestampSec: bigint, opts: { sinceBlock?: bigint } = {}): Promise<DealFacts> {
    const opened: OpenedDeal[] = []
    const closed: Hex[] = []
    let upToBlock: bigint | undefined
    for await (const e of this.events(opts.sinceBlock)) {
      if (BigInt(e.blockTimestamp) > timestampSec) break
      upToBlock = BigInt(e.blockNumber)
      if (e.eventName === 'DealOpened') {
        opened.push({
          dealId: e.args.dealId as Hex,
          jobOfferHash: e.args.jobOfferHash as Hex,
          resourceOfferHash: e.args.resourceOfferHash as Hex,
          blockNumber: BigInt(e.blockNumber)
        })
      } else if (CLOSING.has(e.eventName)) {
        closed.push(e.args.dealId as Hex)
      }
    }
    const c = await this.cursor()
    const complete = c !== undefined && BigInt(c.timestamp) > timestampSec
    if (c !== undefined && BigInt(c.timestamp) <= timestampSec) upToBlock = BigInt(c.block)
    return { opened, closed, upToBlock, complete }
  }

  private async cursor (): Promise<Cursor | undefined> {
    const raw = await this.db.get(CURSOR)
    return raw === undefined ? undefined : JSON.parse(raw) as Cursor
  }
}

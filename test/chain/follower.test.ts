/**
 * The event follower against a real anvil: it resumes from the LevelDB cursor after a restart
 * without missing or double-counting an event, and the event log answers the matcher's chain
 * facts up to a time.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { keccak256, toHex, type Hex } from 'viem'
import type { Deal } from '../../src/protocol/types.js'
import { EventFollower, type EventBatch } from '../../src/chain/follower.js'
import { ChainEventLog } from '../../src/chain/eventLog.js'
import { lilyEscrowAbi } from '../../src/chain/artifacts.js'
import { openDeal } from '../../src/chain/openDeal.js'
import { completeDeal } from '../../src/chain/complete.js'
import { timeoutDeal } from '../../src/chain/timeout.js'
import { signDeal } from '../../src/chain/signing.js'
import { DEAL_TIMEOUT, START_DEPOSIT, setup, type Fixture } from './helpers.js'

const RESULT: Hex = keccak256(toHex('r'))

describe('chain: event follower and LevelDB event log', function () {
  this.timeout(60_000)
  let fx: Fixture
  let dir: string

  before(async () => {
    fx = await setup('eth')
    await fx.fund(fx.creator, 10n * START_DEPOSIT)
    await fx.fund(fx.provider, 10n * START_DEPOSIT)
    dir = await mkdtemp(join(tmpdir(), 'lilynode-follower-'))
  })
  after(async () => {
    await fx?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })
  afterEach(async () => { await fx.checkSolvency() })

  async function openOne (): Promise<Deal> {
    const deal = fx.makeDeal()
    await openDeal(fx.provider.client, { escrow: fx.escrow, deal, sigCreator: signDeal(fx.hasher, deal, fx.creator.key) })
    return deal
  }

  async function allLogs (): Promise<string[]> {
    const logs = await fx.admin.client.public.getLogs({ address: fx.escrow, fromBlock: 0n })
    return logs.map((l) => `${l.blockNumber}:${l.logIndex}`)
  }

  async function waitFor (cond: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the follower')
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  it('resumes after a restart from its stored cursor: every event handled exactly once', async () => {
    const path = join(dir, 'resume')
    const handled = new Map<string, number>()
    const count = (b: EventBatch): void => {
      for (const e of b.events) {
        const k = `${e.blockNumber}:${e.logIndex}`
        handled.set(k, (handled.get(k) ?? 0) + 1)
      }
    }
    const run = async (): Promise<void> => {
      const db = new Level<string, string>(path)
      const log = new ChainEventLog(db.sublevel<string, string>('chain', {}))
      const follower = new EventFollower({
        client: fx.admin.client,
        address: fx.escrow,
        fromBlock: 0n,
        cursorStore: log,
        pollMs: 20,
        maxBlockRange: 3n,
        onEvents: async (b) => { await log.record(b); count(b) }
      })
      const ac = new AbortController()
      follower.start(ac.signal)
      const head = await fx.admin.client.public.getBlockNumber({ cacheTime: 0 })
      await waitFor(async () => ((await log.get()) ?? -1n) >= head)
      ac.abort()
      await follower.stop()
      assert.equal(follower.running, false)
      await db.close()
    }

    const a = await openOne()
    await openOne()
    await completeDeal(fx.creator.client, { escrow: fx.escrow, deal: a, resultHash: RESULT })
    await run()
    const firstRun = handled.size
    assert.ok(firstRun >= 3)
    const c = await openOne()
    await completeDeal(fx.creator.client, { escrow: fx.escrow, deal: c, resultHash: RESULT })
    await run() // a restart: new database handle, new follower
    const expected = await allLogs()
    assert.ok(handled.size > firstRun)
    assert.deepEqual([...handled.keys()].sort(), [...expected].sort(), 'every escrow event, none missed')
    assert.ok([...handled.values()].every((n) => n === 1), 'no event handled twice')

    const db = new Level<string, string>(path)
    try {
      const log = new ChainEventLog(db.sublevel<string, string>('chain', {}))
      const stored: string[] = []
      for await (const e of log.events()) stored.push(`${e.blockNumber}:${e.logIndex}`)
      assert.deepEqual(stored.sort(), [...expected].sort())
    } finally {
      await db.close()
    }
  })

  it('a crash between storing events and moving the cursor re-delivers the batch without double-counting', async () => {
    const db = new Level<string, string>(join(dir, 'crash'))
    try {
      const log = new ChainEventLog(db.sublevel<string, string>('chain', {}))
      // a cursor kept apart from the events (not in the same batch), and a crash right after onEvents
      let cursor: bigint | undefined
      let crash = true
      const delivered: string[] = []
      const follower = new EventFollower({
        client: fx.admin.client,
        address: fx.escrow,
        fromBlock: 0n,
        cursorStore: {
          get: async () => cursor,
          put: async (b) => {
            if (crash) { crash = false; throw new Error('killed before the cursor write') }
            cursor = b
          }
        },
        onEvents: async (b) => { await log.record(b); delivered.push(...b.events.map((e) => `${e.blockNumber}:${e.logIndex}`)) }
      })
      await assert.rejects(follower.step(), /killed before the cursor write/)
      await follower.catchUp()
      const expected = await allLogs()
      assert.ok(delivered.length > expected.length, 'the first batch was delivered again after the crash')
      const stored: string[] = []
      for await (const e of log.events()) stored.push(`${e.blockNumber}:${e.logIndex}`)
      assert.deepEqual(stored.sort(), [...expected].sort(), 'stored once per (block, logIndex)')
    } finally {
      await db.close()
    }
  })

  it('dealFactsUpTo: deals opened and closed in blocks up to a time; openedIn: where each deal was opened', async () => {
    const db = new Level<string, string>(join(dir, 'facts'))
    try {
      const log = new ChainEventLog(db.sublevel<string, string>('chain', {}))
      const follower = new EventFollower({ client: fx.admin.client, address: fx.escrow, cursorStore: log, onEvents: log.record })
      await fx.increaseTime(100)
      const early = await openOne()
      const t1 = (await fx.admin.client.public.getBlock()).timestamp
      await fx.increaseTime(DEAL_TIMEOUT + 1)
      await timeoutDeal(fx.outsider.client, { escrow: fx.escrow, deal: early })
      const late = await openOne()
      const t2 = (await fx.admin.client.public.getBlock()).timestamp
      await follower.catchUp()

      const at1 = await log.dealFactsUpTo(t1)
      assert.ok(at1.opened.some((o) => o.dealId === fx.dealId(early) && o.jobOfferHash === early.jobOfferHash && o.resourceOfferHash === early.resourceOfferHash))
      assert.ok(!at1.opened.some((o) => o.dealId === fx.dealId(late)), 'a deal opened after the time is not a fact yet')
      assert.ok(!at1.closed.includes(fx.dealId(early)))
      assert.equal(at1.complete, true)

      const at2 = await log.dealFactsUpTo(t2)
      assert.ok(at2.opened.some((o) => o.dealId === fx.dealId(late)))
      assert.ok(at2.closed.includes(fx.dealId(early)))
      assert.equal(at2.complete, false, 'no block after t2 seen yet')
      await fx.increaseTime(5)
      await follower.catchUp()
      assert.equal((await log.dealFactsUpTo(t2)).complete, true)
      // the index of DealOpened events answers where a deal was opened without a getLogs search
      for (const d of [early, late]) {
        const where = await log.openedIn(fx.dealId(d))
        assert.ok(where !== undefined, 'every followed DealOpened is indexed')
        const [ev] = await fx.admin.client.public.getContractEvents({ abi: lilyEscrowAbi, address: fx.escrow, eventName: 'DealOpened', args: { dealId: fx.dealId(d) }, fromBlock: 0n, strict: true })
        assert.equal(where.transactionHash, ev.transactionHash)
        assert.equal(where.blockNumber, ev.blockNumber)
      }
      assert.equal(await log.openedIn(keccak256(toHex('never opened'))), undefined)
      const since = await log.dealFactsUpTo(t2, { sinceBlock: at2.opened.find((o) => o.dealId === fx.dealId(late))?.blockNumber })
      assert.deepEqual(since.opened.map((o) => o.dealId), [fx.dealId(late)])
      assert.deepEqual(since.closed, [])
      await completeDeal(fx.creator.client, { escrow: fx.escrow, deal: late, resultHash: RESULT })
    } finally {
      await db.close()
    }
  })
})

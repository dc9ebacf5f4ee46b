/**
 * Chain facts for the matcher against a real anvil: two nodes that read the chain at
 * different times (one from the start, one that joins after the events) derive the same facts
 * for every epoch; each event lands in exactly one epoch; an unreachable chain is an error
 * (the node does not step on a partial view), never empty facts.
 */
import assert from 'node:assert/strict'
import type { EpochFacts } from '../../src/node/funding.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { createPublicClient, http, keccak256, toHex, type Hex } from 'viem'
import { completeDeal } from '../../src/chain/complete.js'
import { openDeal } from '../../src/chain/openDeal.js'
import { signDeal } from '../../src/chain/signing.js'
import type { ChainFacts } from '../../src/matching/types.js'
import { ChainFactsError, ChainFactsSource, DeferredChainFacts, factsCutoff } from '../../src/node/chainFacts.js'
import { createLogger } from '../../src/protocol/logger.js'
import { DEFAULT_LIMITS, type Profile } from '../../src/protocol/profile.js'
import type { Deal } from '../../src/protocol/types.js'
import { START_DEPOSIT, setup, type Fixture } from '../chain/helpers.js'


/** The facts as data: the balances view is compared by the block it reads at (the same block gives the same balances). */
function plain (f: EpochFacts): ChainFacts & { fundsBlock: bigint | null | undefined } {
  const { funds, ...rest } = f
  return { ...rest, fundsBlock: funds?.block }
}

describe('node: chain facts for the matcher', function () {
  this.timeout(120_000)
  let fx: Fixture
  let dir: string
  let profile: Profile
  const dbs: Array<Level<string, string>> = []
  const sources: ChainFactsSource[] = []
  const log = createLogger('test', { level: 'error' })

  before(async () => {
    fx = await setup('eth')
    await fx.fund(fx.creator, 10n * START_DEPOSIT)
    await fx.fund(fx.provider, 10n * START_DEPOSIT)
    dir = await mkdtemp(join(tmpdir(), 'lilynode-facts-'))
    profile = {
      name: 'facts-test',
      chainId: 31337n,
      rpcUrl: fx.anvil.rpcUrl,
      escrow: fx.escrow,
      token: null,
      epochMs: 1000,
      graceMs: 0,
      genesisMs: 0,
      reserveEpochs: 10,
      bootstrap: [],
      limits: { ...DEFAULT_LIMITS }
    }
  })
  after(async () => {
    for (const s of sources) await s.stop()
    for (const d of dbs) await d.close()
    await fx?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  async function source (name: string, over: Partial<ConstructorParameters<typeof ChainFactsSource>[0]> = {}): Promise<ChainFactsSource> {
    const db = new Level<string, string>(join(dir, name))
    await db.open()
    dbs.push(db)
    const s = new ChainFactsSource({ profile, client: fx.admin.client, db: db.sublevel<string, string>('chainlog', {}), log, waitMs: 20_000, ...over })
    sources.push(s)
    return s
  }

  async function blockTime (): Promise<bigint> {
    return (await fx.admin.client.public.getBlock({ blockTag: 'latest' })).timestamp
  }

  it('gives every node the same facts per epoch, each event in exactly one epoch', async () => {
    const early = await source('early')
    early.start()
    const t0 = await blockTime()
    const deals: Deal[] = []
    for (let i = 0; i < 3; i++) {
      const deal = fx.makeDeal()
      await openDeal(fx.provider.client, { escrow: fx.escrow, deal, sigCreator: signDeal(fx.hasher, deal, fx.creator.key) })
      deals.push(deal)
      if (i === 0) await new Promise((resolve) => setTimeout(resolve, 1100)) // spread over blocks of different seconds
    }
    const resultHash: Hex = keccak256(toHex('result'))
    await completeDeal(fx.creator.client, // sent by the creator: no acceptance signature needed
      { escrow: fx.escrow, deal: deals[0], resultHash })
    const t1 = await blockTime()
    // epochs whose windows cover [t0, t1]: cutoff(E) = E − 2 with genesis 0, 1 s epochs, 2 s lag
    const first = t0 + 1n
    const last = t1 + 3n
    assert.ok(factsCutoff(profile, first - 1n) < t0 && factsCutoff(profile, last) >= t1)

    const a = new Map<bigint, ChainFacts>()
    for (let e = first; e <= last; e++) a.set(e, plain(await early.facts(e)))
    // a node that starts only now, and asks in the opposite order
    const late = await source('late')
    const b = new Map<bigint, ChainFacts>()
    for (let e = last; e >= first; e--) b.set(e, plain(await late.facts(e)))
    for (let e = first; e <= last; e++) assert.deepEqual(b.get(e), a.get(e), `epoch ${e}`)

    const opened = [...a.values()].flatMap((f) => f.opened.map((o) => o.dealId))
    const closed = [...a.values()].flatMap((f) => f.closed)
    assert.deepEqual(opened.sort(), deals.map((d) => fx.dealId(d).toLowerCase()).sort())
    assert.deepEqual(closed, [fx.dealId(deals[0]).toLowerCase()])
    // the epochs around carry none of them
    assert.deepEqual(plain(await early.facts(first - 1n)), plain(await late.facts(first - 1n)))
    assert.equal((await late.facts(first - 1n)).opened.length, 0)
  })

  it("a fresh log starts at the profile's escrowBlock, and indexes where each deal opened", async () => {
    const before = fx.makeDeal()
    await openDeal(fx.provider.client, { escrow: fx.escrow, deal: before, sigCreator: signDeal(fx.hasher, before, fx.creator.key) })
    const start = await fx.admin.client.public.getBlockNumber({ cacheTime: 0 }) + 1n
    const after = fx.makeDeal()
    await openDeal(fx.provider.client, { escrow: fx.escrow, deal: after, sigCreator: signDeal(fx.hasher, after, fx.creator.key) })
    const t = await blockTime()
    const s = await source('from-escrow-block', { profile: { ...profile, escrowBlock: Number(start) } })
    const opened: string[] = []
    for (let e = t - 8n; e <= t + 3n; e++) opened.push(...(await s.facts(e)).opened.map((o) => o.dealId))
    assert.deepEqual(opened, [fx.dealId(after).toLowerCase()], 'only the deal opened from escrowBlock on')
    assert.equal(await s.openedIn(fx.dealId(before)), undefined, 'blocks before escrowBlock are never read')
    const where = await s.openedIn(fx.dealId(after))
    assert.ok(where !== undefined && where.blockNumber >= start)
  })

  it('deferred: a node that asks before the source is attached waits for it; one stopped first gets an error', async () => {
    const d = new DeferredChainFacts()
    const epoch = BigInt(Math.floor(Date.now() / 1000)) - 1n
    const asked = d.fn(epoch)
    const db = new Level<string, string>(join(dir, 'deferred'))
    await db.open()
    dbs.push(db)
    let tries = 0
    d.attach({ profile, db: db.sublevel<string, string>('chainlog', {}), log, waitMs: 20_000 }, async () => {
      if (++tries === 1) throw new Error('first try: RPC down') // retried in the background
      return fx.admin.client
    })
    const facts = await asked
    assert.ok(Array.isArray(facts.opened) && Array.isArray(facts.closed))
    assert.equal(tries, 2)
    await d.stop()
    const never = new DeferredChainFacts()
    const p = never.fn(epoch)
    await never.stop()
    await assert.rejects(p, (e: unknown) => e instanceof ChainFactsError && e.code === 'CHAINFACTS_NOT_STARTED')
  })

  it('refuses to answer (CHAINFACTS_UNAVAILABLE) while the chain is unreachable', async () => {
    const dead = { ...fx.admin.client, public: createPublicClient({ transport: http('http://127.0.0.1:9', { retryCount: 0, timeout: 500 }) }) } as unknown as typeof fx.admin.client
    const s = await source('dead', { client: dead, waitMs: 1500 })
    const epoch = BigInt(Math.floor(Date.now() / 1000))
    await assert.rejects(s.facts(epoch), (e: unknown) => e instanceof ChainFactsError && e.code === 'CHAINFACTS_UNAVAILABLE')
  })
})

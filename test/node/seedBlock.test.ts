/**
 * The epoch's seed block against a real anvil: the first block stamped after the epoch's match
 * time, the same for a node that asks early and one that asks much later; facts carry it when
 * `seedBlocks` is on; no such block yet is CHAINFACTS_UNAVAILABLE after the bounded wait.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { ChainFactsError, ChainFactsSource, seedBlockAfter } from '../../src/node/chainFacts.js'
import { createLogger } from '../../src/protocol/logger.js'
import { DEFAULT_LIMITS, type Profile } from '../../src/protocol/profile.js'
import { setup, type Fixture } from '../chain/helpers.js'

describe('node: the seed block of an epoch', function () {
  this.timeout(120_000)
  let fx: Fixture
  let dir: string
  let profile: Profile
  const dbs: Array<Level<string, string>> = []
  const sources: ChainFactsSource[] = []
  const log = createLogger('test', { level: 'error' })

  before(async () => {
    fx = await setup('eth')
    dir = await mkdtemp(join(tmpdir(), 'lilynode-seed-'))
    profile = { name: 'seed-test', chainId: 31337n, rpcUrl: fx.anvil.rpcUrl, escrow: fx.escrow, token: null, epochMs: 1000, graceMs: 0, genesisMs: 0, reserveEpochs: 10, bootstrap: [], limits: { ...DEFAULT_LIMITS } }
  })
  after(async () => {
    for (const s of sources) await s.stop()
    for (const d of dbs) await d.close()
    await fx?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  async function source (name: string, waitMs = 20_000): Promise<ChainFactsSource> {
    const db = new Level<string, string>(join(dir, name))
    await db.open()
    dbs.push(db)
    const s = new ChainFactsSource({ profile, client: fx.admin.client, db: db.sublevel<string, string>('chainlog', {}), log, waitMs, seedBlocks: true })
    sources.push(s)
    return s
  }

  async function rpc (method: string, params: unknown[]): Promise<unknown> {
    const r = await fetch(fx.anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
    return ((await r.json()) as { result: unknown }).result
  }

  it('is the first block stamped after the match time, the same whenever a node asks', async () => {
    const pub = fx.admin.client.public
    const t = (await pub.getBlock({ blockTag: 'latest' })).timestamp
    const epoch = t + 5n // match time (epoch + 1) s with genesis 0, epochs of 1 s, no grace
    const after = seedBlockAfter(profile, epoch)
    assert.equal(after, epoch + 1n)
    const early = await source('early')
    const asked = early.seedBlock(epoch) // waits: no block is stamped after `after` yet
    for (let ts = t + 1n; ts <= after + 3n; ts++) await rpc('evm_mine', [Number(ts)])
    const hash = await asked
    const b = await pub.getBlock({ blockHash: hash })
    assert.ok(b.timestamp > after, 'stamped after the seed time')
    const parent = await pub.getBlock({ blockNumber: b.number - 1n })
    assert.ok(parent.timestamp <= after, 'and the first such block')
    for (let i = 0; i < 20; i++) await rpc('evm_mine', [])
    const late = await source('late')
    assert.equal(await late.seedBlock(epoch), hash, 'a node that asks much later finds the same block')
    assert.equal(await late.seedBlock(epoch - 2n), await early.seedBlock(epoch - 2n), 'also for an earlier epoch asked after a later one')
    const f = await late.facts(epoch)
    assert.equal(f.seedBlock, hash)
  })

  it('no block after the seed time yet: CHAINFACTS_UNAVAILABLE after the bounded wait, never a guess', async () => {
    const t = (await fx.admin.client.public.getBlock({ blockTag: 'latest' })).timestamp
    const s = await source('waiting', 1500)
    await assert.rejects(s.seedBlock(t + 3600n), (e: unknown) => e instanceof ChainFactsError && e.code === 'CHAINFACTS_UNAVAILABLE')
  })
})

/**
 * LilyClient against a real network: anvil, a bootstrap node and two providers as separate
 * OS processes (test/e2e/helpers.ts), Docker running the jobs; the client is an in-process
 * creator node.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { LilyClient, LilyError, type JobEvent, type JobStage, type QueryPage } from '../../src/index.js'
import { LILYNODE_BIN } from '../../src/devnet/devnet.js'
import { createIdentity } from '../../src/protocol/index.js'
import { closedBy, requireDocker, startNet, stopNet, type TestNet } from '../e2e/helpers.js'

const run = promisify(execFile)

/** The stages seen, with the ones that must come in this order checked against each other. */
function assertInOrder (events: readonly JobEvent[], required: JobStage[]): void {
  const stages = events.map((e) => e.stage)
  let last = -1
  for (const s of required) {
    const i = stages.indexOf(s)
    assert.ok(i > last, `stage ${s} missing or out of order in ${stages.join(',')}`)
    last = i
  }
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].at >= events[i - 1].at && events[i].elapsedMs >= events[i - 1].elapsedMs, `event times go backwards at ${stages[i]}`)
  }
}

async function ownJobOffers (client: LilyClient): Promise<number> {
  const page: QueryPage = await client.query('jobs', { limit: 100 })
  return page.items.filter((o) => o.creator === client.address).length
}

async function rejectsWith (p: Promise<unknown>, code: string): Promise<LilyError> {
  let got: unknown
  await assert.rejects(p, (e: unknown) => { got = e; return e instanceof LilyError && e.code === code })
  return got as LilyError
}

describe('sdk: LilyClient runs real jobs, queries and moves escrow funds', function () {
  this.timeout(240_000)
  let t: TestNet | undefined
  let client: LilyClient | undefined
  const c = (): LilyClient => client as LilyClient
  const net = (): TestNet['net'] => (t as TestNet).net

  before(async function () {
    requireDocker(this)
    t = await startNet({ providers: 2, mediators: 0, creators: 1 })
    const dataDir = net().parties.get('creator-1')?.dataDir as string
    client = await LilyClient.connect({ profile: net().profilePath, dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  })
  after(async () => {
    await client?.close()
    await stopNet(t)
  })

  it('refuses a bad module or bad inputs with typed errors before anything is published or deposited', async () => {
    const before = (await c().balance()).escrowBalance
    const e1 = await rejectsWith(c().run('no-such-module:v1', { Message: 'x' }).result, 'SDK_BAD_MODULE')
    assert.match(e1.message, /no module 'no-such-module'/)
    await rejectsWith(c().run('cowsay:v9.9.9', { Message: 'x' }).result, 'SDK_BAD_MODULE')
    await rejectsWith(c().run('./nowhere/module.json', {}).result, 'SDK_BAD_MODULE')
    const e2 = await rejectsWith(c().run('cowsay:v0.0.4', { Nope: 'x' }).result, 'SDK_BAD_INPUT')
    assert.match(e2.message, /unknown input "Nope"/)
    await rejectsWith(c().run('cowsay:v0.0.4', { Message: 42 }).result, 'SDK_BAD_INPUT')
    await rejectsWith(c().run('cowsay:v0.0.4', { Message: 'x' }, { maxPrice: 0n }).result, 'SDK_BAD_OPTION')
    // amounts the wire cannot carry (uint96) are refused at once, not after a deposit
    const big = await rejectsWith(c().run('cowsay:v0.0.4', { Message: 'x' }, { maxPrice: 1n << 96n }).result, 'SDK_BAD_OPTION')
    assert.match(big.message, /at most 2\^96−1/)
    await rejectsWith(c().run('cowsay:v0.0.4', { Message: 'x' }, { collateral: 1n << 96n }).result, 'SDK_BAD_OPTION')
    // iterating a refused job ends with the same error, with no event before it
    const seen: JobEvent[] = []
    await assert.rejects((async () => { for await (const e of c().run('cowsay:v0.0.4', { Message: true })) seen.push(e) })(), (e: unknown) => e instanceof LilyError && e.code === 'SDK_BAD_INPUT')
    assert.deepEqual(seen, [])
    assert.equal(await ownJobOffers(c()), 0, 'no job offer of ours reached our own pool')
    assert.equal((await c().balance()).escrowBalance, before, 'nothing was deposited')
  })

  it('runs cowsay through LilyClient: events in order, result paid by one complete, outputs written', async () => {
    const out = join((t as TestNet).dir, 'sdk-out')
    const job = c().run('cowsay:v0.0.4', { Message: 'moo from the sdk' }, { outDir: out })
    const events: JobEvent[] = []
    for await (const e of job) events.push(e)
    const r = await job.result
    assert.equal(r.outcome, 'paid', `outcome ${r.outcome}: ${r.reason}; events ${events.map((e) => e.stage).join(',')}`)
    assert.equal(r.exitStatus, 0)
    assertInOrder(events, ['offered', 'matched', 'opened', 'result', 'paid'])
    assert.deepEqual(r.events.map((e) => e.stage), events.map((e) => e.stage), 'the result carries the same events')
    const matched = events.find((e) => e.stage === 'matched')
    assert.ok(matched?.stage === 'matched')
    assert.equal(r.dealId, matched.dealId)
    assert.equal(r.provider, matched.provider)
    assert.equal(r.price, matched.price)
    assert.ok(r.price > 0n)
    const providers = [...net().parties.values()].filter((p) => p.role === 'provider').map((p) => p.address)
    assert.ok(providers.includes(r.provider), `provider ${r.provider} is one of the devnet's`)
    assert.equal(r.exitCode, 0)
    assert.match(r.stdout, /moo from the sdk/)
    assert.match(r.resultHash ?? '', /^0x[0-9a-f]{64}$/)
    assert.equal(r.outDir, out)
    assert.ok(r.outputs.length > 0)
    assert.match(await readFile(join(out, 'outputs', 'cow.txt'), 'utf8'), /moo from the sdk/)
    assert.equal(await closedBy(net(), r.dealId), 'DealCompleted')
    assert.equal(r.record.state, 'completed')
    if (r.txs.open !== undefined) assert.ok(r.gasUsed > 0n, 'the open transaction used gas')
  })

  it('runs two jobs at once on one client; both are paid, each on its own deal', async () => {
    const a = c().run('cowsay:v0.0.4', { Message: 'first of two' })
    const b = c().run('cowsay:v0.0.4', { Message: 'second of two' })
    const [ra, rb] = await Promise.all([a.result, b.result])
    assert.equal(ra.outcome, 'paid', ra.reason)
    assert.equal(rb.outcome, 'paid', rb.reason)
    assert.notEqual(ra.dealId, rb.dealId)
    assert.match(ra.stdout, /first of two/)
    assert.match(rb.stdout, /second of two/)
    assertInOrder(a.events, ['offered', 'matched', 'opened', 'paid'])
    assertInOrder(b.events, ['offered', 'matched', 'opened', 'paid'])
    assert.equal(await closedBy(net(), ra.dealId), 'DealCompleted')
    assert.equal(await closedBy(net(), rb.dealId), 'DealCompleted')
  })

  it('has no unfinished deal once its jobs are settled, and refuses to resume a deal it does not hold', async () => {
    assert.deepEqual(await c().unfinished(), [])
    const e = await rejectsWith(c().resume(`0x${'ab'.repeat(32)}`).result, 'SDK_UNKNOWN_DEAL')
    assert.match(e.message, /unfinished\(\) lists them/)
  })

  it('queries its own node and the bootstrap, and deposits, withdraws and reads balances (the CLI agrees)', async () => {
    const epoch = await c().query('epoch')
    assert.equal(epoch.network, 'devnet')
    assert.equal(epoch.address, c().address)
    const peers = await c().query('peers')
    assert.ok(peers.total >= 1, 'connected to at least the bootstrap')
    const boot = net().profile.bootstrap[0]
    const offers = await c().query('offers', { node: boot, limit: 100 })
    assert.ok(offers.items.length >= 1 && offers.items.every((o) => typeof o.provider === 'string'), 'the bootstrap holds provider offers')
    await assert.rejects(c().query('nonsense' as 'epoch'), (e: unknown) => e instanceof LilyError && e.code === 'SDK_BAD_OPTION')

    const b0 = await c().balance()
    assert.equal(b0.account, c().address)
    const dep = await c().deposit(12345n)
    assert.equal(dep.escrowBalance, b0.escrowBalance + 12345n)
    assert.match(dep.hash, /^0x[0-9a-f]{64}$/)
    const wd = await c().withdraw(345n)
    assert.equal(wd.escrowBalance, b0.escrowBalance + 12000n)
    await assert.rejects(c().deposit(0n), (e: unknown) => e instanceof LilyError && e.code === 'SDK_BAD_OPTION')
    const b1 = await c().balance()
    assert.equal(b1.escrowBalance, b0.escrowBalance + 12000n)
    // `lilynode chain balance` reads the same account through the same code
    const dataDir = net().parties.get('creator-1')?.dataDir as string
    const { stdout } = await run(process.execPath, [LILYNODE_BIN, 'chain', 'balance', '--profile', net().profilePath, '--data-dir', dataDir, '--json'], { timeout: 60_000 })
    const cli = JSON.parse(stdout) as { account: string, escrowBalance: string }
    assert.equal(cli.account, c().address)
    assert.equal(BigInt(cli.escrowBalance), b1.escrowBalance)
    // `lilynode chain fund`: the devnet faucet adds to a wallet (here a fresh account's)
    const fresh = createIdentity().address
    const fund = async (wei: string): Promise<{ account: string, walletBalance: string }> => JSON.parse((await run(process.execPath, [LILYNODE_BIN, 'chain', 'fund', '--amount', wei, '--account', fresh, '--profile', net().profilePath, '--json'], { timeout: 60_000 })).stdout) as { account: string, walletBalance: string }
    assert.equal(BigInt((await fund('1000')).walletBalance), 1000n)
    const second = await fund('234')
    assert.equal(second.account.toLowerCase(), fresh.toLowerCase())
    assert.equal(BigInt(second.walletBalance), 1234n)
    await assert.rejects(run(process.execPath, [LILYNODE_BIN, 'chain', 'fund', '--amount', '0', '--account', fresh, '--profile', net().profilePath], { timeout: 60_000 }), /amount/)
  })

  it('refuses work after close', async () => {
    const dataDir = net().parties.get('creator-1')?.dataDir as string
    await c().close()
    await rejectsWith(c().run('cowsay:v0.0.4', { Message: 'late' }).result, 'SDK_CLOSED')
    // the data dir is free again: a new client opens it, and `await using` closes it
    {
      await using again = await LilyClient.connect({ profile: net().profile, dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
      assert.equal(again.address, c().address)
    }
  })
})

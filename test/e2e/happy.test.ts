import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, byName, closedBy, deposited, eventOf, requireDocker, runFailure, startNet, stopNet, txsOf, type TestNet } from './helpers.js'

describe('e2e (1): a job completes and the provider is paid on-chain in one complete', function () {
  this.timeout(240_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/cowsay:v0.0.4', 'lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('runs cowsay:v0.0.4 from offer to payment, outputs written, every wei accounted for', async () => {
    const net = (t as TestNet).net
    const out = join((t as TestNet).dir, 'out')
    const job = net.run('creator-1', 'cowsay:v0.0.4', ['Message=moo from the e2e suite'], ['--out', out])
    const code = await job.done
    assert.equal(code, 0, runFailure('lilynode run failed', job))
    const stages = job.events.map((e) => e.stage)
    for (const s of ['offered', 'matched', 'opened', 'running', 'result', 'accepted', 'paid']) assert.ok(stages.includes(s), `stage ${s} missing from ${stages.join(',')}`)
    const matched = eventOf(job.events, 'matched') as Record<string, unknown>
    const dealId = matched.dealId as Hash
    const price = BigInt(matched.price as string)
    assert.ok(price > 0n)
    assert.equal(await closedBy(net, dealId), 'DealCompleted')
    assert.equal((await txsOf(net, dealId, 'DealCompleted')).length, 1, 'exactly one complete transaction')
    assert.equal((await txsOf(net, dealId, 'ResultSubmitted')).length, 0, 'the happy path never goes through submitResult')
    const end = await net.balances()
    const provider = byName(end, 'provider-1')
    assert.equal(provider.address, String(matched.provider))
    assert.equal(provider.escrow, await deposited(net, provider.address) + price, 'provider paid the price, collateral back')
    const creator = byName(end, 'creator-1')
    assert.equal(creator.escrow, await deposited(net, creator.address) - price, 'creator paid exactly the price')
    assert.match(await readFile(join(out, 'stdout'), 'utf8'), /moo from the e2e suite/)
    assert.match(await readFile(join(out, 'outputs', 'cow.txt'), 'utf8'), /moo from the e2e suite/)
    await assertConserved(net)
  })

  it('keeps an opened deal\'s job consumed past reserveEpochs (chain facts reach every matcher): the job is matched once', async () => {
    const net = (t as TestNet).net
    const p = net.profile
    const runS = Math.ceil((p.reserveEpochs * p.epochMs) / 1000) + 6
    const since = Date.now()
    const job = net.run('creator-1', 'probe:v1.0.0', ['action=slowecho', `n=${runS}`, 'arg=held'], ['--timeout', String(runS + 120)])
    const code = await job.done
    assert.equal(code, 0, runFailure('lilynode run failed', job))
    const matched = job.events.filter((e) => e.stage === 'matched')
    const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
    const jobId = String((eventOf(job.events, 'offered') as Record<string, unknown>).jobOfferHash)
    // without the DealOpened fact the reservation lapses after reserveEpochs and the job is
    // matched again while it runs: the creator's node then refuses to sign a second deal for it
    const creatorLog = await readFile(join(net.dataDir, 'creator-1.log'), 'utf8')
    const again = creatorLog.split('\n').filter((l) => l.includes('refusing to sign a second deal') && l.includes(jobId))
    assert.deepEqual(again, [], 'the running job was matched a second time')
    if (matched.length === 1) { // (a re-offer after a lost match would bring matches of the earlier offer)
      const provider = net.procs.get('provider-1')
      assert.ok(provider !== undefined)
      const deals = new Set(provider.events.filter((e) => typeof e.at === 'number' && e.at >= since && e.state === 'matched').map((e) => e.dealId))
      // (the provider may learn the deal as agreed without a matched event of its own)
      assert.deepEqual([...deals].filter((d) => d !== dealId), [], 'the provider was matched to no other deal')
    }
    assert.equal(await closedBy(net, dealId), 'DealCompleted')
    await assertConserved(net)
  })
})

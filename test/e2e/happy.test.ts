import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, byName, closedBy, deposited, eventOf, requireDocker, startNet, stopNet, txsOf, type TestNet } from './helpers.js'

describe('e2e (1): a job completes and the provider is paid on-chain in one complete', function () {
  this.timeout(240_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this)
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  after(async () => { await stopNet(t) })

  it('runs cowsay:v0.0.4 from offer to payment, outputs written, every wei accounted for', async () => {
    const net = (t as TestNet).net
    const out = join((t as TestNet).dir, 'out')
    const job = net.run('creator-1', 'cowsay:v0.0.4', ['Message=moo from the e2e suite'], ['--out', out])
    const code = await job.done
    assert.equal(code, 0, `lilynode run failed; events: ${JSON.stringify(job.events)}`)
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
})

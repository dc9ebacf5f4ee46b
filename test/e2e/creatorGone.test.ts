import assert from 'node:assert/strict'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, byName, closedBy, deposited, requireDocker, startNet, stopNet, txsOf, type TestNet } from './helpers.js'

describe('e2e (4): the creator is gone at result time', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 1, challengeWindowS: 6 })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('pays the provider through submitResult and claim after the challenge window', async () => {
    const net = (t as TestNet).net
    const job = net.run('creator-1', 'probe:v1.0.0', ['action=slowecho', 'n=4', 'arg=nobody home'], ['--timeout', '90'])
    const running = await job.waitFor((e) => e.stage === 'running', 120_000, 'running')
    const matched = job.events.filter((e) => e.stage === 'matched').pop() as Record<string, unknown>
    await job.stop('SIGKILL')
    const dealId = running.dealId as Hash
    const provider = net.procs.get('provider-1')
    assert.ok(provider !== undefined)
    await provider.waitFor((e) => e.dealId === dealId && e.state === 'claimed', 120_000, 'the claim')
    assert.equal(await closedBy(net, dealId), 'DealClaimed')
    assert.equal((await txsOf(net, dealId, 'ResultSubmitted')).length, 1)
    const end = await net.balances()
    const prov = byName(end, 'provider-1')
    assert.equal(prov.escrow, await deposited(net, prov.address) + BigInt(matched.price as string), 'provider: its deposits plus the price')
    await assertConserved(net)
  })
})

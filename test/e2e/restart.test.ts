import assert from 'node:assert/strict'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, byName, closedBy, deposited, eventOf, requireDocker, startNet, stopNet, type TestNet } from './helpers.js'

describe('e2e (3): a provider SIGKILLed mid-job and restarted', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('finishes the job after the restart (or the creator is refunded), and no wei is lost', async () => {
    const net = (t as TestNet).net
    const job = net.run('creator-1', 'probe:v1.0.0', ['action=slowecho', 'n=8', 'arg=survived a SIGKILL'], ['--timeout', '90'])
    const provider = net.procs.get('provider-1')
    assert.ok(provider !== undefined)
    const running = await provider.waitFor((e) => e.state === 'running', 120_000, 'a running job')
    await new Promise((resolve) => setTimeout(resolve, 2500)) // the container is up and working
    await provider.stop('SIGKILL')
    const restarted = await net.startProvider('provider-1')
    const code = await job.done
    const matched = eventOf(job.events, 'matched') as Record<string, unknown>
    const dealId = matched.dealId as Hash
    assert.equal(running.dealId, dealId)
    const price = BigInt(matched.price as string)
    const collateral = BigInt(matched.collateral as string)
    const closing = await closedBy(net, dealId)
    const end = await net.balances()
    const creator = byName(end, 'creator-1')
    const spent = await deposited(net, creator.address)
    if (code === 0) {
      assert.equal(closing, 'DealCompleted')
      const result = eventOf(job.events, 'result') as Record<string, unknown>
      assert.match(String(result.stdout), /survived a SIGKILL/)
      assert.ok(restarted.events.some((e) => e.dealId === dealId && e.state === 'completed'), 'the restarted provider settled the deal')
      const prov = byName(end, 'provider-1')
      assert.equal(prov.escrow, await deposited(net, prov.address) + price, 'provider: its deposits plus the price')
      assert.equal(creator.escrow, spent - price)
    } else {
      assert.equal(code, 4, `expected paid (0) or refunded (4); events: ${JSON.stringify(job.events)}`)
      assert.equal(closing, 'DealTimedOut')
      assert.equal(creator.escrow, spent + collateral)
      const prov = byName(end, 'provider-1')
      assert.equal(prov.escrow, await deposited(net, prov.address) - collateral, 'provider: its deposits less the slashed collateral')
    }
    await assertConserved(net)
  })
})

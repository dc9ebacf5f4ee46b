import assert from 'node:assert/strict'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, byName, closedBy, deposited, eventOf, requireDocker, startNet, stopNet, txsOf, type TestNet } from './helpers.js'

const FEE = 10n ** 15n

describe('e2e (2): a wrong result is challenged, a mediator re-runs it and rules for the creator', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this)
    // provider-1 fakes its results: LILYNODE_TEST_CHEAT=1 is a test-only switch
    t = await startNet({ providers: 1, mediators: 1, creators: 1, mediationFee: FEE, providerEnv: () => ({ LILYNODE_TEST_CHEAT: '1' }) })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('moves the cheat\'s collateral to the creator and the mediator', async () => {
    const net = (t as TestNet).net
    const start = await net.balances()
    const job = net.run('creator-1', 'cowsay:v0.0.4', ['Message=check me'])
    const code = await job.done
    assert.equal(code, 3, `expected exit 3 (mediator ruled for the creator); events: ${JSON.stringify(job.events)}`)
    const matched = eventOf(job.events, 'matched') as Record<string, unknown>
    const dealId = matched.dealId as Hash
    const price = BigInt(matched.price as string)
    const collateral = BigInt(matched.collateral as string)
    assert.ok(collateral > 0n)
    assert.ok(eventOf(job.events, 'challenged') !== undefined, 'the creator challenged')
    assert.equal((await txsOf(net, dealId, 'ResultSubmitted')).length, 1)
    assert.equal((await txsOf(net, dealId, 'DealChallenged')).length, 1)
    assert.equal(await closedBy(net, dealId), 'DealResolved:creator')
    const mediator = net.procs.get('mediator-1')
    assert.ok(mediator?.events.some((e) => e.dealId === dealId && e.state === 'ruled'), 'mediator-1 re-ran the job and ruled')
    const end = await net.balances()
    const creator = byName(end, 'creator-1')
    assert.equal(creator.escrow, await deposited(net, creator.address) - FEE + collateral, 'creator: price back, plus the collateral, less the fee it advanced')
    const cheat = byName(end, 'provider-1')
    assert.equal(cheat.escrow, await deposited(net, cheat.address) - collateral, 'the cheat lost its collateral')
    assert.equal(byName(end, 'mediator-1').escrow - byName(start, 'mediator-1').escrow, FEE, 'the mediator earned the fee')
    assert.ok(price > 0n)
    await assertConserved(net)
  })
})

import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { NodeProcess } from '../../src/devnet/devnet.js'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, byName, closedBy, eventOf, requireDocker, startNet, stopNet, txsOf, type TestNet } from './helpers.js'

const FEE = 10n ** 15n

/**
 * The ruling follows the module's verification. The creator (LILYNODE_TEST_DISPUTE=1) disputes
 * every result so that each reaches the mediator; the provider (LILYNODE_TEST_CHEAT) runs the
 * job with one input changed, giving a result that looks right but is not the honest one.
 */
describe('e2e (verification): the mediator rules by the module\'s verifier within its tolerance, or not at all', function () {
  this.timeout(600_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/digits:v1.0.0', 'lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 1, creators: 1, mediationFee: FEE, providerEnv: () => ({ LILYNODE_TEST_CHEAT: 'input:seed=5' }) })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  const provider = async (cheat: string): Promise<void> => {
    const net = (t as TestNet).net
    await net.procs.get('provider-1')?.stop()
    await net.startProvider('provider-1', { LILYNODE_TEST_CHEAT: cheat })
  }
  const disputed = (module: string, inputs: string[] = []): NodeProcess =>
    (t as TestNet).net.spawn('creator-1', ['run', module, ...inputs.flatMap((i) => ['-i', i]), '--listen', '/ip4/127.0.0.1/tcp/0'], { LILYNODE_TEST_DISPUTE: '1' })
  const ruling = (dealId: Hash): string => String((t as TestNet).net.procs.get('mediator-1')?.events.find((e) => e.dealId === dealId && e.state === 'ruled')?.message)

  it('within the tolerance (other weights, the same held-back accuracy): the verifier upholds the result', async () => {
    const net = (t as TestNet).net
    const start = await net.balances()
    const job = disputed('train:v2.0.0')
    assert.equal(await job.done, 3, `a mediator ruled (for the provider): exit 3 as documented; events ${JSON.stringify(job.events.slice(-3))}`)
    const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
    assert.equal((await txsOf(net, dealId, 'DealChallenged')).length, 1, 'the result was challenged')
    assert.equal(await closedBy(net, dealId), 'DealResolved:provider')
    assert.match(ruling(dealId), /verifier: accuracy 0\.\d+ vs re-run 0\.\d+: within 0\.005/)
    const end = await net.balances()
    assert.equal(byName(end, 'mediator-1').escrow - byName(start, 'mediator-1').escrow, FEE, 'the mediator earned the fee')
    await assertConserved(net)
  })

  it('beyond the tolerance (an under-trained model): the verifier rejects it and the creator wins', async () => {
    const net = (t as TestNet).net
    await provider('input:epochs=1')
    const job = disputed('train:v2.0.0')
    assert.equal(await job.done, 3, `the mediator ruled for the creator; events ${JSON.stringify(job.events.slice(-3))}`)
    const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
    assert.equal(await closedBy(net, dealId), 'DealResolved:creator')
    assert.match(ruling(dealId), /verifier: accuracy 0\.\d+ is 0\.\d+ from the re-run's 0\.\d+, more than the tolerance 0\.005/)
    await assertConserved(net)
  })

  it('verification none: the creator is told before the deal opens, does not challenge, and the provider is paid by claim', async () => {
    const net = (t as TestNet).net
    await provider('1')
    const dir = join((t as TestNet).dir, 'unmediated')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'module.json'), JSON.stringify({
      name: 'echo-unmediated', version: 'v1', image: 'lilynode/probe:v1.0.0', entrypoint: ['/bin/sh', '/app/probe.sh'], cmd: ['echo', '1', 'trust me'],
      resources: { cpu: 250, ram: 32 }, verification: { kind: 'none' }
    }))
    const job = net.run('creator-1', dir, [])
    assert.equal(await job.done, 0, `the run ends when the provider is paid; events ${JSON.stringify(job.events.slice(-3))}`)
    const offered = eventOf(job.events, 'offered') as Record<string, unknown>
    assert.match(String(offered.message), /declares verification none: no mediator will check its result/)
    const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
    assert.equal(await closedBy(net, dealId), 'DealClaimed')
    assert.equal((await txsOf(net, dealId, 'DealChallenged')).length, 0, 'never challenged')
    assert.match(String((eventOf(job.events, 'paid') as Record<string, unknown>).message), /claim after the challenge window/)
    await assertConserved(net)
  })
})

import assert from 'node:assert/strict'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, byName, closedBy, deposited, eventOf, requireDocker, runFailure, startNet, stopNet, type TestNet } from './helpers.js'

const JOBS = 20

describe('e2e (5): 20 jobs from 3 creators over 3 providers', function () {
  this.timeout(600_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 3, mediators: 0, creators: 3 })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('settles every job once, and every balance adds up', async () => {
    const net = (t as TestNet).net
    const perCreator = new Map<string, Array<{ dealId: Hash, price: bigint, provider: string }>>()
    // each creator runs its jobs one after the other (one process holds its database); the three run at once
    await Promise.all([1, 2, 3].map(async (c) => {
      const name = `creator-${c}`
      const mine: Array<{ dealId: Hash, price: bigint, provider: string }> = []
      perCreator.set(name, mine)
      for (let j = c - 1; j < JOBS; j += 3) {
        const job = net.run(name, 'probe:v1.0.0', ['action=echo', `arg=job ${j}`])
        const code = await job.done
        assert.equal(code, 0, runFailure(`${name} job ${j} failed (exit ${String(code)})`, job))
        const m = eventOf(job.events, 'matched') as Record<string, unknown>
        const r = eventOf(job.events, 'result') as Record<string, unknown>
        assert.equal(String(r.stdout).trim(), `job ${j}`)
        mine.push({ dealId: m.dealId as Hash, price: BigInt(m.price as string), provider: String(m.provider) })
      }
    }))
    const all = [...perCreator.values()].flat()
    assert.equal(all.length, JOBS)
    assert.equal(new Set(all.map((d) => d.dealId)).size, JOBS, 'one deal per job')
    for (const d of all) assert.equal(await closedBy(net, d.dealId), 'DealCompleted', `deal ${d.dealId}`)
    // no job ran twice: each deal was run by exactly one provider process, once
    const runs = new Map<string, number>()
    for (const [name, p] of net.procs) {
      if (!name.startsWith('provider-')) continue
      for (const e of p.events) if (e.state === 'running') runs.set(String(e.dealId), (runs.get(String(e.dealId)) ?? 0) + 1)
    }
    for (const d of all) assert.equal(runs.get(d.dealId), 1, `deal ${d.dealId} ran ${runs.get(d.dealId) ?? 0} times`)
    const end = await net.balances()
    for (const [name, mine] of perCreator) {
      const b = byName(end, name)
      assert.equal(b.escrow, await deposited(net, b.address) - mine.reduce((s, d) => s + d.price, 0n), `${name} paid exactly its prices`)
    }
    for (const i of [1, 2, 3]) {
      const name = `provider-${i}`
      const addr = byName(end, name).address
      const earned = all.filter((d) => d.provider === addr).reduce((s, d) => s + d.price, 0n)
      assert.equal(byName(end, name).escrow, await deposited(net, addr) + earned, `${name} earned exactly its deals' prices`)
    }
    await assertConserved(net)
  })
})

/** The query protocol against a running node: every kind answers, paging is bounded, no secrets leave. */
import assert from 'node:assert/strict'
import { bytesToHex } from '../../src/protocol/hex.js'
import { queryNode, type QueryPage } from '../../src/p2p/reqresp/query.js'
import { execute } from '../../src/cli/main.js'
import { addrOf, Cleanup, jobOffer, resourceOffer, startNode, testProfile, waitFor } from '../node/helpers.js'

describe('node: query protocol', function () {
  this.timeout(60_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('answers offers, jobs, deals, peers and epoch with bounded pages and no secrets', async () => {
    const p = testProfile({ epochMs: 1000, graceMs: 300 })
    const a = await startNode(cleanup, p, { name: 'qa' })
    const b = await startNode(cleanup, p, { name: 'qb' })
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0])
    const e = a.currentEpoch()
    for (let i = 0; i < 5; i++) await a.publishJobOffer(jobOffer(a.address, BigInt(i), e + 1n, i))
    await b.publishResourceOffer(resourceOffer(b.address, 1n, e + 1n))
    await waitFor(() => a.pool.size === 6, 10_000, 'offers to arrive')
    const addr = addrOf(a)

    const jobs = await queryNode<QueryPage>(addr, 'jobs', { page: 0, limit: 2 })
    assert.equal(jobs.total, 5)
    assert.equal(jobs.items.length, 2)
    const last = await queryNode<QueryPage>(addr, 'jobs', { page: 2, limit: 2 })
    assert.equal(last.items.length, 1)
    const offers = await queryNode<QueryPage>(addr, 'offers')
    assert.equal(offers.total, 1)
    assert.equal(offers.items[0].provider, b.address)
    const peers = await queryNode<QueryPage>(addr, 'peers')
    assert.ok(peers.items.some((x) => x.address === b.address))
    await waitFor(async () => (await queryNode<QueryPage>(addr, 'deals')).total > 0, 15_000, 'a deal to be known')
    const epoch = await queryNode<Record<string, unknown>>(addr, 'epoch')
    assert.equal(epoch.address, a.address)
    assert.equal(typeof epoch.headEpoch, 'bigint')
    // bounded: a limit over the cap is refused, not served
    await assert.rejects(queryNode(addr, 'jobs', { limit: 1000 }), /limit must be/)
    const everything = JSON.stringify([jobs, offers, peers, epoch], (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
    assert.ok(!everything.includes(bytesToHex(a.identity.privateKey).slice(2)), 'the private key never leaves the node')
  })

  it('lilynode query prints JSON and refuses bad arguments', async () => {
    const p = testProfile()
    const a = await startNode(cleanup, p, { name: 'qc' })
    const chunks: string[] = []
    const write = process.stdout.write.bind(process.stdout)
    process.stdout.write = ((s: string | Uint8Array) => { chunks.push(String(s)); return true }) as typeof process.stdout.write
    try {
      await execute(['query', 'epoch', '--node', addrOf(a), '--json'], new AbortController().signal)
    } finally {
      process.stdout.write = write
    }
    const out = JSON.parse(chunks.join('')) as Record<string, unknown>
    assert.equal(out.address, a.address)
    await assert.rejects(execute(['query', 'secrets', '--node', addrOf(a)], new AbortController().signal), /needs one of/)
    await assert.rejects(execute(['query', 'jobs', '--node', 'not-a-multiaddr'], new AbortController().signal), /multiaddr/)
  })
})

/**
 * A node signs a deal only for an epoch another node has confirmed (reported the same root):
 * a node that matches with nobody to compare against — a restart replaying missed epochs before
 * it reaches a peer — might hold a deal the network did not make, and signing it would block
 * the right deal for that job. Its matches wait; once a peer confirms a later epoch whose
 * agreed state still holds the reservation, they are signed.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { initialState, step } from '../../src/matching/index.js'
import type { AgreedDeal, LilyNode, OwnMatch } from '../../src/node/network.js'
import type { PoolOffer } from '../../src/node/pool.js'
import { addrOf, Cleanup, jobOffer, resourceOffer, startNode, testProfile, waitFor } from './helpers.js'

describe('node: deals of an epoch no peer confirmed wait before they are signed', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('two isolated nodes match the same deal, sign nothing, and sign it once connected', async () => {
    // long reservations, so the match is still held when the nodes meet
    const profile = { ...testProfile({ epochMs: 2000, graceMs: 300 }), reserveEpochs: 30 }
    const creator = await startNode(cleanup, profile, { name: 'creator' })
    const provider = await startNode(cleanup, profile, { name: 'provider' })
    await waitFor(() => creator.isParticipating && provider.isParticipating, 30_000, 'both nodes participating')

    const epoch = provider.currentEpoch() + 2n
    const job = jobOffer(creator.address, 1n, epoch)
    const res = resourceOffer(provider.address, 2n, epoch)
    const jobId = await creator.publishJobOffer(job)
    const resId = await provider.publishResourceOffer(res)
    // not connected: each node is handed the other's offer, so both match the same pair
    await provider.pool.add(creator.pool.get(jobId) as PoolOffer)
    await creator.pool.add(provider.pool.get(resId) as PoolOffer)
    const expected = step(initialState(), { jobs: [{ id: jobId, offer: job }], resources: [{ id: resId, offer: res }] }, { opened: [], closed: [] }, epoch, provider.config)
    assert.equal(expected.matches.length, 1)
    const dealId = provider.hasher.digest('Deal', expected.matches[0].deal)

    const signed = new Map<LilyNode, OwnMatch[]>([[creator, []], [provider, []]])
    const agreed = new Map<LilyNode, AgreedDeal[]>([[creator, []], [provider, []]])
    for (const n of [creator, provider]) {
      n.on('match', (m) => { signed.get(n)?.push(m) })
      n.on('deal:agreed', (d) => { agreed.get(n)?.push(d) })
    }

    // both match the epoch and pass its confirmation (the next epoch is matched after it)
    await waitFor(() => (creator.headEpoch ?? 0n) > epoch + 1n && (provider.headEpoch ?? 0n) > epoch + 1n, 60_000, 'both nodes past the epoch')
    for (const n of [creator, provider]) {
      assert.equal(n.roots.get(epoch), expected.stateRoot, 'both derived the same state')
      assert.deepEqual(signed.get(n), [], 'nothing signed without a peer')
      const stored = (await n.ownMatches()).filter((m) => m.dealId === dealId)
      assert.deepEqual(stored.map((m) => m.signed), [false])
    }

    await provider.libp2p.dial(multiaddr(addrOf(creator)))
    await waitFor(() => agreed.get(creator)?.length === 1 && agreed.get(provider)?.length === 1, 60_000, 'the deal signed by both once a peer confirms an epoch')
    for (const n of [creator, provider]) {
      assert.deepEqual(signed.get(n)?.map((m) => m.dealId), [dealId], 'signed once')
      assert.equal(agreed.get(n)?.[0].dealId, dealId)
    }
  })
})

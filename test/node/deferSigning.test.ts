/**
 * A node signs a deal only for an epoch another node has confirmed (reported the same root):
 * a node that matches with nobody to compare against — a restart replaying missed epochs before
 * it reaches a peer — might hold a deal the network did not make, and signing it would block
 * the right deal for that job. Its matches wait; once a peer confirms a later epoch whose
 * agreed state still holds the reservation, they are signed. And a role host's creator signs
 * only deals for job offers a run of it follows (an offer of a stopped run stays unsigned).
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { initialState, step } from '../../src/matching/index.js'
import type { AgreedDeal, LilyNode, OwnMatch } from '../../src/node/network.js'
import type { PoolOffer } from '../../src/node/pool.js'
import { topicName } from '../../src/protocol/profile.js'
import { addrOf, Cleanup, jobOffer, resourceOffer, startNode, testProfile, waitFor } from './helpers.js'

describe('node: which own deals a node signs, and when', function () {
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

  it('a role host signs a creator deal only for a job offer a run follows', async () => {
    const profile = { ...testProfile({ epochMs: 2000, graceMs: 300 }), reserveEpochs: 30 }
    const creator = await startNode(cleanup, profile, { name: 'creator', followedJobsOnly: true })
    const provider = await startNode(cleanup, profile, { name: 'provider' })
    await provider.libp2p.dial(multiaddr(addrOf(creator)))
    const jobsTopic = topicName(profile, 'jobs')
    await waitFor(() => creator.isParticipating && provider.isParticipating &&
      provider.libp2p.services.pubsub.getSubscribers(jobsTopic).length > 0 && creator.libp2p.services.pubsub.getSubscribers(jobsTopic).length > 0, 30_000, 'both nodes participating and subscribed')

    const epoch = provider.currentEpoch() + 2n
    const followed = jobOffer(creator.address, 1n, epoch, 0)
    const orphan = jobOffer(creator.address, 2n, epoch, 1)
    const followedId = creator.hasher.digest('JobOffer', followed)
    creator.followJobs((h) => h === followedId)
    const ids = [await creator.publishJobOffer(followed), await creator.publishJobOffer(orphan)]
    assert.equal(ids[0], followedId)
    await provider.publishResourceOffer(resourceOffer(provider.address, 3n, epoch, 0))
    await provider.publishResourceOffer(resourceOffer(provider.address, 4n, epoch, 1))

    const signed = new Map<LilyNode, OwnMatch[]>([[creator, []], [provider, []]])
    const agreed: AgreedDeal[] = []
    for (const n of [creator, provider]) n.on('match', (m) => { signed.get(n)?.push(m) })
    creator.on('deal:agreed', (d) => { agreed.push(d) })
    await waitFor(() => (signed.get(provider)?.length ?? 0) === 2 && agreed.length === 1, 60_000, 'the provider signs both deals, one is agreed')
    await waitFor(() => (creator.headEpoch ?? 0n) > epoch + 1n, 30_000, 'the creator past the epoch')
    assert.deepEqual(signed.get(creator)?.map((m) => m.jobId), [followedId], 'the creator signed only the followed job offer')
    assert.equal(agreed[0].deal.jobOfferHash, followedId)
    const unsigned = (await creator.ownMatches()).filter((m) => m.jobId === ids[1])
    assert.deepEqual(unsigned.map((m) => m.signed), [false], 'the orphan offer\'s match stays unsigned')
  })
})

/**
 * A node that adopts a snapshot (late join, or resync from the minority) must still sign the
 * deals the network made for it: the snapshot holds the state, not the epoch's matches, so the
 * node rebuilds its own deals from the reservations of the verified state (fetching offers it
 * lacks from a peer) and signs each once.
 *
 * Deterministic: epochs of 10 minutes with the test in the middle of one, so neither node's
 * epoch loop matches anything while the test runs; the matched epoch is one both nodes have
 * already passed (gossip of its offers is refused as too old, so each node lacks the other's).
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { initialState, offerSetDigest, step } from '../../src/matching/index.js'
import { topicName } from '../../src/protocol/profile.js'
import type { Hash } from '../../src/protocol/types.js'
import type { AgreedDeal, LilyNode, OwnMatch } from '../../src/node/network.js'
import { addrOf, Cleanup, jobOffer, resourceOffer, startNode, testProfile, waitFor } from './helpers.js'

const EPOCH_MS = 600_000

describe('node: adopting a snapshot signs the node\'s own deals', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('rebuilds both parties\' deals from the adopted state, fetches the missing offer, signs once', async () => {
    // now is half-way through an epoch: the next match time is 5 minutes away
    const now = Date.now()
    const profile = testProfile({ epochMs: EPOCH_MS, graceMs: 1000, genesisMs: now - 100 * EPOCH_MS - EPOCH_MS / 2 })
    const creator = await startNode(cleanup, profile, { name: 'creator' })
    const provider = await startNode(cleanup, profile, { name: 'provider' })
    await provider.libp2p.dial(multiaddr(addrOf(creator)))
    const dealsTopic = topicName(profile, 'deals')
    await waitFor(() => creator.isParticipating && provider.isParticipating &&
      provider.libp2p.services.pubsub.getSubscribers(dealsTopic).length > 0 &&
      creator.libp2p.services.pubsub.getSubscribers(dealsTopic).length > 0, 30_000, 'both nodes participating and subscribed')

    const epoch = provider.currentEpoch() - 1n
    assert.ok(provider.headEpoch === undefined || provider.headEpoch < epoch, 'the epoch must not have been matched by the node itself')
    const job = jobOffer(creator.address, 1n, epoch)
    const res = resourceOffer(provider.address, 2n, epoch)
    const jobId = await creator.publishJobOffer(job)
    const resId = await provider.publishResourceOffer(res)
    assert.equal(provider.pool.has(jobId), false)
    assert.equal(creator.pool.has(resId), false)

    const input = { jobs: [{ id: jobId, offer: job }], resources: [{ id: resId, offer: res }] }
    const result = step(initialState(), input, { opened: [], closed: [] }, epoch, provider.config)
    assert.equal(result.matches.length, 1)
    const dealId: Hash = provider.hasher.digest('Deal', result.matches[0].deal)
    const ids = [jobId, resId].sort()
    const digest = offerSetDigest(input, epoch)

    const matches = new Map<LilyNode, OwnMatch[]>([[creator, []], [provider, []]])
    const agreed = new Map<LilyNode, AgreedDeal[]>([[creator, []], [provider, []]])
    for (const n of [creator, provider]) {
      n.on('match', (m) => { matches.get(n)?.push(m) })
      n.on('deal:agreed', (d) => { agreed.get(n)?.push(d) })
    }

    await provider.adoptSnapshot(epoch, result.state, result.stateRoot, ids, digest, 'join')
    assert.ok(provider.pool.has(jobId), 'the job offer was fetched from the peer')
    assert.deepEqual(matches.get(provider)?.map((m) => [m.dealId, m.role]), [[dealId, 'provider']])
    assert.ok(provider.getAcceptances(dealId).provider !== undefined)

    await creator.adoptSnapshot(epoch, result.state, result.stateRoot, ids, digest, 'join')
    assert.ok(creator.pool.has(resId), 'the resource offer was fetched from the peer')
    assert.deepEqual(matches.get(creator)?.map((m) => [m.dealId, m.role]), [[dealId, 'creator']])

    // each side's acceptance reaches the other: the deal is agreed on both nodes
    await waitFor(() => agreed.get(creator)?.length === 1 && agreed.get(provider)?.length === 1, 30_000, 'the deal agreed on both nodes')
    assert.equal(agreed.get(creator)?.[0].dealId, dealId)

    // adopting again signs nothing twice
    await provider.adoptSnapshot(epoch, result.state, result.stateRoot, ids, digest, 'snapshot')
    assert.equal(matches.get(provider)?.length, 1)
    const stored = (await provider.ownMatches()).filter((m) => m.dealId === dealId)
    assert.deepEqual(stored.map((m) => m.signed), [true])
    assert.equal(provider.headEpoch, epoch)
  })

  it('drops the unsigned matches of the abandoned state and signs nothing for a state without its deals', async () => {
    const now = Date.now()
    const profile = testProfile({ epochMs: EPOCH_MS, graceMs: 1000, genesisMs: now - 100 * EPOCH_MS - EPOCH_MS / 2 })
    const provider = await startNode(cleanup, profile, { name: 'provider' })
    await waitFor(() => provider.isParticipating, 30_000, 'participating')
    const epoch = provider.currentEpoch() - 1n
    const creatorNode = await startNode(cleanup, profile, { name: 'creator' })
    const job = jobOffer(creatorNode.address, 1n, epoch)
    const res = resourceOffer(provider.address, 2n, epoch)
    const jobId = await creatorNode.publishJobOffer(job)
    const resId = await provider.publishResourceOffer(res)
    await provider.pool.add({ id: jobId, kind: 'job', signer: creatorNode.address, epoch, expiry: job.expiryEpoch, wire: (creatorNode.pool.get(jobId) as { wire: Uint8Array }).wire, offer: job })
    // the node's own (minority) view matched the pair: an unsigned match is recorded
    const prev = initialState()
    const input = { jobs: [{ id: jobId, offer: job }], resources: [{ id: resId, offer: res }] }
    await provider.commitEpoch(epoch, prev, [provider.pool.get(jobId), provider.pool.get(resId)].filter((o) => o !== undefined).sort((a, b) => a.id < b.id ? -1 : 1), { opened: [], closed: [] }, false)
    assert.equal((await provider.ownMatches()).length, 1)
    // the network's state for that epoch holds no deal (say the job went elsewhere)
    const empty = step(prev, { jobs: [], resources: input.resources }, { opened: [], closed: [] }, epoch, provider.config)
    let signed = 0
    provider.on('match', () => { signed++ })
    await provider.adoptSnapshot(epoch, empty.state, empty.stateRoot, [resId], offerSetDigest({ jobs: [], resources: input.resources }, epoch), 'snapshot')
    assert.equal(signed, 0)
    assert.deepEqual(await provider.ownMatches(), [])
    assert.equal(provider.headRoot, empty.stateRoot)
  })
})

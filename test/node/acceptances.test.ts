/**
 * Fabricated acceptances (issue: 200 of 200 acceptances of deals nobody matched were stored at
 * one node, and one with matchEpoch 2^48−1 emptied its acceptance anti-entropy index for every
 * real epoch). A node keeps only acceptances of deals its own matcher derived.
 */
import assert from 'node:assert/strict'
import { protocolId } from '../../src/protocol/profile.js'
import type { Deal, Hash } from '../../src/protocol/types.js'
import { callRpc } from '../../src/p2p/reqresp/rpc.js'
import { encodeMessage, signDeal } from '../../src/p2p/wire.js'
import { DealBook, MAX_PENDING, PENDING_PER_PARTY } from '../../src/node/services/dealBook.js'
import { startAttacker } from './attacker.js'
import { addrOf, Cleanup, hashOf, jobOffer, planNetwork, resourceOffer, startNode, waitFor } from './helpers.js'

describe('node: acceptances only for derived deals', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('the pending set is bounded in all and per party, and decided when its epoch is matched', () => {
    const book = new DealBook<string>(8n)
    const id = (i: number): Hash => hashOf(`deal-${i}`)
    assert.equal(book.verdict(id(1), 10n, 9n, 12n), 'pending')
    assert.equal(book.verdict(id(1), 13n, 9n, 12n), 'unknown', 'too far ahead')
    assert.equal(book.verdict(id(1), 9n, 9n, 12n), 'unknown', 'an epoch already matched')
    for (let i = 0; i < PENDING_PER_PARTY + 5; i++) book.hold({ dealId: id(i), party: 'creator', signer: 'a', matchEpoch: 10n, message: '', wire: new Uint8Array() })
    assert.equal(book.pendingSize, PENDING_PER_PARTY, 'one party holds at most its share')
    for (let i = 0; i < MAX_PENDING + 50; i++) book.hold({ dealId: id(1000 + i), party: 'provider', signer: `s${i}`, matchEpoch: 10n, message: '', wire: new Uint8Array() })
    assert.equal(book.pendingSize, MAX_PENDING)
    book.noteDerived(10n, [id(3)])
    const kept = book.settle(10n)
    assert.deepEqual(kept.map((p) => p.dealId), [id(3)])
    assert.equal(book.pendingSize, 0, 'the rest dropped once epoch 10 is matched')
    book.prune(19n)
    assert.equal(book.knows(10n, id(3)), false, 'pruned with its epoch')
  })

  it('stores, relays and serves no acceptance of a deal nobody matched; matchEpoch 2^48−1 leaves the real index intact', async () => {
    const net = await planNetwork(1, { epochMs: 1500, graceMs: 300 })
    const p = net.profile
    const boot = await startNode(cleanup, p, { identity: net.bootstrapIds[0], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[0]}`], dhtServer: true, name: 'boot' })
    const provider = await startNode(cleanup, p, { name: 'provider' })
    const creator = await startNode(cleanup, p, { name: 'creator' })
    const nodes = [boot, provider, creator]
    await waitFor(() => nodes.every((n) => n.isParticipating && n.libp2p.getPeers().length >= 2), 30_000, 'nodes connected')
    // one real deal
    const e0 = creator.currentEpoch() + 1n
    await provider.publishResourceOffer({ ...resourceOffer(provider.address, 1n, e0), expiryEpoch: e0 + 10n })
    const jobId = await creator.publishJobOffer({ ...jobOffer(creator.address, 1n, e0), expiryEpoch: e0 + 10n })
    const agreed = new Promise<{ dealId: Hash, deal: Deal }>((resolve) => { boot.on('deal:agreed', (a) => { if (a.deal.jobOfferHash === jobId) resolve(a) }) })
    const real = await agreed
    const realEpoch = real.deal.matchEpoch
    assert.equal(boot.acceptancesOfEpoch(realEpoch).size, 2, 'both real acceptances indexed')
    const dealsBefore = boot.agreedDealsAndPending().length

    const attacker = await startAttacker(cleanup, p, addrOf(boot))
    const a = attacker.identity
    const fake = (i: number, matchEpoch: bigint): Deal => ({
      jobOfferHash: hashOf(`job-${i}`), resourceOfferHash: hashOf(`res-${i}`), creator: a.address, provider: provider.address,
      price: 1n, collateral: 0n, timeout: 60, matchEpoch, openBy: 4_000_000_000n
    })
    const sync = protocolId(p, 'sync')
    let storedBySync = 0
    for (let i = 0; i < 200; i++) {
      const wire = encodeMessage(signDeal(boot.hasher, a.privateKey, fake(i, boot.headEpoch as bigint), 'creator'))
      if (i % 2 === 0) await attacker.publish('deals', wire)
      else {
        const r = await callRpc<{ stored: boolean }>(attacker.host, boot.libp2p.peerId, sync, 'accept', { wire: Buffer.from(wire).toString('base64') }, {})
        if (r.stored) storedBySync++
      }
    }
    // the 2^48−1 one, straight over sync and over gossip
    const far = encodeMessage(signDeal(boot.hasher, a.privateKey, fake(999, 2n ** 48n - 1n), 'creator'))
    const rFar = await callRpc<{ stored: boolean }>(attacker.host, boot.libp2p.peerId, sync, 'accept', { wire: Buffer.from(far).toString('base64') }, {})
    await attacker.publish('deals', far)
    await waitFor(() => boot.metrics.byCode('NODE_UNKNOWN_DEAL') >= 100 && boot.metrics.byCode('PROTOCOL_EPOCH_TOO_NEW') >= 1, 15_000,
      `gossiped fabrications refused: ${JSON.stringify(boot.metrics.toJSON())}`)
    assert.equal(storedBySync, 0)
    assert.equal(rFar.stored, false)
    assert.equal(boot.agreedDealsAndPending().length, dealsBefore, 'no fabricated deal stored')
    assert.equal(boot.acceptancesOfEpoch(realEpoch).size, 2, 'the real epoch\'s index is intact')
    assert.equal(boot.acceptancesOfEpoch(2n ** 48n - 1n).size, 0)
    // nor relayed: the other nodes never saw them
    for (const n of [provider, creator]) assert.equal(n.agreedDealsAndPending().filter((d) => d.deal.creator === a.address).length, 0)
  })
})


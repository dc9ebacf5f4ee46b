/**
 * Gossipsub tuning: the checked overrides, and the receive-side dropping of a message's
 * redundant `key` field (only when it is exactly the key inlined in the author's peer ID).
 */
import assert from 'node:assert/strict'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { createIdentity } from '../../src/protocol/identity.js'
import { DEFAULT_GOSSIP_TUNING, GossipConfigError, gossipTuning, isInlinedKey } from '../../src/p2p/libp2p.js'
import { Cleanup, jobOffer, startNode, testProfile, waitFor, addrOf } from './helpers.js'
import { multiaddr } from '@multiformats/multiaddr'
import { topicName } from '../../src/protocol/profile.js'

describe('node: gossip tuning', function () {
  this.timeout(60_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('takes overrides on the defaults and refuses what gossipsub cannot run', () => {
    assert.deepEqual(gossipTuning(), { ...DEFAULT_GOSSIP_TUNING })
    assert.equal(gossipTuning({ D: 5, Dhi: 8 }).D, 5)
    const bad: Array<Record<string, unknown>> = [
      { D: 3, Dlo: 4 }, { D: 13 }, { Dout: 4 }, { Dout: 3, D: 5 }, { D: 1.5 }, { gossipFactor: 2 },
      { heartbeatIntervalMs: 10 }, { idontwantMinDataSize: -1 }, { Dlazy: -1 }
    ]
    for (const b of bad) {
      assert.throws(() => gossipTuning(b), (e: unknown) => e instanceof GossipConfigError && e.code === 'NODE_BAD_GOSSIP_CONFIG', JSON.stringify(b))
    }
  })

  it('recognises a key inlined in a secp256k1 peer ID and nothing else', () => {
    const a = createIdentity()
    const b = createIdentity()
    const from = a.peerId.toMultihash().bytes
    const keyA = publicKeyToProtobuf(a.libp2pKey.publicKey)
    const keyB = publicKeyToProtobuf(b.libp2pKey.publicKey)
    assert.equal(isInlinedKey(from, keyA), true)
    assert.equal(isInlinedKey(from, keyB), false)
    assert.equal(isInlinedKey(from, keyA.subarray(1)), false)
    assert.equal(isInlinedKey(new Uint8Array([0x12, ...from.subarray(1)]), keyA), false)
  })

  it('delivers gossip between nodes running the tuning (keys dropped on receipt, no IDONTWANT)', async () => {
    const profile = testProfile({ epochMs: 2000, graceMs: 500 })
    const a = await startNode(cleanup, profile, { name: 'a' })
    const b = await startNode(cleanup, profile, { name: 'b' })
    await b.libp2p.dial(multiaddr(addrOf(a)))
    await waitFor(() => a.libp2p.services.pubsub.getSubscribers(topicName(profile, 'jobs')).length > 0, 30_000, 'b subscribed')
    const got = new Promise<string>((resolve) => { b.on('offer', (ev) => { if (ev.via === 'gossip') resolve(ev.id) }) })
    const id = await a.publishJobOffer(jobOffer(a.address, 1n, a.currentEpoch()))
    assert.equal(await got, id)
  })
})

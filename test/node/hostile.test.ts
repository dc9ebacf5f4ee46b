/**
 * Hostile gossip against a real node on 127.0.0.1: malformed bytes, oversized messages, bad
 * signatures, offers signed by someone other than the publishing peer, and a flood from one
 * peer. Each is refused with its documented code (counted by the victim's metrics), the
 * offenders' gossipsub score falls, the flooder is cut off, and honest nodes keep converging.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { createIdentity, type Identity } from '../../src/protocol/identity.js'
import { topicName } from '../../src/protocol/profile.js'
import { encodeMessage } from '../../src/protocol/codec.js'
import { signJobOffer } from '../../src/protocol/message.js'
import { createNodeLibp2p, gossipScore, type NodeLibp2p } from '../../src/p2p/libp2p.js'
import type { LilyNode } from '../../src/node/network.js'
import { agreement, addrOf, Cleanup, jobOffer, planNetwork, resourceOffer, sleepMs, startNode, waitFor } from './helpers.js'

async function hostile (cleanup: Cleanup, victim: LilyNode, identity: Identity = createIdentity()): Promise<{ host: NodeLibp2p, identity: Identity }> {
  const host = await createNodeLibp2p({ profile: victim.profile, privateKey: identity.libp2pKey })
  await host.start()
  cleanup.push(async () => { await host.stop() })
  const jobs = topicName(victim.profile, 'jobs')
  host.services.pubsub.subscribe(jobs)
  await host.dial(multiaddr(addrOf(victim)))
  await waitFor(() => host.services.pubsub.getSubscribers(jobs).some((p) => p.equals(victim.libp2p.peerId)), 15_000, 'the victim to be subscribed')
  return { host, identity }
}

async function send (h: NodeLibp2p, topic: string, data: Uint8Array): Promise<void> {
  await h.services.pubsub.publish(topic, data).catch(() => {})
}

describe('node: hostile input', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('refuses each attack with its code, cuts off the flooder, and honest nodes keep converging', async () => {
    const net = await planNetwork(1, { epochMs: 1500, graceMs: 500 })
    const p = net.profile
    const boot = await startNode(cleanup, p, { identity: net.bootstrapIds[0], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[0]}`], dhtServer: true, name: 'boot' })
    const victim = await startNode(cleanup, p, { name: 'victim' })
    const honest = await startNode(cleanup, p, { name: 'honest' })
    const nodes = [boot, victim, honest]
    await waitFor(() => nodes.every((n) => n.isParticipating && n.libp2p.getPeers().length >= 2), 30_000, 'honest nodes connected')
    const jobs = topicName(p, 'jobs')
    const code = (c: string): number => victim.metrics.byCode(c)
    const e = victim.currentEpoch()

    // malformed bytes
    const h1 = await hostile(cleanup, victim)
    await send(h1.host, jobs, new TextEncoder().encode('{"kind":"job","offer":'))
    // oversized (over the profile's maxMessageBytes, under gossipsub's transport cap)
    const h2 = await hostile(cleanup, victim)
    await send(h2.host, jobs, new Uint8Array(p.limits.maxMessageBytes + 100).fill(0x20))
    // a bad signature (v = 29)
    const h3 = await hostile(cleanup, victim)
    const good = encodeMessage(signJobOffer(victim.hasher, h3.identity.privateKey, jobOffer(h3.identity.address, 1n, e + 1n)))
    const text = new TextDecoder().decode(good)
    await send(h3.host, jobs, new TextEncoder().encode(text.replace(/"signature":"0x([0-9a-f]{128})1[bc]"/, '"signature":"0x$11d"')))
    // an offer signed by an honest party, published by someone else
    const h4 = await hostile(cleanup, victim)
    const someoneElse = createIdentity()
    await send(h4.host, jobs, encodeMessage(signJobOffer(victim.hasher, someoneElse.privateKey, jobOffer(someoneElse.address, 2n, e + 1n))))

    await waitFor(() => code('PROTOCOL_MALFORMED') >= 1 && code('PROTOCOL_TOO_LARGE') >= 1 && code('PROTOCOL_BAD_SIGNATURE') >= 1 && code('NODE_WRONG_PUBLISHER') >= 1,
      10_000, `every attack refused: ${JSON.stringify(victim.metrics.toJSON())}`)
    // gossipsub recomputes scores on its heartbeat
    await waitFor(() => [h1, h2, h3, h4].every((h) => (gossipScore(victim.libp2p.services.pubsub, h.host.peerId.toString()) ?? 0) < 0), 10_000,
      'every offender\'s score to fall below 0')

    // a flood of well-formed offers from one peer, far over its per-epoch quota
    const h5 = await hostile(cleanup, victim)
    const flooder = h5.host.peerId.toString()
    for (let i = 0; i < 300; i++) {
      await send(h5.host, jobs, encodeMessage(signJobOffer(victim.hasher, h5.identity.privateKey, jobOffer(h5.identity.address, BigInt(1000 + i), victim.currentEpoch()))))
    }
    await waitFor(() => victim.policing.isBanned(flooder) && !victim.libp2p.getPeers().some((x) => x.toString() === flooder), 15_000, 'the flooder to be cut off')
      .catch((e: Error) => { throw new Error(`${e.message}: score ${gossipScore(victim.libp2p.services.pubsub, flooder)}, rejects ${victim.policing.rejectsOf(flooder)}, metrics ${JSON.stringify(victim.metrics.toJSON())}`) })
    assert.ok(code('NODE_RATE_LIMITED') >= 1, `flood refused as NODE_RATE_LIMITED: ${JSON.stringify(victim.metrics.toJSON())}`)
    // the app-specific part of its gossipsub score (the transport forgets a peer once it is gone)
    assert.ok(victim.policing.appScore(flooder) < -100, `flooder score ${victim.policing.appScore(flooder)}`)
    // it cannot come back
    await h5.host.dial(multiaddr(addrOf(victim)), { signal: AbortSignal.timeout(5000) }).catch(() => {})
    await sleepMs(500)
    assert.ok(!victim.libp2p.getPeers().some((x) => x.toString() === flooder), 'the victim refuses the flooder\'s new connection')
    const accepted = [...victim.pool.all()].filter((o) => o.signer === h5.identity.address).length
    assert.ok(accepted <= p.limits.maxOffersPerPeerPerEpoch * 2, `flooder got ${accepted} offers in`)

    // honest traffic keeps flowing and converging
    const first = victim.currentEpoch() + 1n
    for (let k = 0n; k < 4n; k++) {
      const ep = first + k
      await sleepMs(Math.max(0, Number(BigInt(p.genesisMs) + ep * BigInt(p.epochMs)) + 50 - Date.now()))
      await honest.publishJobOffer(jobOffer(honest.address, 100n + k, ep))
      await boot.publishResourceOffer(resourceOffer(boot.address, 200n + k, ep))
    }
    await sleepMs(p.epochMs * 2 + p.graceMs)
    const a = agreement(nodes, first, first + 3n)
    assert.equal(a.agree, a.total, `honest nodes agree on every epoch (${JSON.stringify(a)})`)
    assert.ok((await honest.ownMatches()).length > 0 || (await boot.ownMatches()).length > 0, 'honest offers were matched')
  })
})

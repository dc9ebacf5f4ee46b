/**
 * A stranger's libp2p peer for the attack tests: a throwaway key, none of the node's code,
 * only the wire (gossip topics and the `sync` protocol) that any outsider can speak.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { createIdentity, type Identity } from '../../src/protocol/identity.js'
import { protocolId, topicName, type Profile, type TopicKind } from '../../src/protocol/profile.js'
import { createNodeLibp2p, type NodeLibp2p } from '../../src/p2p/libp2p.js'
import { serveRpc, type RpcHandler } from '../../src/p2p/reqresp/rpc.js'
import type { Cleanup } from './helpers.js'
import { waitFor } from './helpers.js'

export interface Attacker { host: NodeLibp2p, identity: Identity, publish: (kind: TopicKind, data: Uint8Array) => Promise<void> }

/** Starts a peer with a fresh key, subscribes it to every topic, serves `sync` with `handlers` (if any) and dials `target`. */
export async function startAttacker (cleanup: Cleanup, profile: Profile, target: string, handlers?: Record<string, RpcHandler>, identity: Identity = createIdentity()): Promise<Attacker> {
  const host = await createNodeLibp2p({ profile, privateKey: identity.libp2pKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  if (handlers !== undefined) await serveRpc(host, protocolId(profile, 'sync'), handlers)
  await host.start()
  cleanup.push(async () => { await host.stop() })
  const kinds: TopicKind[] = ['jobs', 'resources', 'deals', 'epochs']
  for (const k of kinds) host.services.pubsub.subscribe(topicName(profile, k))
  await host.dial(multiaddr(target))
  const epochs = topicName(profile, 'epochs')
  await waitFor(() => host.services.pubsub.getSubscribers(epochs).length > 0, 15_000, 'the target to subscribe')
  return {
    host,
    identity,
    publish: async (kind, data) => { await host.services.pubsub.publish(topicName(profile, kind), data).catch(() => {}) }
  }
}

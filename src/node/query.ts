/**
 * The server side of the `query` protocol (framing and client: src/p2p/reqresp/query.ts):
 * what `lilynode query <offers|jobs|deals|peers|epoch>` asks a running node. Answers are paged (at most 100 items), carry only public data (offers,
 * deals, peers, epoch figures), never a key.
 *
 *   offers  resource offers the node holds      jobs   job offers the node holds
 *   deals   deals with acceptances seen         peers  connected peers, their address and score
 *   epoch   clock, head epoch, root, counters
 */
import { peerIdToAddress } from '../protocol/index.js'
import type { Logger } from '../protocol/index.js'
import { networkTag, protocolId, type Profile } from '../protocol/index.js'
import type { Address, Deal, Hash } from '../protocol/index.js'
import { PeerPolicing, RpcRefusal, type GossipMetrics } from '../p2p/index.js'
import { gossipScore, type NodeLibp2p } from '../p2p/index.js'
import type { OfferPool } from './pool.js'
import type { OwnMatch } from './types.js'
import { serveRpc, type RpcHandler } from '../p2p/index.js'
import { pageOf, type QueryKind } from '../p2p/index.js'

/** Queries one peer may ask per second (burst): answers are paged, but each page costs a walk of the pool. */
const QUERY_RATE = { ratePerSec: 20, burst: 60 }

/** What `query` reads of the node (nothing it could change). */
export interface QueryComponents extends PeerViewComponents {
  profile: Profile
  address: Address
  pool: OfferPool
  metrics: GossipMetrics
  log: Logger
  readonly headEpoch: bigint | undefined
  readonly headRoot: Hash | undefined
  readonly isParticipating: boolean
  readonly syncStats: Record<string, number> | undefined
  currentEpoch: () => bigint
  ownMatches: () => Promise<OwnMatch[]>
  agreedDealsAndPending: () => Array<{ dealId: Hash, deal: Deal, creatorSigned: boolean, providerSigned: boolean }>
}

export async function serveQuery (node: QueryComponents): Promise<void> {
  const offersOf = (kind: 'job' | 'resource'): Array<Record<string, unknown>> => {
    const out: Array<Record<string, unknown>> = []
    for (const o of node.pool.all()) if (o.kind === kind) out.push({ id: o.id, ...o.offer })
    return out.sort((x, y) => (x.id as string) < (y.id as string) ? -1 : 1)
  }
  const handlers: Record<QueryKind, RpcHandler> = {
    offers: async (a) => pageOf(offersOf('resource'), a),
    jobs: async (a) => pageOf(offersOf('job'), a),
    deals: async (a) => {
      const own = new Map((await node.ownMatches()).map((m) => [m.dealId, m]))
      const all = node.agreedDealsAndPending().map((d) => ({ ...d, role: own.get(d.dealId)?.role ?? null }))
      return pageOf(all, a)
    },
    peers: async (a) => pageOf(peerViews(node), a),
    epoch: async () => ({
      network: node.profile.name,
      networkTag: networkTag(node.profile),
      address: node.address,
      currentEpoch: node.currentEpoch(),
      headEpoch: node.headEpoch ?? null,
      stateRoot: node.headRoot ?? null,
      participating: node.isParticipating,
      offers: node.pool.size,
      peers: node.libp2p.getPeers().length,
      gossip: node.metrics.toJSON(),
      sync: node.syncStats ?? null
    })
  }
  const admission = new PeerPolicing({ ...QUERY_RATE, banThreshold: Infinity })
  await serveRpc(node.libp2p, protocolId(node.profile, 'query'), handlers, {
    logger: node.log,
    maxInboundStreams: 16,
    admit: (peer) => {
      if (!admission.take(peer.toString())) throw new RpcRefusal('NODE_RATE_LIMITED', `over ${QUERY_RATE.ratePerSec} queries/s; slow down`)
    }
  })
}

export interface PeerView {
  peerId: string
  address: string | null
  addrs: string[]
  score: number | null
  rejects: number
}

export interface PeerViewComponents {
  libp2p: NodeLibp2p
  policing: PeerPolicing
}

/** The node's connected peers, sorted by peer ID: addresses, gossip score, recent rejects (no secrets). */
export function peerViews (node: PeerViewComponents): PeerView[] {
  const pubsub = node.libp2p.services.pubsub
  return node.libp2p.getPeers().map((p) => {
    const id = p.toString()
    let address: string | null = null
    try { address = peerIdToAddress(p) } catch { address = null }
    return {
      peerId: id,
      address,
      addrs: node.libp2p.getConnections(p).map((c) => c.remoteAddr.toString()),
      score: gossipScore(pubsub, id) ?? null,
      rejects: Math.round(node.policing.rejectsOf(id) * 100) / 100
    }
  }).sort((x, y) => x.peerId < y.peerId ? -1 : 1)
}

/**
 * The `query` protocol: what the CLI's `lilynode query <offers|jobs|deals|peers|epoch>` asks
 * a running node. Answers are paged (at most 100 items), carry only public data (offers,
 * deals, peers, epoch figures), never a key.
 *
 *   offers  resource offers the node holds      jobs   job offers the node holds
 *   deals   deals with acceptances seen         peers  connected peers, their address and score
 *   epoch   clock, head epoch, root, counters
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdToAddress } from '../protocol/identity.js'
import { networkTag, protocolId } from '../protocol/profile.js'
import { NodeError } from './errors.js'
import { gossipScore } from './libp2p.js'
import type { LilyNode } from './network.js'
import { callRpc, RpcRefusal, serveRpc, type RpcHandler } from './rpc.js'

export const QUERY_KINDS = ['offers', 'jobs', 'deals', 'peers', 'epoch'] as const
export type QueryKind = typeof QUERY_KINDS[number]
export const MAX_QUERY_LIMIT = 100

export interface QueryPage<T = Record<string, unknown>> {
  items: T[]
  page: number
  limit: number
  total: number
}

function paging (a: unknown): { page: number, limit: number } {
  const o = (typeof a === 'object' && a !== null ? a : {}) as { page?: unknown, limit?: unknown }
  const page = o.page === undefined ? 0 : o.page
  const limit = o.limit === undefined ? 20 : o.limit
  if (typeof page !== 'number' || !Number.isSafeInteger(page) || page < 0 || page > 1_000_000) throw new RpcRefusal('NODE_RPC_BAD_REQUEST', 'page must be an integer ≥ 0')
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) throw new RpcRefusal('NODE_RPC_BAD_REQUEST', `limit must be 1..${MAX_QUERY_LIMIT}`)
  return { page, limit }
}

function pageOf<T> (all: T[], a: unknown): QueryPage<T> {
  const { page, limit } = paging(a)
  return { items: all.slice(page * limit, page * limit + limit), page, limit, total: all.length }
}

export async function serveQuery (node: LilyNode): Promise<void> {
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
  await serveRpc(node.libp2p, protocolId(node.profile, 'query'), handlers, { logger: node.log, maxInboundStreams: 16 })
}

const QUERY_RE = /^\/lilynode\/[0-9a-f]{16}\/query\/1\.0\.0$/

export interface QueryOptions {
  page?: number
  limit?: number
  signal?: AbortSignal
  timeoutMs?: number
}

/**
 * Asks a running node over libp2p. Needs no profile: the node's query protocol id is read
 * from identify. A throwaway key is used for the connection.
 */
export async function queryNode<T = unknown> (addr: string, what: QueryKind, opts: QueryOptions = {}): Promise<T> {
  if (!(QUERY_KINDS as readonly string[]).includes(what)) throw new NodeError('NODE_RPC_BAD_REQUEST', `unknown query ${JSON.stringify(what)}; one of ${QUERY_KINDS.join(', ')}`)
  let ma
  try {
    ma = multiaddr(addr)
  } catch (e) {
    throw new NodeError('NODE_BAD_ADDRESS', `--node must be a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/<peer id>: ${(e as Error).message}`)
  }
  const client = await createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: async () => false },
    services: { identify: identify() }
  })
  await client.start()
  try {
    const timeoutMs = opts.timeoutMs ?? 10_000
    const signal = opts.signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)])
    const conn = await client.dial(ma, { signal })
    let protocol: string | undefined
    for (let i = 0; i < 50 && protocol === undefined; i++) {
      const peer = await client.peerStore.get(conn.remotePeer).catch(() => undefined)
      protocol = peer?.protocols.find((p) => QUERY_RE.test(p))
      if (protocol === undefined) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    if (protocol === undefined) throw new NodeError('NODE_RPC_REMOTE', `${addr} does not speak the lilynode query protocol`)
    const args = what === 'epoch' ? {} : { page: opts.page ?? 0, limit: opts.limit ?? 20 }
    return await callRpc<T>(client, conn.remotePeer, protocol, what, args, { signal, limits: { responseTimeoutMs: timeoutMs, dialTimeoutMs: timeoutMs } })
  } finally {
    await client.stop()
  }
}

export interface PeerView {
  peerId: string
  address: string | null
  addrs: string[]
  score: number | null
  rejects: number
}

/** The node's connected peers, sorted by peer ID: addresses, gossip score, recent rejects (no secrets). */
export function peerViews (node: LilyNode): PeerView[] {
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

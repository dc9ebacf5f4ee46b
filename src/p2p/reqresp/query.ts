/**
 * The `query` protocol's framing and its client: paging, the kinds a node answers, and
 * `queryNode`, which asks any running node over libp2p with a throwaway key (the server side,
 * which reads the node's state, is in src/node/query.ts).
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { P2pError } from '../errors.js'
import { callRpc, RpcRefusal } from './rpc.js'
import { sleep } from '../../protocol/index.js'

import { QUERY_KINDS, MAX_QUERY_LIMIT, type QueryKind } from '../../protocol/constants.js'
export { QUERY_KINDS, MAX_QUERY_LIMIT, type QueryKind }

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
  if (typeof page !== 'number' || !Number.isSafeInteger(page) || page < 0 || page > 1_000_000) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', 'page must be an integer ≥ 0')
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) throw new RpcRefusal('P2P_RPC_BAD_REQUEST', `limit must be 1..${MAX_QUERY_LIMIT}`)
  return { page, limit }
}

export function pageOf<T> (all: T[], a: unknown): QueryPage<T> {
  const { page, limit } = paging(a)
  return { items: all.slice(page * limit, page * limit + limit), page, limit, total: all.length }
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
  if (!(QUERY_KINDS as readonly string[]).includes(what)) throw new P2pError('P2P_RPC_BAD_REQUEST', `unknown query ${JSON.stringify(what)}; one of ${QUERY_KINDS.join(', ')}`)
  let ma
  try {
    ma = multiaddr(addr)
  } catch (e) {
    throw new P2pError('P2P_BAD_ADDRESS', `--node must be a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/<peer id>: ${(e as Error).message}`)
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
      if (protocol === undefined) await sleep(50)
    }
    if (protocol === undefined) throw new P2pError('P2P_RPC_REMOTE', `${addr} does not speak the lilynode query protocol`)
    const args = what === 'epoch' ? {} : { page: opts.page ?? 0, limit: opts.limit ?? 20 }
    return await callRpc<T>(client, conn.remotePeer, protocol, what, args, { signal, limits: { responseTimeoutMs: timeoutMs, dialTimeoutMs: timeoutMs } })
  } finally {
    await client.stop()
  }
}


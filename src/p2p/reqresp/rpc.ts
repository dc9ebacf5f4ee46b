/**
 * Request/response over libp2p streams (`sync`, `query`): one length-prefixed JSON frame each
 * way, piped with it-pipe + it-length-prefixed. Protocols are data — a record of method →
 * async handler — and every phase (dial, response, whole call) has its own timeout.
 */
import { pipe } from 'it-pipe'
import * as lp from 'it-length-prefixed'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { P2pError } from '../errors.js'
import { fromJson, toJson } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import { LilyError } from '../../protocol/errors.js'
import { withTimeout } from '../../protocol/index.js'

export interface RpcLimits {
  /** Largest request frame accepted by the server. */
  maxRequestBytes: number
  /** Largest response frame accepted by the client. */
  maxResponseBytes: number
  dialTimeoutMs: number
  responseTimeoutMs: number
}

export const DEFAULT_RPC_LIMITS: RpcLimits = {
  maxRequestBytes: 256 * 1024,
  maxResponseBytes: 8 * 1024 * 1024,
  dialTimeoutMs: 3000,
  responseTimeoutMs: 5000
}

export type RpcHandler = (args: unknown, peer: PeerId) => Promise<unknown>

/** Thrown by a handler to answer with a coded error instead of a result. */
export class RpcRefusal extends LilyError {
  override readonly name = 'RpcRefusal'
}

interface RpcResponse { ok: boolean, r?: unknown, code?: string, message?: string }

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

/** protocol's withTimeout, failing with P2P_RPC_TIMEOUT. */
async function timed<T> (fn: (signal: AbortSignal) => Promise<T>, ms: number, signal: AbortSignal | undefined, what: string): Promise<T> {
  return await withTimeout(fn, ms, { signal, what, timeoutError: (message, cause) => new P2pError('P2P_RPC_TIMEOUT', message, { cause }) })
}

async function writeFrame (stream: Stream, frame: Uint8Array, signal: AbortSignal): Promise<void> {
  await pipe([frame], (src) => lp.encode(src), async (src) => {
    for await (const chunk of src) {
      if (!stream.send(chunk)) await stream.onDrain({ signal })
    }
  })
}

async function readFrame (stream: Stream, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const onAbort = (): void => { stream.abort(new Error('aborted')) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    for await (const frame of lp.decode(stream, { maxDataLength: maxBytes })) {
      return frame.subarray()
    }
  } catch (e) {
    if (signal.aborted) throw signal.reason
    const msg = (e as Error).message
    if (/too long|too large|exceed/i.test(msg) || (e as { name?: string }).name === 'InvalidDataLengthError') {
      throw new P2pError('P2P_RPC_TOO_LARGE', `frame larger than ${maxBytes} bytes`, { cause: e })
    }
    throw e
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  throw new P2pError('P2P_RPC_BAD_REQUEST', 'stream ended before a frame arrived')
}

/** Bytes of request/response frames sent and received (for the network benchmark). */
export interface RpcCounter { rpcBytesIn: number, rpcBytesOut: number }

export interface ServeOptions {
  counter?: RpcCounter
  limits?: Partial<RpcLimits>
  logger?: Logger
  maxInboundStreams?: number
  /** Called for every request (rate limits, metrics); throw RpcRefusal to refuse. */
  admit?: (peer: PeerId, method: string) => void
}

/** Registers a protocol whose methods are `handlers`. */
export async function serveRpc (libp2p: Libp2p, protocol: string, handlers: Record<string, RpcHandler>, opts: ServeOptions = {}): Promise<void> {
  const limits = { ...DEFAULT_RPC_LIMITS, ...opts.limits }
  await libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer
    await timed(async (signal) => {
      let res: RpcResponse
      try {
        const frame = await readFrame(stream, limits.maxRequestBytes, signal)
        if (opts.counter !== undefined) opts.counter.rpcBytesIn += frame.length
        let req: { m?: unknown, a?: unknown }
        try {
          req = fromJson<{ m?: unknown, a?: unknown }>(dec.decode(frame))
        } catch {
          throw new RpcRefusal('P2P_RPC_BAD_REQUEST', 'request is not JSON')
        }
        if (typeof req !== 'object' || req === null || typeof req.m !== 'string' || !Object.hasOwn(handlers, req.m)) {
          throw new RpcRefusal('P2P_RPC_BAD_REQUEST', `unknown method; known: ${Object.keys(handlers).join(', ')}`)
        }
        opts.admit?.(peer, req.m)
        res = { ok: true, r: await handlers[req.m](req.a, peer) }
      } catch (e) {
        const code = e instanceof RpcRefusal || e instanceof P2pError ? e.code : 'P2P_RPC_REMOTE'
        res = { ok: false, code, message: (e as Error).message }
        opts.logger?.debug('rpc refused', { protocol, peer: peer.toString(), code })
      }
      const out = enc.encode(toJson(res))
      if (opts.counter !== undefined) opts.counter.rpcBytesOut += out.length
      await writeFrame(stream, out, signal)
      await stream.close({ signal })
    }, limits.responseTimeoutMs, undefined, `serving ${protocol}`).catch((e: unknown) => {
      stream.abort(e as Error)
    })
  }, { maxInboundStreams: opts.maxInboundStreams ?? 64, runOnLimitedConnection: false })
}

export interface CallOptions {
  counter?: RpcCounter
  limits?: Partial<RpcLimits>
  signal?: AbortSignal
}

/** Calls `method` on a peer; resolves with its result or throws P2P_RPC_* errors. */
export async function callRpc<T> (libp2p: Libp2p, peer: PeerId | Multiaddr, protocol: string, method: string, args: unknown, opts: CallOptions = {}): Promise<T> {
  const limits = { ...DEFAULT_RPC_LIMITS, ...opts.limits }
  const stream = await timed(async (signal) => await libp2p.dialProtocol(peer, protocol, { signal }),
    limits.dialTimeoutMs, opts.signal, `dialing ${protocol}`)
  try {
    return await timed(async (signal) => {
      const req = enc.encode(toJson({ m: method, a: args }))
      if (opts.counter !== undefined) opts.counter.rpcBytesOut += req.length
      await writeFrame(stream, req, signal)
      const frame = await readFrame(stream, limits.maxResponseBytes, signal)
      if (opts.counter !== undefined) opts.counter.rpcBytesIn += frame.length
      const res = fromJson<RpcResponse>(dec.decode(frame))
      await stream.close({ signal }).catch(() => {})
      if (res.ok !== true) throw new P2pError('P2P_RPC_REMOTE', `${method}: ${res.code ?? 'error'}: ${res.message ?? ''}`)
      return res.r as T
    }, limits.responseTimeoutMs, opts.signal, `${method} on ${protocol}`)
  } catch (e) {
    stream.abort(e as Error)
    throw e
  }
}

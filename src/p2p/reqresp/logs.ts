/**
 * The `logs` protocol: a deal's creator asks its provider for the job's stdout and stderr,
 * live while the job runs (`follow`) or as they stand. Only the deal's creator may read them:
 * the provider checks the remote peer ID's address (the same key as the creator's on-chain
 * address) against the deal before it sends a byte.
 *
 * Framing (length-prefixed JSON): request `{ dealId, follow }`; answer `{ ok: true }` or
 * `{ ok: false, code, message }`; then chunk frames `{ s: 'stdout'|'stderr', d: <base64> }`
 * (each ≤ 64 KiB of log) and one last `{ end: true, why? }`. A stream carries at most
 * MAX_LOG_STREAM_BYTES of log.
 */
import * as lp from 'it-length-prefixed'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { LilyError, protocolId, type Profile } from '../../protocol/index.js'
import type { Address, Hash } from '../../protocol/index.js'
import { peerAddress } from '../peers.js'
import { P2pError } from '../errors.js'

export type LogStreamName = 'stdout' | 'stderr'
export interface LogChunk { stream: LogStreamName, data: Uint8Array }

export const MAX_LOG_CHUNK = 64 * 1024
export const MAX_LOG_STREAM_BYTES = 64 * 1024 * 1024
const MAX_FRAME = 128 * 1024

/** Thrown by a log source to refuse (the answer carries code and message). */
export class LogsRefusal extends LilyError<'LOGS_FORBIDDEN' | 'LOGS_UNKNOWN_DEAL' | 'LOGS_UNAVAILABLE'> {
  override readonly name = 'LogsRefusal'
}

/** What a provider serves: the chunks of a deal's logs for `remote` (throws LogsRefusal). */
export type LogSource = (dealId: Hash, remote: Address, follow: boolean, signal: AbortSignal) => Promise<AsyncIterable<LogChunk>>

const enc = new TextEncoder()
const dec = new TextDecoder()

function send (stream: Stream, v: unknown): boolean {
  return stream.send(lp.encode.single(enc.encode(JSON.stringify(v))))
}

async function sendDrained (stream: Stream, v: unknown, signal: AbortSignal): Promise<void> {
  if (!send(stream, v)) await stream.onDrain({ signal })
}

/** Registers the logs protocol; returns its id. `signal` ends every stream it serves. */
export async function serveLogs (libp2p: Libp2p, profile: Profile, source: LogSource, signal: AbortSignal): Promise<string> {
  const protocol = protocolId(profile, 'logs')
  await libp2p.handle(protocol, (stream, connection) => {
    void serveOne(stream, connection.remotePeer, source, signal)
  }, { maxInboundStreams: 32 })
  return protocol
}

async function serveOne (stream: Stream, peer: PeerId, source: LogSource, stop: AbortSignal): Promise<void> {
  const ctl = new AbortController()
  const signal = AbortSignal.any([stop, ctl.signal])
  const onClose = (): void => { ctl.abort(new Error('the reader went away')) }
  stream.addEventListener('close', onClose, { once: true })
  try {
    let req: { dealId?: unknown, follow?: unknown } | undefined
    const first = AbortSignal.any([signal, AbortSignal.timeout(10_000)])
    for await (const frame of lp.decode(stream, { maxDataLength: 4096 })) {
      req = JSON.parse(dec.decode(frame.subarray())) as typeof req
      break
    }
    first.throwIfAborted()
    if (typeof req?.dealId !== 'string' || !/^0x[0-9a-f]{64}$/.test(req.dealId)) throw new LogsRefusal('LOGS_UNKNOWN_DEAL', 'the request needs dealId: 0x + 64 lower-case hex digits')
    const remote = peerAddress(peer)
    if (remote === undefined) throw new LogsRefusal('LOGS_FORBIDDEN', 'only a deal\'s creator may read its logs')
    const chunks = await source(req.dealId as Hash, remote, req.follow === true, signal)
    await sendDrained(stream, { ok: true }, signal)
    let total = 0
    for await (const c of chunks) {
      for (let i = 0; i < c.data.length; i += MAX_LOG_CHUNK) {
        const part = c.data.subarray(i, i + MAX_LOG_CHUNK)
        total += part.length
        if (total > MAX_LOG_STREAM_BYTES) { await sendDrained(stream, { end: true, why: `the log stream stops at ${MAX_LOG_STREAM_BYTES} bytes` }, signal); return }
        await sendDrained(stream, { s: c.stream, d: Buffer.from(part).toString('base64') }, signal)
      }
    }
    await sendDrained(stream, { end: true }, signal)
    await stream.close({ signal }).catch(() => undefined)
  } catch (e) {
    try {
      const code = e instanceof LogsRefusal ? e.code : 'LOGS_UNAVAILABLE'
      await sendDrained(stream, { ok: false, code, message: (e instanceof Error ? e.message : String(e)).slice(0, 512) }, AbortSignal.timeout(2000))
      await stream.close({ signal: AbortSignal.timeout(2000) })
    } catch {
      stream.abort(e instanceof Error ? e : new Error(String(e)))
    }
  } finally {
    stream.removeEventListener('close', onClose)
  }
}

/** Reads a deal's logs from its provider (the caller's node must be the deal's creator). */
export async function * fetchLogs (libp2p: Libp2p, profile: Profile, peer: PeerId, dealId: Hash, o: { follow: boolean, signal?: AbortSignal }): AsyncGenerator<LogChunk> {
  const signal = o.signal ?? new AbortController().signal
  const stream = await libp2p.dialProtocol(peer, protocolId(profile, 'logs'), { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
  const onAbort = (): void => { stream.abort(new Error('stopped')) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    send(stream, { dealId, follow: o.follow })
    let answered = false
    for await (const frame of lp.decode(stream, { maxDataLength: MAX_FRAME })) {
      const m = JSON.parse(dec.decode(frame.subarray())) as { ok?: boolean, code?: string, message?: string, s?: string, d?: string, end?: boolean, why?: string }
      if (!answered) {
        answered = true
        if (m.ok !== true) throw new P2pError('P2P_RPC_REMOTE', `logs: ${m.code ?? 'refused'}: ${m.message ?? ''}`)
        continue
      }
      if (m.end === true) return
      if ((m.s === 'stdout' || m.s === 'stderr') && typeof m.d === 'string') yield { stream: m.s, data: new Uint8Array(Buffer.from(m.d, 'base64')) }
    }
    if (!answered) throw new P2pError('P2P_RPC_REMOTE', 'logs: the provider closed the stream without an answer')
  } finally {
    signal.removeEventListener('abort', onAbort)
    await stream.close().catch(() => undefined)
  }
}

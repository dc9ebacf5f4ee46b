/**
 * The `logs` protocol: a deal's creator asks its provider for the job's stdout and stderr,
 * live while the job runs (`follow`) or as they stand. Only the deal's creator may read them:
 * the provider checks the remote peer ID's address (the same key as the creator's on-chain
 * address) against the deal before it sends a byte.
 *
 * Framing (length-prefixed JSON): request `{ dealId, follow }`; answer `{ ok: true }` or
 * `{ ok: false, code, message }`; then chunk frames `{ s: 'stdout'|'stderr', d: <base64> }`
 * (each ≤ 64 KiB of log) and one last `{ end: true, why? }`. Bounded: a stream carries at most
 * `maxBytes` of log (MAX_LOG_STREAM_BYTES) and stays open at most `maxMs`; one peer has at most
 * `maxStreamsPerPeer` streams open (the next is refused with LOGS_BUSY).
 */
import * as lp from 'it-length-prefixed'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { LilyError, protocolId, type Profile } from '../../protocol/index.js'
import type { Address, Hash } from '../../protocol/index.js'
import { peerAddress } from '../peers.js'

export type LogStreamName = 'stdout' | 'stderr'
export interface LogChunk { stream: LogStreamName, data: Uint8Array }

export const MAX_LOG_CHUNK = 64 * 1024
export const MAX_LOG_STREAM_BYTES = 64 * 1024 * 1024
/** Log streams one peer may have open at once (default). */
export const MAX_LOG_STREAMS_PER_PEER = 4
/** Longest a followed log stream stays open (default; a deal's job cannot run longer). */
export const MAX_LOG_STREAM_MS = 25 * 3600 * 1000
const MAX_FRAME = 128 * 1024

export type LogsCode = 'LOGS_FORBIDDEN' | 'LOGS_UNKNOWN_DEAL' | 'LOGS_UNKNOWN_JOB' | 'LOGS_UNAVAILABLE' | 'LOGS_BUSY' | 'LOGS_NO_PROVIDER'
const REMOTE_CODES: ReadonlySet<string> = new Set<LogsCode>(['LOGS_FORBIDDEN', 'LOGS_UNKNOWN_DEAL', 'LOGS_UNAVAILABLE', 'LOGS_BUSY'])

/** A refusal to serve (or to read) a deal's logs: thrown by a log source, and by the reader with the provider's code. */
export class LogsRefusal extends LilyError<LogsCode> {
  override readonly name = 'LogsRefusal'
  constructor (code: LogsCode, message: string) { super(code, message) }
}

/** What a provider serves: the chunks of a deal's logs for `remote` (throws LogsRefusal). */
export type LogSource = (dealId: Hash, remote: Address, follow: boolean, signal: AbortSignal) => Promise<AsyncIterable<LogChunk>>

export interface ServeLogsOptions {
  /** Streams one peer may have open at once (default MAX_LOG_STREAMS_PER_PEER); the next is refused with LOGS_BUSY. */
  maxStreamsPerPeer?: number
  /** Bytes of log one stream carries at most (default MAX_LOG_STREAM_BYTES); it then ends, saying why. */
  maxBytes?: number
  /** Longest one stream stays open (default MAX_LOG_STREAM_MS); it then ends, saying why. */
  maxMs?: number
}

const enc = new TextEncoder()
const dec = new TextDecoder()

function send (stream: Stream, v: unknown): boolean {
  return stream.send(lp.encode.single(enc.encode(JSON.stringify(v))))
}

async function sendDrained (stream: Stream, v: unknown, signal: AbortSignal): Promise<void> {
  if (!send(stream, v)) await stream.onDrain({ signal })
}

/** Registers the logs protocol; returns its id. `signal` ends every stream it serves. */
export async function serveLogs (libp2p: Libp2p, profile: Profile, source: LogSource, signal: AbortSignal, o: ServeLogsOptions = {}): Promise<string> {
  const protocol = protocolId(profile, 'logs')
  const bounds = {
    perPeer: o.maxStreamsPerPeer ?? MAX_LOG_STREAMS_PER_PEER,
    maxBytes: o.maxBytes ?? MAX_LOG_STREAM_BYTES,
    maxMs: o.maxMs ?? MAX_LOG_STREAM_MS
  }
  const open = new Map<string, number>()
  await libp2p.handle(protocol, (stream, connection) => {
    const key = connection.remotePeer.toString()
    const n = open.get(key) ?? 0
    open.set(key, n + 1)
    void serveOne(stream, connection.remotePeer, source, signal, bounds, n >= bounds.perPeer).finally(() => {
      const left = (open.get(key) ?? 1) - 1
      if (left <= 0) open.delete(key)
      else open.set(key, left)
    })
  }, { maxInboundStreams: 32 })
  return protocol
}

async function serveOne (stream: Stream, peer: PeerId, source: LogSource, stop: AbortSignal, bounds: { perPeer: number, maxBytes: number, maxMs: number }, busy: boolean): Promise<void> {
  const ctl = new AbortController()
  const signal = AbortSignal.any([stop, ctl.signal, AbortSignal.timeout(bounds.maxMs)])
  const onClose = (): void => { ctl.abort(new Error('the reader went away')) }
  stream.addEventListener('close', onClose, { once: true })
  try {
    let req: { dealId?: unknown, follow?: unknown } | undefined
    const first = AbortSignal.any([signal, AbortSignal.timeout(10_000)])
    const noRequest = (): void => { stream.abort(new Error('no log request within 10 s')) }
    first.addEventListener('abort', noRequest, { once: true })
    for await (const frame of lp.decode(stream, { maxDataLength: 4096 })) {
      req = JSON.parse(dec.decode(frame.subarray())) as typeof req
      break
    }
    first.removeEventListener('abort', noRequest)
    first.throwIfAborted()
    if (busy) throw new LogsRefusal('LOGS_BUSY', `this peer already reads ${bounds.perPeer} log streams here (the most at once); close one first`)
    if (typeof req?.dealId !== 'string' || !/^0x[0-9a-f]{64}$/.test(req.dealId)) throw new LogsRefusal('LOGS_UNKNOWN_DEAL', 'the request needs dealId: 0x + 64 lower-case hex digits')
    const remote = peerAddress(peer)
    if (remote === undefined) throw new LogsRefusal('LOGS_FORBIDDEN', 'only a deal\'s creator may read its logs')
    const chunks = await source(req.dealId as Hash, remote, req.follow === true, signal)
    await sendDrained(stream, { ok: true }, signal)
    let total = 0
    try {
      for await (const c of chunks) {
        for (let i = 0; i < c.data.length; i += MAX_LOG_CHUNK) {
          const part = c.data.subarray(i, i + MAX_LOG_CHUNK)
          if (total + part.length > bounds.maxBytes) {
            const room = bounds.maxBytes - total
            if (room > 0) await sendDrained(stream, { s: c.stream, d: Buffer.from(part.subarray(0, room)).toString('base64') }, signal)
            await sendDrained(stream, { end: true, why: `the log stream stops at ${bounds.maxBytes} bytes` }, signal)
            await stream.close({ signal }).catch(() => undefined)
            return
          }
          total += part.length
          await sendDrained(stream, { s: c.stream, d: Buffer.from(part).toString('base64') }, signal)
        }
      }
    } catch (e) {
      // the answer is sent: end the stream saying why (a reader gone or the node stopping aborts it below)
      if (ctl.signal.aborted || stop.aborted) throw e
      await sendDrained(stream, { end: true, why: signal.aborted ? `the log stream stops after ${bounds.maxMs} ms` : `the logs broke off: ${(e instanceof Error ? e.message : String(e)).slice(0, 256)}` }, AbortSignal.timeout(2000))
      await stream.close({ signal: AbortSignal.timeout(2000) }).catch(() => undefined)
      return
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

type Frame = { ok?: boolean, code?: string, message?: string, s?: string, d?: string, end?: boolean, why?: string }

/** What a log stream ended with: `why` when it was cut short (a bound, a failure). */
export interface LogEnd { why?: string }

/**
 * Opens a deal's log stream at its provider (the caller's node must be the deal's creator):
 * resolves once the provider said yes (throws LogsRefusal with its code when it said no), with
 * the chunks to read. `ended.why` tells, once they are read, whether the stream was cut short.
 */
export async function openLogs (libp2p: Libp2p, profile: Profile, peer: PeerId, dealId: Hash, o: { follow: boolean, signal?: AbortSignal }): Promise<{ chunks: AsyncIterable<LogChunk>, ended: LogEnd }> {
  const signal = o.signal ?? new AbortController().signal
  const stream = await libp2p.dialProtocol(peer, protocolId(profile, 'logs'), { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
  const onAbort = (): void => { stream.abort(new Error('stopped')) }
  signal.addEventListener('abort', onAbort, { once: true })
  const done = async (): Promise<void> => {
    signal.removeEventListener('abort', onAbort)
    await stream.close().catch(() => undefined)
  }
  const frames = lp.decode(stream, { maxDataLength: MAX_FRAME })[Symbol.asyncIterator]()
  const next = async (): Promise<Frame | undefined> => {
    const r = await frames.next()
    return r.done === true ? undefined : JSON.parse(dec.decode(r.value.subarray())) as Frame
  }
  try {
    send(stream, { dealId, follow: o.follow })
    let timer: NodeJS.Timeout | undefined
    const answer = await Promise.race([next(), new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new LogsRefusal('LOGS_UNAVAILABLE', 'logs: the provider did not answer within 30 s')) }, 30_000)
    })]).finally(() => { clearTimeout(timer) })
    if (answer === undefined) throw new LogsRefusal('LOGS_UNAVAILABLE', 'logs: the provider closed the stream without an answer')
    if (answer.ok !== true) {
      const code = typeof answer.code === 'string' && REMOTE_CODES.has(answer.code) ? answer.code as LogsCode : 'LOGS_UNAVAILABLE'
      throw new LogsRefusal(code, `the provider refused the logs: ${code}: ${String(answer.message ?? '').slice(0, 512)}`)
    }
  } catch (e) {
    await done()
    throw e
  }
  const ended: LogEnd = {}
  async function * chunks (): AsyncGenerator<LogChunk> {
    try {
      for (let m = await next(); m !== undefined; m = await next()) {
        if (m.end === true) {
          if (typeof m.why === 'string') ended.why = m.why.slice(0, 512)
          return
        }
        if ((m.s === 'stdout' || m.s === 'stderr') && typeof m.d === 'string') yield { stream: m.s, data: new Uint8Array(Buffer.from(m.d, 'base64')) }
      }
      if (!signal.aborted) ended.why = 'the provider closed the stream before its end'
    } finally {
      await done()
    }
  }
  return { chunks: chunks(), ended }
}

/** Reads a deal's logs from its provider (the caller's node must be the deal's creator). */
export async function * fetchLogs (libp2p: Libp2p, profile: Profile, peer: PeerId, dealId: Hash, o: { follow: boolean, signal?: AbortSignal }): AsyncGenerator<LogChunk> {
  const { chunks } = await openLogs(libp2p, profile, peer, dealId, o)
  yield * chunks
}

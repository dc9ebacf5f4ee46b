/**
 * The `transfer` request/response protocol (DESIGN §3, §5): module specs and job inputs
 * fetched from the creator, result bundles pushed to the creator. Length-prefixed frames
 * over one libp2p stream:
 *
 *   get:  → {v,op:'get',dealId,kind}            ← {ok,size,hash} ← chunk… (≤ 64 KiB each)
 *   put:  → {v,op:'put',dealId,kind,size,hash} → chunk…          ← {ok}
 *
 * Every blob is keccak-hashed end to end and size-capped before a byte of it is read. Only
 * the parties of a deal (checked by the remote peer ID's address, which is the signing
 * key) may fetch or push; the owner decides through `authorize`. Each phase has its own
 * timeout: dial, first frame, whole transfer.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { keccak_256 } from '@noble/hashes/sha3.js'
import * as lp from 'it-length-prefixed'
import type { Uint8ArrayList } from 'uint8arraylist'
import { bytesToHex } from '../../protocol/index.js'
import { protocolId, type Profile } from '../../protocol/index.js'
import type { Address, Hash } from '../../protocol/index.js'
import { peerAddress } from '../peers.js'
import { LilyError } from '../../protocol/errors.js'
import { abortReason, withTimeout } from '../../protocol/index.js'

export const CHUNK_BYTES = 64 * 1024
const MAX_HEADER_BYTES = 4096
export const DEFAULT_DIAL_TIMEOUT_MS = 15_000
export const DEFAULT_FIRST_FRAME_TIMEOUT_MS = 15_000
/** Whole-transfer budget: this base plus one second per MiB. */
export const DEFAULT_TRANSFER_BASE_MS = 30_000

export type TransferErrorCode =
  | 'TRANSFER_FORBIDDEN'
  | 'TRANSFER_NOT_FOUND'
  | 'TRANSFER_TOO_LARGE'
  | 'TRANSFER_HASH_MISMATCH'
  | 'TRANSFER_MALFORMED'
  | 'TRANSFER_TIMEOUT'
  | 'TRANSFER_REFUSED'
  | 'TRANSFER_UNREACHABLE'

export class TransferError extends LilyError<TransferErrorCode> {
  override readonly name = 'TransferError'
}

export type TransferOp = 'get' | 'put'

export interface TransferRequest {
  v: 1
  op: TransferOp
  dealId: Hash
  kind: BlobKind
  /** put only */
  size?: number
  /** put only */
  hash?: Hash
}

interface TransferReply { ok: boolean, size?: number, hash?: Hash, code?: TransferErrorCode, message?: string }

/** What the node serving transfers decides and provides. */
export interface TransferService {
  /** May `remote` do `op` on `kind` of `dealId`? (the deal's parties, a drawn mediator) */
  authorize: (dealId: Hash, remote: Address, op: TransferOp, kind: BlobKind) => Promise<boolean>
  /** The blob to serve, or undefined when this node does not have it. */
  get: (dealId: Hash, kind: BlobKind) => Promise<Uint8Array | undefined>
  /** Takes a pushed blob (already size- and hash-checked); throws a TransferError to refuse it. */
  put: (dealId: Hash, kind: BlobKind, data: Uint8Array, remote: Address) => Promise<void>
}

export interface TransferOptions {
  /** Largest blob accepted or sent. */
  maxBytes: number
  dialTimeoutMs?: number
  firstFrameTimeoutMs?: number
  transferBaseMs?: number
}

export function blobHash (data: Uint8Array): Hash {
  return bytesToHex(keccak_256(data))
}

const HASH_RE = /^0x[0-9a-f]{64}$/
/** What a deal's parties move between them; each kind has its own size cap and rights. */
export type BlobKind = 'offer' | 'module' | 'inputs' | 'bundle' | 'acceptance' | 'signature'

const KINDS: readonly BlobKind[] = ['offer', 'module', 'inputs', 'bundle', 'acceptance', 'signature']

function parseRequest (frame: Uint8Array, maxBytes: number): TransferRequest {
  let j: unknown
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame))
  } catch (cause) {
    throw new TransferError('TRANSFER_MALFORMED', 'request is not UTF-8 JSON', { cause })
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new TransferError('TRANSFER_MALFORMED', 'request must be a JSON object')
  const r = j as Record<string, unknown>
  for (const k of Object.keys(r)) {
    if (!['v', 'op', 'dealId', 'kind', 'size', 'hash'].includes(k)) throw new TransferError('TRANSFER_MALFORMED', `unknown request field ${k}`)
  }
  if (r.v !== 1) throw new TransferError('TRANSFER_MALFORMED', 'unsupported request version')
  if (r.op !== 'get' && r.op !== 'put') throw new TransferError('TRANSFER_MALFORMED', 'op must be get or put')
  if (typeof r.dealId !== 'string' || !HASH_RE.test(r.dealId)) throw new TransferError('TRANSFER_MALFORMED', 'dealId must be 32-byte lower-case hex')
  if (typeof r.kind !== 'string' || !(KINDS as readonly string[]).includes(r.kind)) throw new TransferError('TRANSFER_MALFORMED', `kind must be one of ${KINDS.join(', ')}`)
  const req: TransferRequest = { v: 1, op: r.op, dealId: r.dealId as Hash, kind: r.kind as BlobKind }
  if (r.op === 'put') {
    if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0) throw new TransferError('TRANSFER_MALFORMED', 'put needs a non-negative integer size')
    if (r.size > maxBytes) throw new TransferError('TRANSFER_TOO_LARGE', `blob of ${r.size} bytes exceeds the cap of ${maxBytes}`)
    if (typeof r.hash !== 'string' || !HASH_RE.test(r.hash)) throw new TransferError('TRANSFER_MALFORMED', 'put needs a 32-byte hash')
    req.size = r.size
    req.hash = r.hash as Hash
  } else if (r.size !== undefined || r.hash !== undefined) {
    throw new TransferError('TRANSFER_MALFORMED', 'get takes no size or hash')
  }
  return req
}

function parseReply (frame: Uint8Array): TransferReply {
  let j: unknown
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame))
  } catch (cause) {
    throw new TransferError('TRANSFER_MALFORMED', 'reply is not UTF-8 JSON', { cause })
  }
  if (typeof j !== 'object' || j === null || typeof (j as TransferReply).ok !== 'boolean') throw new TransferError('TRANSFER_MALFORMED', 'reply must be an object with ok')
  return j as TransferReply
}

const enc = new TextEncoder()

async function send (stream: Stream, frame: Uint8Array, signal: AbortSignal): Promise<void> {
  if (!stream.send(lp.encode.single(frame))) await stream.onDrain({ signal })
}

async function sendJson (stream: Stream, obj: object, signal: AbortSignal): Promise<void> {
  await send(stream, enc.encode(JSON.stringify(obj)), signal)
}

/**
 * Runs `work` on `stream` for at most `ms` (protocol's withTimeout, failing with
 * TRANSFER_TIMEOUT): when the time runs out or `signal` aborts, the stream is aborted, so the
 * read or write that lost stops with it instead of running on.
 */
async function onStream<T> (stream: Stream, work: () => Promise<T>, ms: number, signal: AbortSignal | undefined, what: string): Promise<T> {
  return await withTimeout(async (s) => {
    const stop = (): void => { stream.abort(abortReason(s)) }
    s.addEventListener('abort', stop, { once: true })
    try {
      return await work()
    } finally {
      s.removeEventListener('abort', stop)
    }
  }, ms, { signal, what, timeoutError: (message, cause) => new TransferError('TRANSFER_TIMEOUT', message, { cause }) })
}

/** Reads frames one at a time from a stream. */
class FrameReader {
  private readonly it: AsyncIterator<Uint8ArrayList>
  constructor (stream: Stream, maxFrame: number) {
    this.it = lp.decode(stream, { maxDataLength: maxFrame })[Symbol.asyncIterator]()
  }

  async next (): Promise<Uint8Array | undefined> {
    const r = await this.it.next()
    return r.done === true ? undefined : r.value.subarray()
  }
}

/** Reads `size` bytes of chunk frames and checks the hash. */
async function readBlob (reader: FrameReader, size: number, hash: Hash): Promise<Uint8Array> {
  const out = new Uint8Array(size)
  let off = 0
  while (off < size) {
    const chunk = await reader.next()
    if (chunk === undefined) throw new TransferError('TRANSFER_MALFORMED', `stream ended after ${off} of ${size} bytes`)
    if (off + chunk.length > size) throw new TransferError('TRANSFER_TOO_LARGE', `more bytes than the announced ${size}`)
    out.set(chunk, off)
    off += chunk.length
  }
  const got = blobHash(out)
  if (got !== hash) throw new TransferError('TRANSFER_HASH_MISMATCH', `blob hash ${got} differs from the announced ${hash}`)
  return out
}

async function writeBlob (stream: Stream, data: Uint8Array, signal: AbortSignal): Promise<void> {
  for (let off = 0; off < data.length; off += CHUNK_BYTES) {
    signal.throwIfAborted()
    await send(stream, data.subarray(off, Math.min(off + CHUNK_BYTES, data.length)), signal)
  }
}

function budgetMs (opts: TransferOptions, size: number): number {
  return (opts.transferBaseMs ?? DEFAULT_TRANSFER_BASE_MS) + Math.ceil(size / (1024 * 1024)) * 1000
}

/** Serves transfers for a node: registers the protocol handler on start, removes it on stop. */
export class TransferServer {
  readonly protocol: string
  private running = false
  private readonly controller = new AbortController()

  constructor (private readonly libp2p: Libp2p, profile: Profile, private readonly service: TransferService, private readonly opts: TransferOptions) {
    this.protocol = protocolId(profile, 'transfer')
  }

  async start (): Promise<void> {
    if (this.running) return
    await this.libp2p.handle(this.protocol, (stream, connection) => {
      void this.serve(stream, connection.remotePeer)
    }, { maxInboundStreams: 64 })
    this.running = true
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.controller.abort()
    await this.libp2p.unhandle(this.protocol).catch(() => undefined)
  }

  private async serve (stream: Stream, remotePeer: PeerId): Promise<void> {
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(budgetMs(this.opts, this.opts.maxBytes))])
    try {
      const reader = new FrameReader(stream, Math.max(CHUNK_BYTES, MAX_HEADER_BYTES))
      const first = await onStream(stream, async () => await reader.next(), this.opts.firstFrameTimeoutMs ?? DEFAULT_FIRST_FRAME_TIMEOUT_MS, signal, 'transfer request')
      if (first === undefined) throw new TransferError('TRANSFER_MALFORMED', 'stream closed before the request')
      if (first.length > MAX_HEADER_BYTES) throw new TransferError('TRANSFER_MALFORMED', 'request frame too large')
      const req = parseRequest(first, this.opts.maxBytes)
      const remote = peerAddress(remotePeer)
      if (remote === undefined || !(await this.service.authorize(req.dealId, remote, req.op, req.kind))) {
        throw new TransferError('TRANSFER_FORBIDDEN', `peer ${remotePeer.toString()} is not allowed to ${req.op} the ${req.kind} of deal ${req.dealId}`)
      }
      if (req.op === 'get') {
        const data = await this.service.get(req.dealId, req.kind)
        if (data === undefined) throw new TransferError('TRANSFER_NOT_FOUND', `this node has no ${req.kind} for deal ${req.dealId}`)
        if (data.length > this.opts.maxBytes) throw new TransferError('TRANSFER_TOO_LARGE', `${req.kind} of ${data.length} bytes exceeds the cap of ${this.opts.maxBytes}`)
        await sendJson(stream, { ok: true, size: data.length, hash: blobHash(data) }, signal)
        await writeBlob(stream, data, signal)
      } else {
        const size = req.size ?? 0
        const data = await onStream(stream, async () => await readBlob(reader, size, req.hash as Hash), budgetMs(this.opts, size), signal, `receiving ${req.kind}`)
        await this.service.put(req.dealId, req.kind, data, remote)
        await sendJson(stream, { ok: true }, signal)
      }
      await stream.close({ signal }).catch(() => undefined)
    } catch (e) {
      const code: TransferErrorCode = e instanceof TransferError ? e.code : 'TRANSFER_REFUSED'
      const message = e instanceof Error ? e.message : String(e)
      try {
        await sendJson(stream, { ok: false, code, message: message.slice(0, 512) }, signal)
        await stream.close({ signal })
      } catch {
        stream.abort(e instanceof Error ? e : new Error(message))
      }
    }
  }
}

export type TransferTarget = PeerId | Multiaddr | Multiaddr[]

async function open (libp2p: Libp2p, target: TransferTarget, protocol: string, opts: TransferOptions, signal: AbortSignal): Promise<Stream> {
  try {
    return await withTimeout(async (s) => await libp2p.dialProtocol(target, protocol, { signal: s }), opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      { signal, what: 'dialling the peer', timeoutError: (message, c) => new TransferError('TRANSFER_TIMEOUT', message, { cause: c }) })
  } catch (cause) {
    if (cause instanceof TransferError) throw cause
    throw new TransferError('TRANSFER_UNREACHABLE', `cannot open a transfer stream to ${target.toString()}: ${(cause as Error).message}`, { cause })
  }
}

function refused (reply: TransferReply): TransferError {
  const code = reply.code !== undefined && /^TRANSFER_[A-Z_]+$/.test(reply.code) ? reply.code : 'TRANSFER_REFUSED'
  return new TransferError(code, `peer refused: ${String(reply.message ?? 'no reason given').slice(0, 512)}`)
}

/**
 * Fetches a blob of a deal from `target`. When `expectHash` is given, anything else is
 * refused before it is read.
 */
export async function fetchBlob (libp2p: Libp2p, profile: Profile, target: TransferTarget, dealId: Hash, kind: BlobKind,
  opts: TransferOptions & { expectHash?: Hash, signal?: AbortSignal }): Promise<Uint8Array> {
  const signal = opts.signal ?? new AbortController().signal
  const stream = await open(libp2p, target, protocolId(profile, 'transfer'), opts, signal)
  try {
    const reader = new FrameReader(stream, Math.max(CHUNK_BYTES, MAX_HEADER_BYTES))
    await sendJson(stream, { v: 1, op: 'get', dealId, kind } satisfies TransferRequest, signal)
    const head = await onStream(stream, async () => await reader.next(), opts.firstFrameTimeoutMs ?? DEFAULT_FIRST_FRAME_TIMEOUT_MS, signal, `waiting for the ${kind} header`)
    if (head === undefined) throw new TransferError('TRANSFER_MALFORMED', 'stream closed before the reply')
    const reply = parseReply(head)
    if (!reply.ok) throw refused(reply)
    const size = reply.size
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new TransferError('TRANSFER_MALFORMED', 'reply has no valid size')
    if (size > opts.maxBytes) throw new TransferError('TRANSFER_TOO_LARGE', `${kind} of ${size} bytes exceeds the cap of ${opts.maxBytes}`)
    if (typeof reply.hash !== 'string' || !HASH_RE.test(reply.hash)) throw new TransferError('TRANSFER_MALFORMED', 'reply has no valid hash')
    if (opts.expectHash !== undefined && reply.hash !== opts.expectHash.toLowerCase()) {
      throw new TransferError('TRANSFER_HASH_MISMATCH', `peer offers ${kind} with hash ${reply.hash}, expected ${opts.expectHash}`)
    }
    const data = await onStream(stream, async () => await readBlob(reader, size, reply.hash as Hash), budgetMs(opts, size), signal, `receiving the ${kind}`)
    await stream.close({ signal }).catch(() => undefined)
    return data
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)))
    throw e
  }
}

/** Pushes a blob of a deal to `target`; resolves once the peer has taken it. */
export async function pushBlob (libp2p: Libp2p, profile: Profile, target: TransferTarget, dealId: Hash, kind: BlobKind, data: Uint8Array,
  opts: TransferOptions & { signal?: AbortSignal }): Promise<void> {
  if (data.length > opts.maxBytes) throw new TransferError('TRANSFER_TOO_LARGE', `${kind} of ${data.length} bytes exceeds the cap of ${opts.maxBytes}`)
  const signal = opts.signal ?? new AbortController().signal
  const stream = await open(libp2p, target, protocolId(profile, 'transfer'), opts, signal)
  try {
    const reader = new FrameReader(stream, MAX_HEADER_BYTES)
    await sendJson(stream, { v: 1, op: 'put', dealId, kind, size: data.length, hash: blobHash(data) } satisfies TransferRequest, signal)
    await onStream(stream, async () => { await writeBlob(stream, data, signal) }, budgetMs(opts, data.length), signal, `sending the ${kind}`)
    const head = await onStream(stream, async () => await reader.next(), budgetMs(opts, 0), signal, `waiting for the peer to take the ${kind}`)
    if (head === undefined) throw new TransferError('TRANSFER_MALFORMED', 'stream closed before the reply')
    const reply = parseReply(head)
    if (!reply.ok) throw refused(reply)
    await stream.close({ signal }).catch(() => undefined)
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)))
    throw e
  }
}

export function isTransferError (e: unknown, code?: TransferErrorCode): e is TransferError {
  return e instanceof TransferError && (code === undefined || e.code === code)
}


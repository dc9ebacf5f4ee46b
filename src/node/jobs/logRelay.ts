/**
 * The local log relay: a node that holds a data dir (a `lilynode run`, an SDK client) serves its
 * jobs' logs on a unix socket in that data dir (`<data dir>/logs.sock`, mode 0600: only who can
 * read the data dir's key can connect), so that `lilynode logs <job> --follow` in another
 * terminal reads them while the run holds the database. The node reads them as the job's
 * creator (openJobLogs); the relay only forwards.
 *
 * Newline-delimited JSON: request `{ ref, follow }` (≤ 4 KiB); answer `{ ok: true, dealId, from }`
 * or `{ ok: false, code, message }`; then `{ s: 'stdout'|'stderr', d: <base64> }` lines and one
 * last `{ end: true, why? }`. At most `maxClients` connections at once.
 */
import { chmod, rm } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Hash } from '../../protocol/index.js'
import { LogsRefusal, type LogsCode } from '../../p2p/index.js'
import type { JobLogs } from './logs.js'

export const LOG_SOCKET = 'logs.sock'
export const MAX_RELAY_CLIENTS = 8
const MAX_REQUEST = 4096
const MAX_LINE = 256 * 1024
/** Longest path a unix socket takes on Linux (sun_path less its NUL). */
const MAX_SOCKET_PATH = 107
const CODES: ReadonlySet<string> = new Set<LogsCode>(['LOGS_FORBIDDEN', 'LOGS_UNKNOWN_DEAL', 'LOGS_UNKNOWN_JOB', 'LOGS_UNAVAILABLE', 'LOGS_BUSY', 'LOGS_NO_PROVIDER'])

export function logSocketPath (dataDir: string): string {
  return join(dataDir, LOG_SOCKET)
}

export type OpenLogs = (ref: string, follow: boolean, signal: AbortSignal) => Promise<JobLogs>

export interface LogRelay { readonly path: string, close: () => Promise<void> }

/** Reads newline-delimited JSON from a socket, each line at most `max` bytes. */
async function * lines (socket: Socket, max: number): AsyncGenerator<Record<string, unknown>> {
  let buf = ''
  for await (const chunk of socket) {
    buf += (chunk as Buffer).toString('utf8')
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (line.trim() !== '') yield JSON.parse(line) as Record<string, unknown>
    }
    if (buf.length > max) throw new LogsRefusal('LOGS_UNAVAILABLE', `a log relay line is over ${max} bytes`)
  }
}

async function write (socket: Socket, v: unknown): Promise<void> {
  if (socket.destroyed) throw new Error('the reader went away')
  if (!socket.write(`${JSON.stringify(v)}\n`)) {
    await new Promise<void>((resolve, reject) => {
      const ok = (): void => { socket.off('close', gone); resolve() }
      const gone = (): void => { socket.off('drain', ok); reject(new Error('the reader went away')) }
      socket.once('drain', ok)
      socket.once('close', gone)
    })
  }
}

/**
 * Serves `open` on `<dataDir>/logs.sock` (a stale socket file there is replaced: the caller holds
 * the data dir's database lock, so no other node of it runs). Undefined when the path is too long
 * for a unix socket.
 */
export async function serveLocalLogs (dataDir: string, open: OpenLogs, o: { maxClients?: number } = {}): Promise<LogRelay | undefined> {
  const path = logSocketPath(dataDir)
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return undefined
  const maxClients = o.maxClients ?? MAX_RELAY_CLIENTS
  const stop = new AbortController()
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    if (sockets.size >= maxClients) {
      socket.end(`${JSON.stringify({ ok: false, code: 'LOGS_BUSY', message: `${sockets.size} log readers are connected to this node (the most at once); close one first` })}\n`)
      return
    }
    sockets.add(socket)
    socket.on('error', () => undefined)
    void relayOne(socket, open, stop.signal).finally(() => { sockets.delete(socket); socket.destroy() })
  })
  await rm(path, { force: true })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => { server.off('error', reject); resolve() })
  })
  await chmod(path, 0o600)
  return {
    path,
    close: async () => {
      stop.abort(new Error('the node is stopping'))
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      await rm(path, { force: true })
    }
  }
}

async function relayOne (socket: Socket, open: OpenLogs, stop: AbortSignal): Promise<void> {
  const ctl = new AbortController()
  const signal = AbortSignal.any([stop, ctl.signal])
  const gone = (): void => { ctl.abort(new Error('the reader went away')) }
  socket.once('close', gone)
  socket.once('end', gone)
  const req = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    let buf = ''
    const timer = setTimeout(() => { finish(undefined) }, 10_000)
    const onData = (c: Buffer): void => {
      buf += c.toString('utf8')
      const i = buf.indexOf('\n')
      if (i >= 0) {
        try { finish(JSON.parse(buf.slice(0, i)) as Record<string, unknown>) } catch { finish(undefined) }
      } else if (buf.length > MAX_REQUEST) finish(undefined)
    }
    const onEnd = (): void => { finish(undefined) }
    function finish (v: Record<string, unknown> | undefined): void {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      // keep reading (and dropping) so that a reader that hangs up is seen at once
      socket.on('data', () => undefined)
      resolve(v)
    }
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
  })
  if (req === undefined) return
  let logs: JobLogs
  try {
    if (typeof req.ref !== 'string' || req.ref.length > 200) throw new LogsRefusal('LOGS_UNKNOWN_JOB', 'the request needs ref: a job id, deal id or job offer hash')
    logs = await open(req.ref, req.follow === true, signal)
  } catch (e) {
    const code = e instanceof LogsRefusal ? e.code : 'LOGS_UNAVAILABLE'
    await write(socket, { ok: false, code, message: (e instanceof Error ? e.message : String(e)).slice(0, 1024) }).catch(() => undefined)
    socket.end()
    return
  }
  try {
    await write(socket, { ok: true, dealId: logs.dealId, from: logs.from })
    for await (const c of logs.chunks) await write(socket, { s: c.stream, d: Buffer.from(c.data).toString('base64') })
    await write(socket, { end: true, ...(logs.ended.why !== undefined ? { why: logs.ended.why } : {}) })
  } catch (e) {
    if (!signal.aborted) await write(socket, { end: true, why: `the logs broke off: ${(e instanceof Error ? e.message : String(e)).slice(0, 256)}` }).catch(() => undefined)
  }
  socket.end()
}

/**
 * Reads a job's logs through the relay of the node that holds `dataDir`; undefined when no relay
 * listens there (no node holds the data dir, or one that serves none). Throws LogsRefusal.
 */
export async function openLocalLogs (dataDir: string, ref: string, o: { follow: boolean, signal?: AbortSignal }): Promise<JobLogs | undefined> {
  const path = logSocketPath(dataDir)
  const socket = await new Promise<Socket | undefined>((resolve) => {
    const s = createConnection(path)
    s.once('connect', () => { s.off('error', fail); resolve(s) })
    const fail = (): void => { resolve(undefined) }
    s.once('error', fail)
  })
  if (socket === undefined) return undefined
  socket.on('error', () => undefined)
  const onAbort = (): void => { socket.destroy() }
  o.signal?.addEventListener('abort', onAbort, { once: true })
  const done = (): void => { o.signal?.removeEventListener('abort', onAbort); socket.destroy() }
  const it = lines(socket, MAX_LINE)[Symbol.asyncIterator]()
  let answer: Record<string, unknown> | undefined
  try {
    socket.write(`${JSON.stringify({ ref, follow: o.follow })}\n`)
    const r = await it.next()
    answer = r.done === true ? undefined : r.value
  } catch (e) {
    done()
    throw new LogsRefusal('LOGS_UNAVAILABLE', `the node of ${dataDir} broke off: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (answer?.ok !== true) {
    done()
    if (answer === undefined) throw new LogsRefusal('LOGS_UNAVAILABLE', `the node of ${dataDir} closed the log relay without an answer`)
    const code = typeof answer.code === 'string' && CODES.has(answer.code) ? answer.code as LogsCode : 'LOGS_UNAVAILABLE'
    throw new LogsRefusal(code, String(answer.message ?? 'refused').slice(0, 1024))
  }
  const ended: JobLogs['ended'] = {}
  async function * chunks (): AsyncGenerator<{ stream: 'stdout' | 'stderr', data: Uint8Array }> {
    try {
      for (let r = await it.next(); r.done !== true; r = await it.next()) {
        const m = r.value
        if (m.end === true) { if (typeof m.why === 'string') ended.why = m.why; return }
        if ((m.s === 'stdout' || m.s === 'stderr') && typeof m.d === 'string') yield { stream: m.s, data: new Uint8Array(Buffer.from(m.d, 'base64')) }
      }
      if (o.signal?.aborted !== true) ended.why = `the node of ${dataDir} stopped before the logs ended`
    } finally {
      done()
    }
  }
  return { dealId: answer.dealId as Hash, from: answer.from === 'local' ? 'local' : 'provider', chunks: chunks(), ended }
}

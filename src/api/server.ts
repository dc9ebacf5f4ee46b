/**
 * The node's local HTTP API (node:http, no framework): off unless started, loopback by
 * default, bearer-token protected for any other caller. Requests are routed through the route
 * table (routes.ts); bodies are bounded, requests time out, running jobs and open event
 * streams are capped, and every refusal is a JSON `{ error: { code, message } }`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { createLogger, type Logger } from '../protocol/logger.js'
import { executorPort } from '../node/roles/adapters.js'
import { CreatorRole } from '../node/roles/creator.js'
import type { RoleHost } from '../node/roles/host.js'
import { describe } from '../node/roles/util.js'
import { authorize, checkBindToken, isLoopback } from './auth.js'
import { GasLedger, meteredEscrow } from '../node/roles/gas.js'
import { JobManager, type JobMessage } from './jobs.js'
import { EpochWatch } from './metrics.js'
import { buildOpenApi } from './openapi.js'
import { ERROR_SCHEMA, ROUTES, type ApiContext, type Reply, type Route } from './routes.js'
import { ApiError, validate, type ObjectSchema } from './schema.js'

export const DEFAULT_API_LISTEN = '127.0.0.1:7070'
export const API_VERSION = '1.0.0'

export interface ApiOptions {
  /** The node (its LilyNode, chain client, deal store). */
  host: RoleHost
  /**
   * The creator that runs POST /jobs. Omit it and the API builds one on `host` (and serves its
   * `transfer` protocol, so the host must not serve another role); its transactions' gas is
   * then counted exactly, deposits included. A creator passed in must already be served.
   */
  creator?: CreatorRole
  /**
   * Where the gas of the node's transactions is counted. Pass the ledger behind the escrow
   * port of a creator you pass in (see meteredEscrow) to count its gas exactly too.
   */
  gas?: GasLedger
  /** host:port to bind (default 127.0.0.1:7070; port 0 picks a free one). */
  listen?: string
  /** Bearer token; required when `listen` is not a loopback address. */
  token?: string
  /** Where name:version modules are looked up (default: the repository's examples). */
  modulesDir?: string
  /** When set, each job's outputs are written to `<outputsDir>/<job id>`. */
  outputsDir?: string
  log?: Logger
  /** Aborting it stops the API. */
  signal?: AbortSignal
  /** Largest request body (default 64 KiB). */
  maxBodyBytes?: number
  /** Jobs running at once through the API (default 8). */
  maxConcurrentJobs?: number
  /** Open server-sent-event streams (default 32). */
  maxSseClients?: number
  /** Time to receive a request and to answer a non-streaming one (default 15 s). */
  requestTimeoutMs?: number
  /** Comment line sent on idle event streams (default 15 s). */
  sseKeepAliveMs?: number
}

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  readonly url: string
  stop: () => Promise<void>
}

/** Parses `host:port` (`[v6]:port` for IPv6). */
export function parseListen (listen: string): { host: string, port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(listen)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port > 65535) throw new ApiError('API_BAD_LISTEN', 0, `--api must be host:port such as 127.0.0.1:7070 (or [::1]:7070), got ${JSON.stringify(listen)}`)
  return { host: m[1].replace(/^\[|\]$/g, ''), port }
}

interface CompiledRoute { route: Route, re: RegExp, names: string[] }

function compile (routes: readonly Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = []
    const re = new RegExp(`^${route.path.replace(/[.]/g, '\\.').replace(/\{([a-zA-Z]+)\}/g, (_m, n: string) => { names.push(n); return '([^/]+)' })}$`)
    return { route, re, names }
  })
}

function match (table: CompiledRoute[], method: string, path: string): { route: Route, params: Record<string, string> } {
  const allowed: string[] = []
  for (const c of table) {
    const m = c.re.exec(path)
    if (m === null) continue
    if (c.route.method !== method) { allowed.push(c.route.method); continue }
    const params: Record<string, string> = {}
    c.names.forEach((n, i) => {
      try { params[n] = decodeURIComponent(m[i + 1]) } catch { throw new ApiError('API_BAD_VALUE', 400, `path parameter ${n} is not valid percent-encoding`) }
    })
    return { route: c.route, params }
  }
  if (allowed.length > 0) throw new ApiError('API_METHOD_NOT_ALLOWED', 405, `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') })
  const known = [...new Set(table.map((c) => `${c.route.method} ${c.route.path}`))].join(', ')
  throw new ApiError('API_NOT_FOUND', 404, `no route ${path.slice(0, 128)}; the API has: ${known} (see GET /openapi.json)`)
}

function parseQuery (schema: ObjectSchema | undefined, sp: URLSearchParams): Record<string, string | number> {
  const out: Record<string, string | number> = {}
  const props = schema?.properties ?? {}
  for (const k of new Set(sp.keys())) {
    if (!Object.hasOwn(props, k)) throw new ApiError('API_UNKNOWN_FIELD', 400, `unknown query parameter ${JSON.stringify(k.slice(0, 64))}; allowed: ${Object.keys(props).join(', ') || 'none'}`)
    const all = sp.getAll(k)
    if (all.length > 1) throw new ApiError('API_BAD_VALUE', 400, `query parameter ${k} is given ${all.length} times; give it once`)
    const p = props[k]
    const v = all[0]
    if ('type' in p && p.type === 'integer') {
      if (!/^-?[0-9]{1,15}$/.test(v)) throw new ApiError('API_BAD_TYPE', 400, `query parameter ${k} must be an integer, got ${JSON.stringify(v.slice(0, 64))}`)
      out[k] = Number(v)
    } else {
      out[k] = v
    }
  }
  if (schema !== undefined) validate(schema, out, 'query')
  return out
}

async function readBody (req: IncomingMessage, max: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/json') {
    throw new ApiError('API_UNSUPPORTED_MEDIA_TYPE', 415, `the body must be JSON sent with Content-Type: application/json${type !== '' ? `, not ${type.slice(0, 64)}` : ''} (curl: -H 'Content-Type: application/json')`)
  }
  const declared = Number(req.headers['content-length'] ?? NaN)
  const tooLarge = (): ApiError => new ApiError('API_BODY_TOO_LARGE', 413, `the body is over ${max} bytes; send a smaller request (file inputs larger than this go through lilynode run)`, { connection: 'close' })
  if (Number.isFinite(declared) && declared > max) { req.resume(); throw tooLarge() }
  // read with events, not for-await: leaving a for-await early would destroy the socket before
  // the 413 is sent; an oversized body is drained (up to 16× the cap) so the client reads the answer
  const chunks: Buffer[] = []
  const over = await new Promise<boolean>((resolve, reject) => {
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= max) chunks.push(chunk)
      else if (size > 16 * max) req.destroy()
    })
    req.on('end', () => resolve(size > max))
    req.on('error', reject)
    req.on('close', () => resolve(size > max))
  })
  if (over) throw tooLarge()
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new ApiError('API_BAD_JSON', 400, 'the body is empty; send a JSON object (see GET /openapi.json for its fields)')
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    throw new ApiError('API_BAD_JSON', 400, `the body is not valid JSON: ${(e as Error).message}`)
  }
}

function jsonText (v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x)
}

const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }

function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) { res.destroy(); return }
  const text = jsonText(body)
  res.writeHead(status, { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** Starts the API; resolves once it listens. */
export async function startApi (o: ApiOptions): Promise<ApiServer> {
  const { host: bindHost, port } = parseListen(o.listen ?? DEFAULT_API_LISTEN)
  checkBindToken(bindHost, o.token)
  const log = o.log ?? createLogger('api')
  const host = o.host
  const maxBody = o.maxBodyBytes ?? 64 * 1024
  const maxSse = o.maxSseClients ?? 32
  const timeoutMs = o.requestTimeoutMs ?? 15_000
  const keepAliveMs = o.sseKeepAliveMs ?? 15_000
  const gas = o.gas ?? new GasLedger(host.identity.address, host.chain.public)
  let creator = o.creator
  if (creator === undefined) {
    creator = new CreatorRole({
      net: host.net,
      escrow: meteredEscrow(host.escrow, gas),
      executor: executorPort({ dataDir: o.outputsDir ?? tmpdir() }),
      store: host.deals,
      log: log.child('creator'),
      maxTransferBytes: host.maxTransferBytes,
      pollMs: Math.min(500, Math.max(100, Math.floor(host.profile.epochMs / 4)))
    })
    await host.serve(creator.transferService())
  }
  const jobs = new JobManager({ creator, deals: host.deals, gas, log, maxConcurrentJobs: o.maxConcurrentJobs ?? 8, store: host.meta, ...(o.outputsDir !== undefined ? { outputsDir: o.outputsDir } : {}) })
  await jobs.load()
  const epochs = new EpochWatch(host.node)
  const streams = new Set<ServerResponse>()
  let openapi: Record<string, unknown> | undefined
  let url = ''
  const api: ApiContext = {
    host,
    jobs,
    gas,
    epochs,
    ...(o.modulesDir !== undefined ? { modulesDir: o.modulesDir } : {}),
    sseClients: () => streams.size,
    openapi: () => (openapi ??= buildOpenApi(ROUTES, { version: API_VERSION, url, errorSchema: ERROR_SCHEMA }))
  }
  const table = compile(ROUTES)

  const stream = (req: IncomingMessage, res: ServerResponse, id: string): void => {
    if (streams.size >= maxSse) throw new ApiError('API_TOO_MANY_STREAMS', 429, `${streams.size} event streams are open (the cap is ${maxSse}); close one or poll GET /jobs/{id} without Accept: text/event-stream`, { 'retry-after': '5' })
    const last = Number(req.headers['last-event-id'] ?? -1)
    res.writeHead(200, { ...BASE_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(`: following ${id}\n\n`)
    streams.add(res)
    const timer = setInterval(() => { res.write(': keep-alive\n\n') }, keepAliveMs)
    let unfollow = (): void => {}
    const close = (): void => {
      clearInterval(timer)
      unfollow()
      streams.delete(res)
    }
    res.on('close', close)
    unfollow = jobs.follow(id, Number.isSafeInteger(last) ? last : -1, (m: JobMessage) => {
      if (res.writableEnded) return
      if (m.kind === 'event') {
        res.write(`id: ${m.seq}\nevent: progress\ndata: ${jsonText(m.event)}\n\n`)
      } else {
        res.end(`event: end\ndata: ${jsonText(m.job)}\n\n`)
        close()
      }
    })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    try {
      const auth = authorize(req.socket.remoteAddress, req.headers.authorization, o.token)
      if (!auth.ok) throw auth.error
      const u = new URL(req.url ?? '/', 'http://api.invalid')
      const path = u.pathname.length > 1 ? u.pathname.replace(/\/$/, '') : u.pathname
      const { route, params } = match(table, method, path)
      if (route.params !== undefined) validate(route.params, params, 'path')
      const query = parseQuery(route.query, u.searchParams)
      const body = route.body === undefined ? undefined : await readBody(req, maxBody)
      if (route.body !== undefined) validate(route.body, body, 'body')
      let timer: NodeJS.Timeout | undefined
      const reply: Reply = await Promise.race([
        route.handler({ params, query, body, req, api }),
        new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new ApiError('API_TIMEOUT', 503, `${method} ${path} took over ${timeoutMs} ms; try again`)), timeoutMs) })
      ]).finally(() => clearTimeout(timer))
      if ('sse' in reply) { stream(req, res, reply.sse); return }
      if ('text' in reply) {
        res.writeHead(reply.status, { ...BASE_HEADERS, 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.text) })
        res.end(reply.text)
        return
      }
      sendJson(res, reply.status, reply.json, reply.headers)
    } catch (e) {
      if (e instanceof ApiError) {
        sendJson(res, e.status, e.toJSON(), e.headers)
        return
      }
      log.error('API handler failed', { method, url: req.url?.slice(0, 200), error: describe(e) })
      sendJson(res, 500, new ApiError('API_INTERNAL', 500, `the node failed to answer: ${describe(e).slice(0, 300)}`).toJSON())
    }
  }

  const server: Server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: timeoutMs, headersTimeout: Math.min(timeoutMs, 10_000), keepAliveTimeout: 5000 }, (req, res) => { void handle(req, res) })
  server.maxHeadersCount = 64
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) { socket.destroy(); return }
    const [status, code, text] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'API_TIMEOUT', `the request was not received within ${timeoutMs} ms`]
      : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'API_BAD_VALUE', 'the request headers are too large'] : [400, 'API_BAD_VALUE', 'malformed HTTP request']
    const body = JSON.stringify({ error: { code, message: text } })
    socket.end(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => { reject(new ApiError('API_BAD_LISTEN', 0, `cannot listen on ${o.listen ?? DEFAULT_API_LISTEN}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (the port is taken; pick another with --api host:port)' : e.code === 'EADDRNOTAVAIL' ? ' (no interface of this machine has that address)' : ''}`)) })
      server.listen({ host: bindHost, port }, () => resolve())
    })
  } catch (e) {
    epochs.stop()
    throw e
  }
  const addr = server.address()
  const actualPort = typeof addr === 'object' && addr !== null ? addr.port : port
  url = `http://${bindHost.includes(':') ? `[${bindHost}]` : bindHost}:${actualPort}`
  log.info('API listening', { url, loopback: isLoopback(bindHost), token: o.token !== undefined })

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // jobs first: their streams get the final (cancelled) state before they close
      await jobs.stop()
      for (const res of streams) res.end()
      epochs.stop()
      server.closeAllConnections()
      await closed
    })()
    await stopping
  }
  o.signal?.addEventListener('abort', () => { void stop() }, { once: true })
  return { url, stop }
}

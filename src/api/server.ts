/**
 * The node's local HTTP API on fastify: off unless started, loopback by default, bearer-token
 * protected for any other caller, and only for requests that name it in their Host header
 * (no DNS rebinding) and come from no foreign browser origin unless allowed. Each route of the
 * table (routes.ts) is registered once: ajv validates its path, query and body against the
 * route's schemas, @fastify/swagger documents it. Bodies are bounded, requests time out,
 * running jobs and open event streams are capped, and every refusal is a JSON
 * `{ error: { code, message } }` with a 4xx status.
 */
import { registerUploads, UploadStore } from './uploads.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { Registry } from 'prom-client'
import { createLogger, type Logger } from '../protocol/index.js'
import { executorPort } from '../node/index.js'
import { CreatorRole } from '../node/index.js'
import type { RoleHost } from '../node/index.js'
import { describe } from '../node/index.js'
import { authorize, checkBindToken, checkHost, checkOrigin, isLoopback, normalizeOrigin } from './auth.js'
import { GasLedger, meteredEscrow } from '../node/index.js'
import { JobManager, type JobMessage } from './jobs.js'
import type { JobLogs } from '../node/index.js'
import { EpochWatch, registerNodeFamilies, type NodeMetrics } from './metrics.js'
import { fastifyPath, registerOpenApi, routeSchema } from './openapi.js'
import { ERROR_SCHEMA, nodeSnapshot, ROUTES, type ApiContext, type Reply, type Route } from './routes.js'
import { ajvBody, ajvText, ApiError, toApiError } from './schema.js'
import { CONSOLE_CSP, CONSOLE_CSS, CONSOLE_HTML, CONSOLE_ICON } from './console/page.js'
import { CONSOLE_JS } from './console/script.js'
import { withTimeout } from '../protocol/index.js'

export const DEFAULT_API_LISTEN = '127.0.0.1:7070'
export const API_VERSION = '1.1.0'

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
  /**
   * Browser origins (scheme://host[:port]) whose pages may call the API (CORS); pages of any
   * other origin are refused. The API's own origin is always allowed.
   */
  allowedOrigins?: string[]
  /** Host names, besides the bind address, that requests may name (e.g. behind a reverse proxy). */
  allowedHosts?: string[]
  /**
   * The node's metrics (createNodeMetrics, given to the node when it started): /metrics then
   * serves libp2p's and gossipsub's metrics beside the node's own.
   */
  metrics?: Pick<NodeMetrics, 'registry'>
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
  /**
   * Serve the web console at /console (default false: /console is then a 404). It is a static
   * page that polls the routes above; the same Host, Origin and token checks guard it.
   */
  console?: boolean
}

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  readonly url: string
  /** The web console's URL when it is served. */
  readonly consoleUrl?: string
  stop: () => Promise<void>
}

/** Parses `host:port` (`[v6]:port` for IPv6). */
export function parseListen (listen: string): { host: string, port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(listen)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port > 65535) throw new ApiError('API_BAD_LISTEN', 0, `--api must be host:port such as 127.0.0.1:7070 (or [::1]:7070), got ${JSON.stringify(listen)}`)
  return { host: m[1].replace(/^\[|\]$/g, ''), port }
}

function jsonText (v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x)
}

const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const
const WHERE: Record<string, string> = { body: 'body', querystring: 'query', params: 'path' }

/** fastify's own errors (body parsing, limits, validation) as the API's error codes. */
function fromFastify (e: FastifyError, maxBody: number): ApiError | undefined {
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('API_UNSUPPORTED_MEDIA_TYPE', 415, 'the body must be JSON sent with Content-Type: application/json (curl: -H \'Content-Type: application/json\')')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('API_BODY_TOO_LARGE', 413, `the body is over ${maxBody} bytes; send a smaller request (a larger file input: POST it to /uploads, then give {"upload": "up-…"})`, { connection: 'close' })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('API_BAD_VALUE', 400, 'the Content-Length header does not match the body')
    case 'FST_ERR_BAD_URL':
      return new ApiError('API_BAD_VALUE', 400, 'the path is not valid percent-encoding')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('API_BAD_VALUE', 400, 'a path parameter is too long')
    default:
      return undefined
  }
}

/** Starts the API; resolves once it listens. */
export async function startApi (o: ApiOptions): Promise<ApiServer> {
  const { host: bindHost, port } = parseListen(o.listen ?? DEFAULT_API_LISTEN)
  checkBindToken(bindHost, o.token)
  const allowedOrigins = (o.allowedOrigins ?? []).map((x) => normalizeOrigin(x))
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
      jobs: host.jobs,
      gasOf: async (tx) => await host.gasOf(tx),
      liveProviders: () => host.liveProviders(),
      escrow: meteredEscrow(host.escrow, gas),
      executor: executorPort({ dataDir: o.outputsDir ?? tmpdir() }),
      store: host.deals,
      log: log.child('creator'),
      maxTransferBytes: host.maxTransferBytes,
      pollMs: Math.min(500, Math.max(100, Math.floor(host.profile.epochMs / 4)))
    })
    await host.serve(creator.transferService())
    await creator.serveOutcomes()
  }
  const jobs = new JobManager({ creator, deals: host.deals, records: host.jobs, gas, log, maxConcurrentJobs: o.maxConcurrentJobs ?? 8, store: host.meta, ...(o.outputsDir !== undefined ? { outputsDir: o.outputsDir } : {}) })
  await jobs.load()
  const epochs = new EpochWatch(host.node)
  const uploads = new UploadStore()
  const registry = o.metrics?.registry ?? new Registry()
  const streams = new Set<ServerResponse>()
  let url = ''
  let actualPort = port
  let app: FastifyInstance | undefined
  const api: ApiContext = {
    host,
    jobs,
    gas,
    epochs,
    ...(o.modulesDir !== undefined ? { modulesDir: o.modulesDir } : {}),
    uploads,
    sseClients: () => streams.size,
    openapi: () => ({ ...(app?.swagger() ?? {}), servers: [{ url }] }),
    metrics: async () => ({ text: await registry.metrics(), contentType: registry.contentType })
  }
  const unregister = registerNodeFamilies(registry, async () => await nodeSnapshot(api), epochs)
  try {
    app = await buildApp({ api, maxBody, timeoutMs, log, console: o.console === true, stream: (req, res, id) => { stream(req, res, id) }, logs: (req, res, l, stop) => { logStream(req, res, l, stop) }, admit: (req) => admit(req) })
    app.server.maxHeadersCount = 64
    await listen(app, bindHost, port, o.listen ?? DEFAULT_API_LISTEN)
  } catch (e) {
    unregister()
    epochs.stop()
    await app?.close()
    throw e
  }
  const addr = app.server.address()
  actualPort = typeof addr === 'object' && addr !== null ? addr.port : port
  url = `http://${bindHost.includes(':') ? `[${bindHost}]` : bindHost}:${actualPort}`
  const consoleUrl = o.console === true ? `${url}/console` : undefined
  log.info('API listening', { url, loopback: isLoopback(bindHost), token: o.token !== undefined, allowedOrigins, ...(consoleUrl !== undefined ? { console: consoleUrl } : {}) })

  /** Host, Origin and token checks of one request; the CORS headers it gets when an allowed foreign origin sent it. */
  function admit (req: IncomingMessage): Record<string, string> {
    const hostError = checkHost(req.headers.host, { host: bindHost, port: actualPort }, o.allowedHosts ?? [])
    if (hostError !== undefined) throw hostError
    const origin = checkOrigin(req.headers.origin, req.headers.host ?? '', allowedOrigins)
    if (!origin.ok) throw origin.error
    const auth = authorize(req.socket.remoteAddress, req.headers.authorization, o.token)
    if (!auth.ok) throw auth.error
    return origin.cors
  }

  function stream (req: IncomingMessage, res: ServerResponse, id: string): void {
    if (streams.size >= maxSse) throw new ApiError('API_TOO_MANY_STREAMS', 429, `${streams.size} event streams are open (the cap is ${maxSse}); close one or poll GET /jobs/{id} without Accept: text/event-stream`, { 'retry-after': '5' })
    const last = Number(req.headers['last-event-id'] ?? -1)
    res.writeHead(200, { ...BASE_HEADERS, ...corsOf(req), 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' })
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

  /** Writes a job's log chunks as NDJSON lines (one UTF-8 decoder per stream), then the end line. */
  function logStream (req: IncomingMessage, res: ServerResponse, logs: JobLogs, stop: AbortController): void {
    if (streams.size >= maxSse) throw new ApiError('API_TOO_MANY_STREAMS', 429, `${streams.size} streams are open (the cap is ${maxSse}); close one first`, { 'retry-after': '5' })
    res.writeHead(200, { ...BASE_HEADERS, ...corsOf(req), 'content-type': 'application/x-ndjson; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-lilynode-deal': logs.dealId })
    streams.add(res)
    res.on('close', () => { streams.delete(res); stop.abort(new Error('the reader went away')) })
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() }
    const line = async (v: unknown): Promise<void> => {
      if (res.writableEnded || res.destroyed) throw new Error('the reader went away')
      if (!res.write(`${jsonText(v)}\n`)) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve) })
    }
    void (async () => {
      let why: string | undefined
      try {
        for await (const c of logs.chunks) {
          const text = decoders[c.stream].decode(c.data, { stream: true })
          if (text !== '') await line({ stream: c.stream, text })
        }
        why = logs.ended.why
      } catch (e) {
        why = stop.signal.aborted ? undefined : `the logs broke off: ${describe(e).slice(0, 256)}`
      }
      if (res.writableEnded || res.destroyed) return
      for (const st of ['stdout', 'stderr'] as const) {
        const text = decoders[st].decode()
        if (text !== '') await line({ stream: st, text }).catch(() => undefined)
      }
      res.end(`${jsonText({ end: true, dealId: logs.dealId, from: logs.from, ...(why !== undefined ? { why } : {}) })}\n`)
    })()
  }

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      // no new requests; open ones finish (event streams get their final state below)
      const closed = app.close()
      // jobs first: their streams get the final (cancelled) state before they close
      await jobs.stop()
      for (const res of streams) res.end()
      epochs.stop()
      unregister()
      app.server.closeAllConnections()
      await closed
      await uploads.close()
    })()
    await stopping
  }
  o.signal?.addEventListener('abort', () => { void stop() }, { once: true })
  return { url, stop, ...(consoleUrl !== undefined ? { consoleUrl } : {}) }
}

const cors = new WeakMap<IncomingMessage, Record<string, string>>()
const corsOf = (req: IncomingMessage): Record<string, string> => cors.get(req) ?? {}

async function listen (app: FastifyInstance, host: string, port: number, listen: string): Promise<void> {
  try {
    await app.listen({ host, port, listenTextResolver: () => '' })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new ApiError('API_BAD_LISTEN', 0, `cannot listen on ${listen}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (the port is taken; pick another with --api host:port)' : e.code === 'EADDRNOTAVAIL' ? ' (no interface of this machine has that address)' : ''}`)
  }
}

interface AppOptions {
  /** Undefined only for openApiDocument (no handler runs). */
  api: ApiContext | undefined
  maxBody: number
  timeoutMs: number
  log: Logger
  /** Streams a job's progress as server-sent events on the raw response. */
  stream: (req: IncomingMessage, res: ServerResponse, id: string) => void
  /** Streams a job's logs as newline-delimited JSON on the raw response. */
  logs: (req: IncomingMessage, res: ServerResponse, logs: JobLogs, stop: AbortController) => void
  /** Throws the ApiError that refuses the request; returns its CORS headers. */
  admit: (req: IncomingMessage) => Record<string, string>
  /** Serve the web console's page, script and style at /console. */
  console?: boolean
}

/** The fastify instance with every route of the table, the checks and the error mapping. */
export async function buildApp (o: AppOptions): Promise<FastifyInstance> {
  const { maxBody, timeoutMs, log } = o
  const sendError = (reply: FastifyReply, e: ApiError): void => {
    void reply.code(e.status).headers({ ...BASE_HEADERS, ...corsOf(reply.request.raw), ...e.headers }).type('application/json; charset=utf-8').send(e.toJSON())
  }
  const app = Fastify({
    logger: false,
    bodyLimit: maxBody,
    requestTimeout: timeoutMs,
    keepAliveTimeout: 5000,
    http: { maxHeaderSize: 16 * 1024, headersTimeout: Math.min(timeoutMs, 10_000) },
    exposeHeadRoutes: false,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: (e, _req, reply) => { sendError(reply, fromFastify(e, maxBody) ?? new ApiError('API_BAD_VALUE', 400, `malformed request: ${e.message}`)) },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable) { socket.destroy(); return }
      const [status, code, text] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'API_TIMEOUT', `the request was not received within ${timeoutMs} ms`]
        : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'API_BAD_VALUE', 'the request headers are too large'] : [400, 'API_BAD_VALUE', 'malformed HTTP request']
      const body = JSON.stringify({ error: { code, message: text } })
      socket.end(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
    }
  })

  // ajv: bodies as sent, path and query text coerced to the schema's integers
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const part = httpPart ?? 'body'
    const where = WHERE[part] ?? part
    const fn = (part === 'body' ? ajvBody : ajvText).compile(schema)
    return (data: unknown) => {
      if (part === 'querystring') {
        for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
          if (Array.isArray(v)) return { error: new ApiError('API_BAD_VALUE', 400, `query parameter ${k.slice(0, 64)} is given ${v.length} times; give it once`) }
        }
      }
      return fn(data) ? { value: data } : { error: toApiError(fn.errors ?? [], where) }
    }
  })
  // responses are written as they are (bigints as decimal strings); their schemas document them
  app.setSerializerCompiler(() => (data: unknown) => jsonText(data))

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: maxBody }, (_req, text, done) => {
    const body = String(text)
    if (body.trim() === '') { done(new ApiError('API_BAD_JSON', 400, 'the body is empty; send a JSON object (see GET /openapi.json for its fields)'), undefined); return }
    try {
      done(null, JSON.parse(body) as unknown)
    } catch (e) {
      done(new ApiError('API_BAD_JSON', 400, `the body is not valid JSON: ${(e as Error).message}`), undefined)
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    cors.set(request.raw, o.admit(request.raw))
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined && request.headers.origin !== undefined) {
      // a CORS preflight from an allowed origin (a refused one was thrown above)
      void reply.code(204).headers({
        ...corsOf(request.raw),
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type, last-event-id',
        'access-control-max-age': '600'
      }).send()
      return reply
    }
  })
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.schema?.body !== undefined && request.body === undefined) {
      throw new ApiError('API_UNSUPPORTED_MEDIA_TYPE', 415, 'the body must be JSON sent with Content-Type: application/json (curl: -H \'Content-Type: application/json\')')
    }
  })

  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof ApiError) { sendError(reply, err); return }
    const known = fromFastify(err, maxBody)
    if (known !== undefined) { sendError(reply, known); return }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      sendError(reply, new ApiError('API_BAD_VALUE', 400, `malformed request: ${err.message.slice(0, 300)}`))
      return
    }
    log.error('API handler failed', { method: request.method, url: request.url.slice(0, 200), error: describe(err) })
    sendError(reply, new ApiError('API_INTERNAL', 500, `the node failed to answer: ${describe(err).slice(0, 300)}`))
  })

  const known = [...new Set(ROUTES.map((r) => `${r.method} ${r.path}`))].join(', ')
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, new ApiError('API_NOT_FOUND', 404, `no route ${request.url.split('?')[0].slice(0, 128)}; the API has: ${known} (see GET /openapi.json)`))
  })

  await registerOpenApi(app, { version: API_VERSION, errorSchema: ERROR_SCHEMA })
  for (const route of ROUTES) {
    app.route({
      method: route.method,
      url: fastifyPath(route.path),
      schema: routeSchema(route),
      handler: async (request, reply) => { await answer(route, request, reply, o) }
    })
  }
  // the other methods on a known path: 405 with Allow, not a 404
  for (const path of new Set(ROUTES.map((r) => r.path))) {
    const allowed = ROUTES.filter((r) => r.path === path).map((r) => r.method)
    app.route({
      method: METHODS.filter((m) => !(allowed as string[]).includes(m)),
      url: fastifyPath(path),
      schema: { hide: true } as Record<string, unknown>,
      handler: async (request) => {
        throw new ApiError('API_METHOD_NOT_ALLOWED', 405, `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') })
      }
    })
  }
  registerUploads(app, o.api?.uploads, (req) => ({ ...BASE_HEADERS, ...corsOf(req) }))
  if (o.console === true) registerConsole(app)
  await app.ready()
  return app
}

/** GET /console, /console/console.js, /console/console.css and /console/icon.svg: static text under a strict CSP (the checks of onRequest apply). */
function registerConsole (app: FastifyInstance): void {
  const headers = { ...BASE_HEADERS, 'content-security-policy': CONSOLE_CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' }
  const assets: Array<[string, string, string]> = [
    ['/console', 'text/html; charset=utf-8', CONSOLE_HTML],
    ['/console/console.js', 'text/javascript; charset=utf-8', CONSOLE_JS],
    ['/console/console.css', 'text/css; charset=utf-8', CONSOLE_CSS],
    ['/console/icon.svg', 'image/svg+xml', CONSOLE_ICON]
  ]
  for (const [url, type, body] of assets) {
    app.get(url, { schema: { hide: true } as Record<string, unknown> }, async (_request, reply) => {
      await reply.code(200).headers(headers).type(type).send(body)
    })
  }
}

/** The OpenAPI document of the route table, without a node (what GET /openapi.json serves, less `servers`). */
export async function openApiDocument (): Promise<Record<string, unknown>> {
  const refuse = (): never => { throw new ApiError('API_UNAVAILABLE', 503, 'no node behind this app') }
  const app = await buildApp({ api: undefined, maxBody: 1024, timeoutMs: 1000, log: createLogger('api'), stream: refuse, logs: refuse, admit: refuse })
  try {
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}

/** Runs a route's handler within the request timeout and writes its reply. */
async function answer (route: Route, request: FastifyRequest, reply: FastifyReply, o: AppOptions): Promise<void> {
  const api = o.api
  if (api === undefined) throw new ApiError('API_UNAVAILABLE', 503, 'no node behind this app')
  const out: Reply = await withTimeout(async (signal) => await route.handler({ params: request.params as Record<string, string>, query: request.query as Record<string, string | number>, body: request.body, req: request.raw, api, signal }),
    o.timeoutMs, { timeoutError: () => new ApiError('API_TIMEOUT', 503, `${route.method} ${route.path} took over ${o.timeoutMs} ms; try again`) })
  const headers = { ...BASE_HEADERS, ...corsOf(request.raw) }
  if ('logs' in out) {
    try {
      o.logs(request.raw, reply.raw, out.logs, out.stop)
    } catch (e) {
      out.stop.abort(e)
      throw e
    }
    reply.hijack()
    return
  }
  if ('sse' in out) {
    o.stream(request.raw, reply.raw, out.sse)
    reply.hijack()
    return
  }
  if ('text' in out) {
    await reply.code(out.status).headers(headers).type(out.contentType).send(out.text)
    return
  }
  if ('bytes' in out) {
    await reply.code(out.status).headers({ ...headers, ...out.headers }).type(out.contentType).send(Buffer.from(out.bytes.buffer, out.bytes.byteOffset, out.bytes.byteLength))
    return
  }
  await reply.code(out.status).headers({ ...headers, ...out.headers }).type('application/json; charset=utf-8').send(jsonText(out.json))
}

import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { startApi, type ApiServer } from '../../src/api/server.js'
import { ERROR_SCHEMA, ROUTES } from '../../src/api/routes.js'
import { UPLOAD_ROUTE } from '../../src/api/uploads.js'
import { ApiError, validate } from '../../src/api/schema.js'
import { createNodeMetrics } from '../../src/api/metrics.js'
import { executorPort } from '../../src/node/roles/adapters.js'
import { CreatorRole } from '../../src/node/roles/creator.js'
import { RoleHost } from '../../src/node/roles/host.js'
import { createLogger } from '../../src/protocol/logger.js'
import type { Hash } from '../../src/protocol/types.js'
import { closedBy, requireDocker, startNet, stopNet, type TestNet } from '../e2e/helpers.js'
import { parsePrometheus, sampleValue } from './prom.js'

interface Reply { status: number, headers: Headers, body: unknown, text: string }

async function call (base: string, method: string, path: string, o: { body?: string, headers?: Record<string, string> } = {}): Promise<Reply> {
  const r = await fetch(`${base}${path}`, { method, headers: o.headers, body: o.body, signal: AbortSignal.timeout(30_000) })
  const text = await r.text()
  let body: unknown
  try { body = JSON.parse(text) } catch { body = undefined }
  return { status: r.status, headers: r.headers, body, text }
}

const postJson = (body: unknown): { body: string, headers: Record<string, string> } => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

function schemaOf (operationId: string, status: number): Parameters<typeof validate>[0] {
  const r = ROUTES.find((x) => x.operationId === operationId)
  const d = r?.responses[status]
  if (d === undefined) throw new Error(`no ${status} response for ${operationId}`)
  return d.schema
}

interface SseMessage { event: string, id?: string, data: unknown }

/** Reads a server-sent-event stream until it closes. */
async function readSse (url: string, headers: Record<string, string> = {}): Promise<{ contentType: string, messages: SseMessage[] }> {
  return await readSseResponse(await openSse(url, headers))
}

async function openSse (url: string, headers: Record<string, string> = {}): Promise<Response> {
  const r = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: AbortSignal.timeout(150_000) })
  assert.equal(r.status, 200, await (r.status === 200 ? Promise.resolve('') : r.text()))
  return r
}

async function readSseResponse (r: Response): Promise<{ contentType: string, messages: SseMessage[] }> {
  const messages: SseMessage[] = []
  const dec = new TextDecoder()
  let buf = ''
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true })
    let i: number
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i)
      buf = buf.slice(i + 2)
      const m: Partial<SseMessage> & { lines: string[] } = { lines: [] }
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const [k, ...rest] = line.split(': ')
        if (k === 'event') m.event = rest.join(': ')
        else if (k === 'id') m.id = rest.join(': ')
        else if (k === 'data') m.lines.push(rest.join(': '))
      }
      if (m.event !== undefined) messages.push({ event: m.event, ...(m.id !== undefined ? { id: m.id } : {}), data: JSON.parse(m.lines.join('\n')) })
    }
  }
  return { contentType: r.headers.get('content-type') ?? '', messages }
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalIPv4 (): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address
  }
  return undefined
}

const TOKEN = 'test-token-0123456789abcdef'

describe('api: a node\'s local HTTP API (real anvil, bootstrap, provider process, Docker)', function () {
  this.timeout(180_000)
  let t: TestNet | undefined
  let host: RoleHost | undefined
  let api: ApiServer | undefined
  let base = ''

  before(async function () {
    requireDocker(this)
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
    const party = t.net.parties.get('creator-1')
    if (party === undefined) throw new Error('no creator-1')
    const log = createLogger('api-test')
    // the node reports libp2p's and gossipsub's own metrics into the registry the API serves
    const metrics = createNodeMetrics()
    host = await RoleHost.start({ profile: t.net.profile, dataDir: party.dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], log, metrics })
    api = await startApi({ host, listen: '127.0.0.1:0', log, metrics })
    base = api.url
  })

  after(async () => {
    await api?.stop()
    await host?.stop()
    await stopNet(t)
  })

  it('runs a real job: POST /jobs, progress over SSE to paid, then the job, deals, offers, health and metrics agree', async () => {
    const net = (t as TestNet).net
    const post = await call(base, 'POST', '/jobs', postJson({ module: 'cowsay:v0.0.4', inputs: { Message: 'moo from the api' }, timeoutS: 60 }))
    assert.equal(post.status, 202, post.text)
    validate(schemaOf('createJob', 202), post.body, 'response')
    const job = post.body as { id: string, state: string }
    assert.equal(job.state, 'running')
    assert.equal(post.headers.get('location'), `/jobs/${job.id}`)

    const sse = await readSse(`${base}/jobs/${job.id}`)
    assert.match(sse.contentType, /^text\/event-stream/)
    const progress = sse.messages.filter((m) => m.event === 'progress').map((m) => m.data as { stage: string })
    const stages = progress.map((p) => p.stage)
    for (const st of ['offered', 'matched', 'opened', 'result', 'accepted', 'paid']) assert.ok(stages.includes(st), `stage ${st} missing from ${stages.join(',')}`)
    const end = sse.messages[sse.messages.length - 1]
    assert.equal(end.event, 'end')
    assert.equal(sse.messages.filter((m) => m.event === 'end').length, 1)
    validate(schemaOf('getJob', 200), end.data, 'end event')
    const final = end.data as { state: string, result: { dealId: Hash, stdout: string, exitCode: number, resultHash: Hash, outputs: Array<{ path: string }>, price: string } }
    assert.equal(final.state, 'paid', JSON.stringify(final))
    assert.equal(final.result.exitCode, 0)
    assert.match(final.result.stdout, /moo from the api/)
    assert.ok(final.result.outputs.some((f) => f.path === 'cow.txt'), JSON.stringify(final.result.outputs))
    assert.match(final.result.resultHash, /^0x[0-9a-f]{64}$/)
    assert.equal(await closedBy(net, final.result.dealId), 'DealCompleted')

    // a finished job's stream replays everything; Last-Event-ID resumes after an event
    const again = await readSse(`${base}/jobs/${job.id}`, { 'last-event-id': '1' })
    assert.deepEqual(again.messages.filter((m) => m.event === 'progress').map((m) => m.id), progress.slice(2).map((_p, i) => String(i + 2)))
    assert.equal(again.messages[again.messages.length - 1].event, 'end')

    const got = await call(base, 'GET', `/jobs/${job.id}`)
    assert.equal(got.status, 200)
    validate(schemaOf('getJob', 200), got.body, 'response')
    assert.deepEqual(got.body, end.data)
    const list = await call(base, 'GET', '/jobs?state=paid')
    validate(schemaOf('listJobs', 200), list.body, 'response')
    assert.deepEqual((list.body as { items: Array<{ id: string }> }).items.map((j) => j.id), [job.id])

    const deals = await call(base, 'GET', '/deals?role=creator')
    validate(schemaOf('listDeals', 200), deals.body, 'response')
    const deal = (deals.body as { items: Array<{ dealId: string, state: string }> }).items.find((d) => d.dealId === final.result.dealId)
    assert.equal(deal?.state, 'completed')

    const offers = await call(base, 'GET', '/offers?kind=resource')
    validate(schemaOf('listOffers', 200), offers.body, 'response')
    const provider = net.parties.get('provider-1')?.address.toLowerCase()
    assert.ok((offers.body as { items: Array<{ signer: string }> }).items.some((o) => o.signer.toLowerCase() === provider), 'the provider\'s resource offer is in the pool')

    const peers = await call(base, 'GET', '/peers')
    validate(schemaOf('listPeers', 200), peers.body, 'response')
    assert.ok((peers.body as { total: number }).total >= 1)

    const health = await call(base, 'GET', '/health')
    assert.equal(health.status, 200, health.text)
    validate(schemaOf('health', 200), health.body, 'response')
    const h = health.body as { ok: boolean, peers: number, chain: { reachable: boolean, headBlock: string } }
    assert.equal(h.chain.reachable, true)
    assert.ok(BigInt(h.chain.headBlock) > 0n)

    // convergence is judged one epoch after an epoch is matched: wait for the first judgement
    const judgedIn = (f: ReturnType<typeof parsePrometheus>): number => ['agree', 'disagree', 'alone'].reduce((n, r) => n + (sampleValue(f, 'lilynode_epoch_convergence_total', { result: r }) ?? 0), 0)
    let metrics = await call(base, 'GET', '/metrics')
    for (const until = Date.now() + 30_000; judgedIn(parsePrometheus(metrics.text)) === 0 && Date.now() < until;) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      metrics = await call(base, 'GET', '/metrics')
    }
    assert.equal(metrics.status, 200)
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const fams = parsePrometheus(metrics.text)
    for (const f of fams.values()) assert.ok(f.help !== '' && f.type !== '', `${f.name} lacks HELP or TYPE`)
    assert.ok(judgedIn(fams) >= 1, 'epochs were judged for convergence')
    assert.equal(sampleValue(fams, 'lilynode_jobs', { outcome: 'paid' }), 1)
    assert.equal(sampleValue(fams, 'lilynode_jobs', { outcome: 'running' }), 0)
    assert.equal(sampleValue(fams, 'lilynode_deals', { role: 'creator', state: 'completed' }), 1)
    assert.ok((sampleValue(fams, 'lilynode_peers') ?? 0) >= 1)
    assert.ok((sampleValue(fams, 'lilynode_gas_used_total') ?? 0) > 21_000, 'the creator\'s deposit (and openDeal) gas is counted')
    assert.ok((sampleValue(fams, 'lilynode_transactions_total') ?? 0) >= 1)
    assert.ok((sampleValue(fams, 'lilynode_offers', { kind: 'resource' }) ?? 0) >= 1)
    assert.ok((sampleValue(fams, 'lilynode_epochs_matched_total') ?? 0) >= 1)
    assert.equal(sampleValue(fams, 'lilynode_chain_reachable'), 1)
    // libp2p's and gossipsub's own metrics, from the same registry
    assert.ok([...fams.keys()].some((n) => n.startsWith('libp2p_')), `libp2p metrics missing: ${[...fams.keys()].join(' ')}`)
    assert.ok(fams.has('gossipsub_mesh_peer_count') && fams.has('libp2p_data_transfer_bytes_total'), 'gossipsub\'s mesh and libp2p\'s transfer families')
    assert.ok([...fams.keys()].filter((n) => n.startsWith('gossipsub_')).length >= 20, 'gossipsub registers its metrics')
  })

  it('keeps its jobs across a restart: a job running when the API stopped is resumed to paid, finished ones read the same', async () => {
    const h = host as RoleHost
    const before = await call(base, 'GET', '/jobs')
    const post = await call(base, 'POST', '/jobs', postJson({ module: 'probe:v1.0.0', inputs: { action: 'slowecho', n: 3, arg: 'across a restart' }, timeoutS: 90 }))
    assert.equal(post.status, 202, post.text)
    const id = (post.body as { id: string }).id
    for (const until = Date.now() + 120_000; ;) {
      const j = await call(base, 'GET', `/jobs/${id}`)
      if ((j.body as { stage: string | null }).stage === 'running') break
      assert.ok(Date.now() < until, `the job never ran: ${j.text}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await (api as ApiServer).stop()

    // a new API on the same node (its own creator: the node's transfer service stays the first one's)
    const creator = new CreatorRole({ net: h.net, escrow: h.escrow, executor: executorPort({ dataDir: tmpdir() }), store: h.deals, log: createLogger('api-test'), maxTransferBytes: h.maxTransferBytes, pollMs: 250 })
    api = await startApi({ host: h, listen: '127.0.0.1:0', creator })
    base = api.url
    let job: { state: string, events: Array<{ stage: string }>, result: { dealId: Hash, stdout: string } | null } | undefined
    for (const until = Date.now() + 150_000; ;) {
      const j = await call(base, 'GET', `/jobs/${id}`)
      assert.equal(j.status, 200, j.text)
      job = j.body as typeof job
      if (job?.state !== 'running') break
      assert.ok(Date.now() < until, `the resumed job did not settle: ${j.text}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    assert.equal(job?.state, 'paid', JSON.stringify(job))
    assert.match(job.result?.stdout ?? '', /across a restart/)
    assert.ok(job.events.some((e) => e.stage === 'accepted'), 'the resumed creator accepted the result')
    assert.equal(await closedBy((t as TestNet).net, job.result?.dealId as Hash), 'DealCompleted')
    // every job from before the restart is still there, as it was
    const after = await call(base, 'GET', '/jobs')
    const ids = (after.body as { items: Array<{ id: string }> }).items.map((j) => j.id)
    for (const j of (before.body as { items: Array<{ id: string }> }).items) assert.ok(ids.includes(j.id), `job ${j.id} kept`)
    assert.ok(ids.includes(id))
  })

  it('answers every malformed request with a 4xx JSON error and its code', async () => {
    const big = JSON.stringify({ module: 'cowsay:v0.0.4', inputs: { Message: 'x'.repeat(70 * 1024) } })
    const cases: Array<{ what: string, method: string, path: string, body?: string, headers?: Record<string, string>, status: number, code: string }> = [
      { what: 'not JSON', method: 'POST', path: '/jobs', body: '{"module": cowsay', headers: { 'content-type': 'application/json' }, status: 400, code: 'API_BAD_JSON' },
      { what: 'empty body', method: 'POST', path: '/jobs', body: '', headers: { 'content-type': 'application/json' }, status: 400, code: 'API_BAD_JSON' },
      { what: 'form body', method: 'POST', path: '/jobs', body: 'module=cowsay', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'API_UNSUPPORTED_MEDIA_TYPE' },
      { what: 'body too large', method: 'POST', path: '/jobs', body: big, headers: { 'content-type': 'application/json' }, status: 413, code: 'API_BODY_TOO_LARGE' },
      { what: 'body not an object', method: 'POST', path: '/jobs', ...postJson(['cowsay:v0.0.4']), status: 400, code: 'API_BAD_TYPE' },
      { what: 'unknown field', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', priority: 1 }), status: 400, code: 'API_UNKNOWN_FIELD' },
      { what: 'missing module', method: 'POST', path: '/jobs', ...postJson({ inputs: {} }), status: 400, code: 'API_MISSING_FIELD' },
      { what: 'module of the wrong type', method: 'POST', path: '/jobs', ...postJson({ module: 7 }), status: 400, code: 'API_BAD_TYPE' },
      { what: 'unknown module', method: 'POST', path: '/jobs', ...postJson({ module: 'nosuchmodule:v1' }), status: 400, code: 'API_BAD_MODULE' },
      { what: 'wrong module version', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v9.9.9' }), status: 400, code: 'API_BAD_MODULE' },
      { what: 'malformed module name', method: 'POST', path: '/jobs', ...postJson({ module: 'Cow Say!' }), status: 400, code: 'API_BAD_MODULE' },
      { what: 'module path that is no spec', method: 'POST', path: '/jobs', ...postJson({ module: '/nonexistent/module.json' }), status: 400, code: 'API_BAD_MODULE' },
      { what: 'unknown input', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', inputs: { Colour: 'brown' } }), status: 400, code: 'API_BAD_INPUT' },
      { what: 'input name with =', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', inputs: { 'Message=x': 'y' } }), status: 400, code: 'API_BAD_INPUT' },
      { what: 'input over its bound', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', inputs: { Message: 'm'.repeat(2000) } }), status: 400, code: 'API_BAD_INPUT' },
      { what: 'file value for a string input', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', inputs: { Message: { base64: 'AA==' } } }), status: 400, code: 'API_BAD_INPUT' },
      { what: 'input of a wrong JSON type', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', inputs: { Message: [1] } }), status: 400, code: 'API_BAD_TYPE' },
      { what: 'wei not decimal', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', maxPrice: '1.5' }), status: 400, code: 'API_BAD_VALUE' },
      { what: 'wei as a number', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', collateral: 10 }), status: 400, code: 'API_BAD_TYPE' },
      { what: 'timeout out of range', method: 'POST', path: '/jobs', ...postJson({ module: 'cowsay:v0.0.4', timeoutS: 0 }), status: 400, code: 'API_BAD_VALUE' },
      { what: 'unknown job', method: 'GET', path: '/jobs/job-0000000000000000', status: 404, code: 'API_UNKNOWN_JOB' },
      { what: 'malformed job id', method: 'GET', path: '/jobs/42', status: 400, code: 'API_BAD_VALUE' },
      { what: 'bad percent-encoding', method: 'GET', path: '/jobs/%E0%A4%A', status: 400, code: 'API_BAD_VALUE' },
      { what: 'wrong method', method: 'DELETE', path: '/jobs', status: 405, code: 'API_METHOD_NOT_ALLOWED' },
      { what: 'wrong method on a job', method: 'PUT', path: '/jobs/job-0000000000000000', status: 405, code: 'API_METHOD_NOT_ALLOWED' },
      { what: 'unknown route', method: 'GET', path: '/nope', status: 404, code: 'API_NOT_FOUND' },
      { what: 'unknown query parameter', method: 'GET', path: '/offers?colour=red', status: 400, code: 'API_UNKNOWN_FIELD' },
      { what: 'bad enum in query', method: 'GET', path: '/offers?kind=cow', status: 400, code: 'API_BAD_VALUE' },
      { what: 'non-integer in query', method: 'GET', path: '/deals?limit=ten', status: 400, code: 'API_BAD_TYPE' },
      { what: 'query limit too large', method: 'GET', path: '/jobs?limit=100000', status: 400, code: 'API_BAD_VALUE' },
      { what: 'repeated query parameter', method: 'GET', path: '/offers?limit=1&limit=2', status: 400, code: 'API_BAD_VALUE' }
    ]
    for (const c of cases) {
      const r = await call(base, c.method, c.path, { ...(c.body !== undefined ? { body: c.body } : {}), ...(c.headers !== undefined ? { headers: c.headers } : {}) })
      assert.equal(r.status, c.status, `${c.what}: ${r.status} ${r.text}`)
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/, c.what)
      const e = (r.body as { error?: { code?: string, message?: string } } | undefined)?.error
      assert.equal(e?.code, c.code, `${c.what}: ${r.text}`)
      assert.ok((e?.message ?? '').length > 15, `${c.what}: the message says what to fix: ${r.text}`)
      validate(ERROR_SCHEMA, r.body, c.what)
      if (c.status === 405) assert.ok((r.headers.get('allow') ?? '') !== '', 'Allow header on 405')
    }
    // a request that is not HTTP at all gets a JSON 400 too
    const raw = await new Promise<string>((resolve, reject) => {
      const u = new URL(base)
      const sock = connect(Number(u.port), u.hostname, () => { sock.write('NOT HTTP AT ALL\r\n\r\n') })
      let got = ''
      sock.on('data', (d: Buffer) => { got += d.toString('utf8') })
      sock.on('end', () => resolve(got))
      sock.on('error', reject)
      sock.setTimeout(10_000, () => { sock.destroy(); reject(new Error('no answer to a malformed request')) })
    })
    assert.match(raw, /^HTTP\/1\.1 400 /)
    assert.equal((JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code, 'API_BAD_VALUE')
    // still healthy after all that
    assert.equal((await call(base, 'GET', '/health')).status, 200)
  })

  it('refuses a page of another site that resolves to 127.0.0.1 (DNS rebinding) and cross-origin browser requests', async () => {
    const u = new URL(base)
    const raw = async (method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: unknown }> => await new Promise((resolve, reject) => {
      const req = httpRequest({ host: u.hostname, port: Number(u.port), method, path, headers, timeout: 30_000 }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => { text += d })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) as unknown }) })
      })
      req.on('error', reject)
      req.end(body)
    })
    const job = JSON.stringify({ module: 'cowsay:v0.0.4', inputs: { Message: 'rebound' } })
    // what the attack's browser sends: its own name in Host (the page was loaded from it), no Origin on the same-"origin" request
    const rebound = await raw('POST', '/jobs', { host: `rebind.attacker.example:${u.port}`, 'content-type': 'application/json' }, job)
    assert.equal(rebound.status, 403, JSON.stringify(rebound.body))
    assert.equal((rebound.body as { error: { code: string } }).error.code, 'API_BAD_HOST')
    for (const path of ['/jobs', '/health', '/metrics', '/nope']) {
      const r = await raw('GET', path, { host: `rebind.attacker.example:${u.port}` })
      assert.equal(r.status, 403, `${path}: ${JSON.stringify(r.body)}`)
    }
    assert.equal((await raw('GET', '/health', { host: `127.0.0.1:${Number(u.port) + 1}` })).status, 403, 'the port is part of the host')
    // the API's own names still work
    for (const h of [`127.0.0.1:${u.port}`, `localhost:${u.port}`]) assert.equal((await raw('GET', '/health', { host: h })).status, 200, h)
    // a page of another origin posting to the real address
    const foreign = await raw('POST', '/jobs', { host: `127.0.0.1:${u.port}`, origin: 'http://evil.example', 'content-type': 'application/json' }, job)
    assert.equal(foreign.status, 403, JSON.stringify(foreign.body))
    assert.equal((foreign.body as { error: { code: string } }).error.code, 'API_BAD_ORIGIN')
    const preflight = await raw('OPTIONS', '/jobs', { host: `127.0.0.1:${u.port}`, origin: 'http://evil.example', 'access-control-request-method': 'POST' })
    assert.equal(preflight.status, 403)
    assert.equal(preflight.headers['access-control-allow-origin'], undefined)
    // an allowed origin gets CORS headers, on preflight and on the answer
    const h = host as RoleHost
    const creator = new CreatorRole({ net: h.net, escrow: h.escrow, executor: executorPort({ dataDir: tmpdir() }), store: h.deals, log: createLogger('api-test'), maxTransferBytes: h.maxTransferBytes })
    const open = await startApi({ host: h, listen: '127.0.0.1:0', creator, allowedOrigins: ['http://console.example:3000'] })
    try {
      const o = new URL(open.url)
      const ask = async (method: string, headers: Record<string, string>): Promise<{ status: number, headers: Record<string, string | string[] | undefined> }> => await new Promise((resolve, reject) => {
        const req = httpRequest({ host: o.hostname, port: Number(o.port), method, path: '/health', headers: { host: `127.0.0.1:${o.port}`, ...headers }, timeout: 30_000 }, (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers })) })
        req.on('error', reject)
        req.end()
      })
      const pre = await ask('OPTIONS', { origin: 'http://console.example:3000', 'access-control-request-method': 'GET' })
      assert.equal(pre.status, 204)
      assert.equal(pre.headers['access-control-allow-origin'], 'http://console.example:3000')
      const got = await ask('GET', { origin: 'http://console.example:3000' })
      assert.equal(got.status, 200)
      assert.equal(got.headers['access-control-allow-origin'], 'http://console.example:3000')
      assert.equal((await ask('GET', { origin: 'http://other.example' })).status, 403)
    } finally {
      await open.stop()
    }
  })

  it('serves an OpenAPI 3.1 document listing every route', async () => {
    const r = await call(base, 'GET', '/openapi.json')
    assert.equal(r.status, 200)
    const doc = r.body as { openapi: string, info: { title: string, version: string }, servers: Array<{ url: string }>, paths: Record<string, Record<string, { operationId: string, responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>, components: { schemas: { Error: unknown } } }
    assert.equal(doc.openapi, '3.1.0')
    assert.ok(doc.info.title !== '' && doc.info.version !== '')
    assert.equal(doc.servers[0].url, base)
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort()
    assert.deepEqual(listed, [...ROUTES, UPLOAD_ROUTE].map((x) => `${x.method} ${x.path}`).sort())
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) {
        for (const [status, resp] of Object.entries(op.responses)) {
          for (const c of Object.values(resp.content ?? {})) assert.ok(c.schema !== undefined, `${op.operationId} ${status} has a schema`)
        }
      }
    }
    // every $ref resolves
    for (const [, ref] of r.text.matchAll(/"\$ref":"([^"]+)"/g)) assert.equal(ref, '#/components/schemas/Error')
    assert.ok(doc.components.schemas.Error !== undefined)
  })

  it('refuses a non-loopback bind without a token, and non-loopback callers without the token', async function () {
    const h = host as RoleHost
    await assert.rejects(startApi({ host: h, listen: '0.0.0.0:0' }), (e: unknown) => e instanceof ApiError && e.code === 'API_TOKEN_REQUIRED' && /token/.test(e.message))
    await assert.rejects(startApi({ host: h, listen: '127.0.0.1:0', token: 'short' }), (e: unknown) => e instanceof ApiError && e.code === 'API_TOKEN_REQUIRED')
    const ip = externalIPv4()
    if (ip === undefined) {
      process.stderr.write('    (no non-loopback IPv4 interface here: the per-request decision is covered by the units suite)\n')
      this.skip()
    }
    await assert.rejects(startApi({ host: h, listen: `${ip}:0` }), (e: unknown) => e instanceof ApiError && e.code === 'API_TOKEN_REQUIRED')
    // a second API on the same node: it gets a creator of its own, since the host already serves the first one's
    const creator = new CreatorRole({ net: h.net, escrow: h.escrow, executor: executorPort({ dataDir: tmpdir() }), store: h.deals, log: createLogger('api-test'), maxTransferBytes: h.maxTransferBytes })
    const ext = await startApi({ host: h, listen: `${ip}:0`, token: TOKEN, creator })
    try {
      for (const [path, headers] of [['/health', {}], ['/metrics', { authorization: 'Bearer wrong-token-wrong-token' }], ['/jobs', { authorization: TOKEN }]] as Array<[string, Record<string, string>]>) {
        const r = await call(ext.url, 'GET', path, { headers })
        assert.equal(r.status, 401, `${path}: ${r.text}`)
        assert.equal((r.body as { error: { code: string } }).error.code, 'API_UNAUTHORIZED')
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/)
      }
      const ok = await call(ext.url, 'GET', '/health', { headers: { authorization: `Bearer ${TOKEN}` } })
      assert.equal(ok.status, 200, ok.text)
    } finally {
      await ext.stop()
    }
  })

  it('caps running jobs and event streams; stop() cancels a running job and ends its stream', async () => {
    const h = host as RoleHost
    const creator = new CreatorRole({ net: h.net, escrow: h.escrow, executor: executorPort({ dataDir: tmpdir() }), store: h.deals, log: createLogger('api-test'), maxTransferBytes: h.maxTransferBytes })
    const capped = await startApi({ host: h, listen: '127.0.0.1:0', creator, maxConcurrentJobs: 1, maxSseClients: 1 })
    let stream: Response | undefined
    try {
      const first = await call(capped.url, 'POST', '/jobs', postJson({ module: 'cowsay:v0.0.4', inputs: { Message: 'capped' } }))
      assert.equal(first.status, 202, first.text)
      const id = (first.body as { id: string }).id
      const second = await call(capped.url, 'POST', '/jobs', postJson({ module: 'cowsay:v0.0.4' }))
      assert.equal(second.status, 429, second.text)
      assert.equal((second.body as { error: { code: string } }).error.code, 'API_TOO_MANY_JOBS')
      stream = await openSse(`${capped.url}/jobs/${id}`)
      const other = await call(capped.url, 'GET', `/jobs/${id}`, { headers: { accept: 'text/event-stream' } })
      assert.equal(other.status, 429, other.text)
      assert.equal((other.body as { error: { code: string } }).error.code, 'API_TOO_MANY_STREAMS')
    } finally {
      await capped.stop()
    }
    const { messages } = await readSseResponse(stream)
    const end = messages[messages.length - 1]
    assert.equal(end.event, 'end')
    assert.equal((end.data as { state: string }).state, 'cancelled')
  })
})


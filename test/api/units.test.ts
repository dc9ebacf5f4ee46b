import assert from 'node:assert/strict'
import { authorize, checkBindToken, checkHost, checkOrigin, isLoopback, normalizeOrigin, tokensEqual } from '../../src/api/auth.js'
import { createNodeMetrics, registerNodeFamilies, type EpochWatch, type NodeSnapshot } from '../../src/api/metrics.js'
import { ROUTES } from '../../src/api/routes.js'
import { ApiError, s, validate } from '../../src/api/schema.js'
import { openApiDocument, parseListen } from '../../src/api/server.js'
import { parsePrometheus, sampleValue } from './prom.js'

const TOKEN = 'a-long-enough-api-token-0123456789'

function codeOf (fn: () => void): string {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`)
    assert.ok(e.message.length > 10)
    return e.code
  }
  return 'none'
}

describe('api units: authorization, Host and Origin, schemas, metrics, OpenAPI', () => {
  it('tells loopback addresses from the rest', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '[::1]', 'localhost']) assert.equal(isLoopback(a), true, a)
    for (const a of ['0.0.0.0', '::', '192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fd00::2', '128.0.0.1', 'example.org']) assert.equal(isLoopback(a), false, a)
  })

  it('authorizes loopback peers, and others only with the right bearer token', () => {
    assert.deepEqual(authorize('127.0.0.1', undefined, undefined), { ok: true })
    assert.deepEqual(authorize('::1', undefined, TOKEN), { ok: true })
    assert.deepEqual(authorize('192.0.2.2', `Bearer ${TOKEN}`, TOKEN), { ok: true })
    const denied: Array<[string | undefined, string | undefined, string | undefined]> = [
      ['192.0.2.2', undefined, TOKEN],
      ['192.0.2.2', `Bearer ${TOKEN}x`, TOKEN],
      ['192.0.2.2', `Bearer ${TOKEN.slice(0, -1)}`, TOKEN],
      ['192.0.2.2', `Basic ${TOKEN}`, TOKEN],
      ['192.0.2.2', TOKEN, TOKEN],
      ['192.0.2.2', `Bearer ${TOKEN}`, undefined],
      ['127.0.0.1', 'Bearer wrong-token-of-some-length', TOKEN],
      [undefined, undefined, TOKEN]
    ]
    for (const [remote, header, token] of denied) {
      const d = authorize(remote, header, token)
      assert.equal(d.ok, false, `${String(remote)} ${String(header)}`)
      if (!d.ok) {
        assert.equal(d.error.code, 'API_UNAUTHORIZED')
        assert.equal(d.error.status, 401)
        assert.match(d.error.headers['www-authenticate'], /^Bearer/)
      }
    }
    assert.equal(tokensEqual(TOKEN, TOKEN), true)
    assert.equal(tokensEqual(TOKEN, `${TOKEN} `), false)
    assert.equal(tokensEqual('', TOKEN), false)
  })

  it('refuses a non-loopback bind without a token, and short tokens anywhere', () => {
    assert.equal(codeOf(() => { checkBindToken('0.0.0.0', undefined) }), 'API_TOKEN_REQUIRED')
    assert.equal(codeOf(() => { checkBindToken('192.0.2.2', undefined) }), 'API_TOKEN_REQUIRED')
    assert.equal(codeOf(() => { checkBindToken('::', undefined) }), 'API_TOKEN_REQUIRED')
    assert.equal(codeOf(() => { checkBindToken('127.0.0.1', 'short') }), 'API_TOKEN_REQUIRED')
    assert.equal(codeOf(() => { checkBindToken('0.0.0.0', TOKEN) }), 'none')
    assert.equal(codeOf(() => { checkBindToken('127.0.0.1', undefined) }), 'none')
  })

  it('parses listen addresses', () => {
    assert.deepEqual(parseListen('127.0.0.1:7070'), { host: '127.0.0.1', port: 7070 })
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 })
    assert.deepEqual(parseListen('localhost:80'), { host: 'localhost', port: 80 })
    for (const bad of ['7070', '127.0.0.1', '127.0.0.1:70000', ':7070', 'http://127.0.0.1:7070', '127.0.0.1:-1']) {
      assert.equal(codeOf(() => parseListen(bad)), 'API_BAD_LISTEN', bad)
    }
  })

  it('validates against the schema subset with a code per kind of mistake', () => {
    const body = s.obj({ a: s.str({ pattern: '^[0-9]+$' }), b: s.int({ minimum: 1 }), c: s.oneOf(s.str(), s.obj({ x: s.bool() }, ['x'])) }, ['a'])
    assert.equal(codeOf(() => { validate(body, { a: '1', b: 2, c: 'z' }, 'body') }), 'none')
    assert.equal(codeOf(() => { validate(body, { a: '1', c: { x: true } }, 'body') }), 'none')
    assert.equal(codeOf(() => { validate(body, {}, 'body') }), 'API_MISSING_FIELD')
    assert.equal(codeOf(() => { validate(body, { a: '1', z: 1 }, 'body') }), 'API_UNKNOWN_FIELD')
    assert.equal(codeOf(() => { validate(body, JSON.parse('{"a":"1","__proto__":{"b":1}}'), 'body') }), 'API_UNKNOWN_FIELD')
    assert.equal(codeOf(() => { validate(body, { a: 1 }, 'body') }), 'API_BAD_TYPE')
    assert.equal(codeOf(() => { validate(body, [], 'body') }), 'API_BAD_TYPE')
    assert.equal(codeOf(() => { validate(body, { a: 'x' }, 'body') }), 'API_BAD_VALUE')
    assert.equal(codeOf(() => { validate(body, { a: '1', b: 0 }, 'body') }), 'API_BAD_VALUE')
    assert.equal(codeOf(() => { validate(body, { a: '1', b: 1.5 }, 'body') }), 'API_BAD_TYPE')
    assert.equal(codeOf(() => { validate(body, { a: '1', c: { x: 1 } }, 'body') }), 'API_BAD_TYPE')
    assert.equal(codeOf(() => { validate(body, { a: '1', c: 5 }, 'body') }), 'API_BAD_TYPE')
  })

  it('accepts only Host headers that name the API (DNS rebinding), per bind address', () => {
    const loop = { host: '127.0.0.1', port: 7070 }
    for (const h of ['127.0.0.1:7070', 'localhost:7070', 'LOCALHOST:7070', '[::1]:7070']) assert.equal(checkHost(h, loop), undefined, h)
    for (const h of [undefined, '', 'rebind.attacker.example:7070', 'localhost.attacker.example:7070', '127.0.0.1:7071', '127.0.0.1', '192.0.2.2:7070', '127.0.0.1:7070@x', 'a b']) {
      const e = checkHost(h, loop)
      assert.ok(e instanceof ApiError && e.code === 'API_BAD_HOST' && e.status === 403, String(h))
      assert.match(e.message, /http:\/\/127\.0\.0\.1:7070/)
    }
    assert.equal(checkHost('proxy.example:7070', loop, ['proxy.example']), undefined)
    const v6 = { host: '::1', port: 80 }
    assert.equal(checkHost('[::1]', v6), undefined)
    assert.equal(checkHost('localhost', v6), undefined)
    const ext = { host: '192.0.2.2', port: 7070 }
    assert.equal(checkHost('192.0.2.2:7070', ext), undefined)
    assert.equal(checkHost('localhost:7070', ext)?.code, 'API_BAD_HOST')
    const any = { host: '0.0.0.0', port: 7070 }
    for (const h of ['192.0.2.9:7070', '[fd00::1]:7070', 'localhost:7070']) assert.equal(checkHost(h, any), undefined, h)
    assert.equal(checkHost('evil.example:7070', any)?.code, 'API_BAD_HOST')
  })

  it('refuses browser requests of other origins unless allowed, and answers allowed ones with CORS headers', () => {
    assert.deepEqual(checkOrigin(undefined, '127.0.0.1:7070', []), { ok: true, cors: {} })
    assert.deepEqual(checkOrigin('http://127.0.0.1:7070', '127.0.0.1:7070', []), { ok: true, cors: {} })
    for (const o of ['http://evil.example', 'null', 'http://localhost:7070', 'https://127.0.0.1:7070']) {
      const d = checkOrigin(o, '127.0.0.1:7070', [])
      assert.equal(d.ok, false, o)
      if (!d.ok) { assert.equal(d.error.code, 'API_BAD_ORIGIN'); assert.equal(d.error.status, 403); assert.match(d.error.message, /--api-allow-origin/) }
    }
    const allowed = [normalizeOrigin('http://Console.Example:3000/')]
    assert.deepEqual(allowed, ['http://console.example:3000'])
    assert.deepEqual(checkOrigin('http://console.example:3000', '127.0.0.1:7070', allowed), { ok: true, cors: { 'access-control-allow-origin': 'http://console.example:3000', vary: 'Origin' } })
    for (const bad of ['*', 'console.example', 'http://x/y', 'ftp://x']) assert.equal(codeOf(() => normalizeOrigin(bad)), 'API_BAD_ORIGIN', bad)
  })

  it('exposes the node families and gossipsub\'s metrics through prom-client, in a format a Prometheus parser reads', async () => {
    const m = createNodeMetrics()
    const g = m.gossipsub.gauge<{ topic: string }>({ name: 'gossipsub_mesh_peers', help: 'mesh peers\nper topic', labelNames: ['topic'] })
    g.addCollect(() => { g.set({ topic: 'q"uote\\back\nnl' }, 3) })
    m.gossipsub.histogram({ name: 'gossipsub_heartbeat_seconds', help: 'heartbeat', buckets: [0.1, 1] }).observe(0.5)
    m.gossipsub.avgMinMax({ name: 'gossipsub_score', help: 'scores' }).set([1, 2, 6])
    const snapshot: NodeSnapshot = {
      peers: 2, offers: { job: 1, resource: 3 }, currentEpoch: 10n, headEpoch: undefined, participating: true,
      deals: [{ role: 'creator', state: 'completed', count: 2 }], jobs: { running: 0, paid: 1 }, gas: { gas: 123_456n, txs: 2 },
      gossip: [{ topic: 'offers', action: 'accept', code: 'ok', count: 5 }], gossipBytes: { in: 10, out: 20 },
      chain: { reachable: false, headBlock: null }, sseClients: 0
    }
    const epochs = { lastOffers: 4, epochsMatched: 7, offersTotal: 9, matchesTotal: 1, convergence: { agree: 2, disagree: 0, alone: 1 }, lastMajorityShare: undefined, lastInMajority: undefined, resyncs: new Map([['snapshot', 1]]) } as unknown as EpochWatch
    let reads = 0
    const unregister = registerNodeFamilies(m.registry, async () => { reads++; return snapshot }, epochs)
    const fams = parsePrometheus(await m.registry.metrics())
    assert.equal(reads, 1, 'one snapshot per scrape')
    assert.equal(sampleValue(fams, 'gossipsub_mesh_peers', { topic: 'q"uote\\back\nnl' }), 3)
    assert.equal(fams.get('gossipsub_mesh_peers')?.help, 'mesh peers\nper topic')
    assert.equal(sampleValue(fams, 'gossipsub_score_max'), 6)
    assert.equal(sampleValue(fams, 'gossipsub_score_avg'), 3)
    assert.equal(fams.get('gossipsub_heartbeat_seconds')?.type, 'HISTOGRAM')
    assert.equal(sampleValue(fams, 'lilynode_offers', { kind: 'resource' }), 3)
    assert.equal(sampleValue(fams, 'lilynode_epoch_head'), -1)
    assert.equal(sampleValue(fams, 'lilynode_gas_used_total'), 123_456)
    assert.equal(fams.get('lilynode_gas_used_total')?.type, 'COUNTER')
    assert.equal(sampleValue(fams, 'lilynode_resyncs_total', { how: 'snapshot' }), 1)
    assert.equal(sampleValue(fams, 'lilynode_deals', { role: 'creator', state: 'completed' }), 2)
    assert.ok(Number.isNaN(sampleValue(fams, 'lilynode_chain_head_block')), 'an unknown head block is NaN, not 0')
    // a second scrape reads the node again
    parsePrometheus(await m.registry.metrics())
    assert.equal(reads, 2)
    unregister()
    assert.equal(parsePrometheus(await m.registry.metrics()).has('lilynode_peers'), false, 'a stopped API leaves the registry to the node')
    assert.throws(() => parsePrometheus('x{a=b} 1\n'), /invalid line/i)
    assert.throws(() => parsePrometheus('x{a="b} 1\n'), /not a number/)
  })

  it('generates an OpenAPI 3.1 document with every route of the table', async () => {
    const doc = await openApiDocument() as unknown as { openapi: string, paths: Record<string, Record<string, { operationId: string, parameters: Array<{ name: string, in: string }>, responses: Record<string, unknown> }>> }
    assert.equal(doc.openapi, '3.1.0')
    const ids = new Set<string>()
    for (const r of ROUTES) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()]
      assert.ok(op !== undefined, `${r.method} ${r.path} missing`)
      assert.ok(!ids.has(op.operationId))
      ids.add(op.operationId)
      for (const [, name] of r.path.matchAll(/\{([a-zA-Z]+)\}/g)) assert.ok(op.parameters.some((p) => p.in === 'path' && p.name === name), `${r.path}: path parameter ${name} undeclared`)
      for (const status of Object.keys(op.responses)) assert.match(status, /^[1-5][0-9][0-9]$/)
    }
    for (const p of ['/jobs', '/jobs/{id}', '/offers', '/deals', '/peers', '/health', '/metrics', '/openapi.json']) assert.ok(p in doc.paths, p)
  })
})

import assert from 'node:assert/strict'
import { authorize, checkBindToken, isLoopback, tokensEqual } from '../../src/api/auth.js'
import { Exposition } from '../../src/api/metrics.js'
import { buildOpenApi } from '../../src/api/openapi.js'
import { ERROR_SCHEMA, ROUTES } from '../../src/api/routes.js'
import { ApiError, s, validate } from '../../src/api/schema.js'
import { parseListen } from '../../src/api/server.js'
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

describe('api units: authorization, schemas, exposition, OpenAPI', () => {
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

  it('writes an exposition that parses as Prometheus text, escaping label values', () => {
    const text = new Exposition()
      .family('x_total', 'counter', 'a counter\nwith a newline', [{ value: 3n }])
      .family('y', 'gauge', 'a gauge', [{ labels: { a: 'q"uote', b: 'back\\slash\nnl' }, value: 1.5 }, { labels: { a: 'z' }, value: NaN }])
      .family('empty', 'gauge', 'no samples', [])
      .text()
    const fams = parsePrometheus(text)
    assert.equal(sampleValue(fams, 'x_total'), 3)
    assert.equal(sampleValue(fams, 'y', { a: 'q"uote' }), 1.5)
    assert.equal(fams.get('y')?.samples[0].labels.b, 'back\\slash\nnl')
    assert.equal(fams.get('empty')?.type, 'gauge')
    assert.throws(() => new Exposition().family('bad name', 'gauge', 'x', []))
    assert.throws(() => parsePrometheus('x 1\n'), /outside its family/)
    assert.throws(() => parsePrometheus('# TYPE x gauge\nx{a="b} 1\n'), /bad labels/)
  })

  it('generates an OpenAPI 3.1 document with every route of the table', () => {
    const doc = buildOpenApi(ROUTES, { version: '1', url: 'http://127.0.0.1:1', errorSchema: ERROR_SCHEMA }) as { openapi: string, paths: Record<string, Record<string, { operationId: string, parameters: Array<{ name: string, in: string }>, responses: Record<string, unknown> }>> }
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

import assert from 'node:assert/strict'
import { ProtocolError } from '../../src/protocol/errors.js'
import { moduleHash, parseModuleSpec, serializeModuleSpec, verificationOf } from '../../src/protocol/module.js'

const base = { name: 'demo', version: 'v1', image: 'lilynode/demo:v1', cmd: [] }

function refused (v: unknown, re: RegExp): void {
  assert.throws(() => parseModuleSpec({ ...base, verification: v }), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_BAD_MODULE' && re.test(e.message))
}

describe('protocol: module verification and timeout', () => {
  it('defaults to exact, and an explicit exact hashes as no field at all (old specs keep their hash)', () => {
    assert.deepEqual(verificationOf(parseModuleSpec(base)), { kind: 'exact' })
    const explicit = parseModuleSpec({ ...base, verification: { kind: 'exact' } })
    assert.equal(explicit.verification, undefined)
    assert.equal(moduleHash(explicit), moduleHash(parseModuleSpec(base)))
  })

  it('parses a verifier (default timeout) and none; each changes the module hash', () => {
    const v = parseModuleSpec({ ...base, verification: { kind: 'verifier', cmd: ['python3', '/app/verify.py', '--tol', '0.005'] } })
    assert.deepEqual(v.verification, { kind: 'verifier', cmd: ['python3', '/app/verify.py', '--tol', '0.005'], timeoutS: 120 })
    const n = parseModuleSpec({ ...base, verification: { kind: 'none' } })
    assert.deepEqual(verificationOf(n), { kind: 'none' })
    const hashes = new Set([moduleHash(parseModuleSpec(base)), moduleHash(v), moduleHash(n)])
    assert.equal(hashes.size, 3)
    assert.deepEqual(parseModuleSpec(JSON.parse(serializeModuleSpec(v))), v, 'round-trips through the canonical JSON')
  })

  it('refuses malformed verification', () => {
    refused('exact', /must be an object/)
    refused({ kind: 'majority' }, /kind must be exact, verifier or none/)
    refused({ kind: 'verifier' }, /needs "cmd"/)
    refused({ kind: 'verifier', cmd: [] }, /1\.\.16 elements/)
    refused({ kind: 'verifier', cmd: ['x'], timeoutS: 0 }, /timeoutS must be in/)
    refused({ kind: 'verifier', cmd: ['x'], timeoutS: 99999 }, /timeoutS must be in/)
    refused({ kind: 'none', cmd: ['x'] }, /unknown field "cmd"/)
    refused({ kind: 'verifier', cmd: ['a\u0000'] }, /NUL/)
  })

  it('takes a default job timeout', () => {
    assert.equal(parseModuleSpec({ ...base, timeoutS: 300 }).timeoutS, 300)
    assert.throws(() => parseModuleSpec({ ...base, timeoutS: 0 }), ProtocolError)
    assert.throws(() => parseModuleSpec({ ...base, timeoutS: 1.5 }), ProtocolError)
  })
})

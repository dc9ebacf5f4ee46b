import assert from 'node:assert/strict'
import { join } from 'node:path'
import fc from 'fast-check'
import { loadExampleModules } from '../../src/executor/index.js'
import {
  canonicalJson, compilePattern, decodeInputs, encodeInputs, inputsHash, matchPattern, moduleHash, parseImageRef,
  parseModuleSpec, renderCommand, resolveInputs, serializeModuleSpec, type JobInputs
} from '../../src/protocol/module.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { REPO_ROOT } from './helpers.js'

const base = {
  name: 'demo',
  version: 'v1.0.0',
  image: 'lilynode/demo:v1',
  cmd: ['--msg', '{{msg}}', 'n={{n}}', '{{data}}', '{{flag}}'],
  inputs: {
    msg: { type: 'string', default: 'hi', pattern: '^[a-z ]{1,20}$' },
    n: { type: 'int', default: 3, min: 0, max: 10 },
    data: { type: 'file', maxBytes: 16 },
    flag: { type: 'bool', default: false }
  }
}

function code (fn: () => unknown): string {
  try { fn() } catch (e) {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${String(e)}`)
    return e.code
  }
  assert.fail('did not throw')
}

describe('protocol/module: module specs', () => {
  it('parses and normalizes a spec (defaults filled in)', () => {
    const s = parseModuleSpec(JSON.stringify(base))
    assert.deepEqual(s.resources, { cpu: 1000, ram: 256, gpus: 0, gpuVram: 0, disk: 0 })
    assert.equal(s.outputPath, '/outputs')
    assert.equal(s.inputPath, '/inputs')
    assert.equal(s.network, false)
    assert.deepEqual(s.env, {})
    assert.equal(s.inputs.msg.type === 'string' && s.inputs.msg.maxBytes, 4096)
  })

  it('hashes the normalized canonical JSON: key order and explicit defaults do not matter', () => {
    const a = parseModuleSpec(base)
    const reordered = JSON.parse(JSON.stringify({ inputs: base.inputs, cmd: base.cmd, image: base.image, version: base.version, name: base.name, network: false, outputPath: '/outputs' })) as unknown
    const b = parseModuleSpec(reordered)
    assert.equal(moduleHash(a), moduleHash(b))
    assert.match(moduleHash(a), /^0x[0-9a-f]{64}$/)
    assert.notEqual(moduleHash(a), moduleHash(parseModuleSpec({ ...base, version: 'v1.0.1' })))
    assert.deepEqual(parseModuleSpec(serializeModuleSpec(a)), a)
    assert.equal(canonicalJson({ b: 1, a: [true, 'x'] }), '{"a":[true,"x"],"b":1}')
  })

  it('refuses unknown fields, bad formats and out-of-bound values with a clear message', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ ...base, extra: 1 }, /unknown field "extra"/],
      [{ ...base, name: 'Bad Name' }, /name/],
      [{ ...base, image: 'lilynode/demo' }, /needs a tag or a digest/],
      [{ ...base, image: 'Lilynode/demo:v1' }, /not a valid reference/],
      [{ ...base, image: 'x:v1@sha256:1234' }, /not a valid reference/],
      [{ ...base, outputPath: '/' }, /outputPath/],
      [{ ...base, outputPath: '/out/../etc' }, /outputPath/],
      [{ ...base, outputPath: 'relative' }, /outputPath/],
      [{ ...base, outputPath: '/proc/x' }, /reserved \/proc/],
      [{ ...base, inputPath: '/data', outputPath: '/data/out' }, /must not overlap/],
      [{ ...base, cmd: ['{{nope}}'] }, /not a declared input/],
      [{ ...base, cmd: ['{{msg'] }, /unbalanced/],
      [{ ...base, cmd: 'echo hi' }, /cmd must be an array/],
      [{ ...base, resources: { cpu: 0 } }, /resources.cpu must be in/],
      [{ ...base, resources: { ram: 1 } }, /resources.ram/],
      [{ ...base, resources: { gpuVram: 10 } }, /gpuVram must be 0/],
      [{ ...base, network: 'yes' }, /network must be a boolean/],
      [{ ...base, inputs: { 'bad-name': { type: 'int' } } }, /input name/],
      [{ ...base, inputs: { x: { type: 'float' } } }, /type must be one of/],
      [{ ...base, inputs: { x: { type: 'string', pattern: '(a|b)' } } }, /pattern/],
      [{ ...base, inputs: { x: { type: 'string', default: 'B', pattern: '^[a-z]$' } } }, /does not match/],
      [{ ...base, inputs: { x: { type: 'int', min: 5, max: 1 } } }, /max must be in/],
      [{ ...base, inputs: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`i${i}`, { type: 'int' }])) }, /at most 32 inputs/],
      [{ ...base, env: { 'BAD-KEY': 'x' } }, /env name/],
      [{ ...base, cmd: Array.from({ length: 65 }, () => 'x') }, /cmd must have/]
    ]
    for (const [spec, re] of bad) {
      assert.throws(() => parseModuleSpec(spec), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_BAD_MODULE' && re.test(e.message), `${JSON.stringify(spec).slice(0, 120)} → ${re}`)
    }
    assert.equal(code(() => parseModuleSpec('{not json')), 'PROTOCOL_MALFORMED')
    assert.equal(code(() => parseModuleSpec('x'.repeat(70_000))), 'PROTOCOL_TOO_LARGE')
  })

  it('never echoes the bytes of a file that is not a module (a caller may name /proc/self/environ)', () => {
    for (const text of ['SECRET_TOKEN=hunter2\nHOME=/root', '{"name": "x", SECRET_TOKEN=hunter2', '\u0000\u0001SECRET_TOKEN']) {
      assert.throws(() => parseModuleSpec(text), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_MALFORMED' &&
        !/SECRET|hunter2|HOME/.test(e.message) && e.cause === undefined && /module's JSON file/.test(e.message))
    }
  })

  it('parses image references', () => {
    assert.deepEqual(parseImageRef('ghcr.io/org/img:1.2'), { repository: 'ghcr.io/org/img', tag: '1.2' })
    assert.deepEqual(parseImageRef(`localhost:5000/x@sha256:${'a'.repeat(64)}`), { repository: 'localhost:5000/x', digest: `sha256:${'a'.repeat(64)}` })
    assert.equal(code(() => parseImageRef('x:tag;rm')), 'PROTOCOL_BAD_MODULE')
  })

  it('every example module parses', async () => {
    const mods = await loadExampleModules(join(REPO_ROOT, 'modules'))
    assert.deepEqual([...mods.keys()], ['cowsay', 'etl', 'infer', 'linfit', 'probe', 'train'])
    assert.equal(mods.get('cowsay')?.version, 'v0.0.4')
    assert.equal(mods.get('cowsay')?.image, 'lilynode/cowsay:v0.0.4')
  })
})

describe('protocol/module: inputs', () => {
  const spec = parseModuleSpec(base)

  it('renders argv elements without any shell: hostile strings stay one element', () => {
    const s = parseModuleSpec({ ...base, inputs: { ...base.inputs, msg: { type: 'string' } } })
    const r = renderCommand(s, { msg: '"; rm -rf / #$(id)', data: new Uint8Array([1]) })
    assert.deepEqual(r.cmd, ['--msg', '"; rm -rf / #$(id)', 'n=3', '/inputs/data', 'false'])
    assert.deepEqual(r.files, [{ name: 'data', containerPath: '/inputs/data', bytes: new Uint8Array([1]) }])
    // a value that looks like a placeholder is not expanded again
    assert.deepEqual(renderCommand(s, { msg: '{{n}}', data: new Uint8Array(0) }).cmd[1], '{{n}}')
  })

  it('checks types, bounds, patterns and required inputs', () => {
    const data = new Uint8Array(4)
    assert.equal(code(() => resolveInputs(spec, { data, other: 1 })), 'PROTOCOL_UNKNOWN_FIELD')
    assert.equal(code(() => resolveInputs(spec, {})), 'PROTOCOL_MISSING_FIELD')
    assert.equal(code(() => resolveInputs(spec, { data, n: '3' })), 'PROTOCOL_BAD_TYPE')
    assert.equal(code(() => resolveInputs(spec, { data, n: 1.5 })), 'PROTOCOL_BAD_TYPE')
    assert.equal(code(() => resolveInputs(spec, { data, n: 11 })), 'PROTOCOL_OUT_OF_BOUNDS')
    assert.equal(code(() => resolveInputs(spec, { data, msg: 'UPPER' })), 'PROTOCOL_OUT_OF_BOUNDS')
    assert.equal(code(() => resolveInputs(spec, { data: new Uint8Array(17) })), 'PROTOCOL_OUT_OF_BOUNDS')
    assert.equal(code(() => resolveInputs(spec, { data: 'text' })), 'PROTOCOL_BAD_TYPE')
    assert.deepEqual(resolveInputs(spec, { data }), { data, flag: false, msg: 'hi', n: 3 })
  })

  it('patterns: a linear-time subset that agrees with RegExp', () => {
    const cases: Array<[string, string, boolean]> = [
      ['^[a-z]{2,3}$', 'ab', true], ['^[a-z]{2,3}$', 'abcd', false], ['\\d+\\.\\d{2}', '12.50', true],
      ['a?b*c+', 'c', true], ['a?b*c+', 'abbb', false], ['[^0-9]*', 'abc', true], ['[^0-9]*', 'a1', false],
      ['x.z', 'x\nz', true], ['\\w\\s\\W', 'a !', true], ['[a\\-z]', '-', true], ['', '', true], ['', 'a', false]
    ]
    for (const [p, v, want] of cases) assert.equal(matchPattern(compilePattern(p), v), want, `${p} ~ ${JSON.stringify(v)}`)
    // the classic catastrophic-backtracking shape finishes at once
    const t0 = Date.now()
    assert.equal(matchPattern(compilePattern('a*a*a*a*a*a*a*a*a*a*b'), 'a'.repeat(5000)), false)
    assert.ok(Date.now() - t0 < 2000)
    fc.assert(fc.property(fc.stringMatching(/^[ab]{0,12}$/), fc.constantFrom('^a*b+a?$', '^[ab]{2,5}$', '^a{3}b*$', '^.b.$'), (v, p) =>
      matchPattern(compilePattern(p), v) === new RegExp(p).test(v)))
  })

  it('encodes inputs canonically: order-free, strict decoding, hash', () => {
    const a: JobInputs = { n: -5, msg: 'héllo', flag: true, data: new Uint8Array([0, 255]) }
    const b: JobInputs = { data: new Uint8Array([0, 255]), flag: true, msg: 'héllo', n: -5 }
    assert.deepEqual(encodeInputs(a), encodeInputs(b))
    assert.equal(inputsHash(a), inputsHash(b))
    assert.deepEqual(decodeInputs(encodeInputs(a)), a)
    assert.notEqual(inputsHash({ n: 5 }), inputsHash({ n: '5' }))
    const enc = encodeInputs(a)
    assert.equal(code(() => decodeInputs(enc.subarray(0, enc.length - 1))), 'PROTOCOL_MALFORMED')
    assert.equal(code(() => decodeInputs(new Uint8Array([...enc, 0]))), 'PROTOCOL_MALFORMED')
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try { decodeInputs(bytes); return true } catch (e) { return e instanceof ProtocolError }
    }))
  })
})

import assert from 'node:assert/strict'
import { fromJson, JsonBigIntError, MAX_BIGINT_DIGITS, toJson } from '../../src/protocol/json.js'

describe('protocol: the bounded bigint-JSON codec', function () {
  it('round-trips bigints up to uint256 and negative values exactly', () => {
    const v = { a: (1n << 256n) - 1n, b: -5n, c: 0n, nested: [{ d: 10n ** 77n }], s: 'x' }
    assert.deepEqual(fromJson(toJson(v)), v)
  })

  it('refuses hex, leading zeros, signs other than -, and other keys beside $n', () => {
    for (const bad of ['"0x10"', '"010"', '"+1"', '" 1"', '"1e3"', '""', '"-"', '12', 'null']) {
      assert.throws(() => fromJson(`{"v":{"$n":${bad}}}`), JsonBigIntError, bad)
    }
    assert.throws(() => fromJson('{"$n":"1","x":2}'), JsonBigIntError)
  })

  it(`refuses more than ${MAX_BIGINT_DIGITS} digits without parsing them (a million-digit frame costs a regex, not BigInt())`, () => {
    assert.equal(fromJson<bigint>(`{"$n":"${'9'.repeat(MAX_BIGINT_DIGITS)}"}`), BigInt('9'.repeat(MAX_BIGINT_DIGITS)))
    assert.throws(() => fromJson(`{"$n":"${'9'.repeat(MAX_BIGINT_DIGITS + 1)}"}`), JsonBigIntError)
    const huge = `{"$n":"${'7'.repeat(1_000_000)}"}`
    assert.throws(() => fromJson(huge), (e: unknown) => e instanceof JsonBigIntError && e.message.length < 300)
  })
})

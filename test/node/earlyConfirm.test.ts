/**
 * The early-confirmation rule: a node may confirm its root before the timed vote only when no
 * outcome of that vote could differ.
 */
import assert from 'node:assert/strict'
import { heartbeatsConfirmEarly, type EarlyConfirmInput } from '../../src/node/earlyConfirm.js'
import type { Hash } from '../../src/protocol/types.js'

const R = ('0x' + 'aa'.repeat(32)) as Hash
const OTHER = ('0x' + 'bb'.repeat(32)) as Hash
const addr = (n: number): string => '0x' + n.toString(16).padStart(40, '0')
const ME = addr(1)

function input (over: Partial<EarlyConfirmInput> = {}): EarlyConfirmInput {
  return { me: ME, mine: R, seen: [[addr(2), R], [addr(3), R]], previous: [], counterparties: [], ...over }
}

describe('node: early confirmation rule', () => {
  it('confirms when two peers report our root and nobody else is expected', () => {
    assert.equal(heartbeatsConfirmEarly(input()), true)
  })

  it('needs at least two agreeing peers (our own heartbeat does not count twice)', () => {
    assert.equal(heartbeatsConfirmEarly(input({ seen: [[addr(2), R]] })), false)
    assert.equal(heartbeatsConfirmEarly(input({ seen: [[ME, R], [addr(2), R]] })), false)
    assert.equal(heartbeatsConfirmEarly(input({ seen: [] })), false)
  })

  it('any heartbeat with another root sends the epoch to the timed vote', () => {
    assert.equal(heartbeatsConfirmEarly(input({ seen: [[addr(2), R], [addr(3), R], [addr(4), R], [addr(5), OTHER]] })), false)
  })

  it('our own heartbeat is not a dissent, whatever it carries', () => {
    assert.equal(heartbeatsConfirmEarly(input({ seen: [[ME, OTHER], [addr(2), R], [addr(3), R]] })), true)
  })

  it('the agreeing must outnumber the nodes of the previous epoch still silent', () => {
    // 3 agree (us + 2); previous epoch had 2, 3 and three others now silent: 3 missing → no
    const previous = [addr(2), addr(3), addr(6), addr(7), addr(8)]
    assert.equal(heartbeatsConfirmEarly(input({ previous })), false)
    // two silent: 3 > 2 → yes
    assert.equal(heartbeatsConfirmEarly(input({ previous: previous.slice(0, 4) })), true)
    // we ourselves are never counted as missing
    assert.equal(heartbeatsConfirmEarly(input({ previous: [ME, addr(6), addr(7)] })), true)
  })

  it('every counterparty of our matches must have reported our root', () => {
    assert.equal(heartbeatsConfirmEarly(input({ counterparties: [addr(2)] })), true)
    assert.equal(heartbeatsConfirmEarly(input({ counterparties: [addr(9)] })), false, 'a silent counterparty')
  })

  it('compares addresses in any case', () => {
    const upper = (a: string): string => '0x' + a.slice(2).toUpperCase()
    assert.equal(heartbeatsConfirmEarly(input({ me: upper(ME), seen: [[upper(ME), OTHER], [upper(addr(2)), R], [addr(3), R]], counterparties: [upper(addr(3))], previous: [upper(addr(2))] })), true)
  })
})

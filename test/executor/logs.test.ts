import assert from 'node:assert/strict'
import { LogCollector } from '../../src/executor/logs.js'

function frame (stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text)
  const h = Buffer.alloc(8)
  h[0] = stream
  h.writeUInt32BE(body.length, 4)
  return Buffer.concat([h, body])
}

describe('executor: log demultiplexing', () => {
  it('splits stdout and stderr, whatever the chunk boundaries', () => {
    const all = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'out two\n')])
    for (let cut = 0; cut <= all.length; cut++) {
      const c = new LogCollector(1024)
      c.push(all.subarray(0, cut))
      c.push(all.subarray(cut))
      assert.equal(Buffer.from(c.stdout()).toString(), 'out one\nout two\n')
      assert.equal(Buffer.from(c.stderr()).toString(), 'err\n')
    }
  })

  it('keeps the first cap bytes and names the stream that went over', () => {
    const over: string[] = []
    const c = new LogCollector(5, (s) => over.push(s))
    c.push(frame(2, 'abc'))
    c.push(frame(2, 'defg'))
    c.push(frame(1, 'xyz'))
    assert.equal(Buffer.from(c.stderr()).toString(), 'abcde')
    assert.equal(Buffer.from(c.stdout()).toString(), 'xyz')
    assert.deepEqual(over, ['stderr'])
    assert.equal(c.over, 'stderr')
  })
})

import assert from 'node:assert/strict'
import { pause, sleep, withTimeout } from '../../src/protocol/async.js'

class Boom extends Error {}

describe('protocol/async: one sleep, one withTimeout', () => {
  it('sleep resolves after the time, rejects with the reason on abort (also when already aborted)', async () => {
    const t0 = Date.now()
    await sleep(20)
    assert.ok(Date.now() - t0 >= 15)
    const ac = new AbortController()
    const p = sleep(10_000, ac.signal)
    ac.abort(new Boom('stop'))
    await assert.rejects(p, Boom)
    await assert.rejects(sleep(1, ac.signal), Boom)
    await assert.rejects(sleep(1, AbortSignal.abort()), Error)
    // pause never rejects
    await pause(10_000, ac.signal)
  })

  it('withTimeout gives the result when the work finishes in time', async () => {
    assert.equal(await withTimeout(async () => 7, 1000), 7)
    await assert.rejects(withTimeout(async () => { throw new Boom('x') }, 1000), Boom)
  })

  it('on timeout rejects promptly even if the work ignores its signal, and aborts the work', async () => {
    let seen: AbortSignal | undefined
    let finished = false
    const t0 = Date.now()
    await assert.rejects(withTimeout(async (signal) => {
      seen = signal
      await new Promise((resolve) => setTimeout(resolve, 2000))
      finished = true
    }, 50, { what: 'the test work', timeoutError: (message) => new Boom(message) }), (e: unknown) => e instanceof Boom && e.message === 'the test work timed out after 50 ms')
    assert.ok(Date.now() - t0 < 1500, 'did not wait for the losing work')
    assert.equal(seen?.aborted, true, 'the losing work was told to stop')
    assert.equal(finished, false)
  })

  it('on the caller\'s abort rejects with its reason and aborts the work', async () => {
    const ac = new AbortController()
    let seen: AbortSignal | undefined
    const p = withTimeout(async (signal) => {
      seen = signal
      await new Promise(() => {})
    }, 60_000, { signal: ac.signal })
    setTimeout(() => ac.abort(new Boom('caller')), 10)
    await assert.rejects(p, (e: unknown) => e instanceof Boom && e.message === 'caller')
    assert.equal(seen?.aborted, true)
    await assert.rejects(withTimeout(async () => 1, 1000, { signal: ac.signal }), Boom)
  })
})

/**
 * A creator stopped mid-job loses nothing: `lilynode run` is SIGKILLed while the provider runs
 * the job; `lilynode resume` on the same data dir picks the deal up from its stored state,
 * gets and checks the result, writes the outputs where the run asked, accepts it, and the
 * provider is paid by `complete` (not by a claim after the challenge window).
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, closedBy, requireDocker, runFailure, startNet, stopNet, type TestNet } from './helpers.js'

describe('e2e (resume): a creator stopped mid-job settles its deal with lilynode resume', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    // a long challenge window: a claim would only come after it, so a DealCompleted is the resume's doing
    t = await startNet({ providers: 1, mediators: 0, creators: 1, challengeWindowS: 120 })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('resume accepts the result of the killed run, writes its outputs, and the provider is paid by complete', async () => {
    const net = (t as TestNet).net
    const out = join((t as TestNet).dir, 'resume-out')
    const job = net.run('creator-1', 'probe:v1.0.0', ['action=slowecho', 'n=3', 'arg=picked up again'], ['--timeout', '90', '--out', out])
    const running = await job.waitFor((e) => e.stage === 'running', 120_000, 'running')
    const dealId = running.dealId as Hash
    await job.stop('SIGKILL')

    const resume = net.spawn('creator-1', ['resume', '--listen', '/ip4/127.0.0.1/tcp/0'])
    const listed = await resume.waitFor((e) => Array.isArray(e.resuming), 60_000, 'the list of unfinished deals')
    assert.deepEqual((listed.resuming as Array<{ dealId: string }>).map((d) => d.dealId), [dealId])
    await resume.waitFor((e) => e.stage === 'paid' && e.dealId === dealId, 150_000, 'paid').catch((e: unknown) => {
      throw new Error(runFailure(String(e), resume))
    })
    assert.equal(await resume.done, 0, runFailure('resume exit code', resume))
    assert.ok(resume.events.some((e) => e.stage === 'accepted' && e.dealId === dealId), 'the resumed creator accepted the result')
    assert.match(await readFile(join(out, 'outputs', 'sub', 'echo.txt'), 'utf8'), /picked up again/)
    assert.equal(await closedBy(net, dealId), 'DealCompleted')
    await assertConserved(net)

    // nothing is left to resume
    const again = net.spawn('creator-1', ['resume', '--listen', '/ip4/127.0.0.1/tcp/0'])
    const none = await again.waitFor((e) => Array.isArray(e.resuming), 60_000, 'the list of unfinished deals')
    assert.deepEqual(none.resuming, [])
    assert.equal(await again.done, 0)
  })

  it('a long-running creator node started on the data dir resumes the deal by itself', async () => {
    const net = (t as TestNet).net
    const job = net.run('creator-1', 'probe:v1.0.0', ['action=slowecho', 'n=3', 'arg=node resumes'], ['--timeout', '90'])
    const running = await job.waitFor((e) => e.stage === 'running', 120_000, 'running')
    const dealId = running.dealId as Hash
    await job.stop('SIGKILL')

    const node = net.spawn('creator-1', ['creator', '--listen', '/ip4/127.0.0.1/tcp/0'])
    try {
      await node.waitFor((e) => e.event === 'resuming' && e.dealId === dealId, 60_000, 'resuming')
      const done = await node.waitFor((e) => e.event === 'resumed' && e.dealId === dealId, 150_000, 'resumed').catch((e: unknown) => {
        throw new Error(runFailure(String(e), node))
      })
      assert.equal(done.state, 'completed')
      assert.ok(node.events.some((e) => e.event === 'deal' && e.stage === 'accepted' && e.dealId === dealId))
    } finally {
      await node.stop()
    }
    assert.equal(await closedBy(net, dealId), 'DealCompleted')
    await assertConserved(net)
  })
})

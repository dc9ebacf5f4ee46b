/**
 * Jobs a user can follow, debug and fetch later, through real processes (anvil, a bootstrap
 * node, a provider, `lilynode run`, Docker): a job that exits 3 is an answer, not a fraud (the
 * result is accepted, the provider paid, exit 6 as documented, --out holds its stderr); every
 * run leaves a record that `lilynode jobs|describe|get` read back; a job whose image is missing
 * on the provider fails fast with the provider's signed EXECUTOR_IMAGE_MISSING as the reason,
 * while its deal is still open, and `lilynode resume` later takes the timeout refund (exit 7).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { LILYNODE_BIN } from '../../src/devnet/devnet.js'
import { outcomeSigner, type SignedOutcome } from '../../src/p2p/reqresp/outcome.js'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, closedBy, eventOf, requireDocker, runFailure, startNet, stopNet, txsOf, type TestNet } from './helpers.js'

const exec = promisify(execFile)

describe('e2e (jobs): records, failures as answers, typed failure reasons', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  const dataDir = (): string => {
    const p = (t as TestNet).net.parties.get('creator-1')
    if (p === undefined) throw new Error('no creator-1')
    return p.dataDir
  }
  /** `lilynode <args> --data-dir <creator-1's>`: its exit code and output. */
  const cli = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => {
    try {
      const r = await exec(process.execPath, [LILYNODE_BIN, ...args, '--data-dir', dataDir()], { timeout: 60_000 })
      return { code: 0, stdout: r.stdout, stderr: r.stderr }
    } catch (e) {
      const x = e as { code?: number, stdout?: string, stderr?: string }
      return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' }
    }
  }

  it('a job that exits 3: accepted as the answer (no challenge), provider paid, exit 6, --out holds its stderr; jobs, describe and get read it back', async () => {
    const net = (t as TestNet).net
    const out = join((t as TestNet).dir, 'out-fail')
    const job = net.run('creator-1', 'probe:v1.0.0', ['action=fail', 'n=3'], ['--out', out])
    assert.equal(await job.done, 6, runFailure('expected exit 6 (the job exited non-zero, result accepted)', job))
    const offered = eventOf(job.events, 'offered') as Record<string, unknown>
    const jobId = String(offered.jobId)
    assert.match(jobId, /^job-[0-9a-f]{16}$/)
    const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
    assert.equal(await closedBy(net, dealId), 'DealCompleted', 'paid by complete: the result was accepted')
    assert.equal((await txsOf(net, dealId, 'DealChallenged')).length, 0, 'never challenged')
    assert.ok(!job.events.some((e) => e.stage === 'challenging' || e.stage === 'challenged'))
    assert.equal(await readFile(join(out, 'exitCode'), 'utf8'), '3\n')
    assert.match(await readFile(join(out, 'stderr'), 'utf8'), /failing with 3/)
    assert.match(job.stderrTail, /exited with code 3/)

    const listed = await cli('jobs', '--json')
    assert.equal(listed.code, 0, listed.stderr)
    const rows = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    const row = rows.find((r) => r.id === jobId)
    assert.ok(row !== undefined, `job ${jobId} not listed: ${listed.stdout}`)
    assert.equal(row.state, 'paid')
    assert.equal(row.source, 'cli')
    assert.equal(row.exitCode, 3)
    assert.equal((row.failure as Record<string, unknown>).code, 'JOB_EXIT_NONZERO')
    assert.match(String((row.failure as Record<string, unknown>).stderrTail), /failing with 3/)
    const filtered = await cli('jobs', '--json', '--state', 'paid', '--module', 'probe', '--since', '1h')
    assert.ok(filtered.stdout.includes(jobId))
    assert.equal((await cli('jobs', '--json', '--state', 'refunded')).stdout.includes(jobId), false)
    assert.equal((await cli('jobs', '--json', '--module', 'cowsay')).stdout.includes(jobId), false)
    const human = await cli('jobs')
    assert.match(human.stdout, new RegExp(`${jobId} .* paid +probe:v1\\.0\\.0 +cli .* exit 3 +JOB_EXIT_NONZERO`))

    for (const ref of [jobId, dealId]) {
      const d = await cli('describe', ref, '--json')
      assert.equal(d.code, 0, d.stderr)
      const desc = JSON.parse(d.stdout) as { job: Record<string, unknown>, deals: Array<Record<string, unknown>> }
      assert.equal(desc.job.id, jobId)
      const stages = (desc.job.stages as Array<Record<string, unknown>>)
      for (const s of ['offered', 'matched', 'opened', 'running', 'result', 'accepted', 'paid']) assert.ok(stages.some((x) => x.stage === s), `stage ${s} missing from ${stages.map((x) => x.stage).join(',')}`)
      const opened = stages.find((x) => x.stage === 'opened' && x.tx !== undefined)
      if (opened !== undefined) assert.ok(BigInt(String(opened.gasUsed)) > 0n, 'the open transaction\'s gas is recorded')
      assert.equal(desc.deals[0].dealId, dealId)
    }
    const text = await cli('describe', jobId)
    assert.match(text.stdout, /failure +JOB_EXIT_NONZERO: the job (failed \(exit code 3\)|exited with code 3)/)
    assert.match(text.stdout, /stderr \| failing with 3/)

    const again = join((t as TestNet).dir, 'again')
    const got = await cli('get', jobId, '--out', again)
    assert.equal(got.code, 0, got.stderr)
    assert.match(got.stdout, /from the data dir/)
    assert.equal(await readFile(join(again, 'stderr'), 'utf8'), await readFile(join(out, 'stderr'), 'utf8'))
    const unknown = await cli('describe', 'job-0000000000000000')
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /no job or deal "job-0000000000000000" in this data dir/)
    await assertConserved(net)
  })

  it('the image is missing on the provider: the run fails fast with its signed EXECUTOR_IMAGE_MISSING while the deal is still open; resume takes the refund', async () => {
    const net = (t as TestNet).net
    const dir = join((t as TestNet).dir, 'absent')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'module.json'), JSON.stringify({
      name: 'absent', version: 'v1', image: '127.0.0.1:1/lilynode-absent:v1', entrypoint: ['/bin/true'], cmd: [], resources: { cpu: 250, ram: 32 }
    }))
    const timeoutS = 40
    const job = net.run('creator-1', dir, [], ['--timeout', String(timeoutS)])
    assert.equal(await job.done, 7, runFailure('expected exit 7 (the provider could not run the job)', job))
    const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
    // fast: the run is over while the deal is still open on-chain, long before its timeout refund
    assert.equal(await closedBy(net, dealId), undefined, 'the run ended before the deal closed')
    const fail = eventOf(job.events, 'failed') as Record<string, unknown>
    assert.equal(fail.reason, 'EXECUTOR_IMAGE_MISSING')
    assert.match(String(fail.message), /127\.0\.0\.1:1\/lilynode-absent:v1/)
    assert.match(job.stderrTail, /EXECUTOR_IMAGE_MISSING/)
    assert.ok(!job.events.some((e) => e.stage === 'result'), 'no result was waited for')

    const d = await cli('describe', dealId, '--json')
    assert.equal(d.code, 0, d.stderr)
    const desc = JSON.parse(d.stdout) as { job: Record<string, unknown>, deals: Array<Record<string, unknown>> }
    assert.equal(desc.job.state, 'failed')
    assert.equal((desc.job.failure as Record<string, unknown>).code, 'EXECUTOR_IMAGE_MISSING')
    const o = desc.deals[0].outcome as Record<string, unknown>
    const signed: SignedOutcome = { report: { dealId, kind: o.kind as SignedOutcome['report']['kind'], message: String(o.message), exitCode: null, stderrTail: String(o.stderrTail), at: Number(o.at) }, signature: o.signature as SignedOutcome['signature'] }
    assert.equal(outcomeSigner(net.profile, signed), net.parties.get('provider-1')?.address, 'the report is signed by the provider')

    const resume = net.spawn('creator-1', ['resume', '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(await resume.done, 7, runFailure('resume after the deadline: refunded, the provider could not run it (exit 7)', resume))
    assert.equal(await closedBy(net, dealId), 'DealTimedOut')
    const after = JSON.parse((await cli('describe', dealId, '--json')).stdout) as { job: Record<string, unknown> }
    assert.equal(after.job.state, 'refunded')
    assert.equal((after.job.failure as Record<string, unknown>).code, 'EXECUTOR_IMAGE_MISSING', 'the reason is kept after the refund')
    await assertConserved(net)
  })
})

/**
 * The job records of a data dir, through a real LevelDB (the node's store): written as the
 * creator role writes them, read back by LilyJobs (what `lilynode jobs|describe|get` use),
 * filtered, pruned, and a job's outputs written again from its stored bundle.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBundle, writeTar } from '../../src/executor/index.js'
import { NodeStore } from '../../src/node/store.js'
import { JobRecords, JOB_RECORD_STATES, inputsSummary } from '../../src/node/jobs/records.js'
import { DealStore } from '../../src/node/roles/deals.js'
import { LilyError, LilyJobs } from '../../src/sdk/index.js'
import { JOB_STATES } from '../../src/cli/cmds/jobs/options.js'
import type { Address, Deal, Hash } from '../../src/protocol/types.js'

const h = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}` as Hash
const A = '0x00000000000000000000000000000000000000aa' as Address
const B = '0x00000000000000000000000000000000000000bb' as Address

function deal (n: number): Deal {
  return { jobOfferHash: h(1000 + n), resourceOfferHash: h(2000 + n), creator: A, provider: B, price: 7n, collateral: 9n, timeout: 60, matchEpoch: 1n, openBy: 99n } as unknown as Deal
}

describe('job records (node store) and LilyJobs', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'lily-jobs-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  const seed = async (keep?: number): Promise<void> => {
    const store = await NodeStore.open(join(dir, 'db'))
    try {
      const records = new JobRecords(store.sublevel('jobs'), keep)
      const deals = new DealStore(store.sublevel('deals'), join(dir, 'blobs'))
      for (let i = 0; i < 3; i++) {
        const id = `job-${String(i).padStart(16, '0')}`
        await records.create({ id, source: i === 2 ? 'api' : 'cli', module: i === 1 ? 'probe:v1.0.0' : 'cowsay:v0.0.4', moduleName: i === 1 ? 'probe' : 'cowsay', moduleVersion: i === 1 ? 'v1.0.0' : 'v0.0.4', inputs: inputsSummary({ Message: 'x'.repeat(300), data: new Uint8Array(5) }), maxPrice: 10n, collateral: 1n, timeoutS: 60, createdAt: 1_000_000 + i * 1000 })
        await records.addStage(id, { stage: 'offered', at: 1, elapsedMs: 1, jobOfferHash: h(1000 + i) })
        await records.addStage(id, { stage: 'matched', at: 2, elapsedMs: 2, dealId: h(i), provider: B, price: 7n })
        await records.addStage(id, { stage: 'opened', at: 3, elapsedMs: 3, dealId: h(i), tx: h(500 + i), gasUsed: 21000n })
        await deals.create({ dealId: h(i), role: 'creator', state: 'opened', deal: deal(i) })
        if (i === 1) {
          await deals.putBlob(h(i), 'bundle', encodeBundle({ exitCode: 3, stdout: new TextEncoder().encode('out\n'), stderr: new TextEncoder().encode('boom\n'), outputTar: writeTar([{ path: 'r.txt', type: 'file', mode: 0o644, data: new TextEncoder().encode('result'), linkname: '' }]) }))
          await records.update(id, (r) => { r.state = 'paid'; r.exitCode = 3; r.failure = { code: 'JOB_EXIT_NONZERO', message: 'exit 3', exitCode: 3, stderrTail: 'boom\n', at: 4 } })
        }
      }
    } finally {
      await store.close()
    }
  }

  it('lists newest first, filters by state, module, source and date, and finds a job by job id, deal id or job offer hash', async () => {
    await seed()
    await using jobs = await LilyJobs.open(dir)
    const all = await jobs.list()
    assert.deepEqual(all.map((j) => j.id), ['job-0000000000000002', 'job-0000000000000001', 'job-0000000000000000'])
    assert.deepEqual(all[2].inputs, { Message: `${'x'.repeat(200)}…`, data: '<5 bytes>' }, 'long inputs are cut, files shown by size')
    assert.equal(all[2].gasUsed, 21000n)
    assert.deepEqual((await jobs.list({ state: 'paid' })).map((j) => j.id), ['job-0000000000000001'])
    assert.deepEqual((await jobs.list({ module: 'cowsay' })).map((j) => j.id), ['job-0000000000000002', 'job-0000000000000000'])
    assert.deepEqual((await jobs.list({ module: 'probe:v1.0.0' })).map((j) => j.id), ['job-0000000000000001'])
    assert.deepEqual((await jobs.list({ source: 'api' })).map((j) => j.id), ['job-0000000000000002'])
    assert.deepEqual((await jobs.list({ since: 1_001_000, until: 1_001_500 })).map((j) => j.id), ['job-0000000000000001'])
    for (const ref of ['job-0000000000000001', h(1), h(1001)]) {
      const d = await jobs.describe(ref)
      assert.equal(d.job?.id, 'job-0000000000000001', ref)
      assert.equal(d.deals.length, 1)
      assert.equal(d.deals[0].dealId, h(1))
    }
    await assert.rejects(jobs.describe(h(77)), (e: unknown) => e instanceof LilyError && e.code === 'SDK_UNKNOWN_JOB')
    await assert.rejects(jobs.describe('job-nope'), (e: unknown) => e instanceof LilyError && e.code === 'SDK_UNKNOWN_JOB')
  })

  it('writes a job\'s outputs again from the stored bundle (stderr included); none stored → SDK_NO_OUTPUTS', async () => {
    await seed()
    await using jobs = await LilyJobs.open(dir)
    const out = join(dir, 'out')
    const w = await jobs.writeOutputs('job-0000000000000001', out)
    assert.deepEqual(w.files, ['stdout', 'stderr', 'exitCode', join('outputs', 'r.txt')])
    assert.equal(await readFile(join(out, 'stderr'), 'utf8'), 'boom\n')
    assert.equal(await readFile(join(out, 'exitCode'), 'utf8'), '3\n')
    assert.equal(await readFile(join(out, 'outputs', 'r.txt'), 'utf8'), 'result')
    await assert.rejects(jobs.writeOutputs('job-0000000000000000', out), (e: unknown) => e instanceof LilyError && e.code === 'SDK_NO_OUTPUTS')
  })

  it('keeps the newest records past the bound (running ones always), and refuses a data dir a node holds', async () => {
    await seed(2)
    await using jobs = await LilyJobs.open(dir)
    // the 3 records are running except job 1 (paid): with keep 2, the finished one goes
    assert.deepEqual((await jobs.list()).map((j) => j.id), ['job-0000000000000002', 'job-0000000000000000'])
    await assert.rejects(LilyJobs.open(dir), (e: unknown) => e instanceof LilyError && e.code === 'SDK_DATA_DIR_BUSY' && /in use by a running node/.test(e.message))
  })

  it('the CLI\'s --state choices are the record states', () => {
    assert.deepEqual([...JOB_STATES], [...JOB_RECORD_STATES])
  })
})

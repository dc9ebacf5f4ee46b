/**
 * The ML modules against the real dockerd and the ML image (Debian's PyTorch, NumPy,
 * scikit-learn): train is deterministic on CPU and accurate, infer reproduces its accuracy on
 * the held-back digits, hostile model files are refused, and the mediator's ruling follows the
 * module's verification (the module's verifier within its tolerance, exact, none).
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  dockerVerifier, encodeBundle, judgeResult, readTar, runJob, writeTar,
  type CompletedOutcome, type JobOutcome, type VerifierRun
} from '../../src/executor/index.js'
import { parseModuleSpec, type JobInputs, type ModuleSpec } from '../../src/protocol/module.js'
import { cleanupContainers, dealId, docker, requireMlImages, text } from './helpers.js'

const LIMITS = { maxLogBytes: 256 * 1024, maxOutputBytes: 16 * 1024 * 1024 }

function completed (o: JobOutcome, status: 'succeeded' | 'failed' = 'succeeded'): CompletedOutcome {
  assert.equal(o.status, status, `expected ${status}, got ${JSON.stringify({ ...o, bundle: undefined })}${'bundle' in o ? ` stderr: ${text(o.bundle.stderr)}` : ''}`)
  return o as CompletedOutcome
}

function files (o: CompletedOutcome): Record<string, Uint8Array> {
  return Object.fromEntries(readTar(o.bundle.outputTar).filter((e) => e.type === 'file').map((e) => [e.path, e.data]))
}

const json = (b: Uint8Array | undefined): Record<string, unknown> => JSON.parse(text(b ?? new Uint8Array())) as Record<string, unknown>

describe('executor: the ML modules (train, infer) and their verifier', function () {
  this.timeout(300_000)
  let modules: Map<string, ModuleSpec>
  let workDir: string
  let n = 0x9000
  const outcomes = new Map<string, CompletedOutcome>()
  const spec = (name: string): ModuleSpec => modules.get(name) as ModuleSpec
  const run = async (name: string | ModuleSpec, inputs: JobInputs): Promise<JobOutcome> =>
    await runJob(docker, { dealId: dealId(n++), spec: typeof name === 'string' ? spec(name) : name, inputs, timeoutS: 120, limits: LIMITS, allowNetwork: false, workDir })
  /** A train run, once per input set in this suite. */
  const train = async (inputs: JobInputs = {}): Promise<CompletedOutcome> => {
    const key = JSON.stringify(inputs)
    let o = outcomes.get(key)
    if (o === undefined) { o = completed(await run('train', inputs)); outcomes.set(key, o) }
    return o
  }
  let verifier: VerifierRun

  before(async function () {
    modules = await requireMlImages(this)
    workDir = await mkdtemp(join(tmpdir(), 'lilynode-ml-test-'))
    verifier = dockerVerifier(docker, { dealId: dealId(0x8fff), limits: LIMITS, workDir })
  })
  afterEach(async () => { await cleanupContainers(workDir) })
  after(async () => {
    await cleanupContainers(workDir)
    if (workDir !== undefined) {
      assert.deepEqual(await readdir(workDir), [], 'every job folder is removed')
      await rm(workDir, { recursive: true, force: true })
    }
  })

  it('train: a PyTorch MLP on sklearn\'s bundled digits, ≥ 0.9 on the held-back digits, the same bytes every run on CPU', async () => {
    const a = await train()
    const f = files(a)
    assert.deepEqual(Object.keys(f).sort(), ['holdout.csv', 'metrics.json', 'model.safetensors'])
    const m = json(f['metrics.json'])
    assert.equal(m.device, 'cpu')
    assert.equal(m.holdout, 360)
    assert.ok((m.accuracy as number) >= 0.9, `accuracy ${String(m.accuracy)}`)
    assert.match(text(a.bundle.stdout), /^accuracy 0\.\d{4} \(\d+\/360 held-back digits\) after 12 epochs on cpu/)
    const b = completed(await run('train', {}))
    assert.equal(b.resultHash, a.resultHash, 'two runs give the same result hash (what two providers must agree on)')
    assert.notEqual((await train({ seed: 5 })).resultHash, a.resultHash, 'another seed gives other weights')
  })

  it('infer: the trained weights reproduce the same accuracy on the held-back digits', async () => {
    const t = files(await train())
    const o = completed(await run('infer', { model: t['model.safetensors'], data: t['holdout.csv'] }))
    const m = json(files(o)['metrics.json'])
    assert.equal(m.accuracy, json(t['metrics.json']).accuracy)
    assert.equal(m.rows, 360)
    assert.match(text(o.bundle.stdout), /^accuracy 0\.\d{4} \(\d+\/360 labelled rows\)/)
    const preds = text(files(o)['predictions.csv']).trim().split('\n')
    assert.equal(preds[0], 'row,label')
    assert.equal(preds.length, 361)
    // unlabelled rows (p0..p63 only) are predicted too
    const rows = text(t['holdout.csv']).trim().split('\n').slice(1, 11).map((l) => l.split(',').slice(1).join(','))
    const unlabelled = completed(await run('infer', { model: t['model.safetensors'], data: Buffer.from(`${Array.from({ length: 64 }, (_, i) => `p${i}`).join(',')}\n${rows.join('\n')}\n`) }))
    assert.match(text(unlabelled.bundle.stdout), /^predicted 10 rows/)
  })

  it('infer refuses hostile or malformed model and data files with exit 2 and a reason', async () => {
    const t = files(await train())
    const header = (h: unknown, body = new Uint8Array(8)): Uint8Array => {
      const j = Buffer.from(JSON.stringify(h))
      const len = Buffer.alloc(8)
      len.writeBigUInt64LE(BigInt(j.length))
      return Buffer.concat([len, j, body])
    }
    const cases: Array<[Uint8Array, Uint8Array, RegExp]> = [
      [Buffer.from('not a model at all'), t['holdout.csv'], /malformed header length|not a safetensors/],
      [header({ __metadata__: { format: 'lilynode-digits-mlp-v1', hidden: '4' }, 'fc1.weight': { dtype: 'F32', shape: [4, 64], data_offsets: [0, 1 << 30] } }), t['holdout.csv'], /must hold exactly|outside the file/],
      [header({ __metadata__: { format: 'pickle' } }), t['holdout.csv'], /not a lilynode-digits-mlp-v1 file/],
      [t['model.safetensors'], Buffer.from('label,p0\n1,2\n'), /header must be/],
      [t['model.safetensors'], Buffer.from(`${'99,'.repeat(63)}99\n`), /pixel values must be 0\.\.16/]
    ]
    for (const [model, data, re] of cases) {
      const o = completed(await run('infer', { model, data }), 'failed')
      assert.equal(o.exitCode, 2, text(o.bundle.stderr))
      assert.match(text(o.bundle.stderr), re)
    }
  })

  it('the train verifier accepts a different run within 0.5 % accuracy and rejects one beyond it', async () => {
    const ref = encodeBundle((await train()).bundle)
    const within = encodeBundle((await train({ seed: 5 })).bundle) // other weights, the same accuracy on this image
    const beyond = encodeBundle((await train({ epochs: 1 })).bundle) // an under-trained model
    const ok = await judgeResult(spec('train'), within, ref, verifier)
    assert.deepEqual([ok.providerWins, ok.by], [true, 'verifier'], ok.reason)
    assert.match(ok.reason, /within 0\.005/)
    const no = await judgeResult(spec('train'), beyond, ref, verifier)
    assert.deepEqual([no.providerWins, no.by], [false, 'verifier'], no.reason)
    assert.match(no.reason, /more than the tolerance 0\.005/)
    const same = await judgeResult(spec('train'), ref, ref, verifier)
    assert.deepEqual([same.providerWins, same.by], [true, 'exact'])
  })

  it('the train verifier rejects claimed metrics that the claimed weights do not give', async () => {
    const honest = await train()
    const entries = readTar(honest.bundle.outputTar).map((e) => {
      if (e.path !== 'metrics.json') return e
      const m = json(e.data)
      return { ...e, data: Buffer.from(JSON.stringify({ ...m, accuracy: (m.accuracy as number) + 0.002 })) }
    })
    const nudged = encodeBundle({ ...honest.bundle, outputTar: writeTar(entries) })
    const v = await judgeResult(spec('train'), nudged, encodeBundle(honest.bundle), verifier)
    assert.equal(v.providerWins, false, v.reason)
    assert.match(v.reason, /claimed weights give accuracy/)
  })

  it('the infer verifier wants the same top-1 labels', async () => {
    const t = files(await train())
    const ref = completed(await run('infer', { model: t['model.safetensors'], data: t['holdout.csv'] }))
    const flipped = readTar(ref.bundle.outputTar).map((e) => e.path !== 'predictions.csv'
      ? e
      : { ...e, data: Buffer.from(text(e.data).replace(/^0,(\d)$/m, (_, d: string) => `0,${(Number(d) + 1) % 10}`)) })
    const v = await judgeResult(spec('infer'), encodeBundle({ ...ref.bundle, outputTar: writeTar(flipped) }), encodeBundle(ref.bundle), verifier)
    assert.deepEqual([v.providerWins, v.by], [false, 'verifier'], v.reason)
    assert.match(v.reason, /1 of 360 top-1 labels differ/)
  })

  it('exact and none rule without a verifier; garbage or a failed job never reaches one', async () => {
    const ref = encodeBundle((await train()).bundle)
    const other = encodeBundle((await train({ seed: 5 })).bundle)
    let ran = 0
    const counting: VerifierRun = async (...a) => { ran++; return await verifier(...a) }
    const exact = parseModuleSpec({ ...spec('train'), verification: { kind: 'exact' } })
    assert.equal((await judgeResult(exact, other, ref, counting)).providerWins, false, 'exact: a different hash loses')
    assert.equal((await judgeResult(exact, ref, ref, counting)).providerWins, true)
    const none = parseModuleSpec({ ...spec('train'), verification: { kind: 'none' } })
    const n = await judgeResult(none, Buffer.from('anything'), undefined, counting)
    assert.deepEqual([n.providerWins, n.by], [true, 'none'])
    const garbage = await judgeResult(spec('train'), Buffer.from('lilynode test cheat'), ref, counting)
    assert.deepEqual([garbage.providerWins, garbage.by], [false, 'exact'])
    const failed = completed(await run('train', { holdout: 10, epochs: 1, hidden: 1, lrMilli: 1, seed: 0, device: 'cuda' }), 'failed')
    assert.equal(failed.exitCode, 2, 'device cuda without a GPU is refused')
    const f = await judgeResult(spec('train'), encodeBundle(failed.bundle), ref, counting)
    assert.deepEqual([f.providerWins, f.by], [false, 'exact'])
    assert.equal(ran, 0, 'no verifier container was started for these')
  })
})

import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, closedBy, eventOf, requireDocker, runFailure, startNet, stopNet, type TestNet } from './helpers.js'

const STAGES = ['offered', 'matched', 'opened', 'running', 'result', 'accepted', 'paid']

/** "offered +812 ms, matched +1203 ms, …": each stage's time since the previous one. */
function stageLine (t0: number, events: Array<Record<string, unknown>>): string {
  let prev = t0
  const parts: string[] = []
  for (const s of STAGES) {
    const e = eventOf(events, s)
    if (typeof e?.at !== 'number') continue
    parts.push(`${s} +${e.at - prev} ms`)
    prev = e.at
  }
  return parts.join(', ')
}

describe('e2e (ML): train → infer through lilynode run, the weights of the first job the input of the second', function () {
  this.timeout(420_000)
  let t: TestNet | undefined
  before(async function () {
    requireDocker(this, ['lilynode/digits:v1.0.0', 'lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  let failed = false
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('trains a PyTorch MLP on the digits, then predicts the held-back digits with its weights: accuracy ≥ 0.9', async () => {
    const net = (t as TestNet).net
    const trainOut = join((t as TestNet).dir, 'train')
    const t0 = Date.now()
    const train = net.run('creator-1', 'train:v2.0.0', [], ['--out', trainOut])
    assert.equal(await train.done, 0, runFailure('lilynode run train failed', train))
    const t1 = Date.now()
    const metrics = JSON.parse(await readFile(join(trainOut, 'outputs', 'metrics.json'), 'utf8')) as { accuracy: number, device: string }
    assert.equal(metrics.device, 'cpu')
    assert.ok(metrics.accuracy >= 0.9, `train's held-back accuracy ${metrics.accuracy}`)

    const inferOut = join((t as TestNet).dir, 'infer')
    const infer = net.run('creator-1', 'infer:v1.0.0', [
      `model=${join(trainOut, 'outputs', 'model.safetensors')}`,
      `data=${join(trainOut, 'outputs', 'holdout.csv')}`
    ], ['--out', inferOut])
    assert.equal(await infer.done, 0, runFailure('lilynode run infer failed', infer))
    const t2 = Date.now()
    const stdout = await readFile(join(inferOut, 'stdout'), 'utf8')
    const m = /^accuracy (0\.\d+) \((\d+)\/(\d+) labelled rows\)/.exec(stdout)
    assert.ok(m !== null, `infer printed: ${stdout}`)
    const accuracy = Number(m[2]) / Number(m[3])
    process.stderr.write(`    pipeline: train ${t1 - t0} ms (${stageLine(t0, train.events)}); infer ${t2 - t1} ms (${stageLine(t1, infer.events)})\n`)
    process.stderr.write(`    pipeline: accuracy ${accuracy.toFixed(4)} (${m[2]}/${m[3]} held-back digits, predicted by the second job with the first job's weights)\n`)
    assert.ok(accuracy >= 0.9, `accuracy ${accuracy} on the held-back digits`)
    assert.equal(Number(m[3]), 360)
    assert.equal(Number(m[1]), Math.round(metrics.accuracy * 10_000) / 10_000, 'the second job measures what the first reported')
    for (const job of [train, infer]) {
      const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
      assert.equal(await closedBy(net, dealId), 'DealCompleted')
    }
    await assertConserved(net)
  })

  it('runs a Lilypad module folder as it is (lilypad_module.json.tmpl), its hostile input kept as one argument', async () => {
    const net = (t as TestNet).net
    const dir = join((t as TestNet).dir, 'lilypad-say')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'lilypad_module.json.tmpl'), `{
  "machine": { "gpu": 0, "cpu": 250, "ram": 32 },
  "job": { "APIVersion": "V1beta1", "Spec": {
    "Docker": {
      "Entrypoint": ["/bin/sh", "/app/probe.sh", "echo", "1", {{ if .Message }}{{ .Message }}{{ else }}"moo"{{ end }}],
      "Image": "lilynode/probe:v1.0.0"
    },
    "Engine": "Docker", "Network": { "Type": "None" }, "Outputs": [{ "Name": "outputs", "Path": "/outputs" }],
    "PublisherSpec": { "Type": "IPFS" }, "Timeout": 60, "Verifier": "Noop"
  } }
}
`)
    const out = join((t as TestNet).dir, 'lilypad-out')
    const message = 'hi"; touch /outputs/pwned; echo "'
    const job = net.run('creator-1', dir, [`Message=${message}`], ['--out', out])
    assert.equal(await job.done, 0, runFailure('lilynode run <lilypad folder> failed', job))
    assert.equal(await readFile(join(out, 'outputs', 'echo.txt'), 'utf8'), `${message}\n`)
    await assert.rejects(readFile(join(out, 'outputs', 'pwned')), 'nothing but the output was written')
    const dealId = (eventOf(job.events, 'matched') as Record<string, unknown>).dealId as Hash
    assert.equal(await closedBy(net, dealId), 'DealCompleted')
  })
})

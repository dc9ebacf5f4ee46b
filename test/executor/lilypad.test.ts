/**
 * Lilypad module folders, unchanged (lilypad_module.json.tmpl), resolved by path and by
 * name:version from a local modules folder, rendered with the job's inputs and run on local
 * images in the real dockerd; hostile input values stay data.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findModule, jobSpec, readTar, runJob, type CompletedOutcome, type JobOutcome } from '../../src/executor/index.js'
import { LilyClient, LilyError } from '../../src/sdk/index.js'
import type { ModuleSpec } from '../../src/protocol/module.js'
import { cleanupContainers, dealId, docker, requireDocker, text } from './helpers.js'

// Every template feature Lilypad modules use: if/else, or, subst, js, a trim marker, a comment.
const TEMPLATE = `{
  "machine": { "gpu": 0, "cpu": 500, "ram": 64 },
  "job": {
    "APIVersion": "V1beta1",
    "Spec": {
      "Deal": { "Concurrency": 1 },
      "Docker": {
        "Entrypoint": [
          "/bin/sh", "-c", "printf '%s|%s|%s|%s\\\\n' \\"$1\\" \\"$GREETING\\" \\"$MODE\\" \\"$NOTE\\" | tee /outputs/said.txt", "sh",
          {{ if .Message }}{{ .Message }}{{ else }}"moo"{{ end }}
        ],
        "EnvironmentVariables": [
          "{{ subst "GREETING=%s" (or .Greeting "\\"hello\\"") }}",
          "MODE={{ if .Loud }}loud{{ else }}quiet{{ end }}",
          {{- /* js escapes for a JavaScript string; inside JSON it keeps quotes escaped */ -}}
          "NOTE={{ js (or .Note "\\"none\\"") }}"
        ],
        "Image": "lilynode/probe:v1.0.0"
      },
      "Engine": "Docker",
      "Network": { "Type": "None" },
      "Outputs": [{ "Name": "outputs", "Path": "/outputs" }],
      "PublisherSpec": { "Type": "IPFS" },
      "Resources": { "GPU": "" },
      "Timeout": 30,
      "Verifier": "Noop"
    }
  }
}
`

const LIMITS = { maxLogBytes: 64 * 1024, maxOutputBytes: 1024 * 1024 }

describe('executor: Lilypad module folders on local images', function () {
  this.timeout(120_000)
  let dir: string
  let workDir: string
  let n = 0xa000

  before(async function () {
    await requireDocker(this)
    dir = await mkdtemp(join(tmpdir(), 'lilynode-lilypad-'))
    workDir = join(dir, 'jobs')
    for (const sub of [join('say', 'v1.0.0'), 'say-v2.0.0', 'plain']) {
      await mkdir(join(dir, 'modules', sub), { recursive: true })
      await writeFile(join(dir, 'modules', sub, 'lilypad_module.json.tmpl'), TEMPLATE)
    }
  })
  afterEach(async () => { await cleanupContainers(workDir) })
  after(async () => {
    await cleanupContainers(workDir)
    if (dir !== undefined) {
      assert.deepEqual(await readdir(workDir).catch(() => []), [], 'every job folder is removed')
      await rm(dir, { recursive: true, force: true })
    }
  })

  const run = async (spec: ModuleSpec): Promise<CompletedOutcome> => {
    const o: JobOutcome = await runJob(docker, { dealId: dealId(n++), spec, inputs: {}, timeoutS: spec.timeoutS ?? 30, limits: LIMITS, allowNetwork: false, workDir })
    assert.equal(o.status, 'succeeded', JSON.stringify({ ...o, bundle: undefined }))
    return o as CompletedOutcome
  }
  const said = (o: CompletedOutcome): string => text(readTar(o.bundle.outputTar).find((e) => e.path === 'said.txt')?.data ?? new Uint8Array())

  it('resolves name:version from a modules folder (<name>/<version>/, <name>-<version>/, <name>/) and by path', async () => {
    const modules = join(dir, 'modules')
    const a = await findModule('say:v1.0.0', modules)
    assert.equal(a.kind, 'lilypad')
    assert.equal(a.path, join(modules, 'say', 'v1.0.0', 'lilypad_module.json.tmpl'))
    assert.equal((await findModule('say:v2.0.0', modules)).path, join(modules, 'say-v2.0.0', 'lilypad_module.json.tmpl'))
    assert.equal((await findModule('plain', modules)).path, join(modules, 'plain', 'lilypad_module.json.tmpl'))
    const byPath = await findModule(join(modules, 'plain'))
    assert.equal(byPath.kind === 'lilypad' ? byPath.module.name : '', 'plain')
    await assert.rejects(findModule('say:v9', modules), /no module 'say' \(version v9\)/)
  })

  it('runs the rendered module: defaults when inputs are absent, else the given values', async () => {
    const found = await findModule('say:v1.0.0', join(dir, 'modules'))
    const spec = jobSpec(found, {})
    assert.equal(spec.name, 'say')
    assert.equal(spec.version, 'v1.0.0')
    assert.equal(spec.timeoutS, 30)
    assert.equal(said(await run(spec)), 'moo|hello|quiet|"none"\n')
    const given = jobSpec(found, { Message: 'hi there', Greeting: 'bonjour', Loud: 'yes', Note: 'n' })
    assert.equal(said(await run(given)), 'hi there|bonjour|loud|"n"\n')
  })

  it('hostile values stay data: no extra argument, variable or command, nothing written but the output', async () => {
    const found = await findModule('say:v1.0.0', join(dir, 'modules'))
    const evil = '$(touch /outputs/pwned); `touch /outputs/pwned2` "q" \'a\' \\ ], "x": ["'
    const spec = jobSpec(found, { Message: evil, Greeting: 'x", "MODE=pwned', Note: 'a"b' })
    assert.equal(spec.entrypoint?.length, 5, 'still five argv elements')
    assert.deepEqual(Object.keys(spec.env).sort(), ['GREETING', 'MODE', 'NOTE'])
    const o = await run(spec)
    assert.equal(said(o), `${evil}|x", "MODE=pwned|quiet|"a\\"b"\n`)
    assert.deepEqual(readTar(o.bundle.outputTar).map((e) => e.path), ['said.txt'], 'no file was made by the injected commands')
    // an apostrophe in a js-escaped value is not valid JSON: the job is refused, not altered
    assert.throws(() => jobSpec(found, { Note: "it's" }), /not JSON/)
  })

  it('the SDK renders a Lilypad module with string inputs and refuses typed ones', async () => {
    const modules = join(dir, 'modules')
    const { spec, inputs, lilypad } = await LilyClient.resolveJob('say:v1.0.0', { Message: 'sdk' }, modules)
    assert.equal(lilypad, true)
    assert.deepEqual(inputs, {})
    assert.equal(spec.entrypoint?.[4], 'sdk')
    await assert.rejects(LilyClient.resolveJob('say:v1.0.0', { Message: 3 }, modules), (e: unknown) => e instanceof LilyError && e.code === 'SDK_BAD_INPUT')
    await assert.rejects(LilyClient.resolveJob('say:v1.0.0', { Note: "it's" }, modules), (e: unknown) => e instanceof LilyError && e.code === 'SDK_BAD_INPUT' && /not JSON/.test(e.message))
  })
})

/** `lilynode module init|build|check` as a user runs them (the real binary), on folders outside modules/. */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findModule, jobSpec, readTar, runJob } from '../../src/executor/index.js'
import { cleanupContainers, dealId, docker, REPO_ROOT, requireDocker, text } from './helpers.js'

const BIN = join(REPO_ROOT, 'bin', 'lilynode.js')

async function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'module', ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

describe('cli: lilynode module init|build|check', function () {
  this.timeout(180_000)
  let dir: string
  const images: string[] = []
  before(async function () {
    await requireDocker(this)
    dir = await mkdtemp(join(tmpdir(), 'lilynode-module-cli-'))
  })
  after(async () => {
    await cleanupContainers(join(dir, 'jobs'))
    for (const i of images) await docker.getImage(i).remove().catch(() => undefined)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('init → build → check → run: a new busybox module in any folder', async () => {
    const m = join(dir, 'Hello World')
    const init = await cli('init', m)
    assert.equal(init.code, 0, init.stderr)
    assert.match(init.stdout, /created busybox module hello-world/)
    assert.equal((await cli('init', m)).code, 2, 'init never overwrites')
    const build = await cli('build', m)
    assert.equal(build.code, 0, build.stderr)
    images.push('lilynode/hello-world:v0.1.0')
    const pin = /"image": "(lilynode\/hello-world:v0\.1\.0@sha256:[0-9a-f]{64})"/.exec(build.stdout)
    assert.ok(pin !== null, build.stdout)
    const check = await cli('check', m, '--json')
    assert.equal(check.code, 0, check.stderr)
    const c = JSON.parse(check.stdout) as Record<string, unknown>
    assert.equal(c.name, 'hello-world')
    assert.match(String(c.moduleHash), /^0x[0-9a-f]{64}$/)
    assert.equal(c.verification, 'exact')
    assert.equal(c.localImage, pin[1].split('@')[1])
    // pinned by digest, the local image runs
    const specPath = join(m, 'module.json')
    const spec = JSON.parse(await (await import('node:fs/promises')).readFile(specPath, 'utf8')) as Record<string, unknown>
    await writeFile(specPath, JSON.stringify({ ...spec, image: pin[1] }))
    const found = await findModule(m)
    const o = await runJob(docker, { dealId: dealId(0xb001), spec: jobSpec(found), inputs: { message: 'built here' }, timeoutS: 30, limits: { maxLogBytes: 65536, maxOutputBytes: 65536 }, allowNetwork: false, workDir: join(dir, 'jobs') })
    assert.equal(o.status, 'succeeded', JSON.stringify(o))
    assert.equal(o.status === 'succeeded' ? text(readTar(o.bundle.outputTar)[0].data) : '', 'built here\n')
  })

  it('check refuses a broken spec with the field named, and renders a Lilypad template with -i', async () => {
    const bad = join(dir, 'bad')
    assert.equal((await cli('init', bad)).code, 0)
    await writeFile(join(bad, 'module.json'), JSON.stringify({ name: 'bad', version: 'v1', image: 'x:1', cmd: ['{{nope}}'] }))
    const r = await cli('check', bad)
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /cmd\[0\] uses \{\{nope\}\}, which is not a declared input/)
    const lily = join(dir, 'lily')
    assert.equal((await cli('init', lily, '--kind', 'lilypad')).code, 0)
    const c = await cli('check', lily, '-i', 'Message=a "quoted" one', '--json', '--spec')
    assert.equal(c.code, 0, c.stderr)
    const out = JSON.parse(c.stdout) as { format: string, spec: { entrypoint: string[] } }
    assert.equal(out.format, 'lilypad')
    assert.deepEqual(out.spec.entrypoint, ['/bin/sh', '/app/run.sh', 'a "quoted" one'])
  })
})

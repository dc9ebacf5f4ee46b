/** The Executor service: start/stop, one run per deal, graceful detach and recovery by a new instance. */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import { Executor, ExecutorError, findJobContainers, type CompletedOutcome } from '../../src/executor/index.js'
import type { ModuleSpec } from '../../src/protocol/module.js'
import { cleanupContainers, dealId, docker, REPO_ROOT, requireDocker, text } from './helpers.js'

describe('executor: the Executor service', function () {
  this.timeout(120_000)
  let modules: Map<string, ModuleSpec>
  let workDir: string

  before(async function () {
    modules = await requireDocker(this)
    workDir = await mkdtemp(join(tmpdir(), 'lilynode-exec-service-'))
  })
  afterEach(async () => { await cleanupContainers(workDir) })
  after(async () => {
    await cleanupContainers(workDir)
    if (workDir !== undefined) {
      assert.deepEqual(await readdir(workDir), [])
      await rm(workDir, { recursive: true, force: true })
    }
  })

  const probe = (): ModuleSpec => modules.get('probe') as ModuleSpec
  const h100 = async (): Promise<string> => await readFile(join(REPO_ROOT, 'test', 'executor', 'fixtures', 'nvidia-smi-h100.csv'), 'utf8')

  it('start() fails with the fix when Docker is unreachable; run() needs start()', async () => {
    const dead = new Executor({ docker: new Docker({ socketPath: join(tmpdir(), 'lilynode-none.sock') }), nvidiaSmi: false })
    await assert.rejects(dead.start(), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_DOCKER_UNREACHABLE' && /setup-docker\.sh/.test(e.message))
    await assert.rejects(dead.run({ dealId: dealId(1), spec: probe(), inputs: { action: 'echo' }, timeoutS: 5 }), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_NOT_STARTED')
  })

  it('never offers GPUs that Docker cannot attach (an H100 without the NVIDIA runtime offers none)', async function () {
    const info = await docker.info() as { Runtimes?: Record<string, unknown> }
    if (info.Runtimes?.nvidia !== undefined) this.skip()
    const csv = await h100()
    const ex = new Executor({ docker, workDir, nvidiaSmi: async () => csv })
    await ex.start()
    try {
      assert.equal(ex.gpus.length, 1)
      assert.equal(ex.gpuRuntime?.available, false)
      assert.deepEqual(ex.capacity(), { gpus: 0, gpuVram: 0, gpuModel: '', deviceIds: [] })
    } finally {
      await ex.stop()
    }
  })

  it('runs a deal once; stop() detaches a running job and a new executor recovers it', async () => {
    const ex = new Executor({ docker, workDir, nvidiaSmi: false })
    await ex.start()
    const echo = { dealId: dealId(0x500), spec: probe(), inputs: { action: 'echo', arg: 'once' }, timeoutS: 30 }
    const [a, b] = await Promise.all([ex.run(echo), ex.run(echo)])
    assert.equal(a, b, 'the second call joins the first')
    assert.equal(text((a as CompletedOutcome).bundle.stdout), 'once\n')

    const slow = { dealId: dealId(0x501), spec: probe(), inputs: { action: 'slowecho', n: 3, arg: 'survived a restart' }, timeoutS: 60 }
    let started!: () => void
    const running = new Promise<void>((resolve) => { started = resolve })
    const pending = ex.run(slow, { onProgress: (e) => { if (e.kind === 'started') started() } })
    await running
    await ex.stop()
    const detached = await pending
    assert.equal(detached.status, 'detached')
    assert.equal((await docker.getContainer((detached as { containerId: string }).containerId).inspect()).State.Running, true, 'the job keeps running')

    const next = new Executor({ docker, workDir, nvidiaSmi: false })
    await next.start()
    try {
      const recovered = (await next.recover()).filter((r) => r.job.dealId === slow.dealId)
      assert.equal(recovered.length, 1)
      const o = await recovered[0].outcome
      assert.equal(o.status, 'succeeded')
      assert.equal(text((o as CompletedOutcome).bundle.stdout), 'survived a restart\n')
      assert.deepEqual((await findJobContainers(docker)).filter((c) => c.dealId === slow.dealId), [])
    } finally {
      await next.stop()
    }
  })
})

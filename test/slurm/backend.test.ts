/**
 * The slurm backend against a real cluster (scripts/setup-slurm.sh: slurmctld, three slurmd on
 * this host, slurmrestd) whose compute nodes run containers on this machine's dockerd:
 * capacity read from the nodes (and again after a drain), a job end to end with the same result
 * hash as the docker backend, the same isolation, scancel, re-attach from a handle or by name,
 * GRES GPUs, and the typed outcomes of a node failure, a preemption and a time-limit kill.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  checkNvidiaRuntime, DockerBackend, findJobContainers, jobIdOf, SlurmBackend, type BackendJob, type BackendOutcome, type BackendProgress,
  type CompletedOutcome, type JobProgress, type SlurmBackendOptions, type SlurmClient
} from '../../src/executor/index.js'
import type { JobInputs, ModuleSpec } from '../../src/protocol/module.js'
import { dealId, docker, requireDocker, text } from '../executor/helpers.js'
import { cli, jobState, releaseSlurm, requireSlurm, restClient, resume, scontrol, sh, waitUntil, type TestCluster } from './helpers.js'

const LIMITS = { maxLogBytes: 64 * 1024, maxOutputBytes: 1024 * 1024 }

function completed (o: BackendOutcome, status: 'succeeded' | 'failed' = 'succeeded'): CompletedOutcome {
  assert.equal(o.status, status, `expected ${status}, got ${JSON.stringify({ ...o, bundle: undefined })}`)
  return o as CompletedOutcome
}

describe('slurm backend on a real cluster', function () {
  this.timeout(240_000)
  let cluster: TestCluster | undefined
  let probe: ModuleSpec
  let workDir: string
  let n = 0x5100
  const slurm = (o: Partial<SlurmBackendOptions> = {}, client: SlurmClient = cli()): SlurmBackend =>
    new SlurmBackend({ client, partition: 'lily', workDir, limits: LIMITS, allowNetwork: false, pollMs: 300, capacityRefreshMs: 500, overheadS: 60, ...o })
  const job = (inputs: JobInputs, extra: Partial<BackendJob> = {}): BackendJob =>
    ({ dealId: dealId(++n), spec: probe, inputs, resources: probe.resources, timeoutS: 60, ...extra })
  const onDocker = async (j: BackendJob): Promise<BackendOutcome> =>
    await new DockerBackend({ docker, dataDir: tmpdir(), limits: LIMITS, allowNetwork: false, workDir: join(workDir, 'docker') }).run({ ...j, dealId: dealId(++n) })
  /** Resolves with the handle once the job runs on a node. */
  const scheduled = (): { onProgress: (e: JobProgress | BackendProgress) => void, running: Promise<{ handle: string, node: string }> } => {
    let resolve: (v: { handle: string, node: string }) => void = () => {}
    const running = new Promise<{ handle: string, node: string }>((r) => { resolve = r })
    return { running, onProgress: (e) => { if (e.kind === 'scheduled') resolve({ handle: e.handle, node: e.node }) } }
  }

  before(async function () {
    const modules = await requireDocker(this)
    cluster = await requireSlurm(this)
    probe = modules.get('probe') as ModuleSpec
    workDir = await mkdtemp(join(tmpdir(), 'lily-slurm-'))
  })
  after(async () => {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true })
    if (cluster === undefined) return
    for (const node of ['lily1', 'lily2', 'lily3']) await resume(node).catch(() => {})
    await releaseSlurm()
  })

  it('offers one node\'s worth of the partition, read from the cluster, and follows a drain', async () => {
    const b = slurm()
    const cap = await b.capacity()
    assert.deepEqual({ ...cap, source: undefined }, { cpu: 2000, ram: 1536 - 256, gpus: 0, gpuVram: 0, disk: 1024, gpuModel: '', source: undefined })
    assert.match(cap?.source ?? '', /partition lily: node lily1, the largest of 2 usable/)
    await scontrol('update', 'nodename=lily1', 'state=drain', 'reason=lilynode-test')
    try {
      const drained = await b.capacity()
      assert.deepEqual([drained?.cpu, drained?.ram, drained?.disk], [1000, 768 - 256, 512], 'lily2 is all that is left')
      assert.match(drained?.source ?? '', /left out: lily1 \(.*DRAIN.*lilynode-test/)
      await scontrol('update', 'nodename=lily2', 'state=drain', 'reason=lilynode-test')
      assert.equal(await b.capacity(), undefined, 'nothing to offer with every node drained')
      assert.match(b.lastProblem ?? '', /no node of partition lily can take a job/)
    } finally {
      await resume('lily1')
      await resume('lily2')
    }
    assert.equal((await b.capacity())?.cpu, 2000)
    // GRES GPUs with their type, only when told their VRAM
    const gpus = slurm({ partition: 'lilyx', gpuTypes: { tgpu: { vramMiB: 1024, model: 'Test GPU' } } })
    assert.deepEqual(await gpus.capacity().then((c) => [c?.gpus, c?.gpuVram, c?.gpuModel]), [2, 1024, 'Test GPU'])
    assert.equal((await slurm({ partition: 'lilyx' }).capacity())?.gpus, 0)
    await assert.rejects(slurm({ partition: 'nosuch' }).capacity(), /no partition 'nosuch'/)
  })

  let timeLimited: Promise<BackendOutcome> | undefined
  let timeLimitedJob = ''
  it('(starts a job that Slurm will kill at its time limit, collected at the end)', async () => {
    const s = scheduled()
    timeLimited = slurm().run(job({ action: 'sleep', n: 600 }, { timeoutS: 900 }), { onProgress: s.onProgress })
    timeLimitedJob = jobIdOf((await s.running).handle) as string
    // the deal's timeout is 15 min; the scheduler's limit now says one
    await scontrol('update', `jobid=${timeLimitedJob}`, 'TimeLimit=1')
  })

  it('runs a job end to end: same result hash as the docker backend, the outputs staged back', async () => {
    const j = job({ action: 'slowecho', n: 2, arg: 'hello from slurm' })
    const handles: string[] = []
    const events: string[] = []
    const o = completed(await slurm().run(j, { onHandle: async (h) => { handles.push(h) }, onProgress: (e) => events.push(e.kind) }))
    assert.equal(text(o.bundle.stdout), 'hello from slurm\n')
    assert.equal(handles.length, 1)
    assert.match(handles[0], /^slurm:[0-9]+$/)
    assert.deepEqual(events, ['submitted', 'scheduled'])
    assert.equal(await jobState(jobIdOf(handles[0]) as string), 'COMPLETED')
    const d = completed(await onDocker(j))
    assert.equal(o.resultHash, d.resultHash, 'the same job gives the same hash on both backends')
    assert.ok(!(await readdir(workDir)).includes(j.dealId.slice(2)), 'the deal folder is removed once collected')
  })

  it('runs the container with the docker backend\'s isolation (same caps, user, no-new-privileges, read-only root, no network, limits)', async () => {
    for (const inputs of [{ action: 'status' }, { action: 'rootwrite' }, { action: 'net', arg: '127.0.0.1:9' }] as JobInputs[]) {
      const [s, d] = await Promise.all([slurm().run(job(inputs)), onDocker(job(inputs))])
      assert.equal(s.status, d.status, JSON.stringify(inputs))
      assert.equal((s as CompletedOutcome).resultHash, (d as CompletedOutcome).resultHash, `${inputs.action}: same result on both backends`)
      if (inputs.action === 'status') assert.match(text((s as CompletedOutcome).bundle.stdout), /CapEff:\s+0000000000000000[\s\S]*NoNewPrivs:\s+1/)
      else assert.equal(s.status, 'failed', `${inputs.action} must fail inside the container`)
    }
    const j = job({ action: 'sleep', n: 30 }, { resources: { ...probe.resources, ram: 48 } })
    const s = scheduled()
    const controller = new AbortController()
    const run = slurm().run(j, { onProgress: s.onProgress, signal: controller.signal })
    await s.running
    let found: string | undefined
    await waitUntil('the job container', async () => {
      found = (await findJobContainers(docker)).find((c) => c.dealId === j.dealId)?.containerId
      return found !== undefined
    }, 30_000)
    const h = (await docker.getContainer(found as string).inspect()).HostConfig
    controller.abort()
    await run
    assert.deepEqual([h.NetworkMode, h.CapDrop, h.SecurityOpt, h.ReadonlyRootfs, h.Privileged, h.Memory, h.PidsLimit],
      ['none', ['ALL'], ['no-new-privileges'], true, false, 48 * 1024 * 1024, 256])
  })

  it('cancels with the deal: scancel, the container killed and removed', async () => {
    const j = job({ action: 'sleep', n: 120 })
    const s = scheduled()
    const controller = new AbortController()
    const run = slurm().run(j, { onProgress: s.onProgress, signal: controller.signal })
    const { handle } = await s.running
    await waitUntil('the job container', async () => (await findJobContainers(docker)).some((c) => c.dealId === j.dealId), 30_000)
    const t = Date.now()
    controller.abort()
    const o = await run
    assert.equal(o.status, 'cancelled')
    assert.match((o as { message: string }).message, /scancel/)
    assert.ok(Date.now() - t < 30_000, 'cancelled within the KillWait')
    assert.equal(await jobState(jobIdOf(handle) as string), 'CANCELLED')
    await waitUntil('the container removed', async () => !(await findJobContainers(docker)).some((c) => c.dealId === j.dealId), 20_000)
  })

  it('detaches without stopping the job, then re-attaches from the handle (or finds the job by name) after a restart', async () => {
    for (const withHandle of [true, false]) {
      const j = job({ action: 'slowecho', n: 4, arg: `reattached ${String(withHandle)}` })
      const s = scheduled()
      const detach = new AbortController()
      const first = slurm().run(j, { onProgress: s.onProgress, detach: detach.signal })
      const { handle } = await s.running
      detach.abort()
      const off = await first
      assert.equal(off.status, 'detached')
      assert.equal((off as { handle: string }).handle, handle)
      assert.equal(await jobState(jobIdOf(handle) as string), 'RUNNING', 'the batch job runs on')
      // a new backend, as a restarted provider builds it
      const submitted: string[] = []
      const again = completed(await slurm().run(j, { ...(withHandle ? { handle } : {}), onProgress: (e) => { if (e.kind === 'submitted') submitted.push(e.handle) } }))
      assert.deepEqual(submitted, [], 'no second job')
      assert.equal(text(again.bundle.stdout), `reattached ${String(withHandle)}\n`)
      assert.equal(again.resultHash, completed(await onDocker(j)).resultHash)
    }
  })

  it('also through slurmrestd: the same capacity and the same result', async () => {
    const rest = await restClient(cluster as TestCluster)
    const b = slurm({}, rest)
    assert.deepEqual(await b.capacity(), await slurm().capacity())
    const j = job({ action: 'echo', arg: 'via slurmrestd' })
    const handles: string[] = []
    const o = completed(await b.run(j, { onHandle: async (h) => { handles.push(h) } }))
    assert.equal(text(o.bundle.stdout), 'via slurmrestd\n')
    assert.equal(o.resultHash, completed(await onDocker(j)).resultHash)
    assert.match(await scontrol('show', 'job', jobIdOf(handles[0]) as string, '--oneliner'), /JobName=lily-[0-9a-f]{16} .*Comment=lilynode deal 0x/)
  })

  it('refuses an invalid job before submitting anything', async () => {
    const submitted: string[] = []
    const o = await slurm().run(job({ action: 'nosuch' }), { onProgress: (e) => submitted.push(e.kind) })
    assert.equal(o.status, 'invalid_job')
    assert.deepEqual(submitted, [])
  })

  it('asks Slurm for the deal\'s GPUs by GRES type and hands the allocated ones to the container', async () => {
    const gpuJob = job({ action: 'echo', arg: 'gpu' }, { resources: { ...probe.resources, gpus: 1, gpuVram: 1024 } })
    const b = slurm({ partition: 'lilyx', gpuTypes: { tgpu: { vramMiB: 1024 } } })
    await b.capacity()
    const handles: string[] = []
    const o = await b.run(gpuJob, { onHandle: async (h) => { handles.push(h) } })
    const show = await scontrol('show', 'job', jobIdOf(handles[0]) as string, '--oneliner')
    assert.match(show, /TresPerNode=gres:gpu:tgpu:1/)
    if ((await checkNvidiaRuntime(docker)).available) {
      // an engine that can attach GPUs got the device Slurm allocated
      assert.equal(o.status, 'succeeded', JSON.stringify(o))
    } else {
      // no NVIDIA runtime on this engine: the compute node says so, as the docker backend would
      assert.equal(o.status, 'gpu_unavailable', JSON.stringify(o))
      assert.match((o as { message: string }).message, /cannot run GPU containers.*\(on lily3\)/)
    }
  })

  it('a node failure: typed node_failed, and the job submitted again once attempts remain', async () => {
    for (const attempts of [1, 2]) {
      const j = job({ action: 'slowecho', n: 20, arg: `after a node failure ${attempts}` })
      const s = scheduled()
      const kinds: string[] = []
      const run = slurm({ partition: 'lilyx', maxAttempts: attempts }).run(j, { onProgress: (e) => { kinds.push(e.kind); s.onProgress(e) } })
      const { node } = await s.running
      assert.equal(node, 'lily3')
      await scontrol('update', 'nodename=lily3', 'state=down', 'reason=lilynode-test')
      await waitUntil('the job to end NODE_FAIL', async () => await jobState(jobIdOf((await s.running).handle) as string) === 'NODE_FAIL', 30_000)
      await resume('lily3')
      const o = await run
      if (attempts === 1) {
        assert.equal(o.status, 'node_failed', JSON.stringify(o))
        assert.match((o as { message: string }).message, /NODE_FAIL on lily3/)
      } else {
        assert.equal(text(completed(o).bundle.stdout), 'after a node failure 2\n')
        assert.deepEqual(kinds.filter((k) => k !== 'scheduled'), ['submitted', 'resubmitting', 'submitted'])
      }
    }
  })

  it('a preemption: typed preempted', async () => {
    const j = job({ action: 'sleep', n: 120 })
    const s = scheduled()
    const run = slurm({ partition: 'lilyx', maxAttempts: 1 }).run(j, { onProgress: s.onProgress })
    await s.running
    // a job of a higher-tier partition that needs the whole node
    const high = (await sh('sbatch', ['--parsable', '--partition=lilyhigh', '--cpus-per-task=2', '--mem=64', '--output=/dev/null', '--wrap=sleep 1'])).trim()
    const o = await run
    assert.equal(o.status, 'preempted', JSON.stringify(o))
    assert.match((o as { message: string }).message, /preempted on lily3/)
    await waitUntil('the preempting job', async () => await jobState(high) === 'COMPLETED', 60_000)
  })

  it('a Slurm time-limit kill: timed_out, as the docker backend\'s own deadline', async () => {
    const o = await (timeLimited as Promise<BackendOutcome>)
    assert.equal(o.status, 'timed_out', JSON.stringify(o))
    assert.match((o as { message: string }).message, /time limit/)
    assert.equal(await jobState(timeLimitedJob), 'TIMEOUT')
  })
})

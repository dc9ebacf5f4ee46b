/**
 * A devnet (anvil, bootstrap, creator: separate OS processes) whose provider runs
 * `lilynode provider --backend slurm` in front of the test cluster: a job end to end (its
 * result hash the docker backend's), the offer following a drain, the provider SIGKILLed
 * mid-job and re-attached to the same Slurm job (the restarted provider reaching the controller
 * through slurmrestd, which then also scancels), and a deal that closes on-chain while its job
 * runs, which scancels the job.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { createTestClient, http } from 'viem'
import { DockerBackend, jobIdOf, type CompletedOutcome } from '../../src/executor/index.js'
import type { ModuleSpec } from '../../src/protocol/module.js'
import type { Hash } from '../../src/protocol/types.js'
import { assertConserved, closedBy, eventOf, requireDocker, startNet, stopNet, type TestNet } from '../e2e/helpers.js'
import { dealId as testDealId, docker, requireDocker as requireDockerImages } from '../executor/helpers.js'
import { jobState, releaseSlurm, requireSlurm, resume, scontrol, sh, waitUntil, type TestCluster } from './helpers.js'

describe('slurm e2e: a devnet whose provider runs its deals on a Slurm cluster', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  let cluster: TestCluster | undefined
  let probe: ModuleSpec
  let failed = false
  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    probe = (await requireDockerImages(this)).get('probe') as ModuleSpec
    cluster = await requireSlurm(this)
    t = await startNet({
      providers: 1,
      mediators: 0,
      creators: 1,
      providerArgs: () => [
        '--backend', 'slurm', '--slurm-partition', 'lily', '--slurm-conf', (cluster as TestCluster).conf,
        '--slurm-poll-ms', '300', '--slurm-refresh-ms', '1000', '--slurm-overhead', '60'
      ]
    })
  })
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => {
    await stopNet(t, failed)
    if (cluster === undefined) return
    for (const node of ['lily1', 'lily2']) await resume(node).catch(() => {})
    await releaseSlurm()
  })

  const provider = (): NonNullable<ReturnType<TestNet['net']['procs']['get']>> => {
    const p = t?.net.procs.get('provider-1')
    assert.ok(p !== undefined)
    return p
  }
  /** The Slurm job the provider reported for a deal (its `job` event). */
  const jobOf = async (dealId: Hash | undefined, timeoutMs = 120_000): Promise<string> => {
    const e = await provider().waitFor((x) => x.state === 'job' && (dealId === undefined || x.dealId === dealId), timeoutMs, 'a Slurm job')
    return jobIdOf(String(e.message)) as string
  }

  it('runs a job end to end on the cluster, with the docker backend\'s result hash', async () => {
    const net = (t as TestNet).net
    const ready = await provider().waitFor((e) => e.event === 'ready', 1000)
    assert.match(String(ready.backend), /^slurm \(partition lily, Slurm commands\)$/)
    assert.deepEqual([ready.cpu, ready.ram], [2000, 1536 - 256], 'the offer is the partition\'s largest node')
    const inputs = { action: 'slowecho', n: 1, arg: 'hello from the cluster' }
    const run = net.run('creator-1', 'probe:v1.0.0', Object.entries(inputs).map(([k, v]) => `${k}=${v}`), ['--timeout', '120'])
    const code = await run.done
    assert.equal(code, 0, JSON.stringify(run.events.slice(-3)))
    const dealId = eventOf(run.events, 'matched')?.dealId as Hash
    const result = eventOf(run.events, 'result') as Record<string, unknown>
    assert.equal(result.stdout, 'hello from the cluster\n')
    const jobId = await jobOf(dealId, 1000)
    assert.equal(await jobState(jobId), 'COMPLETED')
    assert.match(await scontrol('show', 'job', jobId, '--oneliner'), new RegExp(`JobName=lily-${dealId.slice(2, 18)} .*Partition=lily `))
    assert.equal(await closedBy(net, dealId), 'DealCompleted')
    const onDocker = await new DockerBackend({ docker, dataDir: tmpdir(), limits: { maxLogBytes: 1024 * 1024, maxOutputBytes: 64 * 1024 * 1024 }, allowNetwork: false })
      .run({ dealId: testDealId(0x7e0), spec: probe, inputs, resources: probe.resources, timeoutS: 120 })
    assert.equal(result.resultHash, (onDocker as CompletedOutcome).resultHash, 'the same job, the same hash on both backends')
    await assertConserved(net)
  })

  it('re-offers what the partition can run as a node drains and comes back', async () => {
    const seen = provider().events.length
    const offerAfter = async (pred: (e: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> =>
      await provider().waitFor((e) => provider().events.indexOf(e) >= seen && e.event === 'offer' && pred(e), 30_000, what)
    await scontrol('update', 'nodename=lily1', 'state=drain', 'reason=lilynode-e2e')
    try {
      const small = await offerAfter((e) => e.cpu === 1000, 'an offer without lily1')
      assert.deepEqual([small.ram, small.disk, small.withdrawn], [768 - 256, 512, false])
      await scontrol('update', 'nodename=lily2', 'state=drain', 'reason=lilynode-e2e')
      await offerAfter((e) => e.withdrawn === true, 'the offer withdrawn')
    } finally {
      await resume('lily1')
      await resume('lily2')
    }
    await offerAfter((e) => e.cpu === 2000 && e.withdrawn === false, 'the full offer back')
  })

  it('re-attaches to the same Slurm job after the provider is SIGKILLed mid-job (and comes back through slurmrestd)', async () => {
    const net = (t as TestNet).net
    const run = net.run('creator-1', 'probe:v1.0.0', ['action=slowecho', 'n=10', 'arg=survived a SIGKILL'], ['--timeout', '180'])
    const before = provider().events.length
    const e = await provider().waitFor((x) => x.state === 'job' && provider().events.indexOf(x) >= before, 120_000, 'a Slurm job')
    const dealId = e.dealId as Hash
    const jobId = jobIdOf(String(e.message)) as string
    await waitUntil('the job running', async () => await jobState(jobId) === 'RUNNING', 60_000)
    await provider().stop('SIGKILL')
    // the restarted provider reaches the controller through slurmrestd instead of the commands
    const tokenFile = join((t as TestNet).dir, 'slurm.jwt')
    const token = /SLURM_JWT=(\S+)/.exec(await scontrol('token', `username=${userInfo().username}`, 'lifespan=3600'))?.[1]
    assert.ok(token !== undefined)
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 })
    const restarted = await net.startProvider('provider-1', {}, [
      '--backend', 'slurm', '--slurm-partition', 'lily', '--slurm-rest-url', (cluster as TestCluster).restUrl, '--slurm-token-file', tokenFile,
      '--slurm-poll-ms', '300', '--slurm-refresh-ms', '1000', '--slurm-overhead', '60'
    ])
    assert.match(String((await restarted.waitFor((e) => e.event === 'ready', 1000)).backend), /^slurm \(partition lily, slurmrestd http:\/\/127\.0\.0\.1:[0-9]+\)$/)
    assert.equal(await run.done, 0, JSON.stringify(run.events.slice(-3)))
    assert.equal((eventOf(run.events, 'result') as Record<string, unknown>).stdout, 'survived a SIGKILL\n')
    await restarted.waitFor((x) => x.dealId === dealId && x.state === 'completed', 60_000, 'the deal completed')
    const jobs = (await sh('squeue', ['--noheader', '--states=all', `--name=lily-${dealId.slice(2, 18)}`, '--format=%i'])).split('\n').filter((l) => l.trim() !== '')
    assert.deepEqual(jobs.map((j) => j.trim()), [jobId], 'one Slurm job for the deal: re-attached, not run again')
    assert.ok(!restarted.events.some((x) => x.state === 'job' && x.dealId === dealId), 'the restarted provider submitted nothing')
    assert.equal(await closedBy(net, dealId), 'DealCompleted')
  })

  it('scancels the job when its deal closes on-chain (the creator took the timeout refund)', async () => {
    const net = (t as TestNet).net
    const run = net.run('creator-1', 'probe:v1.0.0', ['action=sleep', 'n=300'], ['--timeout', '600'])
    const before = provider().events.length
    const e = await provider().waitFor((x) => x.state === 'job' && provider().events.indexOf(x) >= before, 120_000, 'a Slurm job')
    const dealId = e.dealId as Hash
    const jobId = jobIdOf(String(e.message)) as string
    await waitUntil('the job running', async () => await jobState(jobId) === 'RUNNING', 60_000)
    // the deal's deadline passes: the creator calls timeout() and is refunded
    const chain = createTestClient({ mode: 'anvil', transport: http(net.profile.rpcUrl) })
    await chain.increaseTime({ seconds: 700 })
    await chain.mine({ blocks: 1 })
    assert.equal(await run.done, 4, `refunded; events: ${JSON.stringify(run.events.slice(-3))}`)
    assert.equal(await closedBy(net, dealId), 'DealTimedOut')
    const cancelled = await provider().waitFor((x) => x.dealId === dealId && x.state === 'cancelled', 60_000, 'the job cancelled')
    assert.match(String(cancelled.message), /closed on-chain \(timed-out\)/)
    await waitUntil('the Slurm job cancelled', async () => await jobState(jobId) === 'CANCELLED', 60_000)
    await provider().waitFor((x) => x.dealId === dealId && x.state === 'timed-out', 60_000, 'the deal timed out')
    await assertConserved(net)
  })
})

/**
 * The executor against the real dockerd: example modules' outputs, every outcome provoked for
 * real, the container's security settings as Docker reports them, determinism of the result
 * hash, and re-attaching after the runner process is SIGKILLed mid-job.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import {
  bundleHash, decodeBundle, encodeBundle, extractOutputTar, findJobContainers, loadExampleModules, readTar, reattach, runJob,
  type CompletedOutcome, type JobOutcome, type JobProgress, type RunJobRequest
} from '../../src/executor/index.js'
import type { JobInputs, ModuleSpec } from '../../src/protocol/module.js'
import { cleanupContainers, dealId, docker, REPO_ROOT, requireDocker, text } from './helpers.js'
import { startTestRegistry, type TestRegistry } from './registry.js'

const LIMITS = { maxLogBytes: 64 * 1024, maxOutputBytes: 1024 * 1024 }

function completed (o: JobOutcome, status: 'succeeded' | 'failed' = 'succeeded'): CompletedOutcome {
  assert.equal(o.status, status, `expected ${status}, got ${JSON.stringify({ ...o, bundle: undefined })}`)
  return o as CompletedOutcome
}

function files (o: CompletedOutcome): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of readTar(o.bundle.outputTar)) out[e.path] = e.type === 'file' ? text(e.data) : e.type
  return out
}

describe('executor without a Docker Engine', () => {
  it('docker_unreachable: a typed outcome that names the fix, not a crash', async () => {
    const dead = new Docker({ socketPath: join(tmpdir(), 'lilynode-no-docker.sock') })
    const spec = (await loadExampleModules(join(REPO_ROOT, 'modules'))).get('cowsay') as ModuleSpec
    const o = await runJob(dead, { dealId: dealId(1), spec, inputs: {}, timeoutS: 5, limits: LIMITS, allowNetwork: false })
    assert.equal(o.status, 'docker_unreachable')
    assert.match((o as { message: string }).message, /start dockerd .*scripts\/setup-docker\.sh/)
    const r = await reattach(dead, dealId(1))
    assert.equal(r?.status, 'docker_unreachable')
  })
})

describe('executor against dockerd', function () {
  this.timeout(120_000)
  let modules: Map<string, ModuleSpec>
  let workDir: string
  let n = 0x1000

  const spec = (name: string): ModuleSpec => {
    const s = modules.get(name)
    assert.ok(s !== undefined, `module ${name}`)
    return s
  }
  const run = async (name: string | ModuleSpec, inputs: JobInputs, extra: Partial<RunJobRequest> = {}, onProgress?: (e: JobProgress) => void): Promise<JobOutcome> =>
    await runJob(docker, {
      dealId: dealId(++n),
      spec: typeof name === 'string' ? spec(name) : name,
      inputs,
      timeoutS: 60,
      limits: LIMITS,
      allowNetwork: false,
      workDir,
      ...extra
    }, { onProgress })

  before(async function () {
    modules = await requireDocker(this)
    workDir = await mkdtemp(join(tmpdir(), 'lilynode-exec-test-'))
  })
  afterEach(async () => { await cleanupContainers(workDir) })
  after(async () => {
    await cleanupContainers(workDir)
    if (workDir !== undefined) {
      assert.deepEqual(await readdir(workDir), [], 'every job folder is removed')
      await rm(workDir, { recursive: true, force: true })
    }
  })

  describe('example modules', () => {
    it('cowsay:v0.0.4 draws a cow saying the message', async () => {
      const o = completed(await run('cowsay', { Message: 'hello lilynode' }))
      const cow = text(o.bundle.stdout)
      assert.match(cow, /< hello lilynode >/)
      assert.match(cow, /\(oo\)\\_______/)
      assert.equal(files(o)['cow.txt'], cow)
      assert.equal(o.exitCode, 0)
    })

    it('etl filters and aggregates an input CSV into output files', async () => {
      const csv = 'region,product,units,price_cents\neu,apple,3,100\nus,pear,10,50\neu,pear,5,70\nasia,apple,1,10\nus,apple,2,99\n'
      const o = completed(await run('etl', { data: Buffer.from(csv), minUnits: 2, groupBy: 'region' }))
      const f = files(o)
      assert.equal(f['summary.csv'], 'region,rows,units,revenue_cents\neu,2,8,650\nus,2,12,698\n')
      assert.equal(f['filtered.csv'], 'region,product,units,price_cents,revenue_cents\neu,apple,3,100,300\nus,pear,10,50,500\neu,pear,5,70,350\nus,apple,2,99,198\n')
      assert.equal(text(o.bundle.stdout).split('\n')[0], 'kept 4 rows, dropped 1')
      const byProduct = completed(await run('etl', { data: Buffer.from(csv), groupBy: 'product' }))
      assert.equal(files(byProduct)['summary.csv'], 'product,rows,units,revenue_cents\napple,3,6,508\npear,2,15,850\n')
    })

    it('etl fails cleanly on a malformed CSV', async () => {
      const o = completed(await run('etl', { data: Buffer.from('a,b\n1,2\n') }), 'failed')
      assert.equal(o.exitCode, 2)
      assert.match(text(o.bundle.stderr), /bad header/)
    })

    it('linfit fits y = a·x + b exactly, as an independent BigInt computation does', async () => {
      // y = 2x + 1 plus deterministic noise
      const rows: Array<[string, string]> = []
      for (let i = 0; i < 40; i++) {
        const x = (i * 37) % 101 - 50
        const noise = ((i * 7919) % 21) - 10
        rows.push([(x / 4).toFixed(2), ((2 * x + 4 + noise / 10) / 4).toFixed(2)])
      }
      const csv = 'x,y\n' + rows.map((r) => r.join(',')).join('\n') + '\n'
      const o = completed(await run('linfit', { data: Buffer.from(csv) }))
      const weights = JSON.parse(files(o)['weights.json']) as { a: string, b: string, n: number }
      assert.deepEqual(weights, { ...expectedFit(rows, 6), n: 40 })
      assert.match(weights.a, /^1\.99|^2\.0/)
      const exact = completed(await run('linfit', { data: Buffer.from('x,y\n1,3\n2,5\n3,7.5\n4,9\n'), digits: 3 }))
      assert.equal(files(exact)['weights.json'], '{"a":"2.050","b":"1.000","n":4}\n')
    })
  })

  describe('outcomes', () => {
    it('timed_out: a job that sleeps past its timeout is killed', async () => {
      const t0 = Date.now()
      const o = await run('probe', { action: 'sleep', n: 60 }, { timeoutS: 2 })
      assert.equal(o.status, 'timed_out')
      assert.ok(Date.now() - t0 < 30_000)
      assert.equal(text((o as { stdout: Uint8Array }).stdout), 'sleeping 60 s\n')
    })

    it('oom: a job that allocates past its memory limit', async () => {
      const o = await run('probe', { action: 'alloc', n: 128 }, { resources: { cpu: 500, ram: 32, gpus: 0, gpuVram: 0, disk: 0 } })
      assert.equal(o.status, 'oom', JSON.stringify(o))
    })

    it('the same allocation fits a larger limit (the oom above is the limit, not the program)', async () => {
      const o = completed(await run('probe', { action: 'alloc', n: 4 }, { resources: { cpu: 500, ram: 128, gpus: 0, gpuVram: 0, disk: 0 } }))
      assert.match(text(o.bundle.stdout), /^allocated \d+ bytes/)
    })

    it('output_too_large: an output folder over the cap, found when the job ends', async () => {
      const o = await run('probe', { action: 'flood', n: 3 })
      assert.equal(o.status, 'output_too_large')
      assert.match((o as { message: string }).message, /output is larger than 1048576 bytes/)
    })

    it('output_too_large: a job still running is killed once its output passes the cap', async () => {
      const t0 = Date.now()
      const o = await run('probe', { action: 'floodhold', n: 3 })
      assert.equal(o.status, 'output_too_large')
      assert.match((o as { message: string }).message, /grew past 1048576 bytes; killed/)
      assert.ok(Date.now() - t0 < 25_000, 'killed long before its 30 s sleep ends')
    })

    it('output_too_large: stdout over the log cap kills the job', async () => {
      const o = await run('probe', { action: 'spam', n: 100_000 })
      assert.equal(o.status, 'output_too_large')
      assert.match((o as { message: string }).message, /stdout went past 65536 bytes/)
      assert.equal((o as { stdout: Uint8Array }).stdout.length, LIMITS.maxLogBytes)
    })

    it('failed: a job that writes to / fails on the read-only root', async () => {
      const o = completed(await run('probe', { action: 'rootwrite' }), 'failed')
      assert.notEqual(o.exitCode, 0)
      assert.match(text(o.bundle.stderr), /Read-only file system/)
    })

    it('failed: a non-zero exit code is reported and hashed', async () => {
      const o = completed(await run('probe', { action: 'fail', n: 7 }), 'failed')
      assert.equal(o.exitCode, 7)
      assert.equal(o.resultHash, bundleHash(o.bundle))
    })

    it('image_missing: an image that is neither local nor pullable', async () => {
      const s = { ...spec('probe'), image: 'lilynode/does-not-exist:v9.9.9' }
      const o = await run(s, { action: 'echo' })
      assert.equal(o.status, 'image_missing')
      assert.match((o as { message: string }).message, /lilynode\/does-not-exist:v9\.9\.9/)
    })

    it('image_refused: a local tag whose content does not match the digest', async () => {
      const s = { ...spec('probe'), image: `${spec('probe').image}@sha256:${'0'.repeat(64)}` }
      const o = await run(s, { action: 'echo' })
      assert.equal(o.status, 'image_refused')
      const id = (await docker.getImage(spec('probe').image).inspect()).Id
      const pinned = completed(await run({ ...spec('probe'), image: `${spec('probe').image}@${id}` }, { action: 'echo', arg: 'pinned' }))
      assert.equal(text(pinned.bundle.stdout), 'pinned\n')
      const byIdOnly = completed(await run({ ...spec('probe'), image: `lilynode/probe@${id}` }, { action: 'echo', arg: 'by id' }))
      assert.equal(text(byIdOnly.bundle.stdout), 'by id\n')
    })

    it('gpu_unavailable: a GPU job on an engine without the NVIDIA runtime is refused at once', async function () {
      const info = await docker.info() as { Runtimes?: Record<string, unknown> }
      if (info.Runtimes?.nvidia !== undefined) this.skip()
      const o = await run('probe', { action: 'echo' }, { gpus: { count: 1 } })
      assert.equal(o.status, 'gpu_unavailable')
      assert.match((o as { message: string }).message, /nvidia-container-toolkit/)
      assert.deepEqual((await findJobContainers(docker)).filter((c) => c.meta?.jobDir.startsWith(workDir) === true), [])
    })

    it('invalid_job: inputs that break the spec never reach Docker', async () => {
      const o = await run('probe', { action: 'echo', arg: 'a;rm -rf /' })
      assert.equal(o.status, 'invalid_job')
      assert.match((o as { message: string }).message, /does not match the pattern/)
    })

    it('invalid_job: a work folder that is a symlink is refused (dockerd would follow it)', async () => {
      const link = join(workDir, 'link')
      await symlink('/etc', link)
      try {
        const o = await run('probe', { action: 'echo' }, { workDir: link })
        assert.equal(o.status, 'invalid_job')
        assert.match((o as { message: string }).message, /must be a folder owned by this user/)
      } finally {
        await rm(link)
      }
    })

    it('cancelled: the abort signal stops a running job', async () => {
      const ac = new AbortController()
      const p = runJob(docker, { dealId: dealId(++n), spec: spec('probe'), inputs: { action: 'sleep', n: 60 }, timeoutS: 60, limits: LIMITS, allowNetwork: false, workDir },
        { signal: ac.signal, onProgress: (e) => { if (e.kind === 'started') setTimeout(() => ac.abort(), 300) } })
      assert.equal((await p).status, 'cancelled')
    })
  })

  describe('pulling', () => {
    let registry: TestRegistry | undefined
    const repo = 'lilynode/probe-pulled'
    before(async () => { registry = await startTestRegistry(docker, spec('probe').image, repo, 'v1') })
    after(async () => {
      if (registry === undefined) return
      for (const ref of [`${registry.host}/${repo}:v1`, `${registry.host}/${repo}@${registry.manifestDigest}`]) {
        try { await docker.getImage(ref).remove() } catch { /* not pulled */ }
      }
      await registry.close()
    })

    it('pulls a missing image (progress reported), checks its digest, then runs it', async () => {
      const r = registry as TestRegistry
      const events: JobProgress[] = []
      const image = `${r.host}/${repo}:v1@${r.manifestDigest}`
      const o = completed(await run({ ...spec('probe'), image }, { action: 'echo', arg: 'pulled' }, {}, (e) => events.push(e)))
      assert.equal(text(o.bundle.stdout), 'pulled\n')
      assert.ok(events.some((e) => e.kind === 'pull'), 'pull progress events')
      assert.ok(events.some((e) => e.kind === 'image' && e.pulled))
      assert.ok(r.requests.some((q) => q.includes(`/v2/${repo}/manifests/`)))
      // now local: the next run does not pull
      const again: JobProgress[] = []
      completed(await run({ ...spec('probe'), image }, { action: 'echo', arg: 'local' }, {}, (e) => again.push(e)))
      assert.ok(again.some((e) => e.kind === 'image' && !e.pulled))
    })

    it('refuses the pulled tag under another digest, and a digest the registry lacks is missing', async () => {
      const r = registry as TestRegistry
      const wrong = await run({ ...spec('probe'), image: `${r.host}/${repo}:v1@sha256:${'1'.repeat(64)}` }, { action: 'echo' })
      assert.equal(wrong.status, 'image_refused')
      const absent = await run({ ...spec('probe'), image: `${r.host}/${repo}@sha256:${'2'.repeat(64)}` }, { action: 'echo' })
      assert.equal(absent.status, 'image_missing')
    })
  })

  describe('isolation', () => {
    it('the container is created locked down (as Docker reports it)', async () => {
      let inspected: Docker.ContainerInspectInfo | undefined
      const id = dealId(++n)
      const o = await runJob(docker, { dealId: id, spec: spec('probe'), inputs: { action: 'sleep', n: 2 }, timeoutS: 60, limits: LIMITS, allowNetwork: true, workDir }, {
        onProgress: (e) => { if (e.kind === 'started') void docker.getContainer(e.containerId).inspect().then((i) => { inspected = i }) }
      })
      completed(o)
      assert.ok(inspected !== undefined)
      const h = inspected.HostConfig
      assert.equal(h.NetworkMode, 'none', 'the probe module does not ask for network, so the provider consent is not enough')
      assert.deepEqual(h.CapDrop, ['ALL'])
      assert.deepEqual(h.SecurityOpt, ['no-new-privileges'])
      assert.equal(h.ReadonlyRootfs, true)
      assert.equal(h.Privileged, false)
      assert.equal(h.PidsLimit, 256)
      assert.equal(h.Memory, 32 * 1024 * 1024)
      assert.equal(h.NanoCpus, 250_000_000)
      assert.ok(Object.keys(h.Tmpfs ?? {}).includes('/tmp'))
      assert.equal(inspected.Config.Labels['lilynode.deal'], id)
      assert.notEqual(inspected.Config.User, '')
      assert.notEqual(inspected.Config.User.split(':')[0], '0')
    })

    it('the job runs without capabilities, as a non-root user, with no-new-privileges', async () => {
      const o = completed(await run('probe', { action: 'status' }))
      const s = text(o.bundle.stdout)
      assert.match(s, /CapEff:\t0000000000000000/)
      assert.match(s, /CapBnd:\t0000000000000000/)
      assert.match(s, /NoNewPrivs:\t1/)
      assert.doesNotMatch(s, /Uid:\t0\t/)
    })

    describe('network', () => {
      let server: Server
      let target: string | undefined
      before(async () => {
        // The host as containers on the default bridge see it (docker0's address).
        // Docker gives the bridge the subnet's first address when IPAM does not name a gateway.
        const net = await docker.getNetwork('bridge').inspect() as { IPAM?: { Config?: Array<{ Gateway?: string, Subnet?: string }> } }
        const cfg = net.IPAM?.Config?.[0]
        const m = /^(\d+\.\d+\.\d+)\.0\/\d+$/.exec(cfg?.Subnet ?? '')
        const gw = cfg?.Gateway ?? (m !== null ? `${m[1]}.1` : undefined)
        server = createServer((_req, res) => res.end('hello from the host\n'))
        if (gw !== undefined) {
          await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, gw, resolve) })
          const addr = server.address()
          if (addr !== null && typeof addr === 'object') target = `${gw}:${addr.port}`
        }
      })
      after(async () => { if (server.listening) await new Promise((resolve) => server.close(resolve)) })

      it('a job that tries the network fails (network none)', async function () {
        if (target === undefined) this.skip()
        const o = completed(await run({ ...spec('probe'), network: true }, { action: 'net', arg: target }, { allowNetwork: false }), 'failed')
        assert.match(text(o.bundle.stderr), /Network is unreachable|can't connect/)
      })

      it('the same job reaches the host when the module and the provider both allow it', async function () {
        if (target === undefined) this.skip()
        const o = completed(await run({ ...spec('probe'), network: true }, { action: 'net', arg: target }, { allowNetwork: true }))
        assert.match(files(o)['net.txt'], /^HTTP\/1\.1 200 OK/)
      })
    })
  })

  describe('determinism', () => {
    it('the same job twice gives the same result hash; another input another hash', async () => {
      const a = completed(await run('cowsay', { Message: 'same twice' }))
      const b = completed(await run('cowsay', { Message: 'same twice' }))
      const c = completed(await run('cowsay', { Message: 'different' }))
      assert.equal(a.resultHash, b.resultHash)
      assert.notEqual(a.resultHash, c.resultHash)
      const csv = Buffer.from('region,product,units,price_cents\neu,apple,3,100\n')
      const e1 = completed(await run('etl', { data: csv }))
      const e2 = completed(await run('etl', { data: csv }))
      assert.equal(e1.resultHash, e2.resultHash)
      // the creator's side: decode the bytes it received, re-hash, extract
      const received = decodeBundle(encodeBundle(e1.bundle))
      assert.equal(bundleHash(received), e1.resultHash)
      const dir = await mkdtemp(join(tmpdir(), 'lilynode-extract-'))
      try {
        assert.deepEqual(await extractOutputTar(received.outputTar, dir), ['filtered.csv', 'summary.csv'])
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('folders and nested files are in the tar, sorted', async () => {
      const o = completed(await run('probe', { action: 'slowecho', n: 0, arg: 'nested' }))
      assert.deepEqual(readTar(o.bundle.outputTar).map((e) => `${e.type}:${e.path}:${e.mode.toString(8)}`), ['dir:sub:755', 'file:sub/echo.txt:644'])
    })
  })

  describe('restart safety', () => {
    /** Starts a runner process and SIGKILLs it as soon as its container runs. */
    const killedRunner = (id: string, seconds: number, message: string): Promise<string> => {
      const script = join(REPO_ROOT, 'dist', 'test', 'executor', 'child', 'runJob.js')
      const p = spawn(process.execPath, [script, id, String(seconds), message, workDir], { stdio: ['ignore', 'pipe', 'pipe'] })
      return new Promise((resolve, reject) => {
        let out = ''
        let err = ''
        p.stderr.on('data', (d: Buffer) => { err += d.toString() })
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /STARTED ([0-9a-f]{64})/.exec(out)
          if (m !== null) {
            p.kill('SIGKILL')
            p.once('exit', (_code, signal) => {
              if (signal === 'SIGKILL') resolve(m[1])
              else reject(new Error(`runner finished before it was killed: ${out}`))
            })
          }
        })
        p.once('exit', (code, signal) => { if (signal !== 'SIGKILL') reject(new Error(`runner exited (${code}) before starting: ${out} ${err}`)) })
      })
    }

    it('a runner SIGKILLed mid-job: re-attach collects the running job and one that finished meanwhile', async () => {
      const running = dealId(++n)
      const finished = dealId(++n)
      // the short job first, so that it has exited while the long one surely still runs
      const b = await killedRunner(finished, 2, 'finished meanwhile')
      const a = await killedRunner(running, 6, 'still running')
      const found = (await findJobContainers(docker)).filter((c) => c.dealId === running || c.dealId === finished)
      assert.deepEqual(found.map((c) => c.dealId).sort(), [running, finished].sort())
      // let the short one exit while no runner watches it
      for (let i = 0; i < 100; i++) {
        if ((await docker.getContainer(b).inspect()).State.Status === 'exited') break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      assert.equal((await docker.getContainer(a).inspect()).State.Status, 'running')
      const [ra, rb] = await Promise.all([reattach(docker, running), reattach(docker, finished)])
      assert.ok(ra !== undefined && rb !== undefined)
      const oa = completed(ra)
      const ob = completed(rb)
      assert.equal(text(oa.bundle.stdout), 'still running\n')
      assert.equal(files(ob)['sub/echo.txt'], 'finished meanwhile\n')
      assert.deepEqual((await findJobContainers(docker)).filter((c) => c.dealId === running || c.dealId === finished), [], 'collected containers are removed')
      assert.equal(await reattach(docker, running), undefined)
      // the re-attached result is the result an uninterrupted runner gets
      const straight = completed(await run('probe', { action: 'slowecho', n: 2, arg: 'finished meanwhile' }))
      assert.equal(straight.resultHash, ob.resultHash)
    })
  })
})

/** Least squares with BigInt, truncated toward zero like modules/linfit/linfit.sh. */
function expectedFit (rows: Array<[string, string]>, digits: number): { a: string, b: string } {
  const sc = (s: string): bigint => BigInt(Math.round(Number(s) * 100))
  let n = 0n; let sx = 0n; let sy = 0n; let sxx = 0n; let sxy = 0n
  for (const [xs, ys] of rows) {
    const x = sc(xs); const y = sc(ys)
    n++; sx += x; sy += y; sxx += x * x; sxy += x * y
  }
  const den = n * sxx - sx * sx
  const fix = (num: bigint, d: bigint): string => {
    const neg = (num < 0n) !== (d < 0n) && num !== 0n
    const an = num < 0n ? -num : num
    const ad = d < 0n ? -d : d
    const scale = 10n ** BigInt(digits)
    const q = an * scale / ad
    const s = `${q / scale}.${(q % scale).toString().padStart(digits, '0')}`
    return neg && /[1-9]/.test(s) ? `-${s}` : s
  }
  return { a: fix(n * sxy - sx * sy, den), b: fix(sxx * sy - sx * sxy, den * 100n) }
}

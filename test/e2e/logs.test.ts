/**
 * A job's logs, live, to its parties only — through real processes (anvil, a bootstrap node, a
 * provider process, Docker): a job prints to stdout and stderr over several seconds;
 * `lilynode logs --follow` (another process, through the run's local relay) sees its lines
 * before the job ends; LilyClient.logs and GET /jobs/{id}/logs stream them live from the
 * provider too; a peer that is not the deal's creator is refused with LOGS_FORBIDDEN.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LILYNODE_BIN } from '../../src/devnet/devnet.js'
import { LilyClient } from '../../src/sdk/index.js'
import { startApi } from '../../src/api/server.js'
import { RoleHost } from '../../src/node/roles/host.js'
import { openLogs, LogsRefusal } from '../../src/p2p/index.js'
import { loadOrCreateIdentity } from '../../src/protocol/identity.js'
import { createLogger } from '../../src/protocol/logger.js'
import type { Hash } from '../../src/protocol/types.js'
import { eventOf, requireDocker, runFailure, startNet, stopNet, type TestNet } from './helpers.js'

const LINES = 6
/** Prints `out i` and `err i` once a second (the probe image's busybox sh). */
const TICKER = `for i in $(seq 1 ${LINES}); do echo "out $i"; echo "err $i" >&2; sleep 1; done`

describe('e2e (logs): live stdout and stderr from the provider, to the deal\'s creator only', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  let moduleDir = ''
  let failed = false
  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 2 })
    moduleDir = join(t.dir, 'ticker')
    await mkdir(moduleDir, { recursive: true })
    await writeFile(join(moduleDir, 'module.json'), JSON.stringify({
      name: 'ticker', version: 'v1', image: 'lilynode/probe:v1.0.0', entrypoint: ['/bin/sh', '-c', TICKER], cmd: [], resources: { cpu: 250, ram: 32 }, timeoutS: 60
    }))
  })
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  const dataDir = (name: string): string => {
    const p = (t as TestNet).net.parties.get(name)
    if (p === undefined) throw new Error(`no ${name}`)
    return p.dataDir
  }

  it('lilynode logs --follow (another process) prints the job\'s lines while it runs; after the run, from the stored result; a non-party peer gets LOGS_FORBIDDEN', async () => {
    const net = (t as TestNet).net
    const job = net.run('creator-1', moduleDir, [])
    const offered = await job.waitFor((e) => e.stage === 'offered', 60_000, 'offered')
    const jobId = String(offered.jobId)
    // started right after the offer: it waits for the deal, then follows the provider's stream
    const follower = spawn(process.execPath, [LILYNODE_BIN, 'logs', jobId, '--follow', '--json', '--data-dir', dataDir('creator-1')], { stdio: ['ignore', 'pipe', 'pipe'] })
    const got: Array<{ stream?: string, text?: string, end?: boolean, from?: string, at: number }> = []
    let err = ''
    let buf = ''
    follower.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8')
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        got.push({ ...JSON.parse(buf.slice(0, i)) as Record<string, unknown>, at: Date.now() })
        buf = buf.slice(i + 1)
      }
    })
    follower.stderr.on('data', (d: Buffer) => { err += d.toString('utf8') })
    const followed = new Promise<number | null>((resolve) => follower.on('exit', (c) => resolve(c)))
    const running = await job.waitFor((e) => e.stage === 'running', 120_000, 'running')
    const dealId = String(running.dealId ?? (eventOf(job.events, 'matched') as Record<string, unknown>).dealId) as Hash

    // a peer that is not the deal's creator (creator-2's key) asks the provider directly
    const stranger = await RoleHost.start({ profile: net.profile, dataDir: dataDir('creator-2'), listen: ['/ip4/127.0.0.1/tcp/0'], log: createLogger('stranger') })
    try {
      const provider = await loadOrCreateIdentity(dataDir('provider-1'))
      let refusal: unknown
      for (let i = 0; i < 20 && refusal === undefined; i++) {
        try {
          await openLogs(stranger.node.libp2p, net.profile, provider.peerId, dealId, { follow: false, signal: AbortSignal.timeout(10_000) })
          refusal = new Error('the provider served a stranger')
        } catch (e) {
          if (e instanceof LogsRefusal) refusal = e
          else await new Promise((resolve) => setTimeout(resolve, 500)) // not dialable yet
        }
      }
      assert.ok(refusal instanceof LogsRefusal, `expected LogsRefusal, got ${String(refusal)}`)
      assert.equal(refusal.code, 'LOGS_FORBIDDEN')
    } finally {
      await stranger.stop()
    }

    const exit = await job.done
    const jobEnded = Date.now()
    assert.equal(exit, 0, runFailure('the ticker job', job))
    assert.equal(await followed, 0, `lilynode logs --follow: ${err}`)
    const text = (s: string): string => got.filter((g) => g.stream === s).map((g) => g.text).join('')
    const expect = (s: string): string => Array.from({ length: LINES }, (_, i) => `${s} ${i + 1}\n`).join('')
    assert.equal(text('stdout'), expect('out'), JSON.stringify(got))
    assert.equal(text('stderr'), expect('err'), JSON.stringify(got))
    const firstLine = got.find((g) => g.stream === 'stdout')
    assert.ok(firstLine !== undefined && firstLine.at < jobEnded - 2000, `the first line came ${String(firstLine !== undefined ? jobEnded - firstLine.at : '-')} ms before the run ended: not live`)
    const end = got[got.length - 1]
    assert.equal(end.end, true)
    assert.equal(end.from, 'provider')

    // after the run: the data dir is free and holds the result
    const after = await new Promise<{ code: number | null, out: string }>((resolve) => {
      const p = spawn(process.execPath, [LILYNODE_BIN, 'logs', jobId, '--data-dir', dataDir('creator-1')], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      p.stdout.on('data', (d: Buffer) => { out += d.toString('utf8') })
      p.on('exit', (code) => resolve({ code, out }))
    })
    assert.equal(after.code, 0)
    assert.equal(after.out, expect('out'), 'plain mode: stdout to stdout')
  })

  it('LilyClient.logs and GET /jobs/{id}/logs?follow=1 stream a running job\'s lines from its provider', async () => {
    const net = (t as TestNet).net
    const client = await LilyClient.connect({ profile: net.profile, dataDir: dataDir('creator-2'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      const job = client.run(join(moduleDir, 'module.json'), {}, { timeoutS: 60 })
      let jobId: string | undefined
      for await (const e of job) {
        if (e.stage === 'offered' && e.jobId !== undefined) { jobId = e.jobId; break }
      }
      assert.ok(jobId !== undefined)
      const logs = client.logs(jobId, { follow: true })
      const seen: Array<{ stream: string, text: string, at: number }> = []
      for await (const c of logs) seen.push({ stream: c.stream, text: new TextDecoder().decode(c.data), at: Date.now() })
      const r = await job.result
      assert.equal(r.exitCode, 0)
      assert.equal(logs.from, 'provider')
      assert.equal(seen.filter((s) => s.stream === 'stdout').map((s) => s.text).join(''), Array.from({ length: LINES }, (_, i) => `out ${i + 1}\n`).join(''))
      assert.ok(seen.filter((s) => s.stream === 'stdout').length >= 2, 'several chunks over time, not one at the end')
      assert.ok(seen[seen.length - 1].at - seen[0].at >= 2000, 'the chunks came over seconds')
      // afterwards: from the data dir's stored result
      const again = client.logs(jobId)
      let n = 0
      for await (const _c of again) n++
      assert.ok(n > 0)
      assert.equal(again.from, 'local')
    } finally {
      await client.close()
    }

    // the API on the same data dir: a job it starts, followed over HTTP while it runs
    const host = await RoleHost.start({ profile: net.profile, dataDir: dataDir('creator-2'), listen: ['/ip4/127.0.0.1/tcp/0'], log: createLogger('api-test') })
    const api = await startApi({ host, listen: '127.0.0.1:0', log: createLogger('api-test') })
    try {
      const posted = await fetch(`${api.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: join(moduleDir, 'module.json'), timeoutS: 60 }) })
      assert.equal(posted.status, 202, await posted.clone().text())
      const { id } = await posted.json() as { id: string }
      const unknown = await fetch(`${api.url}/jobs/job-0000000000000000/logs`)
      assert.equal(unknown.status, 404)
      const tAsk = Date.now()
      const res = await fetch(`${api.url}/jobs/${id}/logs?follow=1`, { signal: AbortSignal.timeout(120_000) })
      const tHead = Date.now()
      // (not res.clone().text() here: it would wait for the whole stream)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/)
      const lines: Array<Record<string, unknown> & { at: number }> = []
      let buf = ''
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += new TextDecoder().decode(part)
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          lines.push({ ...JSON.parse(buf.slice(0, i)) as Record<string, unknown>, at: Date.now() })
          buf = buf.slice(i + 1)
        }
      }
      const out = lines.filter((l) => l.stream === 'stdout').map((l) => l.text).join('')
      const errText = lines.filter((l) => l.stream === 'stderr').map((l) => l.text).join('')
      assert.equal(out, Array.from({ length: LINES }, (_, i) => `out ${i + 1}\n`).join(''), JSON.stringify(lines))
      assert.equal(errText, Array.from({ length: LINES }, (_, i) => `err ${i + 1}\n`).join(''))
      assert.equal(lines[lines.length - 1].end, true)
      assert.equal(lines[lines.length - 1].from, 'provider')
      assert.ok(lines[lines.length - 2].at - lines[0].at >= 2000, `streamed over seconds: asked ${tAsk}, headers ${tHead}, ${JSON.stringify(lines.map((l) => [l.at, l.stream, l.text]))} job ${JSON.stringify(await (await fetch(`${api.url}/jobs/${id}`)).json())}`)
      // finished: from the stored result, without follow
      for (let i = 0; i < 60; i++) {
        const j = await (await fetch(`${api.url}/jobs/${id}`)).json() as { state: string }
        if (j.state !== 'running') break
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      const stored = await fetch(`${api.url}/jobs/${id}/logs`)
      assert.equal(stored.status, 200)
      assert.match(await stored.text(), /"from":"local"/)
    } finally {
      await api.stop()
      await host.stop()
    }
  })
})

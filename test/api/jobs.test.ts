/**
 * The API's view of a data dir's jobs (real anvil, bootstrap, provider process, Docker): GET
 * /jobs lists every job record — one `lilynode run` made from the same data dir as well as the
 * API's own — and GET /jobs/{id}/outputs hands a job's result files back, as a tar or one by
 * one; the result carries stderr.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { UPLOAD_ID_PATTERN } from '../../src/api/uploads.js'
import { join } from 'node:path'
import { startApi, type ApiServer } from '../../src/api/server.js'
import { ROUTES } from '../../src/api/routes.js'
import { validate } from '../../src/api/schema.js'
import { readTar } from '../../src/executor/index.js'
import { RoleHost } from '../../src/node/roles/host.js'
import { createLogger } from '../../src/protocol/logger.js'
import { eventOf, requireDocker, runFailure, startNet, stopNet, type TestNet } from '../e2e/helpers.js'

function schemaOf (operationId: string, status: number): Parameters<typeof validate>[0] {
  const d = ROUTES.find((x) => x.operationId === operationId)?.responses[status]
  if (d === undefined) throw new Error(`no ${status} response for ${operationId}`)
  return d.schema
}

async function get (url: string): Promise<{ status: number, type: string, bytes: Uint8Array, json: unknown }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(30_000) })
  const bytes = new Uint8Array(await r.arrayBuffer())
  let json: unknown
  try { json = JSON.parse(new TextDecoder().decode(bytes)) } catch {}
  return { status: r.status, type: r.headers.get('content-type') ?? '', bytes, json }
}

describe('api: every job of the data dir, and its outputs', function () {
  this.timeout(240_000)
  let t: TestNet | undefined
  let host: RoleHost | undefined
  let api: ApiServer | undefined
  let cliJob = ''

  before(async function () {
    requireDocker(this, ['lilynode/probe:v1.0.0', 'lilynode/etl:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
    // a CLI run first (it holds the data dir while it runs), then the API on the same data dir
    const run = t.net.run('creator-1', 'probe:v1.0.0', ['action=fail', 'n=3'], ['--out', join(t.dir, 'cli-out')])
    assert.equal(await run.done, 6, runFailure('lilynode run of a job that exits 3', run))
    cliJob = String((eventOf(run.events, 'offered') as Record<string, unknown>).jobId)
    const party = t.net.parties.get('creator-1')
    if (party === undefined) throw new Error('no creator-1')
    const log = createLogger('api-test')
    host = await RoleHost.start({ profile: t.net.profile, dataDir: party.dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], log })
    api = await startApi({ host, listen: '127.0.0.1:0', log })
  })

  after(async () => {
    await api?.stop()
    await host?.stop()
    await stopNet(t)
  })

  it('lists the CLI run\'s job beside the API\'s own, and serves both jobs\' files (tar and per file), stderr in the result', async () => {
    const base = (api as ApiServer).url
    const before = await get(`${base}/jobs`)
    validate(schemaOf('listJobs', 200), before.json, 'response')
    const cli = (before.json as { items: Array<Record<string, unknown>> }).items.find((j) => j.id === cliJob)
    assert.ok(cli !== undefined, `the CLI's job ${cliJob} is not listed: ${JSON.stringify(before.json)}`)
    assert.equal(cli.source, 'cli')
    assert.equal(cli.state, 'paid')
    assert.equal((cli.error as Record<string, unknown>).code, 'JOB_EXIT_NONZERO')
    const one = await get(`${base}/jobs/${cliJob}`)
    validate(schemaOf('getJob', 200), one.json, 'response')
    const result = (one.json as { result: { exitCode: number, stderr: string } }).result
    assert.equal(result.exitCode, 3)
    assert.match(result.stderr, /failing with 3/)
    const stderr = await get(`${base}/jobs/${cliJob}/outputs?path=stderr`)
    assert.equal(stderr.status, 200)
    assert.match(new TextDecoder().decode(stderr.bytes), /failing with 3/)

    const post = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'probe:v1.0.0', inputs: { action: 'echo', arg: 'from the api' } }) })
    assert.equal(post.status, 202)
    const id = ((await post.json()) as { id: string }).id
    const early = await get(`${base}/jobs/${id}/outputs`)
    if (early.status !== 200) assert.equal((early.json as { error: { code: string } }).error.code, 'API_NO_OUTPUTS')
    let job: { state: string, source: string, result: { stderr: string, stdout: string } | null } | undefined
    for (const until = Date.now() + 180_000; Date.now() < until;) {
      job = (await get(`${base}/jobs/${id}`)).json as typeof job
      if (job?.state !== 'running') break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    assert.equal(job?.state, 'paid', JSON.stringify(job))
    assert.equal(job?.source, 'api')
    assert.match(String(job?.result?.stderr), /to stderr/)
    const tar = await get(`${base}/jobs/${id}/outputs`)
    assert.equal(tar.status, 200)
    assert.equal(tar.type, 'application/x-tar')
    const files = new Map(readTar(tar.bytes).map((e) => [e.path, new TextDecoder().decode(e.data)]))
    assert.deepEqual([...files.keys()].sort(), ['exitCode', 'outputs/echo.txt', 'stderr', 'stdout'])
    assert.equal(files.get('outputs/echo.txt'), 'from the api\n')
    assert.equal(files.get('exitCode'), '0\n')
    const file = await get(`${base}/jobs/${id}/outputs?path=outputs/echo.txt`)
    assert.equal(new TextDecoder().decode(file.bytes), 'from the api\n')
    const missing = await get(`${base}/jobs/${id}/outputs?path=nope`)
    assert.equal(missing.status, 404)
    assert.match((missing.json as { error: { message: string } }).error.message, /has no file "nope"; it has: stdout, stderr, exitCode, outputs\/echo.txt/)

    const all = (await get(`${base}/jobs`)).json as { items: Array<{ id: string }> }
    assert.deepEqual(all.items.map((j) => j.id), [id, cliJob], 'newest first, every source')
    const onlyApi = (await get(`${base}/jobs?module=probe:v1.0.0&state=paid`)).json as { items: Array<{ id: string }> }
    assert.equal(onlyApi.items.length, 2)
  })
  it('takes a file input larger than a JSON body through POST /uploads (streamed, content-addressed), and refuses what is not one', async () => {
    const base = (api as ApiServer).url
    // ~330 KB of CSV: five times the 64 KiB body cap
    const rows = ['region,product,units,price_cents']
    for (let i = 0; i < 16_000; i++) rows.push(`${['north', 'south', 'east', 'west'][i % 4]},widget-${i % 7},${(i % 50) + 1},${100 + (i % 13)}`)
    const csv = new TextEncoder().encode(rows.join('\n') + '\n')
    assert.ok(csv.length > 4 * 64 * 1024)
    const up = await fetch(`${base}/uploads`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: csv })
    assert.equal(up.status, 201)
    const answer = await up.json() as { upload: string, bytes: number }
    assert.match(answer.upload, new RegExp(UPLOAD_ID_PATTERN))
    assert.equal(answer.bytes, csv.length)
    assert.equal(answer.upload, `up-${createHash('sha256').update(csv).digest('hex')}`)
    // the same bytes inline would be refused (the body cap)
    const inline = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'etl:v1.0.0', inputs: { data: { base64: Buffer.from(csv).toString('base64') } } }) })
    assert.equal(inline.status, 413)
    assert.match(((await inline.json()) as { error: { message: string } }).error.message, /\/uploads/)
    // what is not an upload
    const asJson = await fetch(`${base}/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ upload: answer.upload, bytes: 1 }) })
    assert.equal(asJson.status, 415)
    const unknown = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'etl:v1.0.0', inputs: { data: { upload: `up-${'0'.repeat(64)}` } } }) })
    assert.equal(unknown.status, 400)
    assert.match(((await unknown.json()) as { error: { code: string, message: string } }).error.message, /POST the file to \/uploads first/)

    const post = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'etl:v1.0.0', inputs: { data: { upload: answer.upload }, groupBy: 'region' } }) })
    assert.equal(post.status, 202, await post.clone().text())
    const id = ((await post.json()) as { id: string }).id
    let job: { state: string } | undefined
    for (const until = Date.now() + 180_000; Date.now() < until;) {
      job = (await get(`${base}/jobs/${id}`)).json as typeof job
      if (job?.state !== 'running') break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    assert.equal(job?.state, 'paid', JSON.stringify(job))
    const summary = new TextDecoder().decode((await get(`${base}/jobs/${id}/outputs?path=outputs/summary.csv`)).bytes)
    assert.deepEqual(summary.trim().split('\n').map((l) => l.split(',').slice(0, 2).join(',')), ['region,rows', ...['east', 'north', 'south', 'west'].map((r) => `${r},${16_000 / 4}`)])
  })
})

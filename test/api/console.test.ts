/**
 * The web console in a real browser: Debian's chromium, headless, driven by playwright-core,
 * against a node's API on a devnet of real processes (anvil, bootstrap, a provider, Docker).
 * A job posted to the API shows up with its stages and output; peers, epochs and roots, offers
 * with their prices, deals, balances and the mediation queue show real data; a peer's offer
 * whose GPU model is HTML is shown as text and runs nothing; a node whose API was started
 * without the console answers 404. Screenshots go to $LILYNODE_SCREENSHOT_DIR (else a temp dir).
 *
 * Skipped (visibly) only when chromium or Docker is missing and LILYNODE_REQUIRE_DOCKER is not
 * 1 (CI sets it, and installs chromium: scripts/setup-chromium.sh).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { startApi, type ApiServer } from '../../src/api/server.js'
import { ROUTES } from '../../src/api/routes.js'
import { validate } from '../../src/api/schema.js'
import { RoleHost } from '../../src/node/roles/host.js'
import { createLogger } from '../../src/protocol/logger.js'
import type { Hash } from '../../src/protocol/types.js'
import { requireDocker, startNet, stopNet, type TestNet } from '../e2e/helpers.js'

const CHROMIUM = process.env.LILYNODE_CHROMIUM ?? '/usr/bin/chromium'
/** 35 printable ASCII characters: within the protocol's 64 for a GPU model, and HTML. */
const HOSTILE_GPU = '<img src=x onerror=window.__pwned=1>'

function schemaOf (operationId: string, status: number): Parameters<typeof validate>[0] {
  const d = ROUTES.find((x) => x.operationId === operationId)?.responses[status]
  if (d === undefined) throw new Error(`no ${status} response for ${operationId}`)
  return d.schema
}

async function getJson (url: string): Promise<{ status: number, json: unknown, headers: Headers }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(30_000) })
  const text = await r.text()
  let json: unknown
  try { json = JSON.parse(text) } catch {}
  return { status: r.status, json, headers: r.headers }
}

/** A TCP port free on 127.0.0.1 just now. */
async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => { resolve(typeof a === 'object' && a !== null ? a.port : 0) })
    })
  })
}

/** A GET with a Host (and Origin) header of our choosing (fetch cannot set Host). */
async function rawGet (url: string, headers: Record<string, string>): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, timeout: 10_000 }, (res) => { res.resume(); res.on('end', () => { resolve(res.statusCode ?? 0) }) })
    req.on('error', reject)
    req.end()
  })
}

describe('api: the web console in headless chromium', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  let host: RoleHost | undefined
  let peer: RoleHost | undefined
  let api: ApiServer | undefined
  let off: ApiServer | undefined
  let browser: Browser | undefined
  let page: Page | undefined
  let shots = ''
  let relayApi = ''
  const problems: string[] = []

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.LILYNODE_REQUIRE_DOCKER === '1') throw new Error(`console test: no chromium at ${CHROMIUM} (apt-get install chromium, or set LILYNODE_CHROMIUM), and LILYNODE_REQUIRE_DOCKER=1`)
      process.stderr.write(`\n    SKIPPED suite "${this.test?.parent?.title ?? ''}": no chromium at ${CHROMIUM}\n`)
      this.skip()
    }
    requireDocker(this, ['lilynode/probe:v1.0.0'])
    shots = process.env.LILYNODE_SCREENSHOT_DIR ?? await mkdtemp(join(tmpdir(), 'lily-console-'))
    await mkdir(shots, { recursive: true })
    relayApi = `127.0.0.1:${await freePort()}`
    // relay-1 is `lilynode creator --api <relayApi> --api-console`: the flag, through the CLI
    t = await startNet({ providers: 1, mediators: 0, creators: 2, relays: 1, relayApi, relayApiConsole: true })
    const log = createLogger('console-test')
    const party = (name: string): string => {
      const p = t?.net.parties.get(name)
      if (p === undefined) throw new Error(`no ${name}`)
      return p.dataDir
    }
    host = await RoleHost.start({ profile: t.net.profile, dataDir: party('creator-1'), listen: ['/ip4/127.0.0.1/tcp/0'], log })
    api = await startApi({ host, listen: '127.0.0.1:0', console: true, log })
    // another node, its API started as by default: no console
    peer = await RoleHost.start({ profile: t.net.profile, dataDir: party('creator-2'), listen: ['/ip4/127.0.0.1/tcp/0'], log })
    off = await startApi({ host: peer, listen: '127.0.0.1:0', log })
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000 })
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    page.on('pageerror', (e) => { problems.push(`page error: ${e.message}`) })
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`) })
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`) })
  })

  after(async () => {
    await browser?.close()
    await off?.stop()
    await api?.stop()
    await peer?.stop()
    await host?.stop()
    await stopNet(t)
  })

  it('is off by default: a node whose API was started without it answers 404, and keeps the API\'s Host and Origin checks when on', async () => {
    const o = off as ApiServer
    assert.equal(o.consoleUrl, undefined)
    for (const path of ['/console', '/console/console.js', '/console/console.css', '/console/icon.svg']) {
      const r = await getJson(`${o.url}${path}`)
      assert.equal(r.status, 404, path)
      assert.equal((r.json as { error: { code: string } }).error.code, 'API_NOT_FOUND')
    }
    // `lilynode creator --api … --api-console` (the devnet's relay-1, its own process) serves it too
    const relayPage = await fetch(`http://${relayApi}/console`, { signal: AbortSignal.timeout(10_000) })
    assert.equal(relayPage.status, 200)
    assert.match(await relayPage.text(), /<title>lilynode console<\/title>/)
    const relayScript = await fetch(`http://${relayApi}/console/console.js`, { signal: AbortSignal.timeout(10_000) })
    assert.equal(relayScript.status, 200)
    assert.match(relayScript.headers.get('content-type') ?? '', /^text\/javascript/)
    const on = api as ApiServer
    assert.equal(on.consoleUrl, `${on.url}/console`)
    const html = await fetch(on.consoleUrl as string, { signal: AbortSignal.timeout(10_000) })
    assert.equal(html.status, 200)
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(html.headers.get('content-security-policy') ?? '', /script-src 'self';/)
    assert.doesNotMatch(await html.text(), /<script>|\son[a-z]+=/i, 'no inline script or handler in the page')
    const port = new URL(on.url).port
    assert.equal(await rawGet(on.consoleUrl, { host: `rebind.example:${port}` }), 403, 'a foreign Host (DNS rebinding) is refused')
    assert.equal(await rawGet(`${on.url}/console/console.js`, { host: `127.0.0.1:${port}`, origin: 'http://evil.example' }), 403, 'a foreign Origin is refused')
  })

  it('shows peers, epochs and roots, offers with prices, a job\'s stages and output, deals, balances and the mediation queue', async () => {
    const base = (api as ApiServer).url
    const p = page as Page
    // a peer publishes a resource offer whose GPU model is HTML (it accepts no real module, so it matches nothing)
    const node = (peer as RoleHost).node
    const epoch = node.currentEpoch()
    await node.publishResourceOffer({
      provider: node.address, nonce: BigInt(`0x${randomBytes(8).toString('hex')}`), version: 1,
      cpu: 1000, ram: 1024, gpus: 1, gpuVram: 8192, disk: 0, gpuModel: HOSTILE_GPU,
      priceCpu: 5n, priceRam: 1n, priceGpu: 2_000_000n, priceDisk: 0n,
      modules: [`0x${'ab'.repeat(32)}` as Hash], collateral: 10n ** 15n, epoch, expiryEpoch: epoch + 60n
    })

    await p.goto((api as ApiServer).consoleUrl as string)
    await p.waitForSelector('#peers tbody tr', { timeout: 30_000 })
    await p.waitForSelector('#epochs tbody tr', { timeout: 30_000 })
    await p.waitForSelector('#offers tbody tr[data-kind="resource"]', { timeout: 30_000 })
    await p.locator('#offers tbody tr', { hasText: HOSTILE_GPU }).first().waitFor({ timeout: 30_000 })
    await p.screenshot({ path: join(shots, 'console-network.png'), fullPage: true })

    // peers: the bootstrap, the provider and the other node, by peer ID, as GET /peers has them
    const peers = (await getJson(`${base}/peers`)).json as { items: Array<{ peerId: string }> }
    const shownPeers = await p.$$eval('#peers tbody tr', (rows) => rows.map((r) => r.getAttribute('data-peer')))
    assert.ok(peers.items.length >= 2, JSON.stringify(peers))
    for (const x of peers.items.slice(0, 3)) assert.ok(shownPeers.includes(x.peerId), `peer ${x.peerId} is not shown: ${JSON.stringify(shownPeers)}`)
    // epochs: our root per epoch beside the peers' majority
    const epochs = (await getJson(`${base}/epochs`)).json
    validate(schemaOf('listEpochs', 200), epochs, 'response')
    const firstEpoch = await p.$eval('#epochs tbody tr', (tr) => [tr.getAttribute('data-epoch'), tr.children[1].getAttribute('title')])
    assert.match(String(firstEpoch[0]), /^[0-9]+$/)
    assert.match(String(firstEpoch[1]), /^0x[0-9a-f]{64}$/, 'the root is shown (full in the title)')
    // offers: the provider's prices per unit and per hour
    const offers = await p.$$eval('#offers tbody tr[data-kind="resource"]', (rows) => rows.map((r) => r.textContent ?? ''))
    assert.ok(offers.some((o) => /cpu: [0-9,]+ wei per millicore-second \([0-9.,]+ (ETH|gwei) per core-hour\)/.test(o) && /exampleJob: 1000 millicores, 1024 MiB, 60 s asks/.test(o)), offers.join('\n'))
    // the hostile GPU model is text: no element was made from it and nothing ran
    assert.equal(await p.$$eval('#offers img, body img', (x) => x.length), 0)
    assert.equal(await p.evaluate('typeof window.__pwned'), 'undefined')

    // a job through the API: its row, then (clicked) its stages live, then its output
    // probe's `sleep` prints its first line, then sleeps: the line shows while the job runs (the provider's live logs)
    const post = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'probe:v1.0.0', inputs: { action: 'sleep', n: 8 } }) })
    const posted = await post.json() as { id: string }
    assert.equal(post.status, 202, JSON.stringify(posted))
    const row = `#jobs tbody tr[data-id="${posted.id}"]`
    await p.waitForSelector(row, { timeout: 30_000 })
    await p.click(row)
    await p.waitForSelector('#job-stages li[data-stage="offered"]', { timeout: 30_000 })
    // polled from here: the console's CSP (script-src 'self') forbids the eval a string predicate needs in the page
    const liveBy = Date.now() + 120_000
    for (;;) {
      const live = await p.evaluate("document.querySelector('#job').getAttribute('data-state') === 'running' && document.querySelector('#job-stdout').textContent.includes('sleeping 8 s')")
      if (live) break
      assert.ok(Date.now() < liveBy, 'the live line was not shown while the job ran')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const runningNow = (await getJson(`${base}/jobs/${posted.id}`)).json as { state: string, result: unknown }
    assert.equal(runningNow.result, null, 'the live line was shown before the job had a result')
    await p.waitForSelector('#job[data-state="paid"]', { timeout: 180_000 })
    await p.waitForSelector(`#deals tbody tr[data-state="completed"]`, { timeout: 60_000 })
    await p.locator('#balances tr[data-key^="spent"] td', { hasText: /in 1 deal$/ }).waitFor({ timeout: 30_000 })
    await p.screenshot({ path: join(shots, 'console-job.png'), fullPage: true })

    const stages = await p.$$eval('#job-stages li', (li) => li.map((x) => x.getAttribute('data-stage')))
    for (const s of ['offered', 'matched', 'opened', 'result', 'accepted', 'paid']) assert.ok(stages.includes(s), `stage ${s} is not shown: ${stages.join(', ')}`)
    assert.ok(stages.indexOf('offered') < stages.indexOf('paid'))
    assert.equal(await p.textContent('#job-stdout'), 'sleeping 8 s\n')
    assert.equal(await p.textContent('#job-stderr'), '(none)', 'sleep writes nothing to stderr')
    const job = (await getJson(`${base}/jobs/${posted.id}`)).json as { state: string, result: { dealId: string, price: string, stdout: string, stderr: string | null } }
    assert.equal(job.state, 'paid')
    assert.equal(job.result.stdout, 'sleeping 8 s\n')
    assert.ok(job.result.stderr === null || job.result.stderr === '', String(job.result.stderr))
    assert.ok(await p.$(`#deals tbody tr[data-id="${job.result.dealId}"][data-state="completed"]`) !== null, 'the job\'s deal is shown completed')

    // balances: the API's figures, in ETH
    const balances = (await getJson(`${base}/balances`)).json as { wallet: string, spent: { wei: string, deals: number } }
    validate(schemaOf('balances', 200), balances, 'response')
    assert.equal(balances.spent.deals, 1)
    assert.equal(balances.spent.wei, job.result.price, 'what the creator spent is the deal\'s price')
    assert.match(await p.textContent('#balances tr[data-key="wallet"] td') ?? '', /^[0-9]+(\.[0-9]+)? ETH$/)
    // the mediation queue: nothing under challenge, the fee read from the chain
    const queue = (await getJson(`${base}/mediation`)).json as { items: unknown[], mediationFee: string | null, errors: string[] }
    validate(schemaOf('mediationQueue', 200), queue, 'response')
    assert.deepEqual(queue.items, [])
    assert.deepEqual(queue.errors, [])
    assert.match(String(queue.mediationFee), /^[0-9]+$/)
    assert.equal(await p.textContent('#mediation .status'), 'no deal under challenge')
    assert.equal(await p.getAttribute('#mediation', 'data-state'), 'empty')

    for (const name of ['console-network.png', 'console-job.png']) {
      const png = await readFile(join(shots, name))
      assert.ok(png.length > 10_000 && png.subarray(1, 4).toString() === 'PNG', `${name}: ${png.length} bytes`)
    }
    assert.deepEqual(problems, [], 'the page ran without errors (no CSP violation, no exception)')
    process.stderr.write(`    screenshots: ${shots}\n`)
  })
})

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LILYNODE_BIN, REPO_ROOT } from '../../src/devnet/index.js'
import { startApi, type ApiServer } from '../../src/api/server.js'
import { RoleHost } from '../../src/node/roles/host.js'
import { createLogger } from '../../src/protocol/logger.js'
import { DEAL_GAS } from '../../src/cli/cmds/provider/summary.js'
import type { Hash } from '../../src/protocol/types.js'
import { eventOf, requireDocker, runFailure, startNet, stopNet, txsOf, type TestNet } from './helpers.js'

interface Exit { code: number | null, stdout: string, stderr: string }

function lilynode (args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LILYNODE_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`lilynode ${args.join(' ')} did not exit: ${stderr}`)) }, 120_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

interface OfferJson { provider: string, ask: string, price: string, formula: string, cpu: number, ram: number, gpus: number, disk: number, prices: { cpu: string, ram: string, gpu: string, disk: string }, reasons: Array<{ constraint: string, message: string }> }
interface EstimateJson { module: string, maxPrice: string, epoch: string, considered: number, fits: OfferJson[], misfits: OfferJson[], verdict: string | null, formula: string, resources: { cpu: number, ram: number, gpus: number, disk: number }, timeoutS: number }

/** cowsay:v0.0.4 asks for 250 millicores and 32 MiB; the devnet's provider charges the CLI's default prices. */
function expectedAsk (o: OfferJson, timeoutS: number): bigint {
  return (BigInt(o.prices.cpu) * 250n + BigInt(o.prices.ram) * 32n + BigInt(o.prices.gpu) * 0n + BigInt(o.prices.disk) * 0n) * BigInt(timeoutS)
}

/** The matcher's deal price (k = ½): the midpoint of the ask and the job's max price. */
function expectedPrice (o: OfferJson, timeoutS: number, maxPrice: bigint): bigint {
  const ask = expectedAsk(o, timeoutS)
  return maxPrice > ask ? ask + (maxPrice - ask) / 2n : ask
}

describe('e2e: look before you leap (estimate, run --dry-run, POST /jobs?dryRun=1, run failing fast)', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  let failed = false
  before(async function () {
    requireDocker(this)
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('lilynode estimate lists the live offer that fits with its price and formula, and names the constraint when none fits', async () => {
    const net = (t as TestNet).net
    const provider = net.parties.get('provider-1')?.address as string
    const ok = await lilynode(['estimate', 'cowsay:v0.0.4', '-i', 'Message=hi', '--profile', net.profilePath, '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    const e = JSON.parse(ok.stdout) as EstimateJson
    assert.equal(e.module, 'cowsay:v0.0.4')
    assert.equal(e.considered, 1)
    assert.equal(e.fits.length, 1)
    assert.equal(e.verdict, null)
    const f = e.fits[0]
    assert.equal(f.provider.toLowerCase(), provider.toLowerCase())
    const maxPrice = BigInt(e.maxPrice)
    assert.equal(BigInt(f.ask), expectedAsk(f, 60))
    assert.equal(BigInt(f.price), expectedPrice(f, 60, maxPrice))
    const n = (v: string | bigint): string => BigInt(v).toLocaleString('en-US')
    assert.equal(f.formula, `ask (${f.prices.cpu}×250 + ${f.prices.ram}×32 + ${f.prices.gpu}×0 + ${f.prices.disk}×0) × 60 = ${n(f.ask)} wei; price ${n(f.ask)} + ⌊(${n(maxPrice)} − ${n(f.ask)}) / 2⌋ = ${n(f.price)} wei`)

    // the same for people: the formula spelled out, the offer, its price in wei and ETH
    const human = await lilynode(['estimate', 'cowsay:v0.0.4', '--profile', net.profilePath, '--timeout', '30'])
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /ask = \(priceCpu × cpu \+ priceRam × ram \+ priceGpu × gpus \+ priceDisk × disk\) × timeout; price = ask \+ ⌊\(maxPrice − ask\) \/ 2⌋/)
    assert.match(human.stdout, /live offers at epoch \d+ \(from \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+\): 1, 1 fits/)
    assert.ok(human.stdout.includes(`${provider} v`), human.stdout)
    assert.match(human.stdout, /= ask \(\d+×250 \+ \d+×32 \+ \d+×0 \+ \d+×0\) × 30 = [\d,]+ wei; price [\d,]+ \+ ⌊\([\d,]+ − [\d,]+\) \/ 2⌋ = [\d,]+ wei/)
    assert.match(human.stdout, /asks [\d,]+ wei \([\d.,]+ (gwei|ETH)\), a deal pays [\d,]+ wei/)
    assert.match(human.stdout, /[\d,]+ wei \([\d.,]+ (gwei|ETH)\)/)

    const cheap = await lilynode(['estimate', 'cowsay:v0.0.4', '--profile', net.profilePath, '--max-price', '1000', '--json'])
    assert.equal(cheap.code, 1, cheap.stderr)
    const c = JSON.parse(cheap.stdout) as EstimateJson
    assert.equal(c.fits.length, 0)
    assert.deepEqual(c.misfits[0].reasons.map((r) => r.constraint), ['price'])
    assert.ok(c.verdict?.includes(`--max-price ${c.misfits[0].ask}`), String(c.verdict))

    const gpu = await lilynode(['estimate', 'cowsay:v0.0.4', '--profile', net.profilePath, '--gpus', '1'])
    assert.equal(gpu.code, 1, gpu.stderr)
    assert.match(gpu.stdout, /gpu: the job asks for 1 GPU, the offer has 0/)
    assert.match(gpu.stdout, /no live offer fits the job: gpu: 1 of 1 lacks the GPUs or GPU memory asked for/)

    const collateral = await lilynode(['estimate', 'cowsay:v0.0.4', '--profile', net.profilePath, '--collateral', String(10n ** 17n), '--json'])
    assert.equal(collateral.code, 1)
    assert.deepEqual((JSON.parse(collateral.stdout) as EstimateJson).misfits[0].reasons.map((r) => r.constraint), ['collateral'])
  })

  it('run --dry-run publishes nothing and prints the estimate', async () => {
    const net = (t as TestNet).net
    const p = net.run('creator-1', 'cowsay:v0.0.4', ['Message=dry'], ['--dry-run', '--gpus', '2'])
    const code = await p.done
    assert.equal(code, 1, p.stderrTail)
    const e = p.events[0] as unknown as EstimateJson
    assert.equal(e.fits.length, 0)
    assert.equal(e.misfits[0].reasons[0].constraint, 'gpu')
    assert.equal(p.events.length, 1, 'one estimate, no job events')
  })

  it('run fails fast, naming the constraint, when no live offer can fit (GPU, price), instead of waiting out the offer', async () => {
    const net = (t as TestNet).net
    const gpu = net.run('creator-1', 'cowsay:v0.0.4', ['Message=gpu please'], ['--gpus', '1'])
    assert.equal(await gpu.done, 1, runFailure('expected a failure', gpu))
    assert.match(gpu.stderrTail, /\[SDK_NO_MATCH\] no live offer fits the job: gpu: 1 of 1 lacks the GPUs or GPU memory asked for/)
    assert.doesNotMatch(gpu.stderrTail, /within \d+ epochs/, 'failed fast, not at the end of the offer\'s lifetime')
    assert.ok(!gpu.events.some((e) => e.stage === 'matched'))

    const price = net.run('creator-1', 'cowsay:v0.0.4', ['Message=cheap'], ['--max-price', '1000'])
    assert.equal(await price.done, 1, runFailure('expected a failure', price))
    assert.match(price.stderrTail, /price: 1 of 1 asks more than --max-price; the cheapest offer that fits otherwise asks [\d,]+ wei: give --max-price \d+ or more/)
  })

  it('POST /jobs?dryRun=1 answers the estimate from the node\'s own pool, and publishes nothing', async () => {
    const net = (t as TestNet).net
    const dir = await mkdtemp(join(tmpdir(), 'lily-dryrun-'))
    const log = createLogger('dryrun-test')
    let host: RoleHost | undefined
    let api: ApiServer | undefined
    try {
      host = await RoleHost.start({ profile: net.profile, dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], log })
      api = await startApi({ host, listen: '127.0.0.1:0', log })
      const post = async (body: unknown): Promise<{ status: number, body: EstimateJson & { dryRun: boolean } }> => {
        const r = await fetch(`${(api as ApiServer).url}/jobs?dryRun=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) })
        return { status: r.status, body: await r.json() as EstimateJson & { dryRun: boolean } }
      }
      // the node learns the provider's offer when it reconciles its first epoch
      let r = await post({ module: 'cowsay:v0.0.4' })
      for (let i = 0; i < 60 && r.body.considered === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 500))
        r = await post({ module: 'cowsay:v0.0.4' })
      }
      assert.equal(r.status, 200)
      assert.equal(r.body.dryRun, true)
      assert.equal(r.body.fits.length, 1, JSON.stringify(r.body))
      assert.equal(BigInt(r.body.fits[0].price), expectedPrice(r.body.fits[0], 60, BigInt(r.body.maxPrice)))
      const g = await post({ module: 'cowsay:v0.0.4', gpus: 1, timeoutS: 10 })
      assert.equal(g.status, 200)
      assert.equal(g.body.fits.length, 0)
      assert.match(String(g.body.verdict), /GPUs/)
      const jobs = await (await fetch(`${api.url}/jobs`)).json() as { total: number }
      assert.equal(jobs.total, 0, 'a dry run starts no job')
      const bad = await fetch(`${api.url}/jobs?dryRun=maybe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'cowsay:v0.0.4' }) })
      assert.equal(bad.status, 400)
    } finally {
      await api?.stop()
      await host?.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('the provider says at start what it sells, at what prices, what an example job pays and that it does not cover the gas; job lines name the module', async () => {
    const net = (t as TestNet).net
    const provider = net.procs.get('provider-1')
    assert.ok(provider !== undefined)
    const sum = await provider.waitFor((e) => e.event === 'summary', 30_000, 'summary')
    const offer = provider.events.find((e) => e.event === 'offer') as Record<string, unknown>
    assert.deepEqual(sum.resources, { cpu: offer.cpu, ram: offer.ram, gpus: offer.gpus, gpuVram: offer.gpuVram, gpuModel: offer.gpuModel, disk: offer.disk })
    assert.deepEqual(sum.prices, { priceCpu: '1000', priceRam: '100', priceGpu: '1000000', priceDisk: '0' })
    const job = sum.exampleJob as Record<string, unknown>
    assert.equal(job.price, String((1000n * 1000n + 100n * 1024n) * 60n))
    const gasPrice = await net.chain.public.getGasPrice()
    assert.ok(sum.gasPrice !== null)
    // anvil's gas price moves with its base fee: the summary's is from the same chain, within a factor of 2
    const g = BigInt(String(sum.gasPrice))
    assert.ok(g > 0n && g <= 2n * gasPrice + 10n ** 9n, `gas price ${g} vs ${gasPrice}`)
    assert.equal(sum.gasCost, String(g * DEAL_GAS))
    assert.match(String(sum.warning), /the example job pays as little as 66,144,000 wei, less than the [\d,]+ wei of gas its two transactions cost/)
    assert.ok((sum.lines as string[]).some((l) => /^selling: \d+ millicores, \d+ MiB of memory, 0 GPUs, \d+ MiB of disk$/.test(l)), String(sum.lines))

    // a real job: the estimate's price is the deal's, the provider's job lines name its module, and the deal's two transactions cost what the summary says
    const est = await lilynode(['estimate', 'cowsay:v0.0.4', '-i', 'Message=named', '--profile', net.profilePath, '--json'])
    assert.equal(est.code, 0, est.stderr)
    const estimated = (JSON.parse(est.stdout) as EstimateJson).fits[0]
    const run = net.run('creator-1', 'cowsay:v0.0.4', ['Message=named'])
    assert.equal(await run.done, 0, runFailure('run failed', run))
    const matched = eventOf(run.events, 'matched') as Record<string, unknown>
    assert.equal(String(matched.price), estimated.price, 'the deal carries the price the estimate said')
    const dealId = matched.dealId as Hash
    const lines = provider.events.filter((e) => e.event === 'deal' && e.dealId === dealId)
    assert.ok(lines.some((e) => e.state === 'running' && e.module === 'cowsay:v0.0.4'), JSON.stringify(lines))
    const paid = lines.find((e) => e.state === 'completed')
    assert.equal(paid?.module, 'cowsay:v0.0.4', JSON.stringify(lines))
    let gas = 0n
    for (const ev of ['DealOpened', 'DealCompleted'] as const) {
      for (const hash of await txsOf(net, dealId, ev)) gas += (await net.chain.public.getTransactionReceipt({ hash })).gasUsed
    }
    assert.ok(gas > (DEAL_GAS * 8n) / 10n && gas < (DEAL_GAS * 12n) / 10n, `open + complete used ${gas} gas; DEAL_GAS is ${DEAL_GAS}`)
  })
})

/**
 * Graceful lag (lag.ts): a provider node in its own OS process is paused (SIGSTOP) for several
 * epochs while the network goes on matching the creator's jobs with it, then resumed (SIGCONT).
 * It must notice, skip to the network's state through a checked snapshot instead of replaying
 * every missed epoch, agree with the others within a few epochs of resuming, and never sign an
 * acceptance after the deal's openBy (deals matched early in the pause can no longer open).
 * The other nodes must agree among themselves on every epoch throughout.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { join, dirname } from 'node:path'
import { epochAt, epochStart, serializeProfile } from '../../src/protocol/profile.js'
import type { LilyNode } from '../../src/node/network.js'
import { LagMonitor } from '../../src/node/lag.js'
import { agreement, Cleanup, jobOffer, planNetwork, resourceOffer, sleepMs, startNode, tempDir, waitFor } from './helpers.js'

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'nodeProcess.js')

interface Line { event: string, epoch?: string, root?: string, action?: string, openBy?: string, dealId?: string, at: number }

class Child {
  readonly lines: Line[] = []
  readonly proc: ChildProcess
  stderr = ''
  constructor (config: Record<string, unknown>) {
    this.proc = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LILYNODE_LOG: 'warn' } })
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      try { this.lines.push({ at: Date.now(), ...(JSON.parse(l) as Omit<Line, 'at'>) }) } catch { /* not ours */ }
    })
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000) })
  }

  get exited (): boolean { return this.proc.exitCode !== null || this.proc.signalCode !== null }

  async kill (): Promise<void> {
    if (this.exited) return
    const done = new Promise((resolve) => this.proc.once('exit', resolve))
    this.proc.kill('SIGCONT')
    this.proc.kill('SIGKILL')
    await done
  }
}

function firstAgreement (child: Child, nodes: LilyNode[], from: bigint): bigint | undefined {
  for (const l of child.lines) {
    if (l.event !== 'epoch' || l.epoch === undefined) continue
    const e = BigInt(l.epoch)
    if (e < from) continue
    const roots = nodes.map((n) => n.roots.get(e))
    if (roots.every((r) => r !== undefined && r === l.root)) return e
  }
  return undefined
}

describe('node: graceful lag', function () {
  this.timeout(240_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('LagMonitor: one long pause is one sample; late deals are refused; stale heartbeats withheld; skips are rate-limited', () => {
    const lag = new LagMonitor({ epochMs: 1000 })
    assert.equal(lag.deliveryMarginMs, 1000)
    lag.woke(1000, 10_000)
    for (let i = 0; i < 15; i++) lag.woke(1000 * i, 1000 * i + 20)
    assert.equal(lag.lagMs(), 20, 'the pause alone does not set the measured lag')
    assert.equal(lag.snapshot().maxLateMs, 9000)
    for (let i = 0; i < 16; i++) lag.woke(0, 700)
    assert.equal(lag.lagMs(), 700, 'a node that keeps waking late measures it')
    const now = 1_000_000_000_000
    const nowS = BigInt(now / 1000)
    assert.equal(lag.canDeliver(nowS + 2n, now), true, '2000 ms left ≥ 700 ms lag + 1000 ms margin')
    assert.equal(lag.canDeliver(nowS + 2n, now + 400), false, '1600 ms left: no room for lag + margin')
    assert.equal(lag.canDeliver(nowS - 1n, now), false)
    assert.equal(lag.snapshot().lateRefusals, 2)
    assert.equal(lag.heartbeatFresh(9n, 10n), true)
    assert.equal(lag.heartbeatFresh(8n, 10n), false)
    assert.equal(lag.shouldSkip(9n, 10n), false, 'two unmatched epochs are replayed')
    assert.equal(lag.shouldSkip(8n, 10n), true)
    assert.equal(lag.shouldSkip(8n, 11n), false, 'no second attempt within SKIP_RETRY_EPOCHS')
    lag.skipped(false, false)
    assert.equal(lag.shouldSkip(8n, 11n), true, 'an attempt that asked nobody may be retried')
    assert.throws(() => new LagMonitor({ epochMs: 1000 }, { skipAfterEpochs: 1 }), /skipAfterEpochs/)
    assert.throws(() => new LagMonitor({ epochMs: 1000 }, { deliveryMarginMs: -1 }), /deliveryMarginMs/)
  })

  it('a paused provider process skips to a checked snapshot, agrees within 3 epochs of resuming, and signs nothing after openBy', async () => {
    const net = await planNetwork(2, { epochMs: 1500, graceMs: 500 })
    const p = net.profile
    const nodes: LilyNode[] = []
    for (let i = 0; i < 2; i++) {
      nodes.push(await startNode(cleanup, p, { identity: net.bootstrapIds[i], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[i]}`], dhtServer: true, name: `boot${i}` }))
    }
    const creator = await startNode(cleanup, p, { name: 'creator' })
    const provider = await startNode(cleanup, p, { name: 'provider' })
    nodes.push(creator, provider)
    const child = new Child({ profile: serializeProfile(p), dataDir: await tempDir(cleanup), role: 'provider', price: 0 })
    cleanup.push(async () => { await child.kill() })
    await waitFor(() => child.lines.some((l) => l.event === 'ready') || child.exited, 60_000, 'child ready')
    assert.ok(!child.exited, `child exited: ${child.stderr}`)

    let nonce = 1n
    let stopped = false
    const publisher = (async () => {
      while (!stopped) {
        const e = creator.currentEpoch()
        await Promise.all([
          creator.publishJobOffer(jobOffer(creator.address, nonce++, e, 0)),
          creator.publishJobOffer(jobOffer(creator.address, nonce++, e, 1)),
          provider.publishResourceOffer(resourceOffer(provider.address, nonce++, e, 4))
        ]).catch(() => {})
        await sleepMs(Math.max(50, epochStart(p, e + 1n) + 100 - Date.now()))
      }
    })()
    cleanup.push(async () => { stopped = true; await publisher })

    // the child signs deals as the cheapest provider, and agrees with the network
    await waitFor(() => child.lines.some((l) => l.event === 'signed'), 90_000, 'the child provider to sign a deal')
    const agreedFrom = epochAt(p, Date.now())
    await waitFor(() => firstAgreement(child, nodes, agreedFrom) !== undefined, 60_000, 'the child to agree before the pause')

    // pause it for 8 epochs: the network keeps matching jobs with its live offers meanwhile
    const pauseEpoch = epochAt(p, Date.now())
    child.proc.kill('SIGSTOP')
    await sleepMs(8 * p.epochMs)
    const resumeAt = Date.now()
    const resumeEpoch = epochAt(p, resumeAt)
    child.proc.kill('SIGCONT')

    await waitFor(() => firstAgreement(child, nodes, resumeEpoch) !== undefined || child.exited, 60_000, 'the resumed node to agree')
    const back = firstAgreement(child, nodes, resumeEpoch)
    assert.ok(back !== undefined, `child exited: ${child.stderr}`)
    assert.ok(back <= resumeEpoch + 3n, `resumed at epoch ${resumeEpoch}, agreed at ${back}`)
    const after = child.lines.filter((l) => l.at >= resumeAt)
    assert.ok(after.some((l) => l.event === 'lag' && l.action === 'skip'), `the resumed node skipped through a snapshot: ${JSON.stringify(after.filter((l) => l.event === 'lag'))}`)
    const replayed = after.filter((l) => l.event === 'epoch' && l.epoch !== undefined && BigInt(l.epoch) > pauseEpoch + 1n && BigInt(l.epoch) < resumeEpoch - 1n)
    assert.ok(replayed.length <= 2, `stale epochs were replayed one by one: ${replayed.map((l) => l.epoch).join(',')}`)

    // let deals of the pause come due, then check every signature the child ever made
    await sleepMs((p.reserveEpochs + 2) * p.epochMs)
    const signed = child.lines.filter((l) => l.event === 'signed')
    for (const s of signed) {
      // signed with room left for delivery (the node's margin is 1000 ms; half of it is asserted)
      assert.ok(s.at + 500 <= Number(s.openBy) * 1000, `deal ${s.dealId} signed at ${s.at}, too close to or after its openBy ${String(s.openBy)}000`)
    }
    // peers were not disturbed: the in-process nodes agreed on every epoch of the pause and after
    const a = agreement(nodes, pauseEpoch + 1n, resumeEpoch + 3n)
    assert.equal(a.agree, a.total, `the other nodes disagreed: ${JSON.stringify(a)}`)
  })
})

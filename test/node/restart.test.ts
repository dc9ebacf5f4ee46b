/**
 * Crash safety and late joining with real OS processes: a provider node runs in a child
 * process, is killed with SIGKILL mid-run and restarted on the same data dir; it must be back
 * on the network's state root within 3 epochs with every deal it had stored. A fresh node
 * started late (another process) must reach the common root within 3 epochs too, through a
 * snapshot checked against its peers' roots.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { join, dirname } from 'node:path'
import { epochAt, epochStart, serializeProfile } from '../../src/protocol/profile.js'
import type { LilyNode } from '../../src/node/network.js'
import { Cleanup, jobOffer, planNetwork, resourceOffer, sleepMs, startNode, tempDir, waitFor } from './helpers.js'

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'nodeProcess.js')

interface Line { event: string, epoch?: string, root?: string, deals?: string[], how?: string, addr?: string }

class Child {
  readonly lines: Array<Line & { at: number }> = []
  readonly proc: ChildProcess
  stderr = ''
  constructor (config: Record<string, unknown>) {
    this.proc = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LILYNODE_LOG: 'warn' } })
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      try { this.lines.push({ ...(JSON.parse(l) as Line), at: Date.now() }) } catch { /* not ours */ }
    })
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000) })
  }

  get exited (): boolean { return this.proc.exitCode !== null || this.proc.signalCode !== null }

  async ready (timeoutMs = 30_000): Promise<Line> {
    await waitFor(() => this.lines.some((l) => l.event === 'ready') || this.exited, timeoutMs, 'child ready')
    const l = this.lines.find((x) => x.event === 'ready')
    if (l === undefined) throw new Error(`child exited: ${this.stderr}`)
    return l
  }

  async kill (signal: NodeJS.Signals): Promise<void> {
    if (this.exited) return
    const done = new Promise((resolve) => this.proc.once('exit', resolve))
    this.proc.kill(signal)
    await done
  }
}

/** The first epoch ≥ `from` at which the child's root equals the in-process nodes' root. */
function firstAgreement (child: Child, nodes: LilyNode[], from: bigint): bigint | undefined {
  for (const l of child.lines) {
    if (l.event !== 'epoch' || l.epoch === undefined) continue
    const e = BigInt(l.epoch)
    if (e < from) continue
    const roots = nodes.map((n) => n.roots.get(e)).filter((r) => r !== undefined)
    if (roots.length === nodes.length && roots.every((r) => r === l.root)) return e
  }
  return undefined
}

describe('node: crash and late join (separate processes)', function () {
  this.timeout(180_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('a SIGKILLed provider restarts on the common root within 3 epochs with its deals; a late joiner does too', async () => {
    const net = await planNetwork(2, { epochMs: 1500, graceMs: 500 })
    const p = net.profile
    const nodes: LilyNode[] = []
    for (let i = 0; i < 2; i++) {
      nodes.push(await startNode(cleanup, p, { identity: net.bootstrapIds[i], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[i]}`], dhtServer: true, name: `boot${i}` }))
    }
    const creator = await startNode(cleanup, p, { name: 'creator' })
    const provider = await startNode(cleanup, p, { name: 'provider' })
    nodes.push(creator, provider)
    const dataDir = await tempDir(cleanup)
    const profileJson = serializeProfile(p)
    const children: Child[] = []
    cleanup.push(async () => { for (const c of children) await c.kill('SIGKILL') })
    const spawnChild = (cfg: Record<string, unknown>): Child => {
      const c = new Child({ profile: profileJson, ...cfg })
      children.push(c)
      return c
    }
    // the child provider is the cheapest, so it gets the creator's jobs
    let child = spawnChild({ dataDir, role: 'provider', price: 0 })
    await child.ready()

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

    // run until the child has stored deals, then crash it
    await waitFor(() => child.lines.some((l) => l.event === 'epoch' && (l.deals?.length ?? 0) >= 2), 60_000, 'the child provider to store deals')
    await sleepMs(Math.floor(Math.random() * p.epochMs))
    const before = [...child.lines].reverse().find((l) => l.event === 'epoch')?.deals ?? []
    await child.kill('SIGKILL')
    await sleepMs(p.epochMs)

    child = spawnChild({ dataDir, role: 'provider', price: 0 })
    const restartEpoch = epochAt(p, Date.now())
    const ready = await child.ready()
    for (const d of before) assert.ok(ready.deals?.includes(d), `deal ${d} survived the crash`)
    await waitFor(() => firstAgreement(child, nodes, restartEpoch) !== undefined, 20_000, 'the restarted node to agree')
    const back = firstAgreement(child, nodes, restartEpoch) as bigint
    assert.ok(back <= restartEpoch + 3n, `restarted at epoch ${restartEpoch}, agreed at ${back}`)

    // a late joiner with an empty data dir
    const joiner = spawnChild({ dataDir: await tempDir(cleanup), role: 'none' })
    const joinEpoch = epochAt(p, Date.now())
    await joiner.ready()
    await waitFor(() => firstAgreement(joiner, nodes, joinEpoch) !== undefined, 20_000, 'the late joiner to agree')
    const joined = firstAgreement(joiner, nodes, joinEpoch) as bigint
    assert.ok(joined <= joinEpoch + 3n, `joined at epoch ${joinEpoch}, agreed at ${joined}`)
    assert.ok(joiner.lines.some((l) => l.event === 'resync' && l.how === 'join'), 'the joiner adopted a checked snapshot')

    // and both keep agreeing afterwards
    await sleepMs(p.epochMs * 3)
    const lastEpoch = BigInt([...joiner.lines].reverse().find((l) => l.event === 'epoch')?.epoch ?? '0')
    const hist = (c: Child): string | undefined => c.lines.find((l) => l.event === 'epoch' && l.epoch === lastEpoch.toString())?.root
    assert.equal(hist(joiner), creator.roots.get(lastEpoch))
    assert.equal(hist(child), creator.roots.get(lastEpoch))
  })
})

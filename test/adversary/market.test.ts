/**
 * The adversary suite: a stranger with throwaway keys (its own libp2p peers, no ETH, no escrow)
 * attacks a devnet of real node processes (anvil, bootstrap, a provider running Docker, a
 * creator running `lilynode run`). While every attack of src/devnet/attacks.ts runs at once:
 * honest jobs are matched and paid, no node's head passes the clock or moves because of the
 * attacker (no node resyncs towards a made-up root), no squatting job holds the provider, no
 * fabricated acceptance is kept, and every node's offer pool stays bounded.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Adversary, ATTACKS, nodeView, SyncLiar, type NodeView } from '../../src/devnet/index.js'
import { queryNode } from '../../src/p2p/index.js'
import { requireDocker, runFailure, startNet, stopNet, type TestNet } from '../e2e/helpers.js'

/** Offers a pool may hold at most here: the honest ones, the strangers' bounded share (quota.ts) and some slack. */
const POOL_BOUND = 150

describe('adversary: a stranger with throwaway keys against a live devnet', function () {
  this.timeout(300_000)
  let t: TestNet | undefined
  let adversary: Adversary | undefined
  let liar: SyncLiar | undefined
  let failed = false
  before(async function () {
    requireDocker(this)
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => {
    await adversary?.stop()
    await liar?.stop()
    await stopNet(t, failed)
  })

  it('keeps matching and paying honest jobs while every attack runs; no node moves its head or root for the attacker; pools stay bounded', async () => {
    const net = (t as TestNet).net
    const p = net.profile
    const provider = net.procs.get('provider-1')
    assert.ok(provider !== undefined)
    const ready = await provider.waitFor((e) => e.event === 'ready', 60_000, 'ready')
    const providerAddr = (ready.addrs as string[]).find((a) => a.includes('/tcp/')) as string
    const targets = [p.bootstrap[0], providerAddr]
    adversary = await Adversary.start({ profile: p, targets, identities: 8, squat: { cpu: Number(ready.cpu), ram: Number(ready.ram) } })
    const strangers = new Set(adversary.peers.map((x) => x.identity.address.toLowerCase()))
    adversary.run(ATTACKS)

    // sample every node while the attack runs
    const views: Array<{ at: number, who: string, v: NodeView }> = []
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        for (const [who, addr] of [['bootstrap', targets[0]], ['provider-1', targets[1]]] as const) {
          const v = await nodeView(addr).catch(() => undefined)
          if (v !== undefined) views.push({ at: Date.now(), who, v })
        }
        await new Promise((resolve) => setTimeout(resolve, 700))
      }
    })()
    const baseline = new Map<string, NodeView>()
    try {
      // let the attack run a few epochs before the honest jobs
      await new Promise((resolve) => setTimeout(resolve, 4 * p.epochMs))
      for (const v of views) if (!baseline.has(v.who)) baseline.set(v.who, v.v)
      for (let i = 0; i < 2; i++) {
        const job = net.run('creator-1', 'cowsay:v0.0.4', [`Message=honest job ${i} under attack`])
        const code = await job.done
        assert.equal(code, 0, runFailure(`honest job ${i} failed under attack`, job))
        assert.ok(job.events.some((e) => e.stage === 'paid'), `honest job ${i} paid`)
        const matched = job.events.find((e) => e.stage === 'matched') as Record<string, unknown>
        assert.equal(String(matched.provider).toLowerCase(), net.parties.get('provider-1')?.address.toLowerCase())
      }
    } finally {
      sampling = false
      await sampler
    }
    const sent = adversary.sent
    assert.ok(sent.votes > 100 && sent.squat > 10 && sent.flood > 500 && sent.acceptances > 50, `the attack ran: ${JSON.stringify(sent)}`)
    assert.ok(views.length > 10, 'the nodes answered while attacked')
    for (const { who, v } of views) {
      assert.ok(v.headEpoch === null || BigInt(v.headEpoch) <= BigInt(v.currentEpoch), `${who}: head ${String(v.headEpoch)} beyond the clock ${String(v.currentEpoch)}`)
      assert.ok(v.offers <= POOL_BOUND, `${who}: ${v.offers} offers in the pool (bound ${POOL_BOUND})`)
    }
    // no resync towards the strangers' roots: the counters did not move during the attack
    for (const [who, first] of baseline) {
      const last = [...views].reverse().find((x) => x.who === who)?.v
      assert.ok(last !== undefined)
      const resyncs = (v: NodeView): number => (v.sync?.resyncRecompute ?? 0) + (v.sync?.resyncSnapshot ?? 0)
      assert.equal(resyncs(last), resyncs(first), `${who} resynced during the attack`)
    }
    for (const name of ['bootstrap', 'provider-1']) {
      const log = await readFile(join(net.dataDir, `${name}.log`), 'utf8')
      assert.equal(log.split('\n').filter((l) => l.includes('in the minority')).length, 0, `${name} found itself in the minority`)
    }
    // nobody kept a deal of the strangers (squatting matches never signed; fabricated acceptances dropped)
    for (const addr of targets) {
      const deals = await queryNode<{ items: Array<{ deal: { creator: string, provider: string } }> }>(addr, 'deals', { limit: 100 })
      const theirs = deals.items.filter((d) => strangers.has(d.deal.creator.toLowerCase()) || strangers.has(d.deal.provider.toLowerCase()))
      assert.deepEqual(theirs, [], `${addr} keeps deals of the strangers`)
    }
  })
  it('peers lying over sync (a head 10^6 epochs ahead, a genuine old snapshot relabelled, 1,000 offers of a closed epoch) move no node and fill no pool', async () => {
    const net = (t as TestNet).net
    const p = net.profile
    const provider = net.procs.get('provider-1')
    assert.ok(provider !== undefined)
    const ready = await provider.waitFor((e) => e.event === 'ready', 60_000, 'ready')
    const targets = [p.bootstrap[0], (ready.addrs as string[]).find((a) => a.includes('/tcp/')) as string]
    liar = await SyncLiar.start({ profile: p, targets, identities: 2, closedOffers: 1000 })
    assert.ok(liar.genuine !== undefined, 'the liar holds a genuine snapshot to relabel')
    const before = new Map<string, NodeView>()
    for (const [who, addr] of [['bootstrap', targets[0]], ['provider-1', targets[1]]] as const) before.set(who, await nodeView(addr))
    // the nodes reconcile with the liars too: wait until they fetched the closed-epoch offers
    const deadline = Date.now() + 20 * p.epochMs
    while (liar.stats.offersServed < 1000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250))
    assert.ok(liar.stats.offersServed >= 1000, `the nodes fetched the liars' offers (${liar.stats.offersServed} served)`)
    // a `lilynode run` joins the network and is paid
    const job = net.run('creator-1', 'cowsay:v0.0.4', ['Message=honest job beside liars'])
    const code = await job.done
    assert.equal(code, 0, runFailure('honest job failed beside the liars', job))
    for (const [who, addr] of [['bootstrap', targets[0]], ['provider-1', targets[1]]] as const) {
      const v = await nodeView(addr)
      const b = before.get(who) as NodeView
      assert.ok(v.headEpoch !== null && BigInt(v.headEpoch) <= BigInt(v.currentEpoch), `${who}: head ${String(v.headEpoch)} beyond the clock`)
      assert.ok(v.offers <= POOL_BOUND, `${who}: ${v.offers} offers in the pool after the liars served 1,000`)
      const resyncs = (x: NodeView): number => (x.sync?.resyncRecompute ?? 0) + (x.sync?.resyncSnapshot ?? 0) + (x.sync?.joins ?? 0)
      assert.equal(resyncs(v), resyncs(b), `${who} adopted or recomputed a state because of the liars`)
    }
  })
})

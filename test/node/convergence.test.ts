/**
 * Multi-node convergence on 127.0.0.1 with real TCP (in-process libp2p nodes, one per
 * LilyNode, each with its own LevelDB): every node reaches the same state root at every
 * epoch and every deal gets both acceptances; with 10 % of gossip deliveries dropped,
 * reconciliation keeps ≥ 99 % of node-epochs in agreement and no job offer is signed twice;
 * beside CPU-burning processes of the test's own (a busy machine), no node holds a root the others
 * do not share, a starved node skips at most a few epochs and catches up (bench:network --load
 * measures the share of node-epochs on the majority root).
 */
import assert from 'node:assert/strict'
import type { Hash } from '../../src/protocol/types.js'
import type { LilyNode } from '../../src/node/network.js'
import { agreement, Cleanup, jobOffer, planNetwork, resourceOffer, sleepMs, startNode, waitFor, type TestNetwork } from './helpers.js'
import { epochMatchTime, epochStart } from '../../src/protocol/profile.js'
import { startCpuBurners } from '../../src/devnet/load.js'

const EPOCHS = Number(process.env.LILYNODE_TEST_EPOCHS ?? 30)
const NODES = Number(process.env.LILYNODE_TEST_NODES ?? 10)

interface Run {
  nodes: LilyNode[]
  creators: LilyNode[]
  providers: LilyNode[]
  first: bigint
  last: bigint
  offers: number
}

async function runNetwork (cleanup: Cleanup, net: TestNetwork, dropGossip: number, epochs = EPOCHS): Promise<Run> {
  const p = net.profile
  const testHooks = { dropGossip }
  const boots: LilyNode[] = []
  for (let i = 0; i < net.bootstrapIds.length; i++) {
    boots.push(await startNode(cleanup, p, { identity: net.bootstrapIds[i], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[i]}`], dhtServer: true, testHooks, name: `boot${i}` }))
  }
  const rest: LilyNode[] = []
  for (let i = 0; i < NODES - boots.length; i++) rest.push(await startNode(cleanup, p, { testHooks, name: `n${i}` }))
  const nodes = [...boots, ...rest]
  const creators = rest.filter((_, i) => i % 2 === 0)
  const providers = rest.filter((_, i) => i % 2 === 1)
  try {
    await waitFor(() => nodes.every((n) => n.isParticipating && n.libp2p.getPeers().length >= 2), 30_000, 'every node connected and participating')
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${nodes.map((n, i) => `${i}: peers=${n.libp2p.getPeers().length} participating=${n.isParticipating} head=${n.headEpoch}`).join('; ')}`)
  }
  // let gossipsub meshes form before the first offer
  await sleepMs(1500)
  let offers = 0
  let nonce = 0n
  const first = nodes[0].currentEpoch() + 1n
  const last = first + BigInt(epochs) - 1n
  for (let e = first; e <= last; e++) {
    const wait = epochStart(p, e) + 50 - Date.now()
    if (wait > 0) await sleepMs(wait)
    const jobs: Array<Promise<Hash>> = []
    for (const [ci, c] of creators.entries()) {
      for (let k = 0; k < 2; k++) jobs.push(c.publishJobOffer(jobOffer(c.address, nonce++, e, ci + k)))
    }
    for (const [pi, pr] of providers.entries()) jobs.push(pr.publishResourceOffer(resourceOffer(pr.address, nonce++, e, pi)))
    await Promise.all(jobs)
    offers += jobs.length
  }
  // wait until the last epoch is matched and confirmed everywhere, plus acceptances in flight
  const wait = epochMatchTime(p, last) + p.epochMs * 2 - Date.now()
  if (wait > 0) await sleepMs(wait)
  // ten nodes share this one thread: on a loaded machine some run a few epochs behind the
  // clock. Agreement is about the roots they compute, not how soon, so give stragglers time
  // to reach the last epoch (a node that never gets there still fails the assertions below)
  await waitFor(() => nodes.every((n) => n.roots.has(last)), 60_000, 'every node matched the last epoch').catch(() => {})
  return { nodes, creators, providers, first, last, offers }
}

function perEpoch (nodes: LilyNode[], from: bigint, to: bigint): string {
  const out: string[] = []
  for (let e = from; e <= to; e++) {
    const roots = nodes.map((n) => n.roots.get(e)?.slice(2, 6) ?? '----')
    out.push(`${e}:${roots.join(',')}`)
  }
  return out.join(' | ')
}

async function ownDeals (nodes: LilyNode[]): Promise<Map<Hash, { jobId: Hash, signed: number, epoch: bigint, creator: string, provider: string }>> {
  const deals = new Map<Hash, { jobId: Hash, signed: number, epoch: bigint, creator: string, provider: string }>()
  for (const n of nodes) {
    for (const m of await n.ownMatches()) {
      const d = deals.get(m.dealId) ?? { jobId: m.jobId, signed: 0, epoch: m.epoch, creator: m.deal.creator.slice(0, 8), provider: m.deal.provider.slice(0, 8) }
      if (m.signed) d.signed++
      deals.set(m.dealId, d)
    }
  }
  return deals
}

/** The deals each job's creator signed an acceptance for, over every node. */
async function creatorSignaturesPerJob (nodes: LilyNode[]): Promise<Map<Hash, Set<Hash>>> {
  const signedPerJob = new Map<Hash, Set<Hash>>()
  for (const n of nodes) {
    for (const m of await n.ownMatches()) {
      if (!m.signed || m.role !== 'creator') continue
      const s = signedPerJob.get(m.jobId) ?? new Set()
      s.add(m.dealId)
      signedPerJob.set(m.jobId, s)
    }
  }
  return signedPerJob
}

describe('node: convergence of many nodes (in-process, real TCP)', function () {
  this.timeout(180_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it(`${NODES} nodes, ${EPOCHS} epochs: same root everywhere, every deal accepted by both parties`, async () => {
    const net = await planNetwork(2, { epochMs: 1500, graceMs: 500 })
    const run = await runNetwork(cleanup, net, 0)
    assert.ok(run.offers >= 300 || EPOCHS < 30, `published ${run.offers} offers`)
    const a = agreement(run.nodes, run.first, run.last)
    assert.equal(a.missing, 0, 'every node matched every epoch')
    assert.equal(a.agree, a.total, `all node-epochs agree (${a.agree}/${a.total})`)
    const deals = await ownDeals(run.nodes)
    assert.ok(deals.size > 0, 'the matcher made deals')
    for (const [dealId, d] of deals) {
      if (d.signed < 2) {
        // a party may decline to sign an acceptance it could not deliver before openBy (lag.ts):
        // only a node that was late (a busy machine) may do so, and the deal is then never opened
        const late = run.nodes.filter((n) => n.lag.stats.lateRefusals > 0).map((n) => n.address.slice(0, 8))
        assert.ok(late.includes(d.creator) || late.includes(d.provider), `deal ${dealId} (epoch ${d.epoch}) signed by ${d.signed} of 2 parties, neither of which declined a late acceptance (late: ${late.join(', ')})`)
        continue
      }
      for (const n of run.nodes) {
        const acc = n.getAcceptances(dealId)
        if (acc.creator === undefined || acc.provider === undefined) {
          console.log('deal', dealId, 'creator', d.creator, 'provider', d.provider, run.nodes.map((x) => `${x.address.slice(0, 8)}: c=${x.getAcceptances(dealId).creator !== undefined} p=${x.getAcceptances(dealId).provider !== undefined} peers=${x.libp2p.getPeers().map((q) => q.toString().slice(-6)).join(',')} self=${x.libp2p.peerId.toString().slice(-6)} sync=${JSON.stringify(x.syncStats)}`).join('\n'))
        }
        assert.ok(acc.creator !== undefined && acc.provider !== undefined,
          `deal ${dealId} (epoch ${d.epoch}, signed by ${d.signed} parties) has both acceptances on ${n.address}: ${JSON.stringify({ c: acc.creator !== undefined, p: acc.provider !== undefined, metrics: n.metrics.toJSON(), peers: n.libp2p.getPeers().length })}`)
      }
    }
  })

  it(`${NODES} nodes with 10 % of gossip dropped: ≥ 99 % of node-epochs agree, no job signed twice`, async () => {
    const net = await planNetwork(2, { epochMs: 1500, graceMs: 500 })
    const run = await runNetwork(cleanup, net, 0.1)
    const a = agreement(run.nodes, run.first, run.last)
    assert.ok(a.agree / a.total >= 0.99, `agreement ${a.agree}/${a.total} (${a.missing} missing); per epoch: ${perEpoch(run.nodes, run.first, run.last)}`)
    const deals = await ownDeals(run.nodes)
    const signedPerJob = await creatorSignaturesPerJob(run.nodes)
    for (const [jobId, s] of signedPerJob) assert.equal(s.size, 1, `job ${jobId} signed for ${s.size} deals`)
    assert.ok(deals.size > 0)
    const dropped = run.nodes.reduce((n, x) => n + x.metrics.byCode('TEST_DROPPED'), 0)
    assert.ok(dropped > 0, 'the hook dropped deliveries')
  })

  it(`${NODES} nodes beside 2 CPU-burning processes of the test's own (one per core): no node-epoch off the majority, every node keeps up with most epochs, no job signed twice`, async () => {
    const net = await planNetwork(2, { epochMs: 1500, graceMs: 500 })
    const burners = startCpuBurners(2)
    cleanup.push(async () => { await burners.stop() })
    const run = await runNetwork(cleanup, net, 0, Math.ceil(EPOCHS / 2))
    await burners.stop()
    const a = agreement(run.nodes, run.first, run.last)
    // a starved node may skip epochs (it catches up through a checked snapshot: lag.ts) but never
    // holds a root of its own that the others do not share
    const detail = `agreement ${a.agree}/${a.total} (${a.missing} missing); per epoch: ${perEpoch(run.nodes, run.first, run.last)}`
    assert.equal(a.agree, a.total - a.missing, `no node-epoch off the majority root: ${detail}`)
    assert.ok(a.missing <= a.total / 4, `at most a quarter of the node-epochs skipped: ${detail}`)
    const span = Number(run.last - run.first) + 1
    for (const [i, n] of run.nodes.entries()) {
      let had = 0
      for (let e = run.first; e <= run.last; e++) if (n.roots.has(e)) had++
      assert.ok(had >= span / 2, `node ${i} kept up with at least half the epochs (${had} of ${span}): ${detail}`)
    }
    const signedPerJob = await creatorSignaturesPerJob(run.nodes)
    assert.ok(signedPerJob.size > 0, 'the matcher made deals under load')
    for (const [jobId, s] of signedPerJob) assert.equal(s.size, 1, `job ${jobId} signed for ${s.size} deals`)
  })
})

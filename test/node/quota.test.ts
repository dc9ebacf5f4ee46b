/**
 * Quotas per party on every path (issue: one key put 1,024 offers into every pool in 15 s with a
 * new nonce per offer and a new epoch per batch; 1,000 offers from 1,000 keys for an epoch
 * already closed entered every pool over `sync`; whoever filled maxOffersPerEpoch made every node
 * ignore everyone's new offers).
 */
import assert from 'node:assert/strict'
import { OfferPool, type PoolOffer } from '../../src/node/pool.js'
import { NodeStore } from '../../src/node/store.js'
import { countsAsFunded, OfferAdmission, offerQuota, UNFUNDED_LIVE_OFFERS, unfundedShare } from '../../src/node/quota.js'
import { createIdentity } from '../../src/protocol/identity.js'
import { DomainHasher } from '../../src/protocol/eip712.js'
import { domainOf } from '../../src/protocol/profile.js'
import { encodeMessage, signJobOffer, verifyMessage } from '../../src/p2p/wire.js'
import type { Hash } from '../../src/protocol/types.js'
import type { Profile } from '../../src/protocol/profile.js'
import { startAttacker } from './attacker.js'
import { addrOf, Cleanup, jobOffer, planNetwork, sleepMs, startNode, tempDir, testProfile, waitFor } from './helpers.js'

/** A peer that answers sync with `wireById`'s offers as its own set (a digest that never matches); counts what it served. */
async function serveOffersOverSync (cleanup: Cleanup, p: Profile, target: string, wireById: Map<Hash, string>): Promise<{ served: number }> {
  const ids = [...wireById.keys()].sort()
  const stats = { served: 0 }
  await startAttacker(cleanup, p, target, {
    digest: async () => ({ digest: `0x${'cd'.repeat(32)}`, count: ids.length, frozen: false, acc: [] }),
    ids: async (a: unknown) => {
      const { offset = 0, limit = 2000 } = a as { offset?: number, limit?: number }
      return { ids: ids.slice(offset, offset + limit), total: ids.length }
    },
    offers: async (a: unknown) => {
      const asked = (a as { ids: Hash[] }).ids
      stats.served += asked.length
      return { offers: asked.map((id) => wireById.get(id)).filter((w): w is string => w !== undefined) }
    },
    head: async () => null,
    root: async () => null,
    accIds: async () => ({ keys: [] }),
    accGet: async () => ({ wires: [] }),
    peers: async () => ({ peers: [] })
  })
  return stats
}

describe('node: quotas per party', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('parties without escrow share a bounded part of the pool; a funded party is admitted past them; live offers are capped per party', async () => {
    const p = testProfile({ limits: { maxOffersPerEpoch: 1024, maxOffersPerPeerPerEpoch: 16 } })
    const hasher = new DomainHasher(domainOf(p))
    const store = await NodeStore.open(await tempDir(cleanup))
    cleanup.push(async () => { await store.close() })
    const pool = new OfferPool(store)
    const offer = (key: Uint8Array, creator: `0x${string}`, nonce: bigint, epoch: bigint): PoolOffer => {
      const o = { ...jobOffer(creator, nonce, epoch), expiryEpoch: epoch + 5n }
      const m = signJobOffer(hasher, key, o)
      return { id: verifyMessage(hasher, m).id, kind: 'job', signer: creator, epoch, expiry: o.expiryEpoch, wire: encodeMessage(m), offer: o }
    }
    const cur = 100n
    const share = unfundedShare(p.limits)
    let refusedUnfunded = 0
    for (let k = 0; k < share; k++) {
      const id = createIdentity()
      for (let i = 0; i < UNFUNDED_LIVE_OFFERS + 2; i++) {
        const over = offerQuota(pool, p.limits, id.address, false, cur, cur)
        if (over !== undefined) { refusedUnfunded++; continue }
        await pool.add(offer(id.privateKey, id.address, BigInt(i), cur), true)
      }
      assert.ok(pool.liveOf(id.address, cur) <= UNFUNDED_LIVE_OFFERS)
    }
    assert.equal(pool.unfundedSize, share, 'strangers filled exactly their share')
    assert.ok(refusedUnfunded > 0)
    assert.equal(offerQuota(pool, p.limits, createIdentity().address, false, cur, cur)?.code, 'NODE_UNFUNDED')
    // a funded party still gets in, up to its live cap across epochs (a new epoch per batch does not reset it)
    const funded = createIdentity()
    let admitted = 0
    for (let e = cur; e < cur + 4n; e++) {
      for (let i = 0; i < 10; i++) {
        if (offerQuota(pool, p.limits, funded.address, true, e, cur) !== undefined) continue
        if (await pool.add(offer(funded.privateKey, funded.address, e * 100n + BigInt(i), e))) admitted++
      }
    }
    assert.equal(admitted, p.limits.maxOffersPerPeerPerEpoch)
    assert.equal(offerQuota(pool, p.limits, funded.address, true, cur + 4n, cur)?.code, 'NODE_RATE_LIMITED')
    // once its offers expire, the party gets room again
    assert.equal(offerQuota(pool, p.limits, funded.address, true, cur + 10n, cur + 10n), undefined)
  })

  it('over sync, an offer of an epoch that closed before the node took part comes only from a funded party', async () => {
    // seen in the adversary suite on a loaded machine: a node that had skipped ahead (its liveFrom
    // after the liars' closed epoch) took 1,017 strangers' offers of that epoch into its pool
    const p = testProfile({ limits: { maxOffersPerEpoch: 100_000 } })
    const store = await NodeStore.open(await tempDir(cleanup))
    cleanup.push(async () => { await store.close() })
    const funded = createIdentity().address
    let liveFrom: bigint | undefined = 95n
    const a = new OfferAdmission({ pool: new OfferPool(store), limits: p.limits, funded: (s) => s === funded, currentEpoch: () => 100n, liveFrom: () => liveFrom })
    const stranger = createIdentity().address
    // epoch 90 closed before the node took part (95): a stranger's is refused, a funded party's admitted
    assert.equal(a.synced(stranger, 90n, 140n, 100n, true)?.code, 'NODE_UNFUNDED')
    assert.equal(a.synced(funded, 90n, 140n, 100n, true), undefined)
    // epoch 97 closed while the node took part: refused from anyone
    assert.equal(a.synced(funded, 97n, 140n, 100n, true)?.code, 'PROTOCOL_EPOCH_TOO_OLD')
    assert.equal(a.synced(stranger, 97n, 140n, 100n, true)?.code, 'PROTOCOL_EPOCH_TOO_OLD')
    // still open (the epoch reconciled or the one before): the quotas decide; expired: refused
    assert.equal(a.synced(stranger, 99n, 140n, 100n, true), undefined)
    assert.equal(a.synced(stranger, 99n, 99n, 100n, true)?.code, 'PROTOCOL_EPOCH_TOO_OLD')
    // a majority peer's input (resync: no closed check) is taken as the quotas allow
    assert.equal(a.synced(stranger, 90n, 140n, 100n, false), undefined)
    // while joining (no liveFrom): every closed epoch is refused
    liveFrom = undefined
    assert.equal(a.synced(funded, 90n, 140n, 100n, true)?.code, 'PROTOCOL_EPOCH_TOO_OLD')
  })

  it('one key flooding over several epochs holds at most its live cap in the pool', async () => {
    const net = await planNetwork(1, { epochMs: 1500, graceMs: 300 })
    const p = net.profile
    const victim = await startNode(cleanup, p, { identity: net.bootstrapIds[0], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[0]}`], dhtServer: true, name: 'victim' })
    await waitFor(() => victim.isParticipating, 20_000, 'victim participating')
    const a = await startAttacker(cleanup, p, addrOf(victim))
    const cur = victim.currentEpoch()
    let n = 0
    for (const epoch of [cur, cur + 1n, cur + 2n]) {
      for (let i = 0; i < 100; i++) {
        await a.publish('jobs', encodeMessage(signJobOffer(victim.hasher, a.identity.privateKey, { ...jobOffer(a.identity.address, BigInt(++n), epoch), expiryEpoch: epoch + 20n })))
      }
    }
    await waitFor(() => victim.metrics.byCode('NODE_RATE_LIMITED') > 0, 10_000, 'the flood refused')
    await sleepMs(500)
    assert.ok(victim.pool.liveOf(a.identity.address, cur) <= p.limits.maxOffersPerPeerPerEpoch, `flooder holds ${victim.pool.liveOf(a.identity.address, cur)}`)
  })

  it('offers served over sync for an epoch already closed never enter the pool', async () => {
    const net = await planNetwork(1, { epochMs: 1500, graceMs: 300 })
    const p = net.profile
    const victim = await startNode(cleanup, p, { identity: net.bootstrapIds[0], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[0]}`], dhtServer: true, name: 'victim' })
    // an epoch the victim matched live (offers of epochs before it took part may be genuine ones it never heard of)
    await waitFor(() => victim.roots.size >= 5, 30_000, 'victim matching for a while')
    const closed = victim.currentEpoch() - 3n
    const wireById = new Map<Hash, string>()
    for (let i = 0; i < 1000; i++) {
      const k = createIdentity()
      const m = signJobOffer(victim.hasher, k.privateKey, { ...jobOffer(k.address, 1n, closed), expiryEpoch: closed + 50n })
      wireById.set(verifyMessage(victim.hasher, m).id, Buffer.from(encodeMessage(m)).toString('base64'))
    }
    const liar = await serveOffersOverSync(cleanup, p, addrOf(victim), wireById)
    const before = victim.pool.size
    await waitFor(() => liar.served >= 1000, 20_000, 'the victim to fetch the stranger\'s offers while reconciling')
    await sleepMs(500)
    assert.equal(victim.pool.size, before, 'none of the closed-epoch offers entered the pool')
    assert.ok((victim.syncStats?.refused ?? 0) >= 1000)
  })

  it('a node that has not matched with balances yet (joining) counts only the deposits its chain reader has seen: strangers over sync fill their share, not the pool', async () => {
    // the liars of the adversary suite served 1,000 offers of 1,000 fresh keys to nodes that had
    // not matched an epoch with balances yet: every party counted as funded then, and 1,018 offers
    // entered a pool bounded at 150 under load
    const net = await planNetwork(1, { epochMs: 6000, graceMs: 1000, limits: { maxOffersPerEpoch: 1024 } })
    const p = net.profile
    const deposited = createIdentity()
    const victim = await startNode(cleanup, p, {
      identity: net.bootstrapIds[0], listen: [`/ip4/127.0.0.1/tcp/${net.bootstrapPorts[0]}`], dhtServer: true, name: 'joining',
      // a chain that gives no balances: the node never matches with any, as while it joins
      chainFacts: async () => ({ opened: [], closed: [] }),
      depositedSoFar: (a) => a.toLowerCase() === deposited.address.toLowerCase()
    })
    // the epoch being matched when the victim reconciles (sync fetches the offers of the epoch it closes)
    const open = victim.currentEpoch()
    const wireById = new Map<Hash, string>()
    for (let i = 0; i < 1000; i++) {
      const k = createIdentity()
      const m = signJobOffer(victim.hasher, k.privateKey, { ...jobOffer(k.address, 1n, open), expiryEpoch: open + 50n })
      wireById.set(verifyMessage(victim.hasher, m).id, Buffer.from(encodeMessage(m)).toString('base64'))
    }
    const ids = [...wireById.keys()].sort()
    const liar = await serveOffersOverSync(cleanup, p, addrOf(victim), wireById)
    await waitFor(() => liar.served >= 1000, 20_000, 'the victim to fetch the strangers\' offers while reconciling')
    await sleepMs(500)
    const taken = ids.filter((id) => victim.pool.get(id) !== undefined).length
    assert.ok(taken >= 1, 'the strangers got their share (the epoch was open)')
    assert.ok(taken <= unfundedShare(p.limits), `${taken} of the strangers' offers entered the pool; their share is ${unfundedShare(p.limits)}`)
    // the rule itself
    const none = undefined
    assert.equal(countsAsFunded(deposited.address, { chainless: false, funds: none, depositedSoFar: (a) => a === deposited.address }), true)
    assert.equal(countsAsFunded(createIdentity().address, { chainless: false, funds: none, depositedSoFar: () => false }), false)
    assert.equal(countsAsFunded(createIdentity().address, { chainless: true, funds: none, depositedSoFar: () => false }), true, 'no chain: nothing to tell parties apart by')
  })
})

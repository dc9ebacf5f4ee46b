/**
 * What an identity must hold to steer the shared state, against a real anvil and real nodes:
 * offers count only when backed in escrow at B(E) (an unfunded key's jobs never take the
 * provider, an unfunded provider never takes a job), and heartbeats weigh by escrow balance
 * (eight throwaway identities gossiping a made-up root make no node resync).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Level } from 'level'
import { ChainFactsSource } from '../../src/node/chainFacts.js'
import { fundedOffers, FundsReader } from '../../src/node/funding.js'
import { chainReads } from '../../src/node/chainFacts.js'
import type { LilyNode } from '../../src/node/network.js'
import { initialState } from '../../src/matching/index.js'
import { createIdentity, identityFromPrivateKey, type Identity } from '../../src/protocol/identity.js'
import { createLogger } from '../../src/protocol/logger.js'
import { parseProfile, type Profile } from '../../src/protocol/profile.js'
import { encodeMessage, signHeartbeat, signJobOffer, signResourceOffer, verifyMessage } from '../../src/p2p/wire.js'
import type { Hash } from '../../src/protocol/types.js'
import { START_DEPOSIT, setup, type Fixture } from '../chain/helpers.js'
import { startAttacker, type Attacker } from './attacker.js'
import { addrOf, Cleanup, freePorts, jobOffer, resourceOffer, sleepMs, startNode, tempDir, waitFor } from './helpers.js'

describe('node: stake decides what counts', function () {
  this.timeout(180_000)
  const cleanup = new Cleanup()
  let fx: Fixture
  before(async () => { fx = await setup('eth') })
  after(async () => { await cleanup.run(); await fx?.stop() })

  async function chainNode (profile: Profile, identity: Identity, name: string, extra: { listen?: string[], dhtServer?: boolean } = {}): Promise<LilyNode> {
    const dir = await tempDir(cleanup)
    const db = new Level<string, string>(join(dir, 'chainlog'))
    await db.open()
    const facts = new ChainFactsSource({ profile, client: fx.admin.client, db: db.sublevel<string, string>('log', {}), log: createLogger(`${name}:facts`, { level: 'error' }), waitMs: 20_000 })
    facts.start()
    cleanup.push(async () => { await facts.stop(); await db.close() })
    return await startNode(cleanup, profile, { identity, name, chainFacts: async (e) => await facts.facts(e), ...extra })
  }

  it('reads balances at the block of the last escrow event before the cutoff; never-depositors cost no read', async () => {
    let reads = 0
    const inner = chainReads(fx.admin.client, { escrow: fx.escrow } as unknown as Profile)
    const deposited = new Map<string, bigint>()
    await fx.fund(fx.spare[0], 5n)
    const block = await fx.admin.client.public.getBlockNumber({ cacheTime: 0 })
    deposited.set(fx.spare[0].address.toLowerCase(), block)
    const reader = new FundsReader({ balanceAt: async (a, b) => { reads++; return await inner.balanceAt(a, b) }, requestAt: inner.requestAt }, deposited)
    await fx.fund(fx.spare[0], 7n)
    const at = reader.at(block)
    assert.equal(await at.balanceOf(fx.spare[0].address), 5n, 'the balance at that block, not the latest')
    assert.equal(await reader.at(block + 1n).balanceOf(fx.spare[0].address), 12n)
    assert.equal(await at.balanceOf(createIdentity().address), 0n)
    assert.equal(await reader.at(block - 1n).balanceOf(fx.spare[0].address), 0n, 'before its first deposit')
    assert.equal(reads, 2, 'only depositors at or before the block are read')
    // the filter: a creator whose live jobs together exceed its balance loses all of them
    const { hasher } = fx
    const mk = (price: bigint, nonce: bigint): { id: Hash, kind: 'job', signer: `0x${string}`, epoch: bigint, expiry: bigint, wire: Uint8Array, offer: ReturnType<typeof jobOffer> } => {
      const o = { ...jobOffer(fx.spare[0].address, nonce, 10n), maxPrice: price }
      const m = signJobOffer(hasher, fx.spare[0].key, o)
      return { id: verifyMessage(hasher, m).id, kind: 'job', signer: o.creator, epoch: 10n, expiry: 11n, wire: encodeMessage(m), offer: o }
    }
    const fits = await fundedOffers([mk(5n, 1n)], initialState(), at)
    assert.equal(fits.kept.length, 1)
    const over = await fundedOffers([mk(3n, 1n), mk(3n, 2n)], initialState(), at)
    assert.deepEqual([over.kept.length, over.dropped.jobs], [0, 2])
    // a job whose deal opened in this epoch's facts no longer needs funds (its price already left the balance)
    const a = mk(3n, 3n)
    const b = mk(3n, 4n)
    const afterOpen = await fundedOffers([a, b], initialState(), at, undefined, [{ jobOfferHash: a.id }])
    assert.deepEqual([afterOpen.kept.length, afterOpen.dropped.jobs], [2, 0])
  })

  it('unfunded keys neither squat the provider nor outvote the network', async () => {
    await fx.fund(fx.creator, START_DEPOSIT)
    await fx.fund(fx.provider, START_DEPOSIT)
    const epochMs = 1500
    const [port] = await freePorts(1)
    const bootId = createIdentity()
    const profile = parseProfile({
      name: 'staketest',
      chainId: Number(fx.anvil.chainId),
      rpcUrl: fx.anvil.rpcUrl,
      escrow: fx.escrow,
      epochMs,
      graceMs: 300,
      genesisMs: Math.floor(Date.now() / epochMs) * epochMs - 100 * epochMs,
      reserveEpochs: 3,
      bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${bootId.peerId.toString()}`]
    })
    const boot = await chainNode(profile, bootId, 'boot', { listen: [`/ip4/127.0.0.1/tcp/${port}`], dhtServer: true })
    const provider = await chainNode(profile, identityFromPrivateKey(fx.provider.key), 'provider')
    const creator = await chainNode(profile, identityFromPrivateKey(fx.creator.key), 'creator')
    const nodes = [boot, provider, creator]
    await waitFor(() => nodes.every((n) => n.isParticipating && n.libp2p.getPeers().length >= 2), 30_000, 'nodes connected')
    const resyncs: string[] = []
    for (const n of nodes) n.on('resync', (r) => { resyncs.push(`${n.address}:${r.epoch}:${r.how}`) })

    // eight throwaway identities; two of them also offer jobs that outbid the honest one, and a provider that undercuts
    const attackers: Attacker[] = []
    for (let i = 0; i < 8; i++) attackers.push(await startAttacker(cleanup, profile, addrOf(boot)))
    const e0 = creator.currentEpoch() + 1n
    const capacity = { ...resourceOffer(provider.address, 1n, e0), cpu: 1000, ram: 1024, expiryEpoch: e0 + 30n }
    await provider.publishResourceOffer(capacity)
    const squatJobs: Hash[] = []
    for (const [i, a] of attackers.slice(0, 2).entries()) {
      const o = { ...jobOffer(a.identity.address, BigInt(i + 1), e0), cpu: 1000, ram: 512, maxPrice: 10n ** 17n, expiryEpoch: e0 + 30n }
      const m = signJobOffer(creator.hasher, a.identity.privateKey, o)
      squatJobs.push(verifyMessage(creator.hasher, m).id)
      await a.publish('jobs', encodeMessage(m))
    }
    const fake = { ...resourceOffer(attackers[2].identity.address, 1n, e0), priceCpu: 1n, collateral: 0n, expiryEpoch: e0 + 30n }
    await attackers[2].publish('resources', encodeMessage(signResourceOffer(creator.hasher, attackers[2].identity.privateKey, fake)))
    const honest = { ...jobOffer(creator.address, 7n, e0), cpu: 1000, ram: 512, maxPrice: 10n ** 16n, expiryEpoch: e0 + 30n }
    const honestId = await creator.publishJobOffer(honest)
    const matched = new Promise<{ provider: string }>((resolve) => { creator.on('match', (m) => { if (m.jobId === honestId) resolve({ provider: m.deal.provider }) }) })

    // the eight gossip a made-up root for every epoch while the market runs
    const fakeRoot = `0x${'ab'.repeat(32)}` as Hash
    let stop = false
    const votes = (async () => {
      while (!stop) {
        const e = creator.headEpoch ?? 0n
        for (const a of attackers) {
          for (const epoch of [e, e + 1n]) await a.publish('epochs', encodeMessage(signHeartbeat(creator.hasher, a.identity.privateKey, { node: a.identity.address, epoch, offerDigest: fakeRoot, stateRoot: fakeRoot })))
        }
        await sleepMs(200)
      }
    })()
    try {
      const m = await Promise.race([matched, sleepMs(20 * epochMs).then(() => undefined)])
      assert.ok(m !== undefined, 'the funded job is matched')
      assert.equal(m.provider, provider.address, 'to the funded provider, not the unfunded one')
      // keep the attack going a few more epochs
      await sleepMs(3 * epochMs)
    } finally {
      stop = true
      await votes
    }
    for (const n of nodes) {
      const state = await n.stateAt(n.headEpoch as bigint)
      assert.ok(state !== undefined)
      assert.ok(!state.reserved.some((r) => squatJobs.includes(r.jobId)), `${n.address}: an unfunded job holds capacity`)
      assert.equal((n.syncStats?.resyncRecompute ?? 0) + (n.syncStats?.resyncSnapshot ?? 0), 0, `${n.address} resynced`)
    }
    assert.deepEqual(resyncs, [], 'no node resynced because of the throwaway identities')
    const h = creator.headEpoch as bigint
    const roots = nodes.map((n) => n.roots.get(h - 1n))
    assert.ok(roots.every((r) => r !== undefined && r === roots[0] && r !== fakeRoot), `nodes agree: ${roots.join(' ')}`)
  })
})

import { strict as assert } from 'node:assert'
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import type { ChainFacts, EpochInput, MatcherConfig, MatcherState, OfferRecord } from '../../src/matching/index.js'
import { MatchingError, decodeState, encodeState, initialState, offerSetDigest, step } from '../../src/matching/index.js'
import { CONFIG, MODULES, NO_FACTS, hasher } from './fixtures.js'

const CREATOR: Address = '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const P1: Address = '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
const P2: Address = '0xcccccccccccccccccccccccccccccccccccccccc'

function job (over: Partial<JobOffer> = {}): OfferRecord<JobOffer> {
  const offer: JobOffer = {
    creator: CREATOR, nonce: 1n, module: MODULES[0], inputsHash: MODULES[1], cpu: 1000, ram: 1024, gpus: 0, gpuVram: 0, disk: 0,
    maxPrice: 1_000_000n, timeout: 10, collateral: 0n, epoch: 0n, expiryEpoch: 100n, ...over
  }
  return { id: hasher.digest('JobOffer', offer), offer }
}

function res (over: Partial<ResourceOffer> = {}): OfferRecord<ResourceOffer> {
  const offer: ResourceOffer = {
    provider: P1, nonce: 0n, version: 1, cpu: 2000, ram: 2048, gpus: 0, gpuVram: 0, disk: 0, gpuModel: '',
    priceCpu: 1n, priceRam: 0n, priceGpu: 0n, priceDisk: 0n, modules: [], collateral: 0n, epoch: 0n, expiryEpoch: 100n, ...over
  }
  return { id: hasher.digest('ResourceOffer', offer), offer }
}

const run = (prev: MatcherState, input: EpochInput, epoch: bigint, facts: ChainFacts = NO_FACTS, config: MatcherConfig = CONFIG): ReturnType<typeof step> =>
  step(prev, input, facts, epoch, config)

describe('matching: step examples', () => {
  it('gives each job the cheapest fitting offer and prices it halfway between the ask Σ price·resource · timeout and maxPrice', () => {
    const j = job({ cpu: 1000, ram: 512, timeout: 7 })
    const cheap = res({ provider: P1, priceCpu: 2n, priceRam: 1n })
    const dear = res({ provider: P2, priceCpu: 3n, priceRam: 0n })
    const out = run(initialState(), { jobs: [j], resources: [dear, cheap] }, 1n)
    assert.equal(out.matches.length, 1)
    assert.equal(out.matches[0].resourceId, cheap.id)
    const ask = (2n * 1000n + 1n * 512n) * 7n
    assert.equal(out.matches[0].deal.price, ask + (1_000_000n - ask) / 2n, 'the midpoint of the ask and the bid')
    assert.equal(out.matches[0].deal.openBy, CONFIG.openBy(1n))
  })

  it('serves the highest maxPrice first when capacity is short, and lets one offer serve several jobs', () => {
    const rich = job({ nonce: 1n, maxPrice: 900_000n })
    const poor = job({ nonce: 2n, maxPrice: 800_000n })
    const third = job({ nonce: 3n, maxPrice: 700_000n })
    const offer = res({ cpu: 2000 }) // two jobs of 1000 millicores fit, not three
    const out = run(initialState(), { jobs: [third, poor, rich], resources: [offer] }, 1n)
    assert.deepEqual(out.matches.map((m) => m.jobId), [rich.id, poor.id])
  })

  it('refuses offers that are too expensive, lack the module, put up too little collateral, are the creator, or lack vram', () => {
    const j = job({ gpus: 1, gpuVram: 16384, collateral: 5n, maxPrice: 100n, timeout: 1, cpu: 10, ram: 1 })
    const ok = res({ provider: P2, gpus: 1, gpuVram: 16384, gpuModel: 'T4', collateral: 5n, priceCpu: 10n, priceRam: 0n })
    const cases: Array<OfferRecord<ResourceOffer>> = [
      res({ gpus: 1, gpuVram: 16384, gpuModel: 'T4', collateral: 5n, priceCpu: 11n }),
      res({ gpus: 1, gpuVram: 16384, gpuModel: 'T4', collateral: 5n, priceCpu: 1n, modules: [MODULES[2]] }),
      res({ gpus: 1, gpuVram: 16384, gpuModel: 'T4', collateral: 4n, priceCpu: 1n }),
      res({ provider: CREATOR, gpus: 1, gpuVram: 16384, gpuModel: 'T4', collateral: 5n, priceCpu: 1n }),
      res({ gpus: 1, gpuVram: 8192, gpuModel: 'T4', collateral: 5n, priceCpu: 1n })
    ]
    for (const bad of cases) {
      assert.equal(run(initialState(), { jobs: [j], resources: [bad] }, 1n).matches.length, 0)
      const both = run(initialState(), { jobs: [j], resources: [bad, ok] }, 1n)
      assert.equal(both.matches[0]?.resourceId, ok.id)
    }
  })

  it('compares collateral exactly where the doubles of two values are equal (≥ 2^53)', () => {
    for (const base of [2n ** 53n, 2n ** 60n, 10n ** 18n, 2n ** 255n]) {
      assert.equal(Number(base), Number(base + 1n), 'the case under test: the doubles are equal')
      const j = job({ collateral: base + 1n })
      const short = res({ provider: P1, collateral: base, priceCpu: 1n })
      const enough = res({ provider: P2, collateral: base + 1n, priceCpu: 2n })
      assert.equal(run(initialState(), { jobs: [j], resources: [short] }, 1n).matches.length, 0, `offer ${base} < job ${base + 1n}`)
      assert.equal(run(initialState(), { jobs: [j], resources: [short, enough] }, 1n).matches[0]?.resourceId, enough.id)
      assert.equal(run(initialState(), { jobs: [job({ collateral: base })], resources: [short] }, 1n).matches[0]?.resourceId, short.id)
      // more than SKIP_LIMIT cheaper offers short by one wei: the per-collateral heap must refuse them too
      const shorts = Array.from({ length: 20 }, (_, i) => res({ provider: P1, nonce: BigInt(i + 1), collateral: base, priceCpu: 1n }))
      const many = run(initialState(), { jobs: [j], resources: [...shorts, enough] }, 1n)
      assert.deepEqual(many.matches.map((m) => m.resourceId), [enough.id])
    }
  })

  it('a newer version supersedes the older one from its own epoch on, sharing capacity held by the older', () => {
    const v1 = res({ version: 1, epoch: 0n, priceCpu: 1n, cpu: 2000 })
    const v2 = res({ version: 2, epoch: 3n, priceCpu: 2n, cpu: 2000 })
    const j1 = job({ nonce: 1n })
    const input = { jobs: [j1], resources: [v2, v1] }
    const e2 = run(initialState(), input, 2n)
    assert.equal(e2.matches[0].resourceId, v1.id, 'v2 is not effective before its epoch')
    // at epoch 3 v2 is effective; j1's reservation still holds 1000 of the slot's 2000
    const j2 = job({ nonce: 2n }); const j3 = job({ nonce: 3n, maxPrice: 999_999n })
    const e3 = run(e2.state, { jobs: [j1, j2, j3], resources: [v1, v2] }, 3n)
    assert.deepEqual(e3.matches.map((m) => m.resourceId), [v2.id])
    assert.equal(e3.matches[0].jobId, j2.id)
  })

  it('an expired newer version does not bring the older one back; offers outside [epoch, expiryEpoch] are ignored', () => {
    const v1 = res({ version: 1, epoch: 0n, expiryEpoch: 100n })
    const v2 = res({ version: 2, epoch: 1n, expiryEpoch: 2n })
    assert.equal(run(initialState(), { jobs: [job()], resources: [v1, v2] }, 5n).matches.length, 0)
    assert.equal(run(initialState(), { jobs: [job({ epoch: 6n, expiryEpoch: 9n })], resources: [v1] }, 5n).matches.length, 0)
    assert.equal(run(initialState(), { jobs: [job({ epoch: 1n, expiryEpoch: 4n })], resources: [v1] }, 5n).matches.length, 0)
    assert.equal(run(initialState(), { jobs: [job({ epoch: 5n, expiryEpoch: 5n })], resources: [v1] }, 5n).matches.length, 1)
  })

  it('a reservation holds job and capacity for k epochs, then releases both if not opened', () => {
    const j = job()
    const offer = res({ cpu: 1000 })
    const input = { jobs: [j], resources: [offer] }
    const e1 = run(initialState(), input, 1n)
    assert.equal(e1.matches.length, 1)
    const other = job({ nonce: 9n, maxPrice: 10n ** 9n })
    // epochs 2 and 3 (k = 2): the job is reserved and the offer's capacity is held
    const e2 = run(e1.state, { jobs: [j, other], resources: [offer] }, 2n)
    const e3 = run(e2.state, { jobs: [j, other], resources: [offer] }, 3n)
    assert.equal(e2.matches.length + e3.matches.length, 0)
    assert.equal(e3.state.reserved.length, 1)
    // epoch 4: released; the richer job wins the freed capacity
    const e4 = run(e3.state, { jobs: [j, other], resources: [offer] }, 4n)
    assert.deepEqual(e4.matches.map((m) => m.jobId), [other.id])
  })

  it('an opened deal consumes its job for good and holds capacity until closed', () => {
    const j = job()
    const offer = res({ cpu: 1000 })
    const e1 = run(initialState(), { jobs: [j], resources: [offer] }, 1n)
    const dealId = hasher.digest('Deal', e1.matches[0].deal)
    const opened: ChainFacts = { opened: [{ dealId, jobOfferHash: j.id, resourceOfferHash: offer.id }], closed: [] }
    const other = job({ nonce: 2n })
    const e2 = run(e1.state, { jobs: [j, other], resources: [offer] }, 2n, opened)
    assert.equal(e2.matches.length, 0)
    assert.deepEqual(e2.state.open.map((d) => d.dealId), [dealId])
    assert.equal(e2.state.reserved.length, 0)
    // long after k the deal is still open: capacity still held
    const e9 = run(e2.state, { jobs: [j, other], resources: [offer] }, 9n)
    assert.equal(e9.matches.length, 0)
    // closed: capacity returns, but the opened job is never matched again
    const e10 = run(e9.state, { jobs: [j, other], resources: [offer] }, 10n, { opened: [], closed: [dealId] })
    assert.deepEqual(e10.matches.map((m) => m.jobId), [other.id])
    assert.deepEqual(e10.state.spent.map((s) => s.jobId), [j.id])
    // the same opened fact sent again (overlapping event windows) changes nothing
    const again = run(e10.state, { jobs: [j, other], resources: [offer] }, 11n, opened)
    assert.deepEqual(again.state.open, e10.state.open.filter((d) => d.dealId !== dealId))
    assert.equal(again.state.open.some((d) => d.dealId === dealId), false)
    // the spent marker is dropped once the job offer has expired
    const late = run(again.state, { jobs: [], resources: [] }, 101n)
    assert.equal(late.state.spent.length, 0)
  })

  it('a deal opened after its reservation was released still consumes the job and holds capacity', () => {
    const j = job()
    const offer = res({ cpu: 1000 })
    const e1 = run(initialState(), { jobs: [j], resources: [offer] }, 1n)
    const dealId = hasher.digest('Deal', e1.matches[0].deal)
    const e5 = run(e1.state, { jobs: [], resources: [offer] }, 5n)
    assert.equal(e5.state.reserved.length, 0)
    const other = job({ nonce: 2n })
    const e6 = run(e5.state, { jobs: [j, other], resources: [offer] }, 6n, { opened: [{ dealId, jobOfferHash: j.id, resourceOfferHash: offer.id }], closed: [] })
    assert.equal(e6.matches.length, 0)
    assert.deepEqual(e6.state.open[0].hold, { provider: P1, nonce: 0n, cpu: 1000, ram: 1024, gpus: 0, disk: 0 })
  })

  it('a final direct-fit pass matches a job that fits the room the moves left (issue 16 item 4)', () => {
    // p: any module, ram at 1; q: module A only, ram at 2; timeout 1 everywhere
    const p = res({ provider: P1, cpu: 10, ram: 10, priceCpu: 0n, priceRam: 1n })
    const q = res({ provider: P2, cpu: 10, ram: 10, priceCpu: 0n, priceRam: 2n, modules: [MODULES[0]] })
    const j = job({ nonce: 1n, cpu: 5, ram: 8, maxPrice: 100n, timeout: 1, module: MODULES[0] })
    const v = job({ nonce: 2n, cpu: 1, ram: 5, maxPrice: 8n, timeout: 1, module: MODULES[1] })
    const u = job({ nonce: 3n, cpu: 8, ram: 1, maxPrice: 6n, timeout: 1, module: MODULES[1] })
    const out = run(initialState(), { jobs: [j, v, u], resources: [p, q] }, 1n)
    const got = new Map(out.matches.map((m) => [m.jobId, { at: m.resourceId, price: m.deal.price }]))
    assert.equal(out.matches.length, 3, 'all three jobs fit: j on q, u and v on p')
    // asks 16, 1 and 5; deals at the midpoint of ask and maxPrice
    assert.deepEqual(got.get(j.id), { at: q.id, price: 16n + (100n - 16n) / 2n })
    assert.deepEqual(got.get(u.id), { at: p.id, price: 1n + (6n - 1n) / 2n })
    assert.deepEqual(got.get(v.id), { at: p.id, price: 5n + (8n - 5n) / 2n })
  })

  it('refuses a job offer with timeout 0 (it would price every offer at 0)', () => {
    const z = job({ nonce: 7n, timeout: 0 })
    const ok = job({ nonce: 8n, timeout: 1 })
    const out = run(initialState(), { jobs: [z, ok], resources: [res({ cpu: 100_000 })] }, 1n)
    assert.deepEqual(out.matches.map((m) => m.jobId), [ok.id])
  })

  it('the epoch seed, not the input order, breaks ties', () => {
    const a = res({ provider: P1 }); const b = res({ provider: P2 })
    const j = job({ cpu: 2000 })
    const winners = new Set<Hash>()
    for (let e = 1n; e <= 16n; e++) {
      const x = run(initialState(), { jobs: [j], resources: [a, b] }, e)
      const y = run(initialState(), { jobs: [j], resources: [b, a] }, e)
      assert.equal(x.matches[0].resourceId, y.matches[0].resourceId)
      winners.add(x.matches[0].resourceId)
    }
    assert.equal(winners.size, 2, 'over 16 epochs both equally priced offers win sometimes')
  })

  it('a seed block from the chain decides the ties: the same block the same winner, and a public seed no longer does', () => {
    const offers = Array.from({ length: 20 }, (_, i) => res({ provider: `0x${(i + 1).toString(16).padStart(40, '0')}` as Address }))
    const j = job({ cpu: 2000 })
    const winner = (seedBlock?: Hash): Hash => run(initialState(), { jobs: [j], resources: offers }, 5n, { opened: [], closed: [], seedBlock }).matches[0].resourceId
    const blocks = Array.from({ length: 12 }, (_, i) => `0x${(i + 7).toString(16).padStart(64, 'a')}` as Hash)
    const wins = new Set(blocks.map((b) => winner(b)))
    assert.ok(wins.size >= 4, `12 seed blocks spread the tie over several of 20 equal offers (got ${wins.size})`)
    assert.equal(winner(blocks[0]), winner(blocks[0]))
    assert.ok(blocks.some((b) => winner(b) !== winner()), 'the seed block changes the seed')
    assert.throws(() => winner('0x12' as Hash), (e: unknown) => e instanceof MatchingError && e.code === 'MATCHING_BAD_CONFIG')
  })

  it('refuses a bad config or an epoch that does not move forward', () => {
    const e1 = run(initialState(), { jobs: [], resources: [] }, 5n)
    assert.throws(() => run(e1.state, { jobs: [], resources: [] }, 5n), (e: unknown) => e instanceof MatchingError && e.code === 'MATCHING_EPOCH_ORDER')
    assert.throws(() => run(initialState(), { jobs: [], resources: [] }, 1n, NO_FACTS, { ...CONFIG, reserveEpochs: -1 }), (e: unknown) => e instanceof MatchingError && e.code === 'MATCHING_BAD_CONFIG')
    assert.throws(() => run(initialState(), { jobs: [], resources: [] }, 1n, NO_FACTS, { ...CONFIG, seedPrefix: '0x12' }), (e: unknown) => e instanceof MatchingError && e.code === 'MATCHING_BAD_CONFIG')
    assert.throws(() => run(initialState(), { jobs: [job()], resources: [res()] }, 1n, NO_FACTS, { ...CONFIG, openBy: () => -1n }), (e: unknown) => e instanceof MatchingError && e.code === 'MATCHING_BAD_CONFIG')
  })

  it('skips offers that break the protocol bounds instead of failing the epoch', () => {
    const good = job({ nonce: 5n }); const bad = { id: job({ nonce: 6n }).id, offer: { ...job({ nonce: 6n }).offer, cpu: -1 } }
    const out = run(initialState(), { jobs: [bad, good], resources: [res({ cpu: 100_000 }), { id: '0x1234' as Hash, offer: res().offer }] }, 1n)
    assert.deepEqual(out.matches.map((m) => m.jobId), [good.id])
  })

  it('decodeState refuses truncated, padded, unsorted or foreign bytes', () => {
    const j = job(); const k = job({ nonce: 2n })
    const s = run(initialState(), { jobs: [j, k], resources: [res({ cpu: 4000 })] }, 1n).state
    assert.equal(s.reserved.length, 2)
    const bytes = encodeState(s)
    const isSnap = (e: unknown): boolean => e instanceof MatchingError && e.code === 'MATCHING_BAD_SNAPSHOT'
    assert.throws(() => decodeState(bytes.slice(0, bytes.length - 1)), isSnap)
    assert.throws(() => decodeState(new Uint8Array([...bytes, 0])), isSnap)
    const foreign = bytes.slice(); foreign[0] = 0x58
    assert.throws(() => decodeState(foreign), isSnap)
    const swapped: MatcherState = { ...s, reserved: [s.reserved[1], s.reserved[0]] }
    assert.throws(() => encodeState(swapped), (e: unknown) => e instanceof MatchingError && e.code === 'MATCHING_BAD_STATE')
  })

  it('offerSetDigest depends on the effective set only, not on order or duplicates', () => {
    const a = job({ nonce: 1n }); const b = job({ nonce: 2n }); const r1 = res(); const expired = res({ nonce: 7n, expiryEpoch: 0n })
    const d1 = offerSetDigest({ jobs: [a, b], resources: [r1, expired] }, 3n)
    assert.equal(offerSetDigest({ jobs: [b, a, b], resources: [expired, r1] }, 3n), d1)
    assert.equal(offerSetDigest({ jobs: [b, a], resources: [r1] }, 3n), d1)
    assert.notEqual(offerSetDigest({ jobs: [a], resources: [r1] }, 3n), d1)
    assert.notEqual(offerSetDigest({ jobs: [a, b], resources: [r1] }, 4n), d1)
  })
})

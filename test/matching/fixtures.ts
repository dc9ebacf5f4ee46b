/**
 * Small random markets for the matcher's property tests, and an independent, deliberately
 * naive reference of the matching rule (O(J·P), bigint only, no heaps) to check `step` against.
 */
import fc from 'fast-check'
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { DomainHasher, keccak } from '../../src/protocol/eip712.js'
import { bytesToHex, hexToBytes, concatBytes } from '../../src/protocol/hex.js'
import type { ChainFacts, EpochInput, MatcherConfig, MatcherState, OfferRecord } from '../../src/matching/index.js'
import { jobPrice } from '../../src/matching/index.js'

export const hasher = new DomainHasher({ name: 'lilynode', version: '1', chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' })

export const CONFIG: MatcherConfig = {
  seedPrefix: '0x1111111111111111111111111111111111111111111111111111111111111111',
  reserveEpochs: 2,
  openBy: (e) => 1_700_000_000n + e * 30n
}

export const NO_FACTS: ChainFacts = { opened: [], closed: [] }

const ADDRS: Address[] = [
  '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  '0xcccccccccccccccccccccccccccccccccccccccc',
  '0xdddddddddddddddddddddddddddddddddddddddd'
]
export const MODULES: Hash[] = [
  '0x0101010101010101010101010101010101010101010101010101010101010101',
  '0x0202020202020202020202020202020202020202020202020202020202020202',
  '0x0303030303030303030303030303030303030303030303030303030303030303'
]

/** Small prices, and now and then one beyond 2^53 so the bigint paths run too. */
const priceArb = fc.oneof({ weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 6n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }) })
const amountArb = fc.oneof({ weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 4000n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 60n, max: 2n ** 90n }) })
const epochArb = fc.bigInt({ min: 0n, max: 5n })

export const jobArb: fc.Arbitrary<OfferRecord<JobOffer>> = fc.record({
  creator: fc.constantFrom(...ADDRS),
  nonce: fc.bigInt({ min: 0n, max: 1000000n }),
  module: fc.constantFrom(...MODULES),
  cpu: fc.integer({ min: 1, max: 4 }),
  ram: fc.integer({ min: 1, max: 4 }),
  gpus: fc.integer({ min: 0, max: 2 }),
  gpuVram: fc.integer({ min: 1, max: 3 }),
  disk: fc.integer({ min: 0, max: 3 }),
  maxPrice: amountArb,
  timeout: fc.integer({ min: 1, max: 50 }),
  collateral: fc.bigInt({ min: 0n, max: 3n }),
  epoch: epochArb,
  life: fc.bigInt({ min: 0n, max: 4n })
}).map(({ life, ...o }) => {
  const offer: JobOffer = { ...o, gpuVram: o.gpus === 0 ? 0 : o.gpuVram, inputsHash: MODULES[0], expiryEpoch: o.epoch + life }
  return { id: hasher.digest('JobOffer', offer), offer }
})

export const resourceArb: fc.Arbitrary<OfferRecord<ResourceOffer>> = fc.record({
  provider: fc.constantFrom(...ADDRS),
  nonce: fc.bigInt({ min: 0n, max: 1n }),
  version: fc.integer({ min: 1, max: 3 }),
  cpu: fc.integer({ min: 1, max: 10 }),
  ram: fc.integer({ min: 1, max: 10 }),
  gpus: fc.integer({ min: 0, max: 4 }),
  gpuVram: fc.integer({ min: 1, max: 3 }),
  disk: fc.integer({ min: 0, max: 8 }),
  priceCpu: priceArb,
  priceRam: priceArb,
  priceGpu: priceArb,
  priceDisk: priceArb,
  modules: fc.oneof(fc.constant<Hash[]>([]), fc.subarray(MODULES, { minLength: 1 })),
  collateral: fc.bigInt({ min: 0n, max: 3n }),
  epoch: epochArb,
  life: fc.bigInt({ min: 0n, max: 5n })
}).map(({ life, ...o }) => {
  const offer: ResourceOffer = { ...o, gpuVram: o.gpus === 0 ? 0 : o.gpuVram, gpuModel: o.gpus === 0 ? '' : 'T4', expiryEpoch: o.epoch + life }
  return { id: hasher.digest('ResourceOffer', offer), offer }
})

/**
 * Markets with many cheap offers that put up no collateral and jobs that ask for some: enough
 * collateral misses that the engine switches to per-collateral heaps.
 */
export const collateralHeavyInputArb: fc.Arbitrary<EpochInput> = fc.record({
  jobs: fc.array(jobArb, { minLength: 1, maxLength: 10 }).map((js) => js.map((j, i) => {
    const offer = { ...j.offer, collateral: 1n + (j.offer.collateral % 3n), maxPrice: j.offer.maxPrice + (i % 2 === 0 ? 2n ** 40n : 0n), epoch: 0n, expiryEpoch: 9n, gpus: 0, gpuVram: 0 }
    return { id: hasher.digest('JobOffer', offer), offer }
  })),
  resources: fc.array(resourceArb, { minLength: 17, maxLength: 40 }).map((rs) => rs.map((r, i) => {
    // one offer in eight puts up collateral, and charges more than every small-priced one without
    const rich = i % 8 === 7
    const offer = {
      ...r.offer, collateral: rich ? 3n : 0n, epoch: 0n, expiryEpoch: 9n, nonce: BigInt(i),
      priceCpu: r.offer.priceCpu + (rich ? 7n : 0n), priceRam: r.offer.priceRam + (rich ? 7n : 0n)
    }
    return { id: hasher.digest('ResourceOffer', offer), offer }
  }))
})

/**
 * Wide markets: more offers than a walk may visit (VISIT_LIMIT 64) and more candidates than it
 * keeps (8), from many slots, so that the walk's bounds decide matches.
 */
export const wideInputArb: fc.Arbitrary<EpochInput> = fc.record({
  jobs: fc.array(jobArb, { minLength: 1, maxLength: 16 }),
  resources: fc.array(resourceArb, { minLength: 40, maxLength: 100 })
}).map(({ jobs, resources }) => ({
  jobs: jobs.map((j) => {
    const offer = { ...j.offer, epoch: 0n, expiryEpoch: 9n }
    return { id: hasher.digest('JobOffer', offer), offer }
  }),
  resources: resources.map((r, i) => {
    const offer = { ...r.offer, nonce: BigInt(i), version: 1, epoch: 0n, expiryEpoch: 9n }
    return { id: hasher.digest('ResourceOffer', offer), offer }
  })
}))

export const inputArb: fc.Arbitrary<EpochInput> = fc.record({
  jobs: fc.array(jobArb, { maxLength: 12 }),
  resources: fc.array(resourceArb, { maxLength: 8 })
})

/** A deterministic shuffle driven by fast-check's seed list. */
export function permute<T> (xs: readonly T[], keys: readonly number[]): T[] {
  return xs.map((x, i) => ({ x, k: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((a, b) => a.k - b.k || b.i - a.i).map((e) => e.x)
}

/** JSON with bigints as strings: a byte-for-byte comparable image of a result. */
export function image (v: unknown): string {
  return JSON.stringify(v, (_k, x) => typeof x === 'bigint' ? `${x}n` : x as unknown)
}

// ---------------------------------------------------------------- reference rule

function tie (seed: Uint8Array, id: Hash): string {
  return bytesToHex(keccak(concatBytes(seed, hexToBytes(id, 32))))
}

export function refSeed (seedPrefix: Hash, epoch: bigint, seedBlock?: Hash): Uint8Array {
  const e = new Uint8Array(32)
  let x = epoch
  for (let i = 31; i >= 0 && x > 0n; i--) { e[i] = Number(x & 0xffn); x >>= 8n }
  return keccak(concatBytes(hexToBytes(seedPrefix, 32), e, ...(seedBlock === undefined ? [] : [hexToBytes(seedBlock, 32)])))
}

export interface RefMatch { jobId: Hash, resourceId: Hash, price: bigint }

/**
 * The rule of DESIGN §4 written the slow, obvious way, for a step with no chain facts:
 * releases reservations past k, drops spent jobs past expiry, then matches.
 */
export function referenceMatches (prev: MatcherState, input: EpochInput, epoch: bigint, config: MatcherConfig, seedBlock?: Hash): RefMatch[] {
  const k = BigInt(config.reserveEpochs)
  const reserved = prev.reserved.filter((r) => r.matchEpoch + k >= epoch)
  const taken = new Set<string>([...reserved.map((r) => r.jobId), ...prev.open.map((d) => d.jobId), ...prev.spent.filter((s) => s.expiryEpoch >= epoch).map((s) => s.jobId)])
  const seed = refSeed(config.seedPrefix, epoch, seedBlock)

  const jobs = [...new Map(input.jobs.filter((j) => j.offer.epoch <= epoch && epoch <= j.offer.expiryEpoch && !taken.has(j.id)).map((j) => [j.id, j])).values()]
  jobs.sort((a, b) => a.offer.maxPrice > b.offer.maxPrice ? -1 : a.offer.maxPrice < b.offer.maxPrice ? 1 : tie(seed, a.id) < tie(seed, b.id) ? -1 : 1)

  const slots = new Map<string, OfferRecord<ResourceOffer>>()
  for (const r of input.resources) {
    if (r.offer.epoch > epoch) continue
    const key = `${r.offer.provider}:${r.offer.nonce}`
    const cur = slots.get(key)
    if (cur === undefined || r.offer.version > cur.offer.version || (r.offer.version === cur.offer.version && r.id < cur.id)) slots.set(key, r)
  }
  const offers = [...slots.entries()].filter(([, r]) => epoch <= r.offer.expiryEpoch)
  const rem = new Map(offers.map(([key, r]) => [key, { cpu: r.offer.cpu, ram: r.offer.ram, gpus: r.offer.gpus, disk: r.offer.disk }]))
  for (const h of [...reserved.map((r) => r.hold), ...prev.open.map((d) => d.hold)]) {
    if (h === null) continue
    const c = rem.get(`${h.provider}:${h.nonce}`)
    if (c !== undefined) { c.cpu = Math.max(0, c.cpu - h.cpu); c.ram = Math.max(0, c.ram - h.ram); c.gpus = Math.max(0, c.gpus - h.gpus); c.disk = Math.max(0, c.disk - h.disk) }
  }
  type Cap = { cpu: number, ram: number, gpus: number, disk: number }
  const capOf = (key: string): Cap => rem.get(key) as Cap
  const fits = (o: JobOffer, c: Cap): boolean => c.cpu >= o.cpu && c.ram >= o.ram && c.gpus >= o.gpus && c.disk >= o.disk
  // the market's median price per dimension, over the offers that have some of it
  const DIMS = ['cpu', 'ram', 'gpus', 'disk'] as const
  const PRICES = ['priceCpu', 'priceRam', 'priceGpu', 'priceDisk'] as const
  const refs = DIMS.map((dim, d) => {
    const xs = offers.filter(([, r]) => r.offer[dim] > 0).map(([, r]) => Number(r.offer[PRICES[d]])).sort((a, b) => a - b)
    return xs.length === 0 ? 0 : xs[(xs.length - 1) >> 1]
  })
  const dominant = (o: JobOffer): number => {
    let best = 0; let w = o.cpu * refs[0]
    for (let d = 1; d < 4; d++) if (o[DIMS[d]] > 0 && o[DIMS[d]] * refs[d] > w) { best = d; w = o[DIMS[d]] * refs[d] }
    return best
  }
  const slotOf = (r: OfferRecord<ResourceOffer>): string => `${r.offer.provider.toLowerCase()}:${r.offer.nonce}`
  const before = (a: OfferRecord<ResourceOffer>, b: OfferRecord<ResourceOffer>): number => {
    const ta = tie(seed, a.id); const tb = tie(seed, b.id)
    return ta < tb ? -1 : ta > tb ? 1 : slotOf(a) < slotOf(b) ? -1 : 1
  }
  const orders = DIMS.map((dim, d) => offers.filter(([, r]) => r.offer[dim] > 0)
    .sort(([, a], [, b]) => a.offer[PRICES[d]] < b.offer[PRICES[d]] ? -1 : a.offer[PRICES[d]] > b.offer[PRICES[d]] ? 1 : before(a, b)))
  /** the walk: offers with the capacity (left, or nominal), vram and collateral are visits; ≤ 8 candidates, ≤ 64 visits */
  const walk = (o: JobOffer, nominal: boolean, not: string, limit: number): Array<[string, OfferRecord<ResourceOffer>]> => {
    const out: Array<[string, OfferRecord<ResourceOffer>]> = []
    let visits = 0
    for (const [key, r] of orders[dominant(o)]) {
      if (out.length >= limit || visits >= 64) break
      if (!fits(o, nominal ? r.offer : capOf(key))) continue
      if ((o.gpus > 0 && r.offer.gpuVram < o.gpuVram) || r.offer.collateral < o.collateral || key === not) continue
      visits++
      if ((r.offer.modules.length > 0 && !r.offer.modules.includes(o.module)) || r.offer.provider.toLowerCase() === o.creator.toLowerCase()) continue
      if (jobPrice(o, r.offer) > o.maxPrice) continue
      out.push([key, r])
    }
    return out
  }
  /** the cheapest candidate of the walk in what is left now (ties keccak, then slot) */
  const choose = (o: JobOffer, not: string): { key: string, price: bigint } | undefined => {
    let best: { key: string, r: OfferRecord<ResourceOffer>, price: bigint } | undefined
    for (const [key, r] of walk(o, false, not, 8)) {
      const price = jobPrice(o, r.offer)
      if (best === undefined || price < best.price || (price === best.price && before(r, best.r) < 0)) best = { key, r, price }
    }
    return best === undefined ? undefined : { key: best.key, price: best.price }
  }

  const at = new Map<Hash, { key: string, price: bigint }>()
  const on = new Map<string, Array<OfferRecord<JobOffer>>>()
  for (const j of jobs) {
    const o = j.offer
    const best = choose(o, '')
    if (best === undefined) continue
    const c = capOf(best.key)
    c.cpu -= o.cpu; c.ram -= o.ram; c.gpus -= o.gpus; c.disk -= o.disk
    at.set(j.id, best)
    const l = on.get(best.key); if (l === undefined) on.set(best.key, [j]); else l.push(j)
  }

  // phase 2: augmenting moves, written out with full sorts and scans
  for (const slack of [0n, 3n]) {
    for (const u of jobs) {
      if (at.has(u.id)) continue
      const o = u.offer
      let best: { gain: bigint, own: bigint, key: string, price: bigint, j?: OfferRecord<JobOffer>, q?: string, qPrice?: bigint } | undefined
      for (const [key, r] of walk(o, true, '', 8)) {
        const price = jobPrice(o, r.offer)
        const own = o.maxPrice - price
        if (fits(o, capOf(key))) { if (best === undefined || own > best.gain) best = { gain: own, own, key, price }; continue }
        let k = 0
        for (const j of on.get(key) ?? []) {
          const c = capOf(key)
          if (c.cpu + j.offer.cpu < o.cpu || c.ram + j.offer.ram < o.ram || c.gpus + j.offer.gpus < o.gpus || c.disk + j.offer.disk < o.disk) continue
          if (++k > 4) break
          const alt = choose(j.offer, key)
          if (alt === undefined) continue
          const gain = own + (at.get(j.id) as { price: bigint }).price - alt.price
          if (best === undefined || gain > best.gain) best = { gain, own, key, price, j, q: alt.key, qPrice: alt.price }
        }
      }
      if (best === undefined || 2n * best.gain < -slack * best.own) continue
      const c = capOf(best.key)
      if (best.j !== undefined) {
        const jo = best.j.offer; const cq = capOf(best.q as string)
        c.cpu += jo.cpu; c.ram += jo.ram; c.gpus += jo.gpus; c.disk += jo.disk
        cq.cpu -= jo.cpu; cq.ram -= jo.ram; cq.gpus -= jo.gpus; cq.disk -= jo.disk
        const l = on.get(best.key) as Array<OfferRecord<JobOffer>>
        l.splice(l.indexOf(best.j), 1)
        const lq = on.get(best.q as string); if (lq === undefined) on.set(best.q as string, [best.j]); else lq.push(best.j)
        at.set(best.j.id, { key: best.q as string, price: best.qPrice as bigint })
      }
      c.cpu -= o.cpu; c.ram -= o.ram; c.gpus -= o.gpus; c.disk -= o.disk
      const l = on.get(best.key); if (l === undefined) on.set(best.key, [u]); else l.push(u)
      at.set(u.id, { key: best.key, price: best.price })
    }
  }
  // phase 3: every job still unmatched, in matching order, to its choice in what is left now
  for (const u of jobs) {
    if (at.has(u.id)) continue
    const o = u.offer
    const alt = choose(o, '')
    if (alt === undefined) continue
    const c = capOf(alt.key)
    c.cpu -= o.cpu; c.ram -= o.ram; c.gpus -= o.gpus; c.disk -= o.disk
    at.set(u.id, alt)
  }
  const idOf = new Map(offers.map(([key, r]) => [key, r.id]))
  const out: RefMatch[] = []
  for (const j of jobs) {
    const a = at.get(j.id)
    if (a !== undefined) out.push({ jobId: j.id, resourceId: idOf.get(a.key) as Hash, price: a.price < j.offer.maxPrice ? a.price + (j.offer.maxPrice - a.price) / 2n : a.price })
  }
  return out
}

/**
 * bench:match's two games against the rule's incentives:
 *
 * - grinding: an attacker re-rolls its offer's nonce 10,000 times to win the tie-break against
 *   100 identical honest offers, using the seed it can know when it publishes. Without a seed
 *   block the seed is public (keccak(profile ‖ epoch)) and it wins every epoch; with one (the
 *   hash of a block mined after the offers closed, unknown when it grinds) its wins must stay
 *   within 3σ of its fair share.
 * - priority: a creator bids the maximum (2^96 − 1) on 32 jobs against 40 honest ones for 32
 *   slots: it is served first either way; what it pays shows whether priority is free.
 */
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { keccak } from '../../src/protocol/eip712.js'
import { bytesToHex, concatBytes, hexToBytes } from '../../src/protocol/hex.js'
import { initialState, jobPrice, step } from '../../src/matching/index.js'
import type { OfferRecord } from '../../src/matching/index.js'
import { CONFIG, hasher, hex, rng } from './matchMarkets.js'

const u256 = (x: bigint): Uint8Array => { const b = new Uint8Array(32); new DataView(b.buffer).setBigUint64(24, x); return b }

export interface GrindResult { epochs: number, nonces: number, honest: number, jobsPerEpoch: number, winsPublicSeed: number, winsSeedBlock: number, fairWins: number, sigma: number, withinThreeSigma: boolean }

export function grinding (epochs = 100, nonces = 10_000, honest = 100, jobsPerEpoch = 10): GrindResult {
  const r = rng(99)
  const base: Omit<ResourceOffer, 'provider' | 'nonce'> = { version: 1, cpu: 1000, ram: 1024, gpus: 0, gpuVram: 0, disk: 0, gpuModel: '', priceCpu: 10n, priceRam: 1n, priceGpu: 0n, priceDisk: 0n, modules: [], collateral: 0n, epoch: 0n, expiryEpoch: 1_000_000n }
  const mk = (provider: Address, nonce: bigint): OfferRecord<ResourceOffer> => { const offer = { ...base, provider, nonce }; return { id: hasher.digest('ResourceOffer', offer), offer } }
  const honestOffers = Array.from({ length: honest }, () => mk(hex(r, 20), 0n))
  const attacker = hex(r, 20)
  const candidates = Array.from({ length: nonces }, (_, i) => mk(attacker, BigInt(i)))
  const creator = hex(r, 20)
  let winsPublic = 0; let winsBlock = 0
  for (let e = 1n; e <= BigInt(epochs); e++) {
    const jobs = Array.from({ length: jobsPerEpoch }, (_, i) => {
      const offer: JobOffer = { creator, nonce: e * 1000n + BigInt(i), module: hex(r, 32), inputsHash: hex(r, 32), cpu: 1000, ram: 1024, gpus: 0, gpuVram: 0, disk: 0, maxPrice: 1_000_000n, timeout: 10, collateral: 0n, epoch: e, expiryEpoch: e }
      return { id: hasher.digest('JobOffer', offer), offer }
    })
    // the attacker's best nonce for the seed it can compute before publishing
    const publicSeed = keccak(concatBytes(hexToBytes(CONFIG.seedPrefix, 32), u256(e)))
    let best = candidates[0]; let bestKey = ''
    for (const c of candidates) {
      const k = bytesToHex(keccak(concatBytes(publicSeed, hexToBytes(c.id, 32))))
      if (bestKey === '' || k < bestKey) { best = c; bestKey = k }
    }
    const input = { jobs, resources: [...honestOffers, best] }
    const won = (seedBlock?: Hash): boolean => step(initialState(), input, { opened: [], closed: [], seedBlock }, e, CONFIG).matches.some((m) => m.resourceId === best.id)
    if (won()) winsPublic++
    // a block hash nobody knew when the offers were made
    if (won(bytesToHex(keccak(concatBytes(u256(e), new TextEncoder().encode('block after the offer deadline')))))) winsBlock++
  }
  const p = jobsPerEpoch / (honest + 1)
  const fair = epochs * p; const sigma = Math.sqrt(epochs * p * (1 - p))
  return { epochs, nonces, honest, jobsPerEpoch, winsPublicSeed: winsPublic, winsSeedBlock: winsBlock, fairWins: Number(fair.toFixed(2)), sigma: Number(sigma.toFixed(2)), withinThreeSigma: winsBlock <= fair + 3 * sigma }
}

export interface PriorityResult { slots: number, honestJobs: number, maxBidderJobs: number, maxBidderServed: number, maxBidderPaidPerJobAskRule: string, maxBidderPaidPerJob: string, honestServed: number }

export function priority (): PriorityResult {
  const r = rng(7)
  const slots = Array.from({ length: 32 }, () => {
    const offer: ResourceOffer = { provider: hex(r, 20), nonce: 0n, version: 1, cpu: 1000, ram: 1024, gpus: 0, gpuVram: 0, disk: 0, gpuModel: '', priceCpu: BigInt(10 + Math.floor(r() * 10)), priceRam: 1n, priceGpu: 0n, priceDisk: 0n, modules: [], collateral: 0n, epoch: 0n, expiryEpoch: 10n }
    return { id: hasher.digest('ResourceOffer', offer), offer }
  })
  const bidder = hex(r, 20)
  const job = (creator: Address, i: number, maxPrice: bigint): OfferRecord<JobOffer> => {
    const offer: JobOffer = { creator, nonce: BigInt(i), module: hex(r, 32), inputsHash: hex(r, 32), cpu: 1000, ram: 1024, gpus: 0, gpuVram: 0, disk: 0, maxPrice, timeout: 60, collateral: 0n, epoch: 0n, expiryEpoch: 10n }
    return { id: hasher.digest('JobOffer', offer), offer }
  }
  const honest = Array.from({ length: 40 }, (_, i) => job(hex(r, 20), i, BigInt(2_000_000 + Math.floor(r() * 2_000_000))))
  const greedy = Array.from({ length: 32 }, (_, i) => job(bidder, 1000 + i, 2n ** 96n - 1n))
  const out = step(initialState(), { jobs: [...honest, ...greedy], resources: slots }, { opened: [], closed: [] }, 1n, CONFIG)
  const byId = new Map([...slots].map((s) => [s.id, s.offer]))
  const mine = out.matches.filter((m) => m.deal.creator === bidder)
  const ask = mine.reduce((s, m) => s + jobPrice(greedy[0].offer, byId.get(m.resourceId) as ResourceOffer), 0n)
  const paid = mine.reduce((s, m) => s + m.deal.price, 0n)
  const n = BigInt(Math.max(1, mine.length))
  return { slots: 32, honestJobs: 40, maxBidderJobs: 32, maxBidderServed: mine.length, maxBidderPaidPerJobAskRule: (ask / n).toString(), maxBidderPaidPerJob: (paid / n).toString(), honestServed: out.matches.length - mine.length }
}

/** fast-check generators of valid protocol messages, shared by the protocol tests. */
import fc from 'fast-check'
import { LIMITS } from '../../src/protocol/validate.js'
import { bytesToHex } from '../../src/protocol/hex.js'
import type { Address, Deal, Domain, Hash, Heartbeat, JobOffer, Party, ResourceOffer, ResultAcceptance } from '../../src/protocol/types.js'

export const TEST_DOMAIN: Domain = {
  name: 'lilynode',
  version: '1',
  chainId: 31337n,
  verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3'
}

export const hashArb: fc.Arbitrary<Hash> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b))
export const addressArb: fc.Arbitrary<Address> = fc.uint8Array({ minLength: 20, maxLength: 20 })
  .filter((b) => b.some((x) => x !== 0))
  .map((b) => bytesToHex(b))

const amountArb = fc.bigInt({ min: 0n, max: LIMITS.amount })
const epochPairArb = fc.tuple(fc.bigInt({ min: 0n, max: LIMITS.epoch }), fc.bigInt({ min: 0n, max: 1000n }))
  .map(([e, d]) => ({ epoch: e, expiryEpoch: e + d > LIMITS.epoch ? LIMITS.epoch : e + d }))

const resourcesArb = fc.record({
  cpu: fc.integer({ min: 1, max: LIMITS.cpu }),
  ram: fc.integer({ min: 1, max: LIMITS.ram }),
  gpus: fc.integer({ min: 0, max: LIMITS.gpus }),
  gpuVram: fc.integer({ min: 1, max: LIMITS.gpuVram }),
  disk: fc.integer({ min: 0, max: LIMITS.disk })
}).map((r) => r.gpus === 0 ? { ...r, gpuVram: 0 } : r)

export function jobOfferArb (creator?: Address): fc.Arbitrary<JobOffer> {
  return fc.record({
    creator: creator === undefined ? addressArb : fc.constant(creator),
    nonce: fc.bigInt({ min: 0n, max: LIMITS.nonce }),
    module: hashArb,
    inputsHash: hashArb,
    resources: resourcesArb,
    maxPrice: amountArb,
    timeout: fc.integer({ min: LIMITS.timeoutMin, max: LIMITS.timeoutMax }),
    collateral: amountArb,
    epochs: epochPairArb
  }).map(({ resources, epochs, ...o }) => ({ ...o, ...resources, ...epochs }))
}

const gpuModelArb = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: LIMITS.gpuModelLength })

export function resourceOfferArb (provider?: Address): fc.Arbitrary<ResourceOffer> {
  return fc.record({
    provider: provider === undefined ? addressArb : fc.constant(provider),
    nonce: fc.bigInt({ min: 0n, max: LIMITS.nonce }),
    version: fc.integer({ min: 0, max: LIMITS.version }),
    resources: resourcesArb,
    gpuModel: gpuModelArb,
    priceCpu: amountArb,
    priceRam: amountArb,
    priceGpu: amountArb,
    priceDisk: amountArb,
    modules: fc.uniqueArray(hashArb, { maxLength: LIMITS.modules }).map((m) => [...m].sort()),
    collateral: amountArb,
    epochs: epochPairArb
  }).map(({ resources, epochs, gpuModel, ...o }) => ({ ...o, ...resources, ...epochs, gpuModel: resources.gpus === 0 ? '' : gpuModel }))
}

export function dealArb (creator?: Address, provider?: Address): fc.Arbitrary<Deal> {
  return fc.record({
    jobOfferHash: hashArb,
    resourceOfferHash: hashArb,
    creator: creator === undefined ? addressArb : fc.constant(creator),
    provider: provider === undefined ? addressArb : fc.constant(provider),
    price: amountArb,
    collateral: amountArb,
    timeout: fc.integer({ min: LIMITS.timeoutMin, max: LIMITS.timeoutMax }),
    matchEpoch: fc.bigInt({ min: 0n, max: LIMITS.epoch }),
    openBy: fc.bigInt({ min: 1n, max: LIMITS.unixSeconds })
  }).filter((d) => d.creator !== d.provider).map((d) => ({ ...d }))
}

// fc.record builds null-prototype objects; spread them into plain ones so deepEqual compares like with like
export const resultAcceptanceArb: fc.Arbitrary<ResultAcceptance> = fc.record({ dealId: hashArb, resultHash: hashArb }).map((r) => ({ ...r }))

export function heartbeatArb (node?: Address): fc.Arbitrary<Heartbeat> {
  return fc.record({
    node: node === undefined ? addressArb : fc.constant(node),
    epoch: fc.bigInt({ min: 0n, max: LIMITS.epoch }),
    offerDigest: hashArb,
    stateRoot: hashArb
  }).map((hb) => ({ ...hb }))
}

export const partyArb: fc.Arbitrary<Party> = fc.constantFrom('creator', 'provider')

/** The largest valid job offer: every field at its upper bound. */
export function maxJobOffer (creator: Address): JobOffer {
  return {
    creator,
    nonce: LIMITS.nonce,
    module: `0x${'ff'.repeat(32)}`,
    inputsHash: `0x${'ff'.repeat(32)}`,
    cpu: LIMITS.cpu,
    ram: LIMITS.ram,
    gpus: LIMITS.gpus,
    gpuVram: LIMITS.gpuVram,
    disk: LIMITS.disk,
    maxPrice: LIMITS.amount,
    timeout: LIMITS.timeoutMax,
    collateral: LIMITS.amount,
    epoch: LIMITS.epoch - LIMITS.offerLifetimeEpochs,
    expiryEpoch: LIMITS.epoch
  }
}

/** The largest valid resource offer: every field at its upper bound, 32 modules, a 64-character model with characters JSON escapes. */
export function maxResourceOffer (provider: Address): ResourceOffer {
  return {
    provider,
    nonce: LIMITS.nonce,
    version: LIMITS.version,
    cpu: LIMITS.cpu,
    ram: LIMITS.ram,
    gpus: LIMITS.gpus,
    gpuVram: LIMITS.gpuVram,
    disk: LIMITS.disk,
    gpuModel: '"\\'.repeat(LIMITS.gpuModelLength / 2),
    priceCpu: LIMITS.amount,
    priceRam: LIMITS.amount,
    priceGpu: LIMITS.amount,
    priceDisk: LIMITS.amount,
    modules: Array.from({ length: LIMITS.modules }, (_, i) => `0x${i.toString(16).padStart(2, '0').repeat(32)}` as Hash),
    collateral: LIMITS.amount,
    epoch: LIMITS.epoch - LIMITS.offerLifetimeEpochs,
    expiryEpoch: LIMITS.epoch
  }
}

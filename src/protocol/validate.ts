/**
 * Bounds and semantic checks of every message (DESIGN §3). Pure and allocation-light: the
 * gossip validator runs these on every message from the network.
 *
 * Each check throws a `ProtocolError` whose code says what was wrong and whose action says
 * what gossip does with it: `reject` for invalid messages (the sender's score drops),
 * `ignore` for valid but untimely ones.
 */
import { ProtocolError, type ProtocolErrorCode } from './errors.js'
import { MAX_AMOUNT } from './constants.js'
import type { Address, Deal, Hash, Heartbeat, JobOffer, Party, ResourceOffer, ResultAcceptance, Signature } from './types.js'

const U96 = MAX_AMOUNT
const U64 = (1n << 64n) - 1n
const U48 = (1n << 48n) - 1n

/** Hard bounds of every field, independent of any network profile. */
export const LIMITS = Object.freeze({
  /** Millicores: 1024 cores. */
  cpu: 1_024_000,
  /** MiB: 16 TiB. */
  ram: 16 * 1024 * 1024,
  gpus: 64,
  /** MiB per GPU: 1 TiB. */
  gpuVram: 1024 * 1024,
  /** MiB: 1 PiB. */
  disk: 1024 * 1024 * 1024,
  /** Seconds. */
  timeoutMin: 1,
  timeoutMax: 7 * 86_400,
  /** Largest price, per-resource price, collateral or maxPrice (2^96 − 1 wei). */
  amount: U96,
  nonce: U64,
  /** Largest epoch number. */
  epoch: U48,
  /** Largest unix time in seconds (Deal.openBy). */
  unixSeconds: U48,
  /** Largest `expiryEpoch − epoch` of an offer (a profile may set a lower one). */
  offerLifetimeEpochs: 1_000_000n,
  version: 0xffff_ffff,
  gpuModelLength: 64,
  modules: 32
})

export const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000'

const ADDRESS_RE = /^0x[0-9a-f]{40}$/
const HASH_RE = /^0x[0-9a-f]{64}$/
const SIGNATURE_RE = /^0x[0-9a-f]{130}$/
/** Printable ASCII, space to tilde. */
const PRINTABLE_RE = /^[\x20-\x7e]*$/

function fail (code: ProtocolErrorCode, field: string, message: string): never {
  throw new ProtocolError(code, 'reject', `${field}: ${message}`)
}

function show (v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

export function checkAddress (field: string, v: unknown): asserts v is Address {
  if (typeof v !== 'string' || !ADDRESS_RE.test(v)) {
    fail(typeof v === 'string' ? 'PROTOCOL_BAD_HEX' : 'PROTOCOL_BAD_TYPE', field, `must be a lower-case 0x-prefixed 20-byte address, got ${show(v)}`)
  }
  if (v === ZERO_ADDRESS) fail('PROTOCOL_OUT_OF_BOUNDS', field, 'the zero address is not a valid party')
}

export function checkHash (field: string, v: unknown): asserts v is Hash {
  if (typeof v !== 'string' || !HASH_RE.test(v)) {
    fail(typeof v === 'string' ? 'PROTOCOL_BAD_HEX' : 'PROTOCOL_BAD_TYPE', field, `must be lower-case 0x-prefixed 32-byte hex, got ${show(v)}`)
  }
}

export function checkSignature (field: string, v: unknown): asserts v is Signature {
  if (typeof v !== 'string' || !SIGNATURE_RE.test(v)) {
    fail(typeof v === 'string' ? 'PROTOCOL_BAD_SIGNATURE' : 'PROTOCOL_BAD_TYPE', field, `must be 65 bytes of lower-case 0x-hex (r ‖ s ‖ v), got ${show(v)}`)
  }
}

export function checkInt (field: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail('PROTOCOL_BAD_TYPE', field, `must be an integer, got ${show(v)}`)
  if (v < min || v > max) fail('PROTOCOL_OUT_OF_BOUNDS', field, `must be in ${min}..${max}, got ${v}`)
}

export function checkBig (field: string, v: unknown, min: bigint, max: bigint): asserts v is bigint {
  if (typeof v !== 'bigint') fail('PROTOCOL_BAD_TYPE', field, `must be a bigint, got ${show(v)}`)
  if (v < min || v > max) fail('PROTOCOL_OUT_OF_BOUNDS', field, `must be in ${min}..${max}, got ${v}`)
}

/** Offer lifetime: `epoch ≤ expiryEpoch ≤ epoch + maxLifetime`. */
function checkEpochs (path: string, epoch: unknown, expiry: unknown, maxLifetime: bigint): void {
  checkBig(`${path}.epoch`, epoch, 0n, LIMITS.epoch)
  checkBig(`${path}.expiryEpoch`, expiry, 0n, LIMITS.epoch)
  if ((expiry as bigint) < (epoch as bigint)) fail('PROTOCOL_OUT_OF_BOUNDS', `${path}.expiryEpoch`, `must be ≥ epoch (${epoch as bigint}), got ${expiry as bigint}`)
  if ((expiry as bigint) - (epoch as bigint) > maxLifetime) {
    fail('PROTOCOL_OUT_OF_BOUNDS', `${path}.expiryEpoch`, `an offer may live at most ${maxLifetime} epochs, this one ${(expiry as bigint) - (epoch as bigint)}`)
  }
}

interface ResourceFields { cpu: number, ram: number, gpus: number, gpuVram: number, disk: number }

function checkResources (path: string, r: ResourceFields): void {
  checkInt(`${path}.cpu`, r.cpu, 1, LIMITS.cpu)
  checkInt(`${path}.ram`, r.ram, 1, LIMITS.ram)
  checkInt(`${path}.gpus`, r.gpus, 0, LIMITS.gpus)
  checkInt(`${path}.gpuVram`, r.gpuVram, 0, LIMITS.gpuVram)
  checkInt(`${path}.disk`, r.disk, 0, LIMITS.disk)
  if (r.gpus === 0 && r.gpuVram !== 0) fail('PROTOCOL_OUT_OF_BOUNDS', `${path}.gpuVram`, 'must be 0 when gpus is 0')
}

export interface ValidateOptions {
  /** Largest `expiryEpoch − epoch` (a profile's `limits.maxOfferLifetimeEpochs`); default LIMITS.offerLifetimeEpochs. */
  maxLifetimeEpochs?: bigint
}

export function validateJobOffer (o: JobOffer, opts: ValidateOptions = {}, path = 'offer'): void {
  checkAddress(`${path}.creator`, o.creator)
  checkBig(`${path}.nonce`, o.nonce, 0n, LIMITS.nonce)
  checkHash(`${path}.module`, o.module)
  checkHash(`${path}.inputsHash`, o.inputsHash)
  checkResources(path, o)
  checkBig(`${path}.maxPrice`, o.maxPrice, 0n, LIMITS.amount)
  checkInt(`${path}.timeout`, o.timeout, LIMITS.timeoutMin, LIMITS.timeoutMax)
  checkBig(`${path}.collateral`, o.collateral, 0n, LIMITS.amount)
  checkEpochs(path, o.epoch, o.expiryEpoch, opts.maxLifetimeEpochs ?? LIMITS.offerLifetimeEpochs)
}

export function validateResourceOffer (o: ResourceOffer, opts: ValidateOptions = {}, path = 'offer'): void {
  checkAddress(`${path}.provider`, o.provider)
  checkBig(`${path}.nonce`, o.nonce, 0n, LIMITS.nonce)
  checkInt(`${path}.version`, o.version, 0, LIMITS.version)
  checkResources(path, o)
  const gm = o.gpuModel
  if (typeof gm !== 'string') fail('PROTOCOL_BAD_TYPE', `${path}.gpuModel`, `must be a string, got ${show(gm)}`)
  if (gm.length > LIMITS.gpuModelLength || !PRINTABLE_RE.test(gm)) {
    fail('PROTOCOL_OUT_OF_BOUNDS', `${path}.gpuModel`, `must be at most ${LIMITS.gpuModelLength} printable ASCII characters, got ${show(gm)}`)
  }
  if (o.gpus === 0 && gm !== '') fail('PROTOCOL_OUT_OF_BOUNDS', `${path}.gpuModel`, 'must be empty when gpus is 0')
  if (o.gpus > 0 && o.gpuVram === 0) fail('PROTOCOL_OUT_OF_BOUNDS', `${path}.gpuVram`, 'must be > 0 when gpus > 0 (memory per GPU in MiB)')
  checkBig(`${path}.priceCpu`, o.priceCpu, 0n, LIMITS.amount)
  checkBig(`${path}.priceRam`, o.priceRam, 0n, LIMITS.amount)
  checkBig(`${path}.priceGpu`, o.priceGpu, 0n, LIMITS.amount)
  checkBig(`${path}.priceDisk`, o.priceDisk, 0n, LIMITS.amount)
  checkModules(`${path}.modules`, o.modules)
  checkBig(`${path}.collateral`, o.collateral, 0n, LIMITS.amount)
  checkEpochs(path, o.epoch, o.expiryEpoch, opts.maxLifetimeEpochs ?? LIMITS.offerLifetimeEpochs)
}

/** Module lists are strictly ascending (sorted, no duplicates), so each set has one hash. */
function checkModules (field: string, mods: unknown): void {
  if (!Array.isArray(mods)) fail('PROTOCOL_BAD_TYPE', field, `must be an array of module hashes, got ${show(mods)}`)
  if (mods.length > LIMITS.modules) fail('PROTOCOL_OUT_OF_BOUNDS', field, `at most ${LIMITS.modules} modules, got ${mods.length}`)
  for (let i = 0; i < mods.length; i++) {
    checkHash(`${field}[${i}]`, mods[i])
    if (i > 0 && !((mods[i - 1] as string) < (mods[i] as string))) {
      fail('PROTOCOL_OUT_OF_BOUNDS', field, 'must be strictly ascending (sorted, no duplicates); use canonicalModules()')
    }
  }
}

/** Sorts and de-duplicates module hashes (lower-cased) into the order offers require. */
export function canonicalModules (mods: readonly string[]): Hash[] {
  return [...new Set(mods.map((m) => m.toLowerCase()))].sort() as Hash[]
}

export function validateDeal (d: Deal, path = 'deal'): void {
  checkHash(`${path}.jobOfferHash`, d.jobOfferHash)
  checkHash(`${path}.resourceOfferHash`, d.resourceOfferHash)
  checkAddress(`${path}.creator`, d.creator)
  checkAddress(`${path}.provider`, d.provider)
  if (d.creator === d.provider) fail('PROTOCOL_OUT_OF_BOUNDS', `${path}.provider`, 'a creator cannot deal with itself')
  checkBig(`${path}.price`, d.price, 0n, LIMITS.amount)
  checkBig(`${path}.collateral`, d.collateral, 0n, LIMITS.amount)
  checkInt(`${path}.timeout`, d.timeout, LIMITS.timeoutMin, LIMITS.timeoutMax)
  checkBig(`${path}.matchEpoch`, d.matchEpoch, 0n, LIMITS.epoch)
  checkBig(`${path}.openBy`, d.openBy, 1n, LIMITS.unixSeconds)
}

export function validateParty (field: string, p: unknown): asserts p is Party {
  if (p !== 'creator' && p !== 'provider') fail('PROTOCOL_OUT_OF_BOUNDS', field, `must be "creator" or "provider", got ${show(p)}`)
}

export function validateResultAcceptance (r: ResultAcceptance, path = 'acceptance'): void {
  checkHash(`${path}.dealId`, r.dealId)
  checkHash(`${path}.resultHash`, r.resultHash)
}

export function validateHeartbeat (h: Heartbeat, path = 'heartbeat'): void {
  checkAddress(`${path}.node`, h.node)
  checkBig(`${path}.epoch`, h.epoch, 0n, LIMITS.epoch)
  checkHash(`${path}.offerDigest`, h.offerDigest)
  checkHash(`${path}.stateRoot`, h.stateRoot)
}

/**
 * Is a message with this epoch range current? Too far in the future or already expired
 * (beyond `maxSkew` epochs of clock disagreement) → ProtocolError with action 'ignore'.
 */
export function checkEpochWindow (offerEpoch: bigint, expiryEpoch: bigint, currentEpoch: bigint, maxSkew: number | bigint): void {
  const skew = BigInt(maxSkew)
  if (offerEpoch > currentEpoch + skew) {
    throw new ProtocolError('PROTOCOL_EPOCH_TOO_NEW', 'ignore', `epoch ${offerEpoch} is more than ${skew} epochs after the current epoch ${currentEpoch}; check the clock`)
  }
  if (expiryEpoch + skew < currentEpoch) {
    throw new ProtocolError('PROTOCOL_EPOCH_TOO_OLD', 'ignore', `expired at epoch ${expiryEpoch}, more than ${skew} epochs before the current epoch ${currentEpoch}`)
  }
}

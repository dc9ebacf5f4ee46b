/**
 * Which offers are effective at an epoch. Deterministic and independent of input order:
 * duplicates collapse by id, supersession picks by (version, id), never by arrival.
 *
 * Offers that break the protocol bounds are skipped here (the gossip validator should have
 * rejected them already); skipping, not throwing, keeps one bad offer from stalling an epoch,
 * and every node skips the same ones.
 */
import type { Hash, JobOffer, ResourceOffer } from '../protocol/index.js'
import { keccak } from '../protocol/index.js'
import { bytesToHex } from '../protocol/index.js'
import type { EpochInput, OfferRecord } from './types.js'
import { writeHash32, writeU64 } from './bytes.js'

const U32 = 0xffffffff
const U64 = (1n << 64n) - 1n
const U256 = (1n << 256n) - 1n
/** 1 for 0-9 and a-f, 2 for A-F: a table is several times faster than a regex on this hot path. */
const HEXDIGIT = new Uint8Array(128)
for (let c = 48; c <= 57; c++) HEXDIGIT[c] = 1
for (let c = 97; c <= 102; c++) HEXDIGIT[c] = 1
for (let c = 65; c <= 70; c++) HEXDIGIT[c] = 2

function hexOk (s: string, length: number, upperOk: boolean): boolean {
  if (s.length !== length || s.charCodeAt(0) !== 48 || s.charCodeAt(1) !== 120) return false
  for (let i = 2; i < length; i++) {
    const c = s.charCodeAt(i)
    const t = c < 128 ? HEXDIGIT[c] : 0
    if (t === 0 || (t === 2 && !upperOk)) return false
  }
  return true
}

/** Lower-case 0x-prefixed 32-byte hex. */
export function isHash (h: unknown): h is Hash {
  return typeof h === 'string' && hexOk(h, 66, false)
}

function isAddress (a: unknown): boolean {
  return typeof a === 'string' && hexOk(a, 42, true)
}

function isU32 (n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= U32
}

function isBig (v: unknown, max: bigint): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v <= max
}

function resourcesOk (o: JobOffer | ResourceOffer): boolean {
  return isU32(o.cpu) && isU32(o.ram) && isU32(o.gpus) && isU32(o.gpuVram) && isU32(o.disk)
}

/**
 * isHash(m), remembering the module hashes already found valid in `valid`: many offers name the
 * same few modules, and a set lookup is cheaper than checking 64 hex digits again.
 */
function moduleOk (m: unknown, valid: Set<unknown> | undefined): boolean {
  if (valid === undefined) return isHash(m)
  if (valid.has(m)) return true
  if (!isHash(m)) return false
  valid.add(m)
  return true
}

/**
 * Protocol bounds of a job offer, as far as matching depends on them (`validModules`: see
 * moduleOk). A timeout of 0 (the gossip validator's minimum is 1) would price every offer at 0
 * and so order them by the tie-break alone: refused here too.
 */
export function jobOfferOk (r: OfferRecord<JobOffer>, validModules?: Set<unknown>): boolean {
  const o = r.offer
  return isHash(r.id) && typeof o === 'object' && o !== null && resourcesOk(o) &&
    isAddress(o.creator) && moduleOk(o.module, validModules) &&
    isU32(o.timeout) && o.timeout >= 1 && isBig(o.maxPrice, U256) && isBig(o.collateral, U256) &&
    isBig(o.nonce, U64) && isBig(o.epoch, U64) && isBig(o.expiryEpoch, U64) && o.epoch <= o.expiryEpoch
}

/** Protocol bounds of a resource offer, as far as matching depends on them (`validModules`: see moduleOk). */
export function resourceOfferOk (r: OfferRecord<ResourceOffer>, validModules?: Set<unknown>): boolean {
  const o = r.offer
  return isHash(r.id) && typeof o === 'object' && o !== null && resourcesOk(o) &&
    isAddress(o.provider) && isU32(o.version) &&
    isBig(o.priceCpu, U256) && isBig(o.priceRam, U256) && isBig(o.priceGpu, U256) && isBig(o.priceDisk, U256) &&
    isBig(o.collateral, U256) && isBig(o.nonce, U64) && isBig(o.epoch, U64) && isBig(o.expiryEpoch, U64) &&
    o.epoch <= o.expiryEpoch && Array.isArray(o.modules) && modulesOk(o.modules, validModules)
}

function modulesOk (modules: unknown[], valid: Set<unknown> | undefined): boolean {
  for (let i = 0; i < modules.length; i++) if (!moduleOk(modules[i], valid)) return false
  return true
}

/** Job offers with epoch ≤ E ≤ expiryEpoch, one per id. Order of the result: unspecified. */
export function effectiveJobs (jobs: Array<OfferRecord<JobOffer>>, epoch: bigint): Array<OfferRecord<JobOffer>> {
  const byId = new Map<Hash, OfferRecord<JobOffer>>()
  const validModules = new Set<unknown>()
  for (const r of jobs) {
    if (byId.has(r.id) || !jobOfferOk(r, validModules)) continue
    if (r.offer.epoch <= epoch && epoch <= r.offer.expiryEpoch) byId.set(r.id, r)
  }
  return [...byId.values()]
}

/** The slot a resource offer occupies: (lower-case provider, nonce). Versions of one slot share capacity. */
export function slotKey (provider: string, nonce: bigint): string {
  return provider.toLowerCase() + ':' + nonce.toString()
}

/**
 * Resource offers effective at E: per slot, the highest `version` whose epoch ≤ E (equal
 * versions: the lower id), and only if E ≤ its expiryEpoch — an expired newer version does
 * not bring an older one back. Order of the result: unspecified.
 */
export function effectiveResources (resources: Array<OfferRecord<ResourceOffer>>, epoch: bigint): Array<OfferRecord<ResourceOffer>> {
  const bySlot = new Map<string, OfferRecord<ResourceOffer>>()
  const validModules = new Set<unknown>()
  for (const r of resources) {
    if (!resourceOfferOk(r, validModules) || r.offer.epoch > epoch) continue
    const key = slotKey(r.offer.provider, r.offer.nonce)
    const cur = bySlot.get(key)
    if (cur === undefined || r.offer.version > cur.offer.version || (r.offer.version === cur.offer.version && r.id < cur.id)) {
      bySlot.set(key, r)
    }
  }
  const out: Array<OfferRecord<ResourceOffer>> = []
  for (const r of bySlot.values()) if (epoch <= r.offer.expiryEpoch) out.push(r)
  return out
}

/**
 * keccak256(uint64 epoch ‖ u32 #jobs ‖ sorted job ids ‖ u32 #resources ‖ sorted resource ids)
 * over the offers effective at `epoch`: equal on two nodes iff they would match the same offers.
 */
export function offerSetDigest (input: EpochInput, epoch: bigint): Hash {
  const jobIds = effectiveJobs(input.jobs, epoch).map((r) => r.id).sort()
  const resIds = effectiveResources(input.resources, epoch).map((r) => r.id).sort()
  const buf = new Uint8Array(8 + 4 + 32 * jobIds.length + 4 + 32 * resIds.length)
  const view = new DataView(buf.buffer)
  let off = writeU64(view, 0, epoch)
  view.setUint32(off, jobIds.length); off += 4
  for (const id of jobIds) off = writeHash32(buf, off, id)
  view.setUint32(off, resIds.length); off += 4
  for (const id of resIds) off = writeHash32(buf, off, id)
  return bytesToHex(keccak(buf))
}

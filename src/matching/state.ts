/**
 * Canonical binary encoding of `MatcherState` (for the state root and for snapshots shipped
 * to late joiners). Big-endian, fixed width, lists in canonical order:
 *
 *   "LMS1" ‖ u8 hasEpoch ‖ u64 epoch ‖ u32 #reserved ‖ u32 #open ‖ u32 #spent ‖ entries
 *   reserved: jobId ‖ resourceId ‖ u64 matchEpoch ‖ u64 jobExpiry ‖ hold            (124 bytes)
 *   open:     dealId ‖ jobId ‖ u8 hasHold ‖ [hold]                             (65 or 109 bytes)
 *   spent:    jobId ‖ u64 expiryEpoch                                                (40 bytes)
 *   hold:     provider(20) ‖ u64 nonce ‖ u32 cpu ‖ u32 ram ‖ u32 gpus ‖ u32 disk        (44 bytes)
 */
import type { Hash } from '../protocol/index.js'
import { keccak } from '../protocol/index.js'
import { bytesToHex } from '../protocol/index.js'
import type { Hold, MatcherState, OpenDeal, Reservation, SpentJob } from './types.js'
import { MatchingError } from './types.js'
import { bufferView, readHex, writeAddress, writeHash32, writeU64 } from './bytes.js'

const MAGIC = [0x4c, 0x4d, 0x53, 0x31] // "LMS1"
const HEADER = 4 + 1 + 8 + 12
const HOLD = 20 + 8 + 16
const RESERVATION = 32 + 32 + 8 + 8 + HOLD
const OPEN = 32 + 32 + 1
const SPENT = 40
/** A snapshot larger than this is refused before decoding (≈ 2M entries). */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024

export function initialState (): MatcherState {
  return { epoch: null, reserved: [], open: [], spent: [] }
}

function writeHold (buf: Uint8Array, view: DataView, off: number, h: Hold): number {
  off = writeAddress(buf, off, h.provider)
  off = writeU64(view, off, h.nonce)
  view.setUint32(off, h.cpu); view.setUint32(off + 4, h.ram); view.setUint32(off + 8, h.gpus); view.setUint32(off + 12, h.disk)
  return off + 16
}

/**
 * Lists sorted by id without duplicates. Written out per list rather than with a key callback:
 * V8's optimized code would embed each call's fresh closure and be thrown away when it dies.
 */
function checkOrder (s: MatcherState): void {
  const r = s.reserved; const d = s.open; const j = s.spent
  for (let i = 1; i < r.length; i++) if (!(r[i - 1].jobId < r[i].jobId)) unsorted('reserved', i)
  for (let i = 1; i < d.length; i++) if (!(d[i - 1].dealId < d[i].dealId)) unsorted('open', i)
  for (let i = 1; i < j.length; i++) if (!(j[i - 1].jobId < j[i].jobId)) unsorted('spent', i)
}

function unsorted (what: string, i: number): never {
  throw new MatchingError('MATCHING_BAD_STATE', `${what} must be sorted by id without duplicates (entry ${i})`)
}

/** Canonical bytes of a state. Throws MATCHING_BAD_STATE when the lists are not in canonical order. */
export function encodeState (s: MatcherState): Uint8Array {
  checkOrder(s)
  let size = HEADER + RESERVATION * s.reserved.length + SPENT * s.spent.length
  for (const d of s.open) size += OPEN + (d.hold === null ? 0 : HOLD)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  const buf = bufferView(out)
  buf.set(MAGIC, 0)
  buf[4] = s.epoch === null ? 0 : 1
  let off = writeU64(view, 5, s.epoch ?? 0n)
  view.setUint32(off, s.reserved.length); view.setUint32(off + 4, s.open.length); view.setUint32(off + 8, s.spent.length)
  off += 12
  for (const r of s.reserved) {
    off = writeHash32(buf, off, r.jobId)
    off = writeHash32(buf, off, r.resourceId)
    off = writeU64(view, off, r.matchEpoch)
    off = writeU64(view, off, r.jobExpiry)
    off = writeHold(buf, view, off, r.hold)
  }
  for (const d of s.open) {
    off = writeHash32(buf, off, d.dealId)
    off = writeHash32(buf, off, d.jobId)
    buf[off++] = d.hold === null ? 0 : 1
    if (d.hold !== null) off = writeHold(buf, view, off, d.hold)
  }
  for (const j of s.spent) {
    off = writeHash32(buf, off, j.jobId)
    off = writeU64(view, off, j.expiryEpoch)
  }
  return out
}

/** keccak256 of the canonical encoding: the root every node gossips in its heartbeat. */
export function stateRoot (s: MatcherState): Hash {
  return bytesToHex(keccak(encodeState(s)))
}

class Reader {
  off = 0
  readonly view: DataView
  constructor (readonly buf: Uint8Array) { this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength) }
  need (n: number): void {
    if (this.off + n > this.buf.length) throw new MatchingError('MATCHING_BAD_SNAPSHOT', `state snapshot truncated at byte ${this.off}`)
  }

  hex (n: number): `0x${string}` { this.need(n); const h = readHex(this.buf, this.off, n); this.off += n; return h }
  u8 (): number { this.need(1); return this.buf[this.off++] }
  u32 (): number { this.need(4); const v = this.view.getUint32(this.off); this.off += 4; return v }
  u64 (): bigint { this.need(8); const v = this.view.getBigUint64(this.off); this.off += 8; return v }
  hold (): Hold {
    return { provider: this.hex(20), nonce: this.u64(), cpu: this.u32(), ram: this.u32(), gpus: this.u32(), disk: this.u32() }
  }
}

/** Decodes a snapshot; refuses anything that `encodeState` would not produce. */
export function decodeState (b: Uint8Array): MatcherState {
  if (!(b instanceof Uint8Array)) throw new MatchingError('MATCHING_BAD_SNAPSHOT', 'state snapshot must be a Uint8Array')
  if (b.length > MAX_SNAPSHOT_BYTES) throw new MatchingError('MATCHING_BAD_SNAPSHOT', `state snapshot of ${b.length} bytes exceeds ${MAX_SNAPSHOT_BYTES}`)
  const r = new Reader(b)
  r.need(HEADER)
  if (MAGIC.some((m, i) => b[i] !== m)) throw new MatchingError('MATCHING_BAD_SNAPSHOT', 'not a matcher state snapshot (bad magic; expected "LMS1")')
  r.off = 4
  const hasEpoch = r.u8()
  const epochRaw = r.u64()
  if (hasEpoch > 1 || (hasEpoch === 0 && epochRaw !== 0n)) throw new MatchingError('MATCHING_BAD_SNAPSHOT', 'bad epoch field in state snapshot')
  const nRes = r.u32(); const nOpen = r.u32(); const nSpent = r.u32()
  if (HEADER + nRes * RESERVATION + nOpen * OPEN + nSpent * SPENT > b.length) {
    throw new MatchingError('MATCHING_BAD_SNAPSHOT', 'state snapshot entry counts exceed its length')
  }
  const reserved: Reservation[] = []
  for (let i = 0; i < nRes; i++) {
    reserved.push({ jobId: r.hex(32), resourceId: r.hex(32), matchEpoch: r.u64(), jobExpiry: r.u64(), hold: r.hold() })
  }
  const open: OpenDeal[] = []
  for (let i = 0; i < nOpen; i++) {
    const dealId = r.hex(32); const jobId = r.hex(32); const has = r.u8()
    if (has > 1) throw new MatchingError('MATCHING_BAD_SNAPSHOT', 'bad hold flag in state snapshot')
    open.push({ dealId, jobId, hold: has === 1 ? r.hold() : null })
  }
  const spent: SpentJob[] = []
  for (let i = 0; i < nSpent; i++) spent.push({ jobId: r.hex(32), expiryEpoch: r.u64() })
  if (r.off !== b.length) throw new MatchingError('MATCHING_BAD_SNAPSHOT', `${b.length - r.off} trailing bytes after the state snapshot`)
  const state: MatcherState = { epoch: hasEpoch === 1 ? epochRaw : null, reserved, open, spent }
  try {
    checkOrder(state)
  } catch (e) {
    throw new MatchingError('MATCHING_BAD_SNAPSHOT', `state snapshot is not canonical: ${(e as Error).message}`, { cause: e })
  }
  return state
}

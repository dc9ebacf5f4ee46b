/** The epoch seed, the tie-break it drives, and the matching order of jobs. */
import type { Hash, JobOffer } from '../protocol/index.js'
import { keccak } from '../protocol/index.js'
import { bytesToHex } from '../protocol/index.js'
import type { OfferRecord } from './types.js'
import { bufferView, writeHash32 } from './bytes.js'

/** keccak(seed ‖ id) as hex: tie-breaks that no party can steer once the seed is unknown to it. */
export class TieBreaker {
  private readonly buf = bufferView(new Uint8Array(64))
  constructor (seed: Uint8Array) { this.buf.set(seed, 0) }
  key (id: Hash): string {
    writeHash32(this.buf, 32, id)
    return bytesToHex(keccak(this.buf))
  }
}

/**
 * The epoch seed. Without a seed block: keccak(seedPrefix ‖ uint256(epoch)), public long before
 * the epoch (kept for callers without a chain). With one: keccak(seedPrefix ‖ uint256(epoch) ‖
 * seedBlock), where seedBlock is the hash of a block mined after the epoch's offers closed
 * (see `ChainFacts.seedBlock`), so nobody can know the seed while it can still add an offer.
 */
export function epochSeed (seedPrefix: Hash, epoch: bigint, seedBlock?: Hash): Uint8Array {
  const b = new Uint8Array(seedBlock === undefined ? 64 : 96)
  writeHash32(b, 0, seedPrefix)
  new DataView(b.buffer).setBigUint64(56, epoch)
  if (seedBlock !== undefined) writeHash32(b, 64, seedBlock)
  return keccak(b)
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/** Number(v) when exact, NaN above 2^53 − 1. */
export function safeNum (v: bigint): number {
  return v <= MAX_SAFE ? Number(v) : NaN
}

/** Sorts jobs into matching order: maxPrice descending, ties by keccak(seed, jobId) ascending. */
export function sortJobs (jobs: Array<OfferRecord<JobOffer>>, tie: TieBreaker): Array<OfferRecord<JobOffer>> {
  const n = jobs.length
  const num = new Float64Array(n)
  const ties = new Array<string | undefined>(n)
  for (let i = 0; i < n; i++) num[i] = safeNum(jobs[i].offer.maxPrice)
  const tieKey = (i: number): string => ties[i] ?? (ties[i] = tie.key(jobs[i].id))
  const order = Array.from({ length: n }, (_, i) => i)
  order.sort((a, b) => {
    const na = num[a]; const nb = num[b]
    if (na > nb) return -1
    if (na < nb) return 1
    if (Number.isNaN(na) || Number.isNaN(nb)) {
      const ba = jobs[a].offer.maxPrice; const bb = jobs[b].offer.maxPrice
      if (ba !== bb) return ba > bb ? -1 : 1
    }
    const ta = tieKey(a); const tb = tieKey(b)
    return ta < tb ? -1 : ta > tb ? 1 : 0
  })
  return order.map((i) => jobs[i])
}

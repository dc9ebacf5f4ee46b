/**
 * A capacity index over offers in one fixed order (one resource dimension's price order): a
 * segment tree whose every node holds, per field, the largest value in its range — the cpu,
 * ram, gpus and disk an offer has (left, or nominal), its vram per GPU and its collateral (as a
 * double rounded to nearest, which orders two different bigints the right way round).
 *
 * `next(from)` is the first position ≥ from whose offer has at least the asked value in every
 * field: a walk in position order that skips every subtree in which some field's maximum is too
 * small. A job that fits few offers pays for the subtrees it enters, not for the offers it
 * skips, so junk and odd shapes cost O(log P) each instead of a scan. The maxima only bound a
 * subtree (the cpu and the ram maximum may come from different offers), so the walk may enter
 * a subtree and come back out empty: its cost is the number of nodes whose maxima all pass.
 *
 * Updates (`set`) rewrite one leaf and its ancestors: O(log P).
 */

/** Field indices: capacity per dimension, then vram per GPU (unsigned 32-bit), and collateral. */
export const F_CPU = 0
export const F_RAM = 1
export const F_GPUS = 2
export const F_DISK = 3
export const F_VRAM = 4
export const F_COLL = 5
/** the unsigned fields per node */
const U = 5

export class FitTree {
  /** leaves start here (a power of two ≥ the number of positions) */
  readonly size: number
  /** U values per node, node-major (node i's field f at U·i + f): capacities and vram fit in uint32 */
  private readonly max: Uint32Array
  /** collateral maximum per node; −1 on empty leaves, so that they never fit */
  private readonly coll: Float64Array

  /** `value(p, f)`: field f of the offer at position p (p < n). */
  constructor (readonly n: number, value: (pos: number, field: number) => number) {
    let size = 1
    while (size < n) size <<= 1
    this.size = size
    const max = this.max = new Uint32Array(2 * size * U)
    const coll = this.coll = new Float64Array(2 * size).fill(-1)
    for (let p = 0; p < n; p++) {
      const b = (size + p) * U
      for (let f = 0; f < U; f++) max[b + f] = value(p, f)
      coll[size + p] = value(p, F_COLL)
    }
    for (let i = size - 1; i >= 1; i--) this.pull(i)
  }

  private pull (i: number): void {
    const max = this.max
    const a = 2 * i * U; const b = a + U; const o = i * U
    for (let f = 0; f < U; f++) { const x = max[a + f]; const y = max[b + f]; max[o + f] = x > y ? x : y }
    const c = this.coll; const x = c[2 * i]; const y = c[2 * i + 1]
    c[i] = x > y ? x : y
  }

  /** Sets the capacity fields of position `pos` (vram and collateral never change). */
  set (pos: number, cpu: number, ram: number, gpus: number, disk: number): void {
    let i = this.size + pos
    const b = i * U
    const max = this.max
    max[b + F_CPU] = cpu; max[b + F_RAM] = ram; max[b + F_GPUS] = gpus; max[b + F_DISK] = disk
    for (i >>= 1; i >= 1; i >>= 1) this.pull(i)
  }

  /** Position `pos` (< n) has ≥ each asked value: the test `next` applies to a leaf. */
  fits (pos: number, cpu: number, ram: number, gpus: number, disk: number, vram: number, coll: number): boolean {
    const i = this.size + pos
    const b = i * U; const max = this.max
    return max[b] >= cpu && max[b + 1] >= ram && max[b + 2] >= gpus && max[b + 3] >= disk && max[b + 4] >= vram && this.coll[i] >= coll
  }

  /**
   * The first position ≥ `from` whose offer has ≥ each asked value, or −1. Collateral is
   * compared as doubles: an offer whose collateral rounds to the asked double may still fall
   * short, so the caller checks it exactly.
   */
  next (from: number, cpu: number, ram: number, gpus: number, disk: number, vram: number, coll: number): number {
    if (from >= this.n) return -1
    const max = this.max; const cm = this.coll
    const size = this.size
    let i = size + from
    for (;;) {
      const b = i * U
      if (max[b] >= cpu && max[b + 1] >= ram && max[b + 2] >= gpus && max[b + 3] >= disk && max[b + 4] >= vram && cm[i] >= coll) {
        if (i >= size) return i - size
        i = 2 * i
        continue
      }
      // the next subtree to the right: up while a right child, then the right sibling
      while ((i & 1) === 1) i >>= 1
      if (i === 0) return -1
      i++
    }
  }
}

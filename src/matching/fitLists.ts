/**
 * Fit lists: the positions of a `FitTree` that fit a *class* of asks, kept across the walks of
 * one step (issue 16: the tree's per-field maxima only bound a subtree, so a walk that fits few
 * offers enters many subtrees and comes back out empty; in a step, every walk starts at the
 * cheapest offers, which fill up first, so that cost grew with the market).
 *
 * A job's ask q (cpu, ram, gpus, disk, vram, collateral) is rounded down per field to a power of
 * 2 (finest class), of 4 and of 16 (coarser classes; collateral 2, 16, 256): ⌊q⌋ ≤ q in every
 * field, so every offer that fits q fits ⌊q⌋, and a class's offers hold those of every finer class
 * inside it. A class's list holds, in position order, every position in [0, end) that fitted ⌊q⌋
 * when it was scanned, found through the tree (coarsest) or through the next coarser class's
 * list, and extended on demand. A walk reads its fine list and checks each
 * entry against q exactly (`FitTree.fits`), so it meets exactly the positions that
 * `FitTree.next` would return, in the same order: only the cost changes, not the result.
 *
 * Why it stays complete: a position that did not fit ⌊q⌋ when scanned cannot fit it later as
 * long as capacity only shrinks (`take` with sign > 0). When capacity is given back (a phase-2
 * move), the position joins the index's `given` set, which every walk merges in; past 1024 of
 * them `reset` drops every list of the tree. A list that meets PARENT_RUN entries of its parent
 * in a row outside its class, and a walk that meets MISS_RUN entries in a row that do not fit
 * its ask (market.ts), go on through the tree: what a list cannot make cheaper costs what the
 * tree costs. An entry that no longer fits ⌊q⌋ never will
 * again: it is dropped from the head at once and from the middle when such entries pile up.
 * Trees over nominal capacity never change, so their lists are built once per step.
 */
import type { FitTree } from './fitTree.js'

/** Rounds x ≥ 0 down to 2^(k·step) (0 below 1); returns the exponent code: 0 for zero, k·step + 1 else. */
function code (x: number, step: number): number {
  if (!(x >= 1)) return 0
  let e = Math.floor(Math.log2(x))
  if (2 ** e > x) e--
  else if (2 ** (e + 1) <= x) e++
  return e - (e % step) + 1
}

/** The value a code stands for: 0, or 2^(code − 1). */
function floorOf (c: number): number {
  return c === 0 ? 0 : 2 ** (c - 1)
}

/** An ask, as the six fields `FitTree.next` compares. */
export interface Ask { cpu: number, ram: number, gpus: number, disk: number, vram: number, coll: number }

export class FitList {
  pos = new Int32Array(16)
  len = 0
  /** entries before head are dropped */
  head = 0
  /** every position in [0, end) that fitted the class when scanned is in the list */
  end = 0
  /** dead entries met in the middle since the last compaction */
  deadSeen = 0
  readonly cpu: number; readonly ram: number; readonly gpus: number; readonly disk: number; readonly vram: number; readonly coll: number

  constructor (readonly tree: FitTree, readonly parent: FitList | null, codes: readonly number[]) {
    this.cpu = floorOf(codes[0]); this.ram = floorOf(codes[1]); this.gpus = floorOf(codes[2])
    this.disk = floorOf(codes[3]); this.vram = floorOf(codes[4]); this.coll = floorOf(codes[5])
  }

  /** position `pos` fits this class now */
  fitsClass (pos: number): boolean {
    return this.tree.fits(pos, this.cpu, this.ram, this.gpus, this.disk, this.vram, this.coll)
  }

  private push (p: number): void {
    if (this.len === this.pos.length) {
      const grown = new Int32Array(this.pos.length * 2)
      grown.set(this.pos)
      this.pos = grown
    }
    this.pos[this.len++] = p
  }

  /** Appends the next fitting position at or after `end`; false when there is none. */
  extend (): boolean {
    const parent = this.parent
    if (parent === null) {
      const p = this.end >= this.tree.n ? -1 : this.tree.next(this.end, this.cpu, this.ram, this.gpus, this.disk, this.vram, this.coll)
      if (p < 0) { this.end = this.tree.n; return false }
      this.push(p); this.end = p + 1
      return true
    }
    // past where the parent has looked (after a jump through the tree): the tree again
    if (parent.end < this.end) return this.jump(this.end)
    // the parent's first entry at or after end (entries are in position order)
    let lo = parent.head; let hi = parent.len
    while (lo < hi) { const mid = (lo + hi) >> 1; if (parent.pos[mid] < this.end) lo = mid + 1; else hi = mid }
    let dead = 0
    for (let k = lo; ; k++) {
      if (k >= parent.len) {
        const before = parent.len
        if (!parent.extend()) { this.end = parent.end; parent.noteDead(dead); return false }
        k = before
      }
      const p = parent.pos[k]
      if (this.fitsClass(p)) { this.push(p); this.end = p + 1; parent.noteDead(dead); return true }
      if (!parent.fitsClass(p)) { if (k === parent.head) parent.head = k + 1; else dead++ }
      if (k - lo >= PARENT_RUN) {
        // the parent holds few of this class here: ask the tree from the next position on
        parent.noteDead(dead)
        return this.jump(p + 1)
      }
    }
  }

  /** Appends the first position ≥ `from` that fits the class, found through the tree; false when there is none. */
  private jump (from: number): boolean {
    const q = from >= this.tree.n ? -1 : this.tree.next(from, this.cpu, this.ram, this.gpus, this.disk, this.vram, this.coll)
    if (q < 0) { this.end = this.tree.n; return false }
    this.push(q); this.end = q + 1
    return true
  }

  /** `dead` entries of the middle were found dead: compacts once those met are a half of the list. */
  noteDead (dead: number): void {
    if (dead === 0) return
    this.deadSeen += dead
    if (this.deadSeen * 2 > this.len - this.head) this.compact()
  }

  /** Drops the entries that no longer fit the class (they never will again, see above). */
  compact (): void {
    let w = 0
    for (let k = this.head; k < this.len; k++) {
      const p = this.pos[k]
      if (this.fitsClass(p)) this.pos[w++] = p
    }
    this.len = w; this.head = 0; this.deadSeen = 0
  }
}

/** Rounding steps of the exponents per level, coarsest first: capacities, then collateral. */
const CAP_STEPS = [4, 2, 1]
const COLL_STEPS = [8, 4, 1]
/** given-back positions an index keeps before it drops its lists */
const GIVEN_MAX = 1024
/** parent entries of another class a list scans before it asks the tree instead */
const PARENT_RUN = 32

/** The fit lists of one tree, by class. */
export class FitIndex {
  private readonly levels = CAP_STEPS.map(() => new Map<number, FitList>())
  private readonly seen = CAP_STEPS.map(() => new Set<number>())
  private readonly codes = [0, 0, 0, 0, 0, 0]
  /** positions given capacity back since the last reset, sorted, distinct */
  given = new Int32Array(GIVEN_MAX)
  givenLen = 0

  constructor (readonly tree: FitTree) {}

  /** Forgets every list. */
  reset (): void {
    for (const m of this.levels) m.clear()
    for (const m of this.seen) m.clear()
    this.givenLen = 0
  }

  /**
   * Position `pos` got capacity back: a list may now miss it, so walks also read `given`
   * (merged in position order, `FitCursor`); past GIVEN_MAX positions every list is dropped.
   */
  giveBack (pos: number): void {
    const g = this.given
    let lo = 0; let hi = this.givenLen
    while (lo < hi) { const mid = (lo + hi) >> 1; if (g[mid] < pos) lo = mid + 1; else hi = mid }
    if (lo < this.givenLen && g[lo] === pos) return
    if (this.givenLen === GIVEN_MAX) { this.reset(); return }
    g.copyWithin(lo + 1, lo, this.givenLen)
    g[lo] = pos; this.givenLen++
  }

  /** The finest list of ask `a`'s class (made, with its coarser parents, on its second use; until then a coarser one). */
  listFor (a: Ask): FitList {
    return this.list(a, this.levels.length - 1)
  }

  private list (a: Ask, level: number): FitList {
    const c = this.codes
    const s = CAP_STEPS[level]; const t = COLL_STEPS[level]
    c[0] = code(a.cpu, s); c[1] = code(a.ram, s); c[2] = code(a.gpus, s); c[3] = code(a.disk, s); c[4] = code(a.vram, s); c[5] = code(a.coll, t)
    const key = ((((c[0] * 64 + c[1]) * 64 + c[2]) * 64 + c[3]) * 64 + c[4]) * 2048 + c[5]
    const map = this.levels[level]
    const have = map.get(key)
    if (have !== undefined) return have
    // a class met once reads its coarser class's list: a list pays off from its second walk on
    if (level > 0 && !this.seen[level].has(key)) { this.seen[level].add(key); return this.list(a, level - 1) }
    const codes = c.slice()
    const parent = level === 0 ? null : this.list(a, level - 1)
    const list = new FitList(this.tree, parent, codes)
    map.set(key, list)
    return list
  }
}

/**
 * One walk's reading of a class list merged with the index's given-back positions: every
 * position that may fit the ask, in increasing order, each once.
 */
export class FitCursor {
  private list: FitList | null = null
  private index: FitIndex | null = null
  private at = 0
  private g = 0
  /** the last position returned came from the list (not from `given` alone) */
  private fromList = false
  private last = -1
  /** dead entries of the list met by this walk */
  dead = 0

  start (index: FitIndex, list: FitList): void {
    this.index = index; this.list = list
    this.at = list.head; this.g = 0; this.last = -1; this.dead = 0
  }

  /** The next position, or −1. */
  next (): number {
    const list = this.list as FitList; const index = this.index as FitIndex
    const given = index.given; const gl = index.givenLen
    while (this.g < gl && given[this.g] <= this.last) this.g++
    if (this.at >= list.len && (this.g >= gl || given[this.g] >= list.end)) list.extend()
    const a = this.at < list.len ? list.pos[this.at] : -1
    const b = this.g < gl && given[this.g] < list.end ? given[this.g] : -1
    if (a < 0 && b < 0) return -1
    if (b < 0 || (a >= 0 && a <= b)) {
      this.at++; this.fromList = true; this.last = a
      return a
    }
    this.g++; this.fromList = false; this.last = b
    return b
  }

  /** The position `next` returned does not fit the ask: drops it from the list when it no longer fits the class. */
  misfit (pos: number): void {
    const list = this.list as FitList
    if (!this.fromList || list.fitsClass(pos)) return
    if (this.at - 1 === list.head) list.head = this.at
    else this.dead++
  }

  /** Ends the walk: compacts the list once its dead entries met are a half of it. */
  finish (): void {
    const list = this.list as FitList
    if (this.dead > 0) {
      list.deadSeen += this.dead
      if (list.deadSeen * 2 > list.len - list.head) list.compact()
    }
    this.list = null; this.index = null
  }
}

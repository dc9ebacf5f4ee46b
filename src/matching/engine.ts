/**
 * The matching rule of one epoch (DESIGN §4), on offers already known to be effective:
 * jobs by maxPrice descending (ties: keccak(seed, jobId)), each to the cheapest provider offer
 * (ties: keccak(seed, resourceId)) that fits the job's resources in what is left of its
 * capacity, charges at most maxPrice, accepts the module, puts up enough collateral and is not
 * the creator. Exact integer semantics; see `jobPrice` for the reference formula.
 *
 * Cost: the price order of providers depends on a job's resource vector, so each job shape
 * (cpu, ram, gpus, vram, disk, module; interned in nested maps of numbers) gets, when its first
 * job comes up, its static set — every offer that accepts the module, has the vram and whose
 * whole capacity could hold the shape, with its rate for the shape — in one binary heap (O(P)),
 * and a `ShapeOrder` over it that materializes the sorted order lazily, O(log) per offer reached.
 * Phase 1 walks that order from the first offer not yet removed: capacity only shrinks within
 * the phase, so an offer that no longer fits the shape is removed for good (next-alive pointers
 * with path compression); an offer that fails only this job's collateral or self-deal test is
 * passed over. A job that meets more than SKIP_LIMIT such offers before an answer moves to a
 * heap of (shape, collateral, creator) that holds none of them, so no job pays more than
 * O(SKIP_LIMIT) for skipping. Which structure answers never changes the answer: each holds
 * every offer that can still serve the job, in the same total order (rate, keccak, slot).
 * Total: O(S·P + J·log J + (J + reached)·log P) for S distinct shapes — O(J·P) at worst, when
 * every job has a shape of its own.
 * Prices are computed in doubles only when every intermediate stays below 2^52 (so they are
 * exact integers), otherwise in bigint. Collateral is compared as rounded doubles, which order
 * two bigints correctly whenever they differ; equal doubles ≥ 2^53 fall back to the bigints.
 *
 * Phase 2 (augmenting moves; a rule change on top of DESIGN §4's greedy, which stays phase 1).
 * Passes with slack s ∈ LOSS_PASSES = [0, 3]; in each, every job u still unmatched, in matching
 * order: walk the offers that statically admit u (module, vram, nominal capacity ≥ u's shape)
 * cheapest first for u (ties keccak(seed, id), then slot), stop at the first priced > maxPrice,
 * skip those failing collateral or self-deal, and consider the first TARGET_SCAN = 8 of the
 * rest. For such an offer p: if u fits what is left of p, the move "u → p" gains
 * maxPrice_u − price(u,p) (= own); otherwise, for the first JOB_SCAN = 4 jobs j on p (in the
 * order they landed there) whose leaving would make room for u, find j's alternative q: the
 * cheapest offer ≠ p that admits j (same walk as above) and fits j now, among the first
 * MOVE_SCAN = 16 admissible ones; the move "j → q, u → p" gains own + price(j,p) − price(j,q).
 * The move with the largest gain wins (first found on ties) and is applied when
 * 2·gain ≥ −s·own. Every applied move adds one matched job and no job loses its match;
 * pass 0 never lowers surplus, pass 3 may lower it by at most 1.5 × the new job's own surplus.
 * Cost: phase 2 reads the same per-shape orders as arrays (materializing further as needed),
 * and remembers each moved job's alternative and each unmatched job's best move with the number
 * of moves applied so far (the assignment they depend on changes only with a move): a pass
 * visits at most U·TARGET_SCAN·JOB_SCAN·MOVE_SCAN offers for U unmatched jobs (plus
 * collateral/self-deal skips), as without the memo, and far fewer when few moves apply (at 10k
 * none does: ~21,900 alternative searches became 164).
 */
import type { Hash, JobOffer, ResourceOffer } from '../protocol/types.js'
import { keccak } from '../protocol/eip712.js'
import { bytesToHex } from '../protocol/hex.js'
import type { OfferRecord } from './types.js'
import { bufferView, writeHash32 } from './bytes.js'
import { slotKey } from './offers.js'
import { jobPrice } from './price.js'

const EXACT = 2 ** 52

/** keccak(seed ‖ id) as hex, memoised per offer: tie-breaks that no party can steer. */
export class TieBreaker {
  private readonly buf = bufferView(new Uint8Array(64))
  constructor (seed: Uint8Array) { this.buf.set(seed, 0) }
  key (id: Hash): string {
    writeHash32(this.buf, 32, id)
    return bytesToHex(keccak(this.buf))
  }
}

/** The epoch seed keccak(seedPrefix ‖ uint256(epoch)). */
export function epochSeed (seedPrefix: Hash, epoch: bigint): Uint8Array {
  const b = new Uint8Array(64)
  writeHash32(b, 0, seedPrefix)
  new DataView(b.buffer).setBigUint64(56, epoch)
  return keccak(b)
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
function safeNum (v: bigint): number {
  return v <= MAX_SAFE ? Number(v) : NaN
}
/** Doubles below this that came from Number(bigint) are the bigint exactly. */
const TWO53 = 2 ** 53

export interface EngineMatch {
  job: OfferRecord<JobOffer>
  resource: OfferRecord<ResourceOffer>
  price: bigint
}

/** A heap of provider indices for one job shape, cheapest first. */
class ShapeHeap {
  size: number
  readonly idx: Int32Array
  readonly rate: Float64Array
  /**
   * Takes `size` entries of the market's staging arrays (exactly sized: pushes only ever put
   * back what was popped) and `big`, the rates not exact in a double (NaN in `rate`), by
   * provider index. Call `heapify` before use.
   */
  constructor (staged: Staging, readonly big: Map<number, bigint>, private readonly market: Market) {
    this.size = staged.n
    this.idx = staged.idx.slice(0, staged.n)
    this.rate = staged.rate.slice(0, staged.n)
  }

  bigRate (pos: number): bigint {
    const r = this.rate[pos]
    return Number.isNaN(r) ? this.big.get(this.idx[pos]) as bigint : BigInt(r)
  }

  less (a: number, b: number): boolean {
    const ra = this.rate[a]; const rb = this.rate[b]
    if (ra < rb) return true
    if (ra > rb) return false
    if (Number.isNaN(ra) || Number.isNaN(rb)) {
      const ba = this.bigRate(a); const bb = this.bigRate(b)
      if (ba !== bb) return ba < bb
    }
    return this.market.providerBefore(this.idx[a], this.idx[b])
  }

  private swap (a: number, b: number): void {
    const i = this.idx[a]; this.idx[a] = this.idx[b]; this.idx[b] = i
    const r = this.rate[a]; this.rate[a] = this.rate[b]; this.rate[b] = r
  }

  private down (pos: number): void {
    const n = this.size
    for (;;) {
      const l = 2 * pos + 1
      if (l >= n) return
      let m = l
      if (l + 1 < n && this.less(l + 1, l)) m = l + 1
      if (!this.less(m, pos)) return
      this.swap(m, pos); pos = m
    }
  }

  private up (pos: number): void {
    while (pos > 0) {
      const p = (pos - 1) >> 1
      if (!this.less(pos, p)) return
      this.swap(pos, p); pos = p
    }
  }

  heapify (): void { for (let i = (this.size >> 1) - 1; i >= 0; i--) this.down(i) }

  push (provider: number, rate: number): void {
    this.idx[this.size] = provider; this.rate[this.size] = rate; this.size++
    this.up(this.size - 1)
  }

  pop (): void {
    this.size--
    if (this.size > 0) {
      this.idx[0] = this.idx[this.size]; this.rate[0] = this.rate[this.size]
      this.down(0)
    }
  }
}

/** The best move found for an unmatched job, and the assignment version it was found at. */
interface BestMove {
  version: number
  found: boolean
  bGain: bigint
  bOwn: bigint
  bP: number
  bPrice: bigint
  bJ: number
  bQ: number
  bQPrice: bigint
}

/** Reusable arrays a heap is collected in before it is copied out at its exact size. */
interface Staging { idx: Int32Array, rate: Float64Array, n: number }

interface Shape { cpu: number, ram: number, gpus: number, vram: number, disk: number }

/** Capacity held on one slot, summed over its reservations and open deals. */
export interface Held { cpu: number, ram: number, gpus: number, disk: number }

/** A job shape with its module (vram 0 when gpus = 0): the key of a static offer set and its heaps. */
interface ShapeEntry extends Shape {
  module: string
  /** every offer that could ever serve the shape (see `staticFor`), in order, built on first use */
  order: ShapeOrder | undefined
  /** phase 1: heaps without the offers that fail a collateral or are a creator's, by `${collateral},${creator}` */
  byCollateral: Map<string, ShapeHeap> | undefined
}

type ShapeLevel<T> = Map<number, T>

/** Offers one job may set aside (collateral, self-deal) in a shared heap before it gets a heap of its own. */
const SKIP_LIMIT = 16
/** matchIn's answer when a job set aside more than SKIP_LIMIT offers (-1: no offer serves it). */
const SKIPPED = -2
/** Phase 2 bounds: offers tried per unmatched job, jobs tried per offer, alternatives tried per moved job. */
export const TARGET_SCAN = 8
export const JOB_SCAN = 4
export const MOVE_SCAN = 16
/** Phase 2 passes: a move is taken when its surplus change ≥ −slack × the new job's own surplus. */
export const LOSS_PASSES: readonly bigint[] = [0n, 3n]

/** The effective provider offers of one epoch, with what is left of their capacity. */
export class Market {
  readonly n: number
  private readonly remCpu: Float64Array
  private readonly remRam: Float64Array
  private readonly remGpus: Float64Array
  private readonly remDisk: Float64Array
  private readonly vram: Float64Array
  private readonly cap: Float64Array
  private readonly pc: Float64Array
  private readonly pr: Float64Array
  private readonly pg: Float64Array
  private readonly pd: Float64Array
  private readonly priceSafe: Uint8Array
  /** Number(collateral): rounded, exact below 2^53; equal doubles fall back to the bigints */
  private readonly collNum: Float64Array
  private readonly lower: string[]
  private readonly slots: Array<string | undefined>
  private readonly ties: Array<string | undefined>
  private readonly anyModule: number[] = []
  private readonly byModule = new Map<string, number[]>()
  private readonly staging: Staging

  /**
   * `held`: capacity held by reservations and open deals, summed per slot (`slotKey`); it is
   * taken off the effective offer of the slot, if any, down to zero.
   */
  constructor (readonly offers: ReadonlyArray<OfferRecord<ResourceOffer>>, private readonly tie: TieBreaker, held: ReadonlyMap<string, Held>) {
    const n = this.n = offers.length
    this.remCpu = new Float64Array(n); this.remRam = new Float64Array(n); this.remGpus = new Float64Array(n)
    this.remDisk = new Float64Array(n); this.vram = new Float64Array(n); this.cap = new Float64Array(4 * n)
    this.pc = new Float64Array(n); this.pr = new Float64Array(n); this.pg = new Float64Array(n); this.pd = new Float64Array(n)
    this.priceSafe = new Uint8Array(n); this.collNum = new Float64Array(n)
    this.lower = new Array<string>(n); this.slots = new Array<string | undefined>(n); this.ties = new Array<string | undefined>(n)
    this.staging = { idx: new Int32Array(n), rate: new Float64Array(n), n: 0 }
    this.asideIdx = new Int32Array(n); this.asideRate = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const o = offers[i].offer
      this.cap[4 * i] = o.cpu; this.cap[4 * i + 1] = o.ram; this.cap[4 * i + 2] = o.gpus; this.cap[4 * i + 3] = o.disk
      this.remCpu[i] = o.cpu; this.remRam[i] = o.ram; this.remGpus[i] = o.gpus; this.remDisk[i] = o.disk; this.vram[i] = o.gpuVram
      this.pc[i] = safeNum(o.priceCpu); this.pr[i] = safeNum(o.priceRam); this.pg[i] = safeNum(o.priceGpu); this.pd[i] = safeNum(o.priceDisk)
      this.priceSafe[i] = Number.isNaN(this.pc[i] + this.pr[i] + this.pg[i] + this.pd[i]) ? 0 : 1
      this.collNum[i] = Number(o.collateral)
      this.lower[i] = o.provider.toLowerCase()
      if (held.size > 0) {
        const h = held.get(this.slotOf(i))
        if (h !== undefined) {
          this.remCpu[i] = Math.max(0, o.cpu - h.cpu); this.remRam[i] = Math.max(0, o.ram - h.ram)
          this.remGpus[i] = Math.max(0, o.gpus - h.gpus); this.remDisk[i] = Math.max(0, o.disk - h.disk)
        }
      }
      if (o.modules.length === 0) this.anyModule.push(i)
      else {
        for (const m of o.modules) {
          const list = this.byModule.get(m)
          if (list === undefined) this.byModule.set(m, [i]); else if (list[list.length - 1] !== i) list.push(i) // a module listed twice
        }
      }
    }
  }

  private slotOf (i: number): string {
    return this.slots[i] ?? (this.slots[i] = slotKey(this.offers[i].offer.provider, this.offers[i].offer.nonce))
  }

  /** Deterministic total order of providers on equal price. */
  providerBefore (a: number, b: number): boolean {
    const ta = this.tieKey(a); const tb = this.tieKey(b)
    if (ta !== tb) return ta < tb
    return this.slotOf(a) < this.slotOf(b)
  }

  private tieKey (i: number): string {
    let t = this.ties[i]
    if (t === undefined) t = this.ties[i] = this.tie.key(this.offers[i].id)
    return t
  }

  /**
   * offer i's collateral ≥ `required`, exactly; `requiredNum` is Number(required). Rounding to
   * a double is monotonic, so unequal doubles order the bigints the same way; equal doubles are
   * equal bigints when below 2^53, and otherwise the bigints decide.
   */
  private collateralOk (i: number, required: bigint, requiredNum: number): boolean {
    const c = this.collNum[i]
    if (c !== requiredNum || c < TWO53) return c >= requiredNum
    return this.offers[i].offer.collateral >= required
  }

  /**
   * The static set of a shape key: every offer that accepts `module`, has the vram and whose
   * whole (nominal) capacity could hold `s`, with its rate for `s` (rates not exact in a double:
   * NaN, the exact value in `big`). Built once per shape, in offer-index order; phase 1 filters
   * its heaps out of it and phase 2 heapifies it in place (it is never filtered again then).
   */
  private staticFor (s: Shape, module: string): ShapeHeap {
    const st = this.staging
    const idx = st.idx; const rate = st.rate
    const cap = this.cap; const vram = this.vram; const safe = this.priceSafe
    const pc = this.pc; const pr = this.pr; const pg = this.pg; const pd = this.pd
    const cpu = s.cpu; const ram = s.ram; const gpus = s.gpus; const disk = s.disk; const needVram = s.gpus > 0 ? s.vram : 0
    const big = new Map<number, bigint>()
    const byModule = this.byModule.get(module)
    let n = 0
    for (let pass = 0; pass < 2; pass++) {
      const list = pass === 0 ? this.anyModule : byModule
      if (list === undefined) continue
      for (let k = 0; k < list.length; k++) {
        const i = list[k]; const c = 4 * i
        if (cap[c] < cpu || cap[c + 1] < ram || cap[c + 2] < gpus || cap[c + 3] < disk || vram[i] < needVram) continue
        let r = NaN
        if (safe[i] === 1) {
          r = pc[i] * cpu + pr[i] * ram + pg[i] * gpus + pd[i] * disk
          if (!(r <= EXACT)) r = NaN
        }
        if (r !== r) { // NaN: not exact in a double
          const o = this.offers[i].offer
          big.set(i, o.priceCpu * BigInt(cpu) + o.priceRam * BigInt(ram) + o.priceGpu * BigInt(gpus) + o.priceDisk * BigInt(disk))
        }
        idx[n] = i; rate[n] = r; n++
      }
    }
    st.n = n
    return new ShapeHeap(st, big, this)
  }

  /** A heap of the offers of `set` that fit `s` now, put up ≥ `collateral` and are not `exclude`'s. */
  private buildHeap (set: ShapeHeap, s: Shape, collateral: bigint, exclude?: string): ShapeHeap {
    const collNum = Number(collateral)
    const st = this.staging
    const idx = st.idx; const rate = st.rate
    const remCpu = this.remCpu; const remRam = this.remRam; const remGpus = this.remGpus; const remDisk = this.remDisk
    const cpu = s.cpu; const ram = s.ram; const gpus = s.gpus; const disk = s.disk
    const setIdx = set.idx; const setRate = set.rate
    let n = 0
    for (let k = 0; k < set.size; k++) {
      const i = setIdx[k]
      if (remCpu[i] < cpu || remRam[i] < ram || remGpus[i] < gpus || remDisk[i] < disk) continue
      if (collateral > 0n && !this.collateralOk(i, collateral, collNum)) continue
      if (exclude !== undefined && this.lower[i] === exclude) continue
      idx[n] = i; rate[n] = setRate[k]; n++
    }
    st.n = n
    const heap = new ShapeHeap(st, set.big, this)
    heap.heapify()
    return heap
  }

  private readonly shapes = new Map<string, ShapeLevel<ShapeLevel<ShapeLevel<ShapeLevel<ShapeLevel<ShapeEntry>>>>>>()

  /** The interned shape of a job: nested maps of exact numbers (no key strings to build and hash per job). */
  private shapeOf (o: JobOffer): ShapeEntry {
    const vram = o.gpus > 0 ? o.gpuVram : 0
    let a = this.shapes.get(o.module)
    if (a === undefined) { a = new Map(); this.shapes.set(o.module, a) }
    let b = a.get(o.cpu)
    if (b === undefined) { b = new Map(); a.set(o.cpu, b) }
    let c = b.get(o.ram)
    if (c === undefined) { c = new Map(); b.set(o.ram, c) }
    let d = c.get(o.gpus)
    if (d === undefined) { d = new Map(); c.set(o.gpus, d) }
    let e = d.get(vram)
    if (e === undefined) { e = new Map(); d.set(vram, e) }
    let s = e.get(o.disk)
    if (s === undefined) {
      s = { cpu: o.cpu, ram: o.ram, gpus: o.gpus, vram, disk: o.disk, module: o.module, order: undefined, byCollateral: undefined }
      e.set(o.disk, s)
    }
    return s
  }

  private orderOf (s: ShapeEntry): ShapeOrder {
    if (s.order === undefined) {
      const heap = this.staticFor(s, s.module)
      heap.heapify()
      s.order = new ShapeOrder(heap)
    }
    return s.order
  }

  /** Matches `jobs` (already sorted in matching order) one after the other. */
  matchAll (jobs: ReadonlyArray<OfferRecord<JobOffer>>): EngineMatch[] {
    const out: EngineMatch[] = []
    const shapes = this.jobShapes = new Array<ShapeEntry>(jobs.length)
    for (let x = 0; x < jobs.length; x++) {
      const job = jobs[x]
      const o = job.offer
      const shape = shapes[x] = this.shapeOf(o)
      let p = this.matchFirst(this.orderOf(shape), o, shape)
      if (p === SKIPPED) {
        // many cheaper offers lack the collateral or are the creator's own: a heap without them
        const creator = o.creator.toLowerCase()
        const key = `${o.collateral},${creator}`
        const by = shape.byCollateral ?? (shape.byCollateral = new Map())
        let h = by.get(key)
        if (h === undefined) { h = this.buildHeap(this.orderOf(shape).heap, shape, o.collateral, creator); by.set(key, h) }
        p = this.matchIn(h, o, shape)
      }
      if (p >= 0) {
        this.remCpu[p] -= o.cpu; this.remRam[p] -= o.ram; this.remGpus[p] -= o.gpus; this.remDisk[p] -= o.disk
        out.push({ job, resource: this.offers[p], price: this.foundPrice })
        this.greedyAt.push(p); this.greedyJob.push(x)
      }
    }
    return this.improve(jobs, out)
  }

  private jobShapes: ShapeEntry[] = []

  // ------------------------------------------------------------ phase 2: augmenting moves

  private readonly greedyAt: number[] = []
  private readonly greedyJob: number[] = []

  /** rate·timeout of offer `p` for job `o` as an exact double, or NaN when it might not be exact. */
  private priceNum (o: JobOffer, p: number): number {
    if (this.priceSafe[p] !== 1) return NaN
    const num = (this.pc[p] * o.cpu + this.pr[p] * o.ram + this.pg[p] * o.gpus + this.pd[p] * o.disk) * o.timeout
    return num <= EXACT ? num : NaN
  }

  /** price(o, p) > o.maxPrice, exactly; `maxNum` is safeNum(o.maxPrice). */
  private overMax (o: JobOffer, p: number, maxNum: number): boolean {
    const num = this.priceNum(o, p)
    if (!Number.isNaN(num)) return num > maxNum // maxNum NaN: maxPrice ≥ 2^53 > num
    return this.priceOf(o, p) > o.maxPrice
  }

  /** rate·timeout of offer `p` for job `o`, exact. */
  private priceOf (o: JobOffer, p: number): bigint {
    if (this.priceSafe[p] === 1) {
      const num = (this.pc[p] * o.cpu + this.pr[p] * o.ram + this.pg[p] * o.gpus + this.pd[p] * o.disk) * o.timeout
      if (num <= EXACT) return BigInt(num)
    }
    return jobPrice(o, this.offers[p].offer)
  }

  private admits (o: JobOffer, p: number, creator: string): boolean {
    return this.lower[p] !== creator && this.collateralOk(p, o.collateral, Number(o.collateral))
  }

  /**
   * The cheapest offer other than `not` that serves `o` in what is left of its capacity, among
   * the first MOVE_SCAN that admit it; the offer index (its price in `altPrice`), or -1.
   */
  private alternative (o: JobOffer, creator: string, order: ShapeOrder, not: number): number {
    const maxNum = safeNum(o.maxPrice)
    let n = 0
    const idx = order.heap.idx
    for (let k = 0, pos = order.at(0); pos >= 0; pos = order.at(++k)) {
      const q = idx[pos]
      if (this.overMax(o, q, maxNum)) break
      if (q === not || !this.admits(o, q, creator)) continue
      if (++n > MOVE_SCAN) break
      if (this.remCpu[q] >= o.cpu && this.remRam[q] >= o.ram && this.remGpus[q] >= o.gpus && this.remDisk[q] >= o.disk) {
        this.altPrice = this.priceOf(o, q)
        return q
      }
    }
    return -1
  }

  private altPrice = 0n

  /**
   * Phase 2. For each job the greedy pass left unmatched, in matching order: among the first
   * TARGET_SCAN offers that admit it at a price ≤ maxPrice (cheapest first), either it fits
   * what is left (direct), or one job j already there (first JOB_SCAN of those whose leaving
   * would make room, in the order they came) moves to its cheapest alternative that fits now.
   * The move with the largest surplus change wins (first found on ties), if the change is ≥ 0.
   */
  private improve (jobs: ReadonlyArray<OfferRecord<JobOffer>>, greedy: EngineMatch[]): EngineMatch[] {
    const J = jobs.length
    if (greedy.length === J) return greedy
    // per job index: the offer it is on (-1: unmatched) and its price there
    const atP = new Int32Array(J).fill(-1)
    const atPrice = new Array<bigint>(J)
    // per job index, lazily: lower-case creator; the order of its shape's static set (every
    // offer that accepts the module, has the vram and whose whole capacity could hold the
    // shape, cheapest first, ties keccak(seed, id) then slot) is `orderOf(jobShapes[x])`
    const creators = new Array<string | undefined>(J)
    this.creators = creators
    /** job indices on each offer, in the order they landed there */
    const onOffer = new Map<number, number[]>()
    for (let g = 0; g < greedy.length; g++) {
      const x = this.greedyJob[g]; const p = this.greedyAt[g]
      atP[x] = p; atPrice[x] = greedy[g].price
      const l = onOffer.get(p); if (l === undefined) onOffer.set(p, [x]); else l.push(x)
    }
    // What a job's search finds depends only on the assignment (capacity left, who is where),
    // which changes only when a move is applied: `version` counts applied moves, and the
    // alternative of a moved job (its `not` is always the offer it is on) and the best move of
    // an unmatched job are remembered with the version they were computed at. Same results,
    // far fewer walks (a later pass mostly re-asks what an earlier one found).
    let version = 0
    const altVer = new Int32Array(J).fill(-1)
    const altQ = new Int32Array(J)
    const altPr = new Array<bigint>(J)
    const bestOf = new Map<number, BestMove>()
    let moved = false
    for (const slack of LOSS_PASSES) for (let u = 0; u < J; u++) {
      if (atP[u] >= 0) continue
      let best = bestOf.get(u)
      if (best === undefined || best.version !== version) {
        best = this.bestMove(u, jobs, atPrice, onOffer, version, altVer, altQ, altPr)
        bestOf.set(u, best)
      }
      const { found, bGain, bOwn, bP, bPrice, bJ, bQ, bQPrice } = best
      if (!found || 2n * bGain < -slack * bOwn) continue
      moved = true
      version++
      const o = jobs[u].offer
      const p = bP
      if (bJ >= 0) {
        const jo = jobs[bJ].offer; const q = bQ
        this.remCpu[p] += jo.cpu; this.remRam[p] += jo.ram; this.remGpus[p] += jo.gpus; this.remDisk[p] += jo.disk
        this.remCpu[q] -= jo.cpu; this.remRam[q] -= jo.ram; this.remGpus[q] -= jo.gpus; this.remDisk[q] -= jo.disk
        const l = onOffer.get(p) as number[]
        l.splice(l.indexOf(bJ), 1)
        const lq = onOffer.get(q); if (lq === undefined) onOffer.set(q, [bJ]); else lq.push(bJ)
        atP[bJ] = q; atPrice[bJ] = bQPrice
      }
      this.remCpu[p] -= o.cpu; this.remRam[p] -= o.ram; this.remGpus[p] -= o.gpus; this.remDisk[p] -= o.disk
      const l = onOffer.get(p); if (l === undefined) onOffer.set(p, [u]); else l.push(u)
      atP[u] = p; atPrice[u] = bPrice
    }
    if (!moved) return greedy
    const out: EngineMatch[] = []
    for (let x = 0; x < J; x++) {
      if (atP[x] >= 0) out.push({ job: jobs[x], resource: this.offers[atP[x]], price: atPrice[x] })
    }
    return out
  }

  /** Phase 2, per job index, lazily: the lower-case creator (methods and fields, not closures: see KEEP_MAPS_ALIVE). */
  private creators: Array<string | undefined> = []
  private creatorOf (x: number, jobs: ReadonlyArray<OfferRecord<JobOffer>>): string {
    return this.creators[x] ?? (this.creators[x] = jobs[x].offer.creator.toLowerCase())
  }

  /** The best move that adds unmatched job `u` in the current assignment (see `improve`). */
  private bestMove (u: number, jobs: ReadonlyArray<OfferRecord<JobOffer>>, atPrice: bigint[],
    onOffer: Map<number, number[]>,
    version: number, altVer: Int32Array, altQ: Int32Array, altPr: bigint[]): BestMove {
    const o = jobs[u].offer
    const creator = this.creatorOf(u, jobs)
    let found = false
    let bGain = 0n; let bOwn = 0n; let bP = -1; let bPrice = 0n; let bJ = -1; let bQ = -1; let bQPrice = 0n
    const maxNum = safeNum(o.maxPrice)
    let n = 0
    const order = this.orderOf(this.jobShapes[u])
    const idx = order.heap.idx
    for (let t = 0, pos = order.at(0); pos >= 0; pos = order.at(++t)) {
      const p = idx[pos]
      if (this.overMax(o, p, maxNum)) break
      if (!this.admits(o, p, creator)) continue
      if (++n > TARGET_SCAN) break
      const price = this.priceOf(o, p)
      const own = o.maxPrice - price
      if (this.remCpu[p] >= o.cpu && this.remRam[p] >= o.ram && this.remGpus[p] >= o.gpus && this.remDisk[p] >= o.disk) {
        if (!found || own > bGain) { found = true; bGain = own; bOwn = own; bP = p; bPrice = price; bJ = -1 }
        continue
      }
      const on = onOffer.get(p)
      if (on === undefined) continue
      let k = 0
      for (const j of on) {
        const jo = jobs[j].offer
        if (this.remCpu[p] + jo.cpu < o.cpu || this.remRam[p] + jo.ram < o.ram || this.remGpus[p] + jo.gpus < o.gpus || this.remDisk[p] + jo.disk < o.disk) continue
        if (++k > JOB_SCAN) break
        if (altVer[j] !== version) {
          altQ[j] = this.alternative(jo, this.creatorOf(j, jobs), this.orderOf(this.jobShapes[j]), p)
          altPr[j] = this.altPrice
          altVer[j] = version
        }
        const q = altQ[j]
        if (q < 0) continue
        const gain = own + atPrice[j] - altPr[j]
        if (!found || gain > bGain) { found = true; bGain = gain; bOwn = own; bP = p; bPrice = price; bJ = j; bQ = q; bQPrice = altPr[j] }
      }
    }
    return { version, found, bGain, bOwn, bP, bPrice, bJ, bQ, bQPrice }
  }

  /**
   * The cheapest offer in `heap` that fits `o` now (its index; its price in `foundPrice`), or -1.
   * Used on the per-collateral heaps, which hold no offer that fails the job's collateral or is
   * its creator's; were one there, it would be set aside and pushed back.
   */
  private matchIn (heap: ShapeHeap, o: JobOffer, shape: Shape): number {
    const maxNum = safeNum(o.maxPrice)
    const collNum = Number(o.collateral)
    const checkColl = o.collateral > 0n
    let creator: string | undefined
    const asideIdx = this.asideIdx; const asideRate = this.asideRate
    let nAside = 0
    let result = -1
    const cpu = shape.cpu; const ram = shape.ram; const gpus = shape.gpus; const disk = shape.disk
    const remCpu = this.remCpu; const remRam = this.remRam; const remGpus = this.remGpus; const remDisk = this.remDisk
    while (heap.size > 0) {
      const p = heap.idx[0]
      if (remCpu[p] < cpu || remRam[p] < ram || remGpus[p] < gpus || remDisk[p] < disk) { heap.pop(); continue }
      const r = heap.rate[0]
      let price: bigint
      const num = r * o.timeout
      if (num <= EXACT) {
        if (num > maxNum) break // maxNum NaN (huge) compares false: affordable
        price = BigInt(num)
      } else {
        price = heap.bigRate(0) * BigInt(o.timeout)
        if (price > o.maxPrice) break
      }
      if (creator === undefined) creator = o.creator.toLowerCase()
      if ((checkColl && !this.collateralOk(p, o.collateral, collNum)) || this.lower[p] === creator) {
        asideIdx[nAside] = p; asideRate[nAside] = r; nAside++; heap.pop(); continue
      }
      this.foundPrice = price
      result = p
      break
    }
    for (let i = 0; i < nAside; i++) heap.push(asideIdx[i], asideRate[i])
    return result
  }

  /**
   * The cheapest offer of the shape's order that fits `o` now (its index; its price in
   * `foundPrice`), or -1. Offers that no longer fit the shape are removed from the order for
   * phase 1 (capacity only shrinks there); offers with too little collateral or of the job's
   * own creator are passed over, and after SKIP_LIMIT of them it stops with SKIPPED (the caller
   * then uses a heap without them).
   */
  private matchFirst (order: ShapeOrder, o: JobOffer, shape: Shape): number {
    const maxNum = safeNum(o.maxPrice)
    const collNum = Number(o.collateral)
    const checkColl = o.collateral > 0n
    let creator: string | undefined
    let misses = 0
    const cpu = shape.cpu; const ram = shape.ram; const gpus = shape.gpus; const disk = shape.disk
    const remCpu = this.remCpu; const remRam = this.remRam; const remGpus = this.remGpus; const remDisk = this.remDisk
    const heap = order.heap; const idx = heap.idx; const rates = heap.rate
    for (let k = order.alive(0); ;) {
      const pos = order.at(k)
      if (pos < 0) return -1
      const p = idx[pos]
      if (remCpu[p] < cpu || remRam[p] < ram || remGpus[p] < gpus || remDisk[p] < disk) { k = order.remove(k); continue }
      const num = rates[pos] * o.timeout
      let price: bigint
      if (num <= EXACT) {
        if (num > maxNum) return -1 // maxNum NaN (huge) compares false: affordable
        price = BigInt(num)
      } else {
        price = heap.bigRate(pos) * BigInt(o.timeout)
        if (price > o.maxPrice) return -1
      }
      if (creator === undefined) creator = o.creator.toLowerCase()
      if ((checkColl && !this.collateralOk(p, o.collateral, collNum)) || this.lower[p] === creator) {
        if (++misses > SKIP_LIMIT) return SKIPPED
        k = order.alive(k + 1)
        continue
      }
      this.foundPrice = price
      return p
    }
  }

  private foundPrice = 0n
  /** matchIn's offers set aside (at most one heap's worth, so sized to the market) */
  private readonly asideIdx: Int32Array
  private readonly asideRate: Float64Array
}

/**
 * The offers of a heap in its order, without changing it: a frontier of heap positions,
 * smallest first, in a growable typed array (no allocation per offer visited). `nextPos()`
 * returns the heap position of the next offer, or -1 when the heap is exhausted.
 */
class HeapWalk {
  private h: ShapeHeap | null = null
  private fr = new Int32Array(64)
  private n = 0

  reset (h: ShapeHeap): this {
    this.h = h
    this.n = 0
    if (h.size > 0) { this.fr[0] = 0; this.n = 1 }
    return this
  }

  /** The heap position of the next offer, or -1. */
  nextPos (): number {
    const h = this.h as ShapeHeap
    const fr = this.fr
    if (this.n === 0) return -1
    const top = fr[0]
    const last = fr[--this.n]
    const n = this.n
    if (n > 0) {
      fr[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1; if (l >= n) break
        let m = l; if (l + 1 < n && h.less(fr[l + 1], fr[l])) m = l + 1
        if (!h.less(fr[m], fr[i])) break
        const t = fr[m]; fr[m] = fr[i]; fr[i] = t; i = m
      }
    }
    const c = 2 * top + 1
    if (c < h.size) this.push(c)
    if (c + 1 < h.size) this.push(c + 1)
    return top
  }

  private push (pos: number): void {
    if (this.n === this.fr.length) { const g = new Int32Array(2 * this.n); g.set(this.fr); this.fr = g }
    const fr = this.fr; const h = this.h as ShapeHeap
    fr[this.n] = pos
    for (let i = this.n++; i > 0;) {
      const pp = (i - 1) >> 1
      if (!h.less(fr[i], fr[pp])) break
      const t = fr[pp]; fr[pp] = fr[i]; fr[i] = t; i = pp
    }
  }
}

/**
 * A shape's static set in its order (rate, keccak(seed, id), slot), materialized lazily:
 * `at(k)` is the heap position of the k-th cheapest offer (-1 past the end), extending one
 * persistent walk of the heap only as far as anyone has looked, so phase 2 reads it as an array
 * and phase 1 pays O(log) per offer it actually reaches. Phase 1 also removes offers that no
 * longer fit the shape (capacity only shrinks there): `next[k]` leads to the first offer at or
 * after k still in (union-find with path compression), ignored by `at`.
 */
class ShapeOrder {
  private readonly walk = new HeapWalk()
  private seq: Int32Array
  private next: Int32Array
  private len = 0

  constructor (readonly heap: ShapeHeap) {
    this.walk.reset(heap)
    const cap = Math.min(heap.size, 16)
    this.seq = new Int32Array(cap)
    this.next = new Int32Array(cap + 1) // next[len] = len: the first not yet materialized is "in"
  }

  at (k: number): number {
    while (k >= this.len) {
      const pos = this.walk.nextPos()
      if (pos < 0) return -1
      if (this.len === this.seq.length) {
        const seq = new Int32Array(Math.min(2 * this.len, this.heap.size)); seq.set(this.seq); this.seq = seq
        const next = new Int32Array(seq.length + 1); next.set(this.next); this.next = next
      }
      this.seq[this.len] = pos
      this.len++
      this.next[this.len] = this.len
    }
    return this.seq[k]
  }

  /** The first position ≥ k not removed (may be the first not yet materialized). */
  alive (k: number): number {
    const next = this.next
    let r = k
    while (next[r] !== r) r = next[r]
    while (next[k] !== r) { const t = next[k]; next[k] = r; k = t }
    return r
  }

  /** Removes position k (materialized); returns the first position after it not removed. */
  remove (k: number): number {
    this.next[k] = k + 1
    return this.alive(k + 1)
  }
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

/**
 * One small instance of each class of the engine, alive for the life of the process. V8's
 * optimized code refers to the hidden classes ("maps") of these objects weakly; a map lives only
 * while some object has it, so once every object of a step is garbage a full collection drops
 * the maps, and every hot function that embedded one is deoptimized ("embedded weak objects
 * cleared") and warms up again in the next step — which made a step after a full GC (as between
 * two epochs of a node) ~2.5× slower than a step run straight after another. These instances go
 * through the same construction as the real ones, so they keep those maps alive; they hold no
 * offers (a few hundred bytes).
 */
export const KEEP_MAPS_ALIVE: readonly unknown[] = (() => {
  const market = new Market([], new TieBreaker(new Uint8Array(32)), new Map())
  market.matchAll([])
  const heap = new ShapeHeap({ idx: new Int32Array(0), rate: new Float64Array(0), n: 0 }, new Map(), market)
  return [market, heap, new ShapeOrder(heap)]
})()

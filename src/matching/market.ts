/**
 * The provider offers of one epoch, indexed by capacity, and the walk that finds a job's offer
 * (the rule is in engine.ts). Per resource dimension d (cpu, ram, gpus, disk) one order of the
 * offers that have some of d — by price of d, then keccak(seed, id), then slot — with two
 * `FitTree`s over it, built on first use: capacity left (phase 1, alternatives, phase 3) and
 * nominal capacity (phase 2's targets), each with its fit lists (fitLists.ts), which a walk
 * reads instead of calling `FitTree.next` from position 0. Neither depends on the job: the work per job is a
 * bounded walk, whatever the number of distinct shapes, modules or collateral values.
 */
import type { JobOffer, ResourceOffer } from '../protocol/index.js'
import type { OfferRecord } from './types.js'
import { slotKey } from './offers.js'
import { jobPrice } from './price.js'
import { FitTree, F_COLL, F_VRAM } from './fitTree.js'
import { FitCursor, FitIndex } from './fitLists.js'
import type { Ask } from './fitLists.js'
import { safeNum } from './tie.js'
import type { TieBreaker } from './tie.js'

const EXACT = 2 ** 52
/** Doubles below this that came from Number(bigint) are the bigint exactly. */
const TWO53 = 2 ** 53

/** A job's walk stops after this many candidates (offers that serve it at ≤ maxPrice) ... */
export const CANDIDATES = 8
/** ... or after this many offers that fit its capacity, vram and collateral (candidates or not). */
export const VISIT_LIMIT = 64
/** list entries in a row that do not fit the ask, after which a walk goes on through the tree */
const MISS_RUN = 16

export interface EngineMatch {
  job: OfferRecord<JobOffer>
  resource: OfferRecord<ResourceOffer>
  price: bigint
}

/** Capacity held on one slot, summed over its reservations and open deals. */
export interface Held { cpu: number, ram: number, gpus: number, disk: number }

/** The median of `xs` (sorted in place): the element at ⌊(n − 1)/2⌋, 0 when empty. */
function median (xs: Float64Array): number {
  if (xs.length === 0) return 0
  xs.sort()
  return xs[(xs.length - 1) >> 1]
}

export class Market {
  readonly n: number
  /** what is left, per dimension (cpu, ram, gpus, disk) */
  readonly rem: Float64Array[]
  /** nominal capacity, per dimension */
  readonly cap: Float64Array[]
  readonly vram: Float64Array
  /** per-dimension prices: exact doubles (NaN beyond 2^53) for pricing, rounded doubles for ordering */
  private readonly price: Float64Array[]
  private readonly key: Float64Array[]
  private readonly priceSafe: Uint8Array
  /** Number(collateral): rounded, exact below 2^53; equal doubles fall back to the bigints */
  private readonly collNum: Float64Array
  readonly lower: string[]
  /** per offer its lower-case provider as a small integer (per market): the creator check compares numbers */
  private readonly providerId: Int32Array
  private readonly providerIds = new Map<string, number>()
  private readonly slots: Array<string | undefined>
  private readonly ties: Array<string | undefined>
  /** the median price of each dimension over the offers that have some of it */
  readonly ref = new Float64Array(4)
  private readonly orders: Array<Int32Array | undefined> = [undefined, undefined, undefined, undefined]
  private readonly posOf: Array<Int32Array | undefined> = [undefined, undefined, undefined, undefined]
  /** per dimension order: the ordering price at each position */
  private readonly keyAt: Array<Float64Array | undefined> = [undefined, undefined, undefined, undefined]
  private readonly remTrees: Array<FitTree | undefined> = [undefined, undefined, undefined, undefined]
  private readonly capTrees: Array<FitTree | undefined> = [undefined, undefined, undefined, undefined]
  /** each tree's fit lists (fitLists.ts) */
  private readonly remLists: Array<FitIndex | undefined> = [undefined, undefined, undefined, undefined]
  private readonly capLists: Array<FitIndex | undefined> = [undefined, undefined, undefined, undefined]
  private readonly ask: Ask = { cpu: 0, ram: 0, gpus: 0, disk: 0, vram: 0, coll: 0 }
  private readonly cursor = new FitCursor()
  /** a walk's candidates, in walk order */
  readonly cand = new Int32Array(CANDIDATES)
  /** per job index of the current matchAll: its dominant dimension and lower-case creator */
  dom = new Uint8Array(0)
  private creators: Array<string | undefined> = []
  /** per job index: its creator's provider id (−1: no offer of this market is its creator's) */
  private creatorId = new Int32Array(0)
  private jobs: ReadonlyArray<OfferRecord<JobOffer>> = []
  /** the price of the offer `choose` returned */
  foundPrice = 0n

  /**
   * `held`: capacity held by reservations and open deals, summed per slot (`slotKey`); it is
   * taken off the effective offer of the slot, if any, down to zero.
   */
  constructor (readonly offers: ReadonlyArray<OfferRecord<ResourceOffer>>, private readonly tie: TieBreaker, held: ReadonlyMap<string, Held>) {
    const n = this.n = offers.length
    this.rem = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)]
    this.cap = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)]
    this.price = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)]
    this.key = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)]
    this.vram = new Float64Array(n); this.priceSafe = new Uint8Array(n); this.collNum = new Float64Array(n)
    this.providerId = new Int32Array(n)
    this.lower = new Array<string>(n); this.slots = new Array<string | undefined>(n); this.ties = new Array<string | undefined>(n)
    this.mods = new Array<Int32Array | null>(n)
    const counts = [0, 0, 0, 0]
    const [c0, c1, c2, c3] = this.cap; const [r0, r1, r2, r3] = this.rem
    const [p0, p1, p2, p3] = this.price; const [k0, k1, k2, k3] = this.key
    for (let i = 0; i < n; i++) {
      const o = offers[i].offer
      c0[i] = r0[i] = o.cpu; c1[i] = r1[i] = o.ram; c2[i] = r2[i] = o.gpus; c3[i] = r3[i] = o.disk
      p0[i] = safeNum(o.priceCpu); p1[i] = safeNum(o.priceRam); p2[i] = safeNum(o.priceGpu); p3[i] = safeNum(o.priceDisk)
      k0[i] = Number(o.priceCpu); k1[i] = Number(o.priceRam); k2[i] = Number(o.priceGpu); k3[i] = Number(o.priceDisk)
      this.priceSafe[i] = Number.isNaN(p0[i] + p1[i] + p2[i] + p3[i]) ? 0 : 1
      if (o.cpu > 0) counts[0]++
      if (o.ram > 0) counts[1]++
      if (o.gpus > 0) counts[2]++
      if (o.disk > 0) counts[3]++
      this.vram[i] = o.gpus > 0 ? o.gpuVram : 0
      this.collNum[i] = Number(o.collateral)
      this.lower[i] = o.provider.toLowerCase()
      let pid = this.providerIds.get(this.lower[i])
      if (pid === undefined) { pid = this.providerIds.size; this.providerIds.set(this.lower[i], pid) }
      this.providerId[i] = pid
      if (o.modules.length === 0) this.mods[i] = null
      else {
        const ids = new Int32Array(o.modules.length)
        for (let k = 0; k < ids.length; k++) ids[k] = this.moduleId(o.modules[k])
        this.mods[i] = ids
      }
      if (held.size > 0) {
        const h = held.get(this.slotOf(i))
        if (h !== undefined) {
          r0[i] = Math.max(0, o.cpu - h.cpu); r1[i] = Math.max(0, o.ram - h.ram)
          r2[i] = Math.max(0, o.gpus - h.gpus); r3[i] = Math.max(0, o.disk - h.disk)
        }
      }
    }
    for (let d = 0; d < 4; d++) {
      const xs = new Float64Array(counts[d]); let k = 0
      for (let i = 0; i < n; i++) if (this.cap[d][i] > 0) xs[k++] = this.key[d][i]
      this.ref[d] = median(xs)
    }
  }

  private slotOf (i: number): string {
    return this.slots[i] ?? (this.slots[i] = slotKey(this.offers[i].offer.provider, this.offers[i].offer.nonce))
  }

  private tieKey (i: number): string {
    let t = this.ties[i]
    if (t === undefined) t = this.ties[i] = this.tie.key(this.offers[i].id)
    return t
  }

  /** Deterministic total order of offers on equal price: keccak(seed, id), then slot. */
  providerBefore (a: number, b: number): boolean {
    const ta = this.tieKey(a); const tb = this.tieKey(b)
    if (ta !== tb) return ta < tb
    return this.slotOf(a) < this.slotOf(b)
  }

  /** offer i's collateral ≥ `required`, exactly; `requiredNum` is Number(required). */
  private collateralOk (i: number, required: bigint, requiredNum: number): boolean {
    const c = this.collNum[i]
    if (c !== requiredNum || c < TWO53) return c >= requiredNum
    return this.offers[i].offer.collateral >= required
  }

  /** module hashes as small integers (per market): an allow-list check compares numbers */
  private readonly moduleIds = new Map<string, number>()
  /** per offer its allow-list as module ids, null for any module */
  private readonly mods: Array<Int32Array | null>
  /** per job index of the current matchAll: its module's id (−1: no offer names it) */
  private jobModule = new Int32Array(0)

  private moduleId (m: string): number {
    let id = this.moduleIds.get(m)
    if (id === undefined) { id = this.moduleIds.size; this.moduleIds.set(m, id) }
    return id
  }

  private moduleOk (i: number, module: number): boolean {
    const ms = this.mods[i]
    if (ms === null) return true
    for (let k = 0; k < ms.length; k++) if (ms[k] === module) return true
    return false
  }

  /** The dimension order d: offers with some of d, by (price of d, keccak(seed, id), slot). */
  private orderOf (d: number): Int32Array {
    const have = this.orders[d]
    if (have !== undefined) return have
    const cap = this.cap[d]; const key = this.key[d]
    const list: number[] = []
    for (let i = 0; i < this.n; i++) if (cap[i] > 0) list.push(i)
    const prices = d === 0 ? 'priceCpu' : d === 1 ? 'priceRam' : d === 2 ? 'priceGpu' : 'priceDisk'
    list.sort((a, b) => {
      const ka = key[a]; const kb = key[b]
      if (ka !== kb) return ka < kb ? -1 : 1
      if (ka >= TWO53) {
        const ba = this.offers[a].offer[prices]; const bb = this.offers[b].offer[prices]
        if (ba !== bb) return ba < bb ? -1 : 1
      }
      return this.providerBefore(a, b) ? -1 : 1
    })
    const order = Int32Array.from(list)
    const pos = new Int32Array(this.n).fill(-1)
    for (let k = 0; k < order.length; k++) pos[order[k]] = k
    const keyAt = new Float64Array(order.length)
    for (let k = 0; k < order.length; k++) keyAt[k] = key[order[k]]
    this.orders[d] = order; this.posOf[d] = pos; this.keyAt[d] = keyAt
    return order
  }

  /** The fit lists of `treeOf(d, nominal)`. */
  private listsOf (d: number, nominal: boolean): FitIndex {
    const lists = nominal ? this.capLists : this.remLists
    return lists[d] ?? (lists[d] = new FitIndex(this.treeOf(d, nominal)))
  }

  private treeOf (d: number, nominal: boolean): FitTree {
    const trees = nominal ? this.capTrees : this.remTrees
    const have = trees[d]
    if (have !== undefined) return have
    const order = this.orderOf(d)
    const caps = nominal ? this.cap : this.rem
    const vram = this.vram; const coll = this.collNum
    const t = new FitTree(order.length, (pos, f) => {
      const i = order[pos]
      return f === F_VRAM ? vram[i] : f === F_COLL ? coll[i] : caps[f][i]
    })
    trees[d] = t
    return t
  }

  /** Adds `sign` × the job's resources to what is left of offer p (and to the trees built so far). */
  take (p: number, o: JobOffer, sign: number): void {
    const rem = this.rem
    rem[0][p] -= sign * o.cpu; rem[1][p] -= sign * o.ram; rem[2][p] -= sign * o.gpus; rem[3][p] -= sign * o.disk
    for (let d = 0; d < 4; d++) {
      const t = this.remTrees[d]
      if (t === undefined) continue
      const pos = (this.posOf[d] as Int32Array)[p]
      if (pos >= 0) t.set(pos, rem[0][p], rem[1][p], rem[2][p], rem[3][p])
      // capacity given back: a list may now miss p (fitLists.ts)
      if (sign < 0 && pos >= 0) this.remLists[d]?.giveBack(pos)
    }
  }

  fitsNow (p: number, o: JobOffer): boolean {
    const rem = this.rem
    return rem[0][p] >= o.cpu && rem[1][p] >= o.ram && rem[2][p] >= o.gpus && rem[3][p] >= o.disk
  }

  /**
   * The dimension whose price order a job walks: the d with demand > 0 maximising
   * demand_d × ref_d (the market's median price of d), the first on ties; cpu when all are 0.
   */
  dominant (o: JobOffer): number {
    const ref = this.ref
    let best = 0; let w = o.cpu * ref[0]
    if (o.ram > 0 && o.ram * ref[1] > w) { best = 1; w = o.ram * ref[1] }
    if (o.gpus > 0 && o.gpus * ref[2] > w) { best = 2; w = o.gpus * ref[2] }
    if (o.disk > 0 && o.disk * ref[3] > w) best = 3
    return best
  }

  /** Starts a matchAll over `jobs` (in matching order). */
  begin (jobs: ReadonlyArray<OfferRecord<JobOffer>>): void {
    this.jobs = jobs
    this.dom = new Uint8Array(jobs.length)
    this.creators = new Array<string | undefined>(jobs.length)
    this.jobModule = new Int32Array(jobs.length)
    this.creatorId = new Int32Array(jobs.length)
    for (let x = 0; x < jobs.length; x++) {
      const o = jobs[x].offer
      this.dom[x] = this.dominant(o)
      this.jobModule[x] = this.moduleIds.get(o.module) ?? -1
      this.creatorId[x] = this.providerIds.get(this.creatorOf(x)) ?? -1
    }
  }

  creatorOf (x: number): string {
    return this.creators[x] ?? (this.creators[x] = this.jobs[x].offer.creator.toLowerCase())
  }

  /** rate·timeout of offer `p` for job `o` as an exact double, or NaN when it might not be exact. */
  priceNum (o: JobOffer, p: number): number {
    if (this.priceSafe[p] !== 1) return NaN
    const pr = this.price
    const num = (pr[0][p] * o.cpu + pr[1][p] * o.ram + pr[2][p] * o.gpus + pr[3][p] * o.disk) * o.timeout
    return num <= EXACT ? num : NaN
  }

  /** rate·timeout of offer `p` for job `o`, exact. */
  priceOf (o: JobOffer, p: number): bigint {
    const num = this.priceNum(o, p)
    return Number.isNaN(num) ? jobPrice(o, this.offers[p].offer) : BigInt(num)
  }

  /**
   * The walk of job x (offer `o`): its dominant dimension's order, only offers other than `not`
   * with enough capacity (left, or nominal), vram and collateral — found through the tree, not
   * scanned. Each such offer is a visit; it is a candidate if it accepts the module, is not the
   * creator's and prices the job at ≤ maxPrice. Stops after CANDIDATES candidates, VISIT_LIMIT
   * visits, or where even the dominant dimension's price alone exceeds maxPrice (no later offer
   * can be a candidate then). Fills `cand` in walk order; returns how many.
   */
  walk (o: JobOffer, x: number, nominal: boolean, not: number, limit: number): number {
    const d = this.dom[x]
    const order = this.orderOf(d)
    const tree = this.treeOf(d, nominal)
    const needV = o.gpus > 0 ? o.gpuVram : 0
    const collNum = Number(o.collateral)
    const checkColl = o.collateral > 0n
    const maxNum = safeNum(o.maxPrice)
    const creator = this.creatorId[x]
    const providerId = this.providerId
    const module = this.jobModule[x]
    const keyAt = this.keyAt[d] as Float64Array
    const factor = (d === 0 ? o.cpu : d === 1 ? o.ram : d === 2 ? o.gpus : o.disk) * o.timeout
    const ask = this.ask
    ask.cpu = o.cpu; ask.ram = o.ram; ask.gpus = o.gpus; ask.disk = o.disk; ask.vram = needV; ask.coll = collNum
    // the positions tree.next would return one after another, read from the class's fit list
    const lists = this.listsOf(d, nominal)
    const cur = this.cursor
    cur.start(lists, lists.listFor(ask))
    // after MISS_RUN list entries in a row that do not fit, the rest of the walk asks the tree
    // (`next` returns the same positions; the list only made them cheaper to find)
    let visits = 0; let n = 0; let misses = 0; let last = -1
    while (n < limit && visits < VISIT_LIMIT) {
      let pos: number
      if (misses >= MISS_RUN) {
        pos = tree.next(last + 1, o.cpu, o.ram, o.gpus, o.disk, needV, collNum)
        if (pos < 0) break
      } else {
        pos = cur.next()
        if (pos < 0) break
        if (!tree.fits(pos, o.cpu, o.ram, o.gpus, o.disk, needV, collNum)) { cur.misfit(pos); misses++; last = pos; continue }
        misses = 0
      }
      last = pos
      const p = order[pos]
      const k = keyAt[pos]
      if (k < TWO53) {
        const lb = k * factor
        if (lb <= EXACT && lb > maxNum) break // maxNum NaN (maxPrice ≥ 2^53) compares false
      }
      if (p === not || (checkColl && !this.collateralOk(p, o.collateral, collNum))) continue
      visits++
      if (providerId[p] === creator || !this.moduleOk(p, module)) continue
      const num = this.priceNum(o, p)
      if (Number.isNaN(num) ? jobPrice(o, this.offers[p].offer) > o.maxPrice : num > maxNum) continue
      this.cand[n++] = p
    }
    cur.finish()
    return n
  }

  /**
   * Job x's offer in what is left now: the cheapest of its walk's candidates (ties keccak, then
   * slot), never `not`; its index (price in `foundPrice`) or −1.
   */
  choose (o: JobOffer, x: number, not: number): number {
    const n = this.walk(o, x, false, not, CANDIDATES)
    let best = -1; let bNum = 0; let bBig = 0n
    for (let k = 0; k < n; k++) {
      const p = this.cand[k]
      const num = this.priceNum(o, p)
      if (best < 0) { best = p; bNum = num; bBig = Number.isNaN(num) ? this.priceOf(o, p) : 0n; continue }
      let cmp: number
      if (!Number.isNaN(num) && !Number.isNaN(bNum)) cmp = num - bNum
      else {
        const big = this.priceOf(o, p); const bb = Number.isNaN(bNum) ? bBig : BigInt(bNum)
        cmp = big < bb ? -1 : big > bb ? 1 : 0
      }
      if (cmp < 0 || (cmp === 0 && this.providerBefore(p, best))) {
        best = p; bNum = num; bBig = Number.isNaN(num) ? this.priceOf(o, p) : 0n
      }
    }
    if (best >= 0) this.foundPrice = Number.isNaN(bNum) ? bBig : BigInt(bNum)
    return best
  }
}

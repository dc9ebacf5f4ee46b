/**
 * Phases 2 and 3 of the rule (engine.ts): bounded augmenting moves, then a final direct fit.
 * They read the market's walks only, so their work per job is bounded like phase 1's.
 */
import type { JobOffer } from '../protocol/index.js'
import type { OfferRecord } from './types.js'
import type { EngineMatch, Market } from './market.js'

/** Phase 2 bounds: targets tried per unmatched job, jobs tried per target. */
export const TARGET_SCAN = 8
export const JOB_SCAN = 4
/** Phase 2 passes: a move is taken when its surplus change ≥ −slack × the new job's own surplus. */
export const LOSS_PASSES: readonly bigint[] = [0n, 3n]

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

/** The assignment phases 2 and 3 change, and what they remember of it. */
class Assignment {
  /** per job index: the offer it is on (−1: unmatched) and its price there */
  readonly atP: Int32Array
  readonly atPrice: bigint[]
  /** job indices on each offer, in the order they landed there */
  readonly onOffer = new Map<number, number[]>()
  /** applied moves so far: what a search finds depends only on the assignment */
  version = 0
  readonly altVer: Int32Array
  readonly altQ: Int32Array
  readonly altPr: bigint[]
  readonly bestOf = new Map<number, BestMove>()
  readonly targets = new Int32Array(TARGET_SCAN)

  constructor (J: number) {
    this.atP = new Int32Array(J).fill(-1)
    this.atPrice = new Array<bigint>(J)
    this.altVer = new Int32Array(J).fill(-1)
    this.altQ = new Int32Array(J)
    this.altPr = new Array<bigint>(J)
  }

  place (x: number, p: number, price: bigint): void {
    this.atP[x] = p; this.atPrice[x] = price
    const l = this.onOffer.get(p); if (l === undefined) this.onOffer.set(p, [x]); else l.push(x)
  }

  unplace (x: number): void {
    const l = this.onOffer.get(this.atP[x]) as number[]
    l.splice(l.indexOf(x), 1)
    this.atP[x] = -1
  }
}

/**
 * The best move that adds unmatched job u: its walk over nominal capacity gives up to
 * TARGET_SCAN targets p; u fits what is left of p (gain: own = maxPrice − price), or one of the
 * first JOB_SCAN jobs j on p whose leaving makes room moves to its own choice q ≠ p in what is
 * left now (gain: own + price(j, p) − price(j, q)). Largest gain wins, the first on ties.
 */
function bestMove (m: Market, u: number, jobs: ReadonlyArray<OfferRecord<JobOffer>>, a: Assignment): BestMove {
  const o = jobs[u].offer
  let found = false
  let bGain = 0n; let bOwn = 0n; let bP = -1; let bPrice = 0n; let bJ = -1; let bQ = -1; let bQPrice = 0n
  const nt = m.walk(o, u, true, -1, TARGET_SCAN)
  const targets = a.targets
  for (let t = 0; t < nt; t++) targets[t] = m.cand[t]
  const rem = m.rem
  for (let t = 0; t < nt; t++) {
    const p = targets[t]
    const price = m.priceOf(o, p)
    const own = o.maxPrice - price
    if (m.fitsNow(p, o)) {
      if (!found || own > bGain) { found = true; bGain = own; bOwn = own; bP = p; bPrice = price; bJ = -1 }
      continue
    }
    const on = a.onOffer.get(p)
    if (on === undefined) continue
    let k = 0
    for (const j of on) {
      const jo = jobs[j].offer
      if (rem[0][p] + jo.cpu < o.cpu || rem[1][p] + jo.ram < o.ram || rem[2][p] + jo.gpus < o.gpus || rem[3][p] + jo.disk < o.disk) continue
      if (++k > JOB_SCAN) break
      if (a.altVer[j] !== a.version) {
        a.altQ[j] = m.choose(jo, j, p)
        a.altPr[j] = m.foundPrice
        a.altVer[j] = a.version
      }
      const q = a.altQ[j]
      if (q < 0) continue
      const gain = own + a.atPrice[j] - a.altPr[j]
      if (!found || gain > bGain) { found = true; bGain = gain; bOwn = own; bP = p; bPrice = price; bJ = j; bQ = q; bQPrice = a.altPr[j] }
    }
  }
  return { version: a.version, found, bGain, bOwn, bP, bPrice, bJ, bQ, bQPrice }
}

/**
 * Phase 2 then phase 3 on phase 1's result (`greedy`, with the offer index of each match in
 * `greedyAt` and its job index in `greedyJob`). Returns the matches in matching order.
 */
export function improve (m: Market, jobs: ReadonlyArray<OfferRecord<JobOffer>>, greedy: EngineMatch[], greedyAt: readonly number[], greedyJob: readonly number[]): EngineMatch[] {
  const J = jobs.length
  if (greedy.length === J) return greedy
  const a = new Assignment(J)
  for (let g = 0; g < greedy.length; g++) a.place(greedyJob[g], greedyAt[g], greedy[g].price)
  let moved = false
  for (const slack of LOSS_PASSES) {
    for (let u = 0; u < J; u++) {
      if (a.atP[u] >= 0) continue
      let best = a.bestOf.get(u)
      if (best === undefined || best.version !== a.version) {
        best = bestMove(m, u, jobs, a)
        a.bestOf.set(u, best)
      }
      if (!best.found || 2n * best.bGain < -slack * best.bOwn) continue
      moved = true
      a.version++
      if (best.bJ >= 0) {
        const jo = jobs[best.bJ].offer
        m.take(best.bP, jo, -1); m.take(best.bQ, jo, 1)
        a.unplace(best.bJ)
        a.place(best.bJ, best.bQ, best.bQPrice)
      }
      m.take(best.bP, jobs[u].offer, 1)
      a.place(u, best.bP, best.bPrice)
    }
  }
  // phase 3: a job still unmatched may fit the room the moves left (issue 16 item 4), or an
  // offer its bounded walk did not reach when it was its turn (offers that filled up since
  // leave its walk and make room for later ones)
  for (let u = 0; u < J; u++) {
    if (a.atP[u] >= 0) continue
    const o = jobs[u].offer
    const p = m.choose(o, u, -1)
    if (p < 0) continue
    moved = true
    m.take(p, o, 1)
    a.place(u, p, m.foundPrice)
  }
  if (!moved) return greedy
  const out: EngineMatch[] = []
  for (let x = 0; x < J; x++) {
    if (a.atP[x] >= 0) out.push({ job: jobs[x], resource: m.offers[a.atP[x]], price: a.atPrice[x] })
  }
  return out
}

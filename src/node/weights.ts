/**
 * Votes weighted by what the voter holds on-chain, never by counting keys (DESIGN §4). Keys are
 * free: eight throwaway identities gossiping a made-up root must weigh nothing.
 *
 * The weight of an address for epoch E is its free escrow balance at B(E) (funding.ts): zero
 * for every account that never deposited, and answered without a chain read. A root's weight
 * is the sum of its voters' weights (each address once); the node's own root counts its own
 * weight. The majority is the heaviest root; a tie, and in particular a root that weighs
 * nothing against ours, keeps ours: a node never resyncs towards a root nobody staked on.
 *
 * A node without a chain (no chain facts: unit tests, a chainless playground) has nothing to
 * weigh with, so every address weighs 1 there, which is the count of keys and open to Sybils:
 * such a network is not meant to face strangers.
 */
import type { Address, Hash } from '../protocol/index.js'
import type { FundsView } from './funding.js'

export interface Vote { address: Address, root: Hash, peer: string }

export interface Majority {
  root: Hash
  /** Summed weight of the root's voters (ours included when it is ours). */
  weight: bigint
  /** Summed weight of every voter. */
  total: bigint
  /** Peer ids of the root's voters (not ours). */
  peers: string[]
  /** Voters of the root, ours included when it is ours (for metrics: shares of keys, not of weight). */
  count: number
  /** Voters of every root. */
  voters: number
}

const KEEP_EPOCHS = 32n

export class VoteWeights {
  private readonly funds = new Map<bigint, FundsView>()
  /** epoch → address (lower case) → weight, as far as looked up (for the synchronous early-confirm rule). */
  private readonly known = new Map<bigint, Map<string, bigint>>()

  /** `chainless`: the node has no chain facts; every address then weighs 1. */
  constructor (private readonly chainless: boolean) {}

  /** Records the balances an epoch was matched with (commitEpoch). */
  noteFunds (epoch: bigint, f: FundsView): void {
    this.funds.set(epoch, f)
    for (const e of [...this.funds.keys()]) if (e + KEEP_EPOCHS < epoch) this.funds.delete(e)
    for (const e of [...this.known.keys()]) if (e + KEEP_EPOCHS < epoch) this.known.delete(e)
  }

  /** The balances of `epoch`, else of the latest epoch before it this node matched. */
  fundsFor (epoch: bigint): FundsView | undefined {
    const exact = this.funds.get(epoch)
    if (exact !== undefined) return exact
    let best: bigint | undefined
    for (const e of this.funds.keys()) if (e < epoch && (best === undefined || e > best)) best = e
    return best === undefined ? undefined : this.funds.get(best)
  }

  /** The weight of `address` in epoch `epoch` (0 on a chain node that has no balances yet). */
  async weightOf (epoch: bigint, address: Address, funds = this.fundsFor(epoch)): Promise<bigint> {
    if (this.chainless) return 1n
    if (funds === undefined) return 0n
    const w = await funds.balanceOf(address)
    let m = this.known.get(epoch)
    if (m === undefined) { m = new Map(); this.known.set(epoch, m) }
    if (m.size < 8192) m.set(address.toLowerCase(), w)
    return w
  }

  /** The weight looked up so far (undefined: not looked up yet). */
  knownWeight (epoch: bigint, address: Address): bigint | undefined {
    if (this.chainless) return 1n
    return this.known.get(epoch)?.get(address.toLowerCase())
  }

  /** The heaviest root among `votes` and ours (see the header); undefined when nobody voted. */
  async majority (epoch: bigint, votes: Iterable<Vote>, me: { address: Address, root: Hash | undefined }, funds = this.fundsFor(epoch)): Promise<Majority | undefined> {
    const byRoot = new Map<Hash, { weight: bigint, peers: string[], count: number }>()
    const seen = new Set<string>([me.address.toLowerCase()])
    const list = [...votes].filter((v) => {
      const a = v.address.toLowerCase()
      if (seen.has(a)) return false
      seen.add(a)
      return true
    })
    const weights = await Promise.all(list.map(async (v) => await this.weightOf(epoch, v.address, funds)))
    for (const [i, v] of list.entries()) {
      const r = byRoot.get(v.root) ?? { weight: 0n, peers: [], count: 0 }
      r.weight += weights[i]
      r.peers.push(v.peer)
      r.count++
      byRoot.set(v.root, r)
    }
    if (me.root !== undefined) {
      const r = byRoot.get(me.root) ?? { weight: 0n, peers: [], count: 0 }
      r.weight += await this.weightOf(epoch, me.address, funds)
      r.count++
      byRoot.set(me.root, r)
    }
    let total = 0n
    let voters = 0
    for (const r of byRoot.values()) { total += r.weight; voters += r.count }
    let best: Majority | undefined
    for (const [root, r] of byRoot) {
      const better = best === undefined || r.weight > best.weight || (r.weight === best.weight && root === me.root)
      if (better) best = { root, weight: r.weight, total, peers: r.peers, count: r.count, voters }
    }
    // a root that weighs nothing never displaces ours
    if (best !== undefined && me.root !== undefined && best.root !== me.root && best.weight === 0n) {
      const mine = byRoot.get(me.root)
      return { root: me.root, weight: mine?.weight ?? 0n, total, peers: mine?.peers ?? [], count: mine?.count ?? 0, voters }
    }
    return best
  }
}

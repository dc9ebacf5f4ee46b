/**
 * The rule that lets a node confirm a matched epoch before its timed point (half an epoch after
 * matching), from the heartbeats it has seen: confirming early must never pick a root that the
 * timed majority vote could still overturn. Pure, so it is tested apart from the node.
 */
import type { Hash } from '../protocol/index.js'

export interface EarlyConfirmInput {
  /** This node's address (any case). */
  me: string
  /** This node's root of the epoch. */
  mine: Hash
  /** Roots reported in heartbeats of the epoch so far, by node address (any case). */
  seen: Iterable<readonly [string, Hash]>
  /** Nodes that gossiped a heartbeat of the previous epoch. */
  previous: Iterable<string>
  /** Counterparties of this node's matches in the epoch (lower-case addresses). */
  counterparties: Iterable<string>
}

/**
 * True when all hold: no heartbeat of the epoch has another root than ours; at least two peers
 * agree with ours; the nodes agreeing (ourselves included) outnumber those that reported the
 * previous epoch and not yet this one (even if every missing one disagreed we would stay the
 * majority); and every counterparty of our matches has reported our root.
 */
export function heartbeatsConfirmEarly (i: EarlyConfirmInput): boolean {
  const me = i.me.toLowerCase()
  const roots = new Map<string, Hash>()
  for (const [addr, root] of i.seen) roots.set(addr.toLowerCase(), root)
  let agree = 1
  for (const [addr, root] of roots) {
    if (addr === me) continue
    if (root !== i.mine) return false
    agree++
  }
  if (agree < 3) return false
  let missing = 0
  for (const addr of i.previous) {
    const a = addr.toLowerCase()
    if (a !== me && !roots.has(a)) missing++
  }
  if (agree <= missing) return false
  for (const c of i.counterparties) if (roots.get(c.toLowerCase()) !== i.mine) return false
  return true
}

/**
 * Wide-area latency for one machine's networks: a fixed one-way delay per directed link, drawn
 * from [0.5, 1.5] × the mean by the link's two ends (the same on every run), and a model of
 * gossip over such links for networks larger than one machine holds.
 *
 * bench:network `--wan MS` injects `wanLinkDelayMs` into every node's gossip validation (the
 * delivery waits before it is validated and relayed: per-hop latency on real processes);
 * `simulateGossip` computes when a message published by one node reaches every other one on a
 * random network of the same shape (each node's connections, its gossipsub mesh, flood-publish
 * by the author), with the same per-link delays plus a per-hop processing time. bench:wan runs
 * the model at the measured size, where it can be checked against bench:network, and beyond.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'

/** The largest mean one-way delay accepted (ms). */
export const MAX_WAN_MS = 5000

function unitOf (s: string): number {
  const h = keccak_256(new TextEncoder().encode(s))
  return (((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0) / 2 ** 32
}

/** One-way delay of the link from `sender` to `receiver` (ms), in [0.5, 1.5) × `meanMs`. */
export function wanLinkDelayMs (receiver: string, sender: string, meanMs: number): number {
  if (!Number.isFinite(meanMs) || meanMs < 0 || meanMs > MAX_WAN_MS) throw new RangeError(`the mean WAN delay must be from 0 to ${MAX_WAN_MS} ms, not ${String(meanMs)}`)
  return Math.round(meanMs * (0.5 + unitOf(`${receiver}|${sender}`)))
}

export interface GossipModel {
  /** Nodes in the network (≥ 2). */
  nodes: number
  /** Connections per node (the publisher flood-publishes to all of them), ≥ 1. */
  peers: number
  /** Mesh peers per node that a delivery is relayed to, ≥ 1 and ≤ peers. */
  mesh: number
  /** Mean one-way link delay (ms). */
  meanMs: number
  /** Time a node spends on a delivery before relaying it (validation, queueing), ms. */
  hopMs: number
  /** Messages simulated, each from a random author. */
  messages: number
  /** Seed of the network and of the authors (the same seed, the same figures). */
  seed: number
}

export interface GossipFigures {
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Mean hops on the path that delivered first. */
  meanHops: number
  /** (message, node) pairs never reached: the random mesh left a node cut off. */
  unreached: number
}

/** A small deterministic PRNG (mulberry32). */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function percentile (xs: Float64Array, p: number): number {
  if (xs.length === 0) return 0
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))]
}

/** A binary min-heap of (time, node). */
class MinHeap {
  private readonly keys: number[] = []
  private readonly vals: number[] = []
  push (k: number, v: number): void {
    const { keys, vals } = this
    let i = keys.length
    keys.push(k); vals.push(v)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (keys[p] <= k) break
      keys[i] = keys[p]; vals[i] = vals[p]; i = p
    }
    keys[i] = k; vals[i] = v
  }

  pop (): [number, number] | undefined {
    const { keys, vals } = this
    if (keys.length === 0) return undefined
    const top: [number, number] = [keys[0], vals[0]]
    const k = keys.pop() as number
    const v = vals.pop() as number
    if (keys.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= keys.length) break
        const c = l + 1 < keys.length && keys[l + 1] < keys[l] ? l + 1 : l
        if (keys[c] >= k) break
        keys[i] = keys[c]; vals[i] = vals[c]; i = c
      }
      keys[i] = k; vals[i] = v
    }
    return top
  }
}

/** Arrival times of `messages` gossip messages at every node of a random network shaped as `m`. */
export function simulateGossip (m: GossipModel): GossipFigures {
  const { nodes: n, peers, mesh, meanMs, hopMs, messages, seed } = m
  if (!Number.isSafeInteger(n) || n < 2 || n > 1_000_000) throw new RangeError('nodes must be an integer from 2 to 1,000,000')
  if (!Number.isSafeInteger(peers) || peers < 1 || peers >= n) throw new RangeError('peers must be an integer from 1 to nodes − 1')
  if (!Number.isSafeInteger(mesh) || mesh < 1 || mesh > peers) throw new RangeError('mesh must be an integer from 1 to peers')
  if (!Number.isSafeInteger(messages) || messages < 1 || messages > 10_000) throw new RangeError('messages must be an integer from 1 to 10,000')
  if (!Number.isFinite(hopMs) || hopMs < 0) throw new RangeError('hopMs must be ≥ 0')
  const rand = rng(seed)
  // connections: each node dials `peers / 2` random others (undirected), as a DHT walk would
  const conn: Array<Set<number>> = Array.from({ length: n }, () => new Set())
  for (let i = 0; i < n; i++) {
    while (conn[i].size < Math.ceil(peers / 2) || (conn[i].size < peers && rand() < 0.5)) {
      const j = Math.floor(rand() * n)
      if (j === i) continue
      conn[i].add(j)
      conn[j].add(i)
    }
  }
  // the mesh: every node grafts connections until it has `mesh` mesh peers; a graft is mutual,
  // as in gossipsub (a node may end with more, up to its connections, as with Dhi)
  const meshSets: Array<Set<number>> = Array.from({ length: n }, () => new Set())
  for (let i = 0; i < n; i++) {
    const all = [...conn[i]]
    for (let k = all.length - 1; k > 0; k--) { const j = Math.floor(rand() * (k + 1)); [all[k], all[j]] = [all[j], all[k]] }
    for (const j of all) {
      if (meshSets[i].size >= mesh) break
      meshSets[i].add(j)
      meshSets[j].add(i)
    }
  }
  const meshOf: number[][] = meshSets.map((x) => [...x])
  const connOf: number[][] = conn.map((x) => [...x])
  // each directed link's delay, drawn once (a keccak per link, not per relaxation)
  const delaysOf = (lists: number[][]): Float64Array[] => lists.map((out, u) => Float64Array.from(out, (v) => wanLinkDelayMs(`n${v}`, `n${u}`, meanMs)))
  const connDelay = delaysOf(connOf)
  const meshDelay = delaysOf(meshOf)
  const times = new Float64Array((n - 1) * messages)
  let k = 0
  let hops = 0
  let reached = 0
  let unreached = 0
  const at = new Float64Array(n)
  const hopCount = new Int32Array(n)
  const done = new Uint8Array(n)
  for (let msg = 0; msg < messages; msg++) {
    const author = Math.floor(rand() * n)
    at.fill(Infinity); done.fill(0); hopCount.fill(0)
    at[author] = 0
    // Dijkstra over: the author's first hop to every connection, then mesh relays after hopMs
    const heap = new MinHeap()
    heap.push(0, author)
    for (;;) {
      const top = heap.pop()
      if (top === undefined) break
      const u = top[1]
      if (done[u] === 1 || top[0] > at[u]) continue
      done[u] = 1
      const out = u === author ? connOf[u] : meshOf[u]
      const d = u === author ? connDelay[u] : meshDelay[u]
      const start = at[u] + (u === author ? 0 : hopMs)
      for (let k2 = 0; k2 < out.length; k2++) {
        const v = out[k2]
        const t = start + d[k2]
        if (t < at[v]) { at[v] = t; hopCount[v] = hopCount[u] + 1; heap.push(t, v) }
      }
    }
    for (let i = 0; i < n; i++) {
      if (i === author) continue
      if (at[i] === Infinity) { unreached++; continue }
      times[k++] = at[i] + hopMs
      hops += hopCount[i]
      reached++
    }
  }
  const got = times.slice(0, k).sort()
  return {
    p50Ms: Math.round(percentile(got, 0.5)),
    p99Ms: Math.round(percentile(got, 0.99)),
    maxMs: Math.round(got.length === 0 ? 0 : got[got.length - 1]),
    meanHops: reached === 0 ? 0 : Math.round(100 * hops / reached) / 100,
    unreached
  }
}

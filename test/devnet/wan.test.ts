/**
 * The wide-area model of bench:wan and bench:network --wan: fixed per-link delays in range, the
 * same on every run; gossip arrival times that grow with hops, not with nodes, and stay exact
 * on networks small enough to reason about by hand.
 */
import assert from 'node:assert/strict'
import { simulateGossip, wanLinkDelayMs, MAX_WAN_MS } from '../../src/devnet/wan.js'

describe('devnet: WAN latency model', () => {
  it('gives each directed link a fixed delay in [0.5, 1.5) × the mean, spread over that range', () => {
    const seen: number[] = []
    for (let i = 0; i < 2000; i++) {
      const d = wanLinkDelayMs(`a${i}`, `b${i}`, 100)
      assert.ok(d >= 50 && d <= 150, String(d))
      assert.equal(wanLinkDelayMs(`a${i}`, `b${i}`, 100), d, 'the same link, the same delay')
      seen.push(d)
    }
    const mean = seen.reduce((a, b) => a + b, 0) / seen.length
    assert.ok(mean > 95 && mean < 105, `mean ${mean}`)
    assert.ok(seen.filter((d) => d < 75).length > 300 && seen.filter((d) => d >= 125).length > 300, 'both tails are drawn')
    assert.equal(wanLinkDelayMs('x', 'y', 0), 0)
    assert.throws(() => wanLinkDelayMs('x', 'y', MAX_WAN_MS + 1), /from 0 to 5000 ms/)
    assert.throws(() => wanLinkDelayMs('x', 'y', -1), RangeError)
  })

  it('on a dense network: one hop of the author\'s flood, or a relay when that is faster', () => {
    const flat = simulateGossip({ nodes: 8, peers: 7, mesh: 7, meanMs: 0, hopMs: 10, messages: 20, seed: 3 })
    // no link delay: a node hears the author at once when connected to it, else one relay later
    assert.equal(flat.unreached, 0)
    assert.equal(flat.p50Ms, 10)
    assert.ok(flat.maxMs === 10 || flat.maxMs === 20, JSON.stringify(flat))
    assert.ok(flat.meanHops >= 1 && flat.meanHops < 2, JSON.stringify(flat))
    const f = simulateGossip({ nodes: 8, peers: 7, mesh: 7, meanMs: 100, hopMs: 10, messages: 20, seed: 3 })
    assert.equal(f.unreached, 0)
    assert.ok(f.meanHops >= 1 && f.meanHops < 2, JSON.stringify(f))
    assert.ok(f.p50Ms >= 60 && f.p50Ms <= 160 && f.maxMs <= 2 * (150 + 10), JSON.stringify(f))
  })

  it('with no link delay, takes exactly hops × hopMs; arrival grows with the network by hops', () => {
    const f = simulateGossip({ nodes: 500, peers: 12, mesh: 4, meanMs: 0, hopMs: 10, messages: 50, seed: 1 })
    assert.equal(f.unreached, 0)
    // first hop: the author's flood (no relay time) then the receiver's own processing
    assert.ok(f.meanHops > 1.5 && f.meanHops < 6, JSON.stringify(f))
    const small = simulateGossip({ nodes: 50, peers: 12, mesh: 4, meanMs: 100, hopMs: 5, messages: 100, seed: 1 })
    const large = simulateGossip({ nodes: 5000, peers: 12, mesh: 4, meanMs: 100, hopMs: 5, messages: 20, seed: 1 })
    assert.ok(large.meanHops > small.meanHops, `${large.meanHops} hops at 5,000 vs ${small.meanHops} at 50`)
    assert.ok(large.p99Ms > small.p99Ms && large.p99Ms < 4 * small.p99Ms, `p99 ${large.p99Ms} ms at 5,000 vs ${small.p99Ms} ms at 50: logarithmic, not linear`)
    assert.deepEqual(simulateGossip({ nodes: 50, peers: 12, mesh: 4, meanMs: 100, hopMs: 5, messages: 100, seed: 1 }), small, 'same seed, same figures')
  })

  it('refuses shapes that make no sense, saying which', () => {
    const ok = { nodes: 50, peers: 12, mesh: 4, meanMs: 100, hopMs: 5, messages: 10, seed: 1 }
    assert.throws(() => simulateGossip({ ...ok, nodes: 1 }), /nodes must be/)
    assert.throws(() => simulateGossip({ ...ok, peers: 50 }), /peers must be/)
    assert.throws(() => simulateGossip({ ...ok, mesh: 13 }), /mesh must be/)
    assert.throws(() => simulateGossip({ ...ok, messages: 0 }), /messages must be/)
  })
})

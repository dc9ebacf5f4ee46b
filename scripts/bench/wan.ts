/**
 * bench:wan — gossip over wide-area links at sizes one machine cannot hold, and the epoch
 * timing it calls for (the `epochMs`/`graceMs` of a real network's profile).
 *
 * `npm run bench:wan [-- --wan 100 --nodes 50,500,5000 --peers 12 --mesh 4 --hop-ms 5 --step-ms 500 --skew-ms 250 --json]`
 *
 * The model (src/devnet/wan.ts): a random network where every node holds `--peers` connections
 * and relays a delivery to `--mesh` of them (gossipsub's D) after `--hop-ms` of processing; the
 * author sends to all its connections (flood publish). Each directed link has a fixed one-way
 * delay in [0.5, 1.5] × `--wan` ms, the same draw bench:network `--wan` injects into real nodes:
 * run both at 50 nodes with the connection and mesh counts that bench:network printed to check
 * the model against real processes, then read the larger sizes.
 *
 * The timing, per size, from the model's p99 arrival time P:
 *  - graceMs ≥ 2P + skew: an offer published at the last instant of its epoch reaches every node
 *    before any of them matches, with room for one loss repaired by IHAVE/IWANT or sync, and for
 *    clocks `--skew-ms` apart;
 *  - epochMs ≥ grace + spread + 2 × step + P: after the grace each node waits up to its match
 *    spread (min(1 s, epoch/4)), steps the matcher (`--step-ms`, doubled for a slow node) and
 *    gossips its heartbeat and acceptances, which must arrive before the next epoch's match.
 * `--json` prints one line: { wanMs, peers, mesh, hopMs, stepMs, skewMs, sizes: [{ nodes,
 * p50Ms, p99Ms, maxMs, meanHops, unreached, graceMsMin, epochMsMin }] }.
 */
import { simulateGossip, MAX_WAN_MS } from '../../src/devnet/wan.js'

function num (name: string, def: number, max: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return def
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new Error(`--${name} needs an integer from 0 to ${max}`)
  return v
}

const json = process.argv.includes('--json')
const wanMs = num('wan', 100, MAX_WAN_MS)
const peers = num('peers', 12, 1000)
const mesh = num('mesh', 4, 1000)
const hopMs = num('hop-ms', 5, 10_000)
const stepMs = num('step-ms', 500, 600_000)
const skewMs = num('skew-ms', 250, 60_000)
const messages = num('messages', 200, 10_000)
const sizesAt = process.argv.indexOf('--nodes')
const sizes = (sizesAt < 0 ? '50,500,5000' : process.argv[sizesAt + 1] ?? '').split(',').map(Number)
if (sizes.some((n) => !Number.isSafeInteger(n) || n <= peers || n > 100_000)) throw new Error(`--nodes needs sizes above --peers (${peers}) and at most 100,000, comma-separated`)

const out = sizes.map((nodes) => {
  const f = simulateGossip({ nodes, peers, mesh, meanMs: wanMs, hopMs, messages, seed: 1 })
  const graceMsMin = 2 * f.p99Ms + skewMs
  // the spread is min(1 s, epoch / 4): at the epochs this gives, 1 s
  const epochMsMin = graceMsMin + 1000 + 2 * stepMs + f.p99Ms
  return { nodes, ...f, graceMsMin, epochMsMin }
})
if (json) process.stdout.write(`${JSON.stringify({ wanMs, peers, mesh, hopMs, stepMs, skewMs, sizes: out })}\n`)
else {
  process.stdout.write(`gossip over WAN links (mean one-way ${wanMs} ms, ${peers} connections, mesh ${mesh}, ${hopMs} ms per hop), ${messages} messages per size\n`)
  for (const s of out) {
    process.stdout.write(`  ${String(s.nodes).padStart(6)} nodes: p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms, ${s.meanHops} hops, ${s.unreached} unreached → graceMs ≥ ${s.graceMsMin}, epochMs ≥ ${s.epochMsMin} (matcher step ${stepMs} ms)\n`)
  }
}

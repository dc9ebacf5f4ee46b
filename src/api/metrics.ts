/**
 * `/metrics` on prom-client. One registry per node holds three sets: libp2p's own metrics
 * (@libp2p/prometheus-metrics, given to createLibp2p as its `metrics`), gossipsub's (its
 * `metricsRegister`, adapted below as Lodestar does) and the node's own `lilynode_*` families,
 * read from the node at each scrape. `EpochWatch` follows the node's epoch events to count
 * offers per epoch and whether this node's state root agreed with its peers' heartbeats.
 */
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Metrics } from '@libp2p/interface'
import { Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration } from 'prom-client'
import type { Hash } from '../protocol/index.js'
import type { EpochEvent, LilyNode } from '../node/index.js'
import type { GossipMetricsRegister } from '../p2p/index.js'

// ---------------------------------------------------------------- the node's registry

/** What a node is started with to be observable: libp2p's and gossipsub's metrics land in `registry`. */
export interface NodeMetrics {
  readonly registry: Registry
  /** createLibp2p's `metrics` option. */
  readonly libp2p: (components: Parameters<ReturnType<typeof prometheusMetrics>>[0]) => Metrics
  /** gossipsub's `metricsRegister`. */
  readonly gossipsub: GossipMetricsRegister
}

/**
 * A registry for one node. @libp2p/prometheus-metrics keeps its metric objects in a
 * module-wide map, so one process should run one observed node (as `lilynode creator --api`
 * does); `preserveExistingMetrics` keeps it from clearing prom-client's global registry.
 */
export function createNodeMetrics (): NodeMetrics {
  const registry = new Registry()
  return {
    registry,
    libp2p: prometheusMetrics({ registry, preserveExistingMetrics: true }),
    gossipsub: gossipRegister(registry)
  }
}

/** gossipsub's MetricsRegister on prom-client (its gauges take collect callbacks; avg/min/max are three gauges). */
function gossipRegister (registry: Registry): GossipMetricsRegister {
  const gauge = (config: { name: string, help: string, labelNames?: readonly string[] }): Gauge & { addCollect: (fn: (g: Gauge) => void) => void } => {
    const collects: Array<(g: Gauge) => void> = []
    const g = new Gauge({
      name: config.name,
      help: config.help,
      labelNames: [...(config.labelNames ?? [])],
      registers: [registry],
      collect () { for (const fn of collects) fn(this) }
    })
    return Object.assign(g, { addCollect: (fn: (x: Gauge) => void) => { collects.push(fn) } })
  }
  const register = {
    gauge,
    histogram: (config: { name: string, help: string, labelNames?: readonly string[], buckets?: number[] }) => new Histogram({
      name: config.name,
      help: config.help,
      labelNames: [...(config.labelNames ?? [])],
      ...(config.buckets !== undefined ? { buckets: config.buckets } : {}),
      registers: [registry]
    }),
    avgMinMax: (config: { name: string, help: string, labelNames?: readonly string[] }) => {
      const [avg, min, max] = (['avg', 'min', 'max'] as const).map((s) => gauge({ ...config, name: `${config.name}_${s}`, help: `${config.help} (${s})` }))
      const set = (values: number[], labels: Record<string, string | number> = {}): void => {
        if (values.length === 0) return
        avg.set(labels, values.reduce((a, b) => a + b, 0) / values.length)
        min.set(labels, Math.min(...values))
        max.set(labels, Math.max(...values))
      }
      return {
        set: (a: Record<string, string | number> | number[], b?: number[]) => { if (Array.isArray(a)) set(a); else set(b ?? [], a) }
      }
    }
  }
  // the prom-client objects have the shapes gossipsub's generic interfaces describe
  return register as unknown as GossipMetricsRegister
}

// ---------------------------------------------------------------- epochs

export type Convergence = 'agree' | 'disagree' | 'alone'

/** Follows a LilyNode's epochs; `stop()` removes its listeners. */
export class EpochWatch {
  epochsMatched = 0
  offersTotal = 0
  matchesTotal = 0
  lastOffers = 0
  readonly convergence: Record<Convergence, number> = { agree: 0, disagree: 0, alone: 0 }
  /** For the last judged epoch: share of the roots seen (peers' heartbeats and ours) on the majority root, and whether ours is it. */
  lastMajorityShare: number | undefined
  lastInMajority: boolean | undefined
  readonly resyncs = new Map<string, number>()
  private readonly onEpoch = (e: EpochEvent): void => { this.epoch(e) }
  private readonly onResync = (e: { how: string }): void => { this.resyncs.set(e.how, (this.resyncs.get(e.how) ?? 0) + 1) }

  constructor (private readonly node: LilyNode) {
    node.on('epoch', this.onEpoch)
    node.on('resync', this.onResync)
  }

  private epoch (e: EpochEvent): void {
    void this.judge(e).catch(() => {})
  }

  private async judge (e: EpochEvent): Promise<void> {
    this.epochsMatched++
    this.offersTotal += e.offers
    this.matchesTotal += e.matches
    this.lastOffers = e.offers
    // heartbeats of the previous epoch are in by now (each node gossips right after matching)
    const prev = e.epoch - 1n
    const mine: Hash | undefined = this.node.roots.get(prev)
    if (mine === undefined) return
    const maj = await this.node.majorityRoot(prev)
    if (maj === undefined || maj.voters <= 1) { this.convergence.alone++; return }
    this.convergence[maj.root === mine ? 'agree' : 'disagree']++
    this.lastMajorityShare = maj.count / maj.voters
    this.lastInMajority = maj.root === mine
  }

  stop (): void {
    this.node.off('epoch', this.onEpoch)
    this.node.off('resync', this.onResync)
  }
}

// ---------------------------------------------------------------- the node's own families

/** What one scrape reads from the node (once, however many families use it). */
export interface NodeSnapshot {
  peers: number
  offers: { job: number, resource: number }
  currentEpoch: bigint
  headEpoch: bigint | undefined
  participating: boolean
  deals: Array<{ role: string, state: string, count: number }>
  jobs: Record<string, number>
  gas: { gas: bigint, txs: number }
  gossip: Array<{ topic: string, action: string, code: string, count: number }>
  gossipBytes: { in: number, out: number }
  chain: { reachable: boolean, headBlock: bigint | null }
  sseClients: number
}

type Labels = Record<string, string>
type Sample = [Labels, number]

/** Gauges and counters whose values are read from the snapshot at scrape time. */
interface Family { name: string, type: 'gauge' | 'counter', help: string, labelNames?: string[], samples: (s: NodeSnapshot, e: EpochWatch) => Sample[] }

const one = (v: number | bigint): Sample[] => [[{}, Number(v)]]

const FAMILIES: Family[] = [
  { name: 'lilynode_peers', type: 'gauge', help: 'Connected libp2p peers.', samples: (s) => one(s.peers) },
  { name: 'lilynode_offers', type: 'gauge', help: 'Offers in the node\'s pool, by kind.', labelNames: ['kind'], samples: (s) => [[{ kind: 'job' }, s.offers.job], [{ kind: 'resource' }, s.offers.resource]] },
  { name: 'lilynode_epoch_current', type: 'gauge', help: 'The epoch of the clock.', samples: (s) => one(s.currentEpoch) },
  { name: 'lilynode_epoch_head', type: 'gauge', help: 'The last epoch this node matched (-1 before the first).', samples: (s) => one(s.headEpoch ?? -1n) },
  { name: 'lilynode_epoch_participating', type: 'gauge', help: '1 once the node takes part in matching.', samples: (s) => one(s.participating ? 1 : 0) },
  { name: 'lilynode_epoch_offers', type: 'gauge', help: 'Offers in the input of the last epoch this node matched.', samples: (_s, e) => one(e.lastOffers) },
  { name: 'lilynode_epochs_matched_total', type: 'counter', help: 'Epochs this node matched since the API started.', samples: (_s, e) => one(e.epochsMatched) },
  { name: 'lilynode_epoch_offers_total', type: 'counter', help: 'Sum of the offers in the inputs of the epochs matched (divide by lilynode_epochs_matched_total for offers per epoch).', samples: (_s, e) => one(e.offersTotal) },
  { name: 'lilynode_epoch_matches_total', type: 'counter', help: 'Deals derived by the matcher in the epochs matched.', samples: (_s, e) => one(e.matchesTotal) },
  { name: 'lilynode_epoch_convergence_total', type: 'counter', help: 'Epochs judged against the peers\' heartbeats: own state root on the majority root (agree), not (disagree), or no peer root seen (alone).', labelNames: ['result'], samples: (_s, e) => (['agree', 'disagree', 'alone'] as const).map((r) => [{ result: r }, e.convergence[r]]) },
  { name: 'lilynode_epoch_majority_share', type: 'gauge', help: 'For the last judged epoch: share of the state roots seen that are the majority root (NaN before the first).', samples: (_s, e) => one(e.lastMajorityShare ?? NaN) },
  { name: 'lilynode_epoch_in_majority', type: 'gauge', help: 'For the last judged epoch: 1 if this node\'s state root is the majority root (NaN before the first).', samples: (_s, e) => one(e.lastInMajority === undefined ? NaN : e.lastInMajority ? 1 : 0) },
  { name: 'lilynode_resyncs_total', type: 'counter', help: 'Times the node adopted its peers\' state, by how.', labelNames: ['how'], samples: (_s, e) => [...e.resyncs].map(([how, n]) => [{ how }, n]) },
  { name: 'lilynode_deals', type: 'gauge', help: 'Deals in the node\'s deal store, by role and state.', labelNames: ['role', 'state'], samples: (s) => s.deals.map((d) => [{ role: d.role, state: d.state }, d.count]) },
  { name: 'lilynode_jobs', type: 'gauge', help: 'Jobs started through this API, by outcome (running until settled).', labelNames: ['outcome'], samples: (s) => Object.entries(s.jobs).map(([outcome, n]) => [{ outcome }, n]) },
  { name: 'lilynode_gas_used_total', type: 'counter', help: 'Gas used by the transactions this node sent that the API knows of.', samples: (s) => one(s.gas.gas) },
  { name: 'lilynode_transactions_total', type: 'counter', help: 'Transactions this node sent that the API knows of.', samples: (s) => one(s.gas.txs) },
  { name: 'lilynode_gossip_messages_total', type: 'counter', help: 'Gossip messages validated, by topic, action and code.', labelNames: ['topic', 'action', 'code'], samples: (s) => s.gossip.map((g) => [{ topic: g.topic, action: g.action, code: g.code }, g.count]) },
  { name: 'lilynode_gossip_bytes_total', type: 'counter', help: 'Gossip payload bytes, received (every copy) and sent (per recipient).', labelNames: ['direction'], samples: (s) => [[{ direction: 'in' }, s.gossipBytes.in], [{ direction: 'out' }, s.gossipBytes.out]] },
  { name: 'lilynode_chain_reachable', type: 'gauge', help: '1 when the chain RPC answered this scrape.', samples: (s) => one(s.chain.reachable ? 1 : 0) },
  { name: 'lilynode_chain_head_block', type: 'gauge', help: 'Latest block number the RPC reported (NaN when it did not answer).', samples: (s) => one(s.chain.headBlock ?? NaN) },
  { name: 'lilynode_api_sse_clients', type: 'gauge', help: 'Open server-sent-event streams.', samples: (s) => one(s.sseClients) }
]

/**
 * Registers the `lilynode_*` families in `registry`, each filled at scrape time from one
 * snapshot per scrape (prom-client runs every family's collect in the same tick); returns
 * the function that removes them again (an API that stops leaves the node's registry clean).
 */
export function registerNodeFamilies (registry: Registry, snapshot: () => Promise<NodeSnapshot>, epochs: EpochWatch): () => void {
  let scrape: Promise<NodeSnapshot> | undefined
  const current = async (): Promise<NodeSnapshot> => {
    // every collect of a scrape starts in the same synchronous pass, before this settles
    scrape ??= snapshot().finally(() => { scrape = undefined })
    return await scrape
  }
  for (const f of FAMILIES) {
    const base = { name: f.name, help: f.help, labelNames: f.labelNames ?? [], registers: [registry] }
    if (f.type === 'gauge') {
      const config: GaugeConfiguration<string> = {
        ...base,
        async collect () {
          const samples = f.samples(await current(), epochs)
          this.reset()
          for (const [labels, v] of samples) this.set(labels, v)
        }
      }
      // eslint-disable-next-line no-new
      new Gauge(config)
    } else {
      const config: CounterConfiguration<string> = {
        ...base,
        // a counter read from the node's own totals: set by reset + inc (prom-client counters have no set)
        async collect () {
          const samples = f.samples(await current(), epochs)
          this.reset()
          for (const [labels, v] of samples) this.inc(labels, v)
        }
      }
      // eslint-disable-next-line no-new
      new Counter(config)
    }
  }
  return () => { for (const f of FAMILIES) registry.removeSingleMetric(f.name) }
}

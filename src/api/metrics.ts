/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4), written by hand: one
 * family per metric with its HELP and TYPE lines, label values escaped. `EpochWatch` follows
 * the node's epoch events to count offers per epoch and whether this node's state root agreed
 * with its peers' heartbeats (epoch convergence).
 */
import type { Hash } from '../protocol/types.js'
import type { EpochEvent, LilyNode } from '../node/network.js'

export type MetricType = 'counter' | 'gauge'

export interface Sample { labels?: Record<string, string>, value: number | bigint }

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function escapeLabel (v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function formatValue (v: number | bigint): string {
  if (typeof v === 'bigint') return v.toString()
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

/** Builds one exposition; each family is written once, with its samples. */
export class Exposition {
  private readonly out: string[] = []
  private readonly names = new Set<string>()

  family (name: string, type: MetricType, help: string, samples: Sample[]): this {
    if (!NAME_RE.test(name) || this.names.has(name)) throw new Error(`bad or repeated metric name ${name}`)
    this.names.add(name)
    this.out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`)
    for (const s of samples) {
      const labels = Object.entries(s.labels ?? {})
      for (const [k] of labels) if (!LABEL_RE.test(k)) throw new Error(`bad label name ${k}`)
      const l = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
      this.out.push(`${name}${l} ${formatValue(s.value)}`)
    }
    return this
  }

  text (): string {
    return `${this.out.join('\n')}\n`
  }
}

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
    this.epochsMatched++
    this.offersTotal += e.offers
    this.matchesTotal += e.matches
    this.lastOffers = e.offers
    // heartbeats of the previous epoch are in by now (each node gossips right after matching)
    const prev = e.epoch - 1n
    const mine: Hash | undefined = this.node.roots.get(prev)
    if (mine === undefined) return
    const maj = this.node.majorityRoot(prev)
    if (maj === undefined || maj.total <= 1) { this.convergence.alone++; return }
    this.convergence[maj.root === mine ? 'agree' : 'disagree']++
    this.lastMajorityShare = maj.count / maj.total
    this.lastInMajority = maj.root === mine
  }

  stop (): void {
    this.node.off('epoch', this.onEpoch)
    this.node.off('resync', this.onResync)
  }
}

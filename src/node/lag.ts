/**
 * Lag: how far a node's epoch loop runs behind the epoch clock, and what it does about it.
 *
 * A node falls behind when it does not get the CPU (its provider's jobs, other load, a paused
 * VM or process, a slow disk). Without care it then replays every epoch it missed one after the
 * other, gossips heartbeats nobody accepts any more, and signs acceptances of deals whose
 * `openBy` has passed or will pass before the counterparty can open them (a deal that can
 * never open, a job re-offered; seen on a loaded devnet: an acceptance signed 2.4 s after
 * `openBy`). The `LagMonitor` gives the epoch loop (network.ts) three answers:
 *
 *  - `lagMs()`: the lag the node measures. Every time the loop wakes for something scheduled at
 *    `at` it records how late it woke (`woke`); the measured lag is the 90th percentile of the
 *    last LAG_SAMPLES wake-ups (one long pause is a single sample: it does not make the node
 *    refuse work for long after it resumed; a node that keeps waking late does);
 *  - `shouldSkip(next, lastClosed)`: whether the loop is so far behind (at least
 *    `skipAfterEpochs` closed epochs not matched yet) that it skips to the network's current
 *    state through a snapshot checked against several peers' roots (SyncService.catchUp with a
 *    lower bound, never backwards) instead of replaying the stale epochs. At most one attempt
 *    per SKIP_RETRY_EPOCHS epochs (asking peers for their heads costs them something); when no
 *    snapshot can be had (no peer is ahead: the whole network is behind) the loop replays;
 *  - `canDeliver(openBy)`: whether an acceptance signed now can reach the counterparty and the
 *    deal still be opened before `openBy`: `now + lagMs() + deliveryMarginMs ≤ openBy`. The
 *    delivery margin (default min(epochMs, 1000) ms) covers gossip to the counterparty and its
 *    `openDeal`; the measured lag covers this node's own slowness. A deal that fails it is
 *    never signed (it stays a stored match; the matcher releases its offers at `openBy`);
 *  - `heartbeatFresh(epoch, lastClosed)`: whether a heartbeat of `epoch` is still of use to
 *    peers (at most one epoch older than the last closed one); a replayed epoch's is withheld.
 */
import type { Profile } from '../protocol/index.js'

/** Wake-ups the measured lag is taken over. */
export const LAG_SAMPLES = 16
/** Epochs between two skip attempts that found nothing to adopt. */
export const SKIP_RETRY_EPOCHS = 4n
/** Default of LagOptions.skipAfterEpochs. */
export const DEFAULT_SKIP_AFTER_EPOCHS = 3

export interface LagOptions {
  /** Closed, unmatched epochs at which the loop skips through a snapshot (default DEFAULT_SKIP_AFTER_EPOCHS; ≥ 2). */
  skipAfterEpochs?: number
  /** Time an acceptance needs to reach the counterparty and the deal to open (default min(epochMs, 1000) ms). */
  deliveryMarginMs?: number
}

export interface LagStats {
  /** Measured lag now (see lagMs). */
  lagMs: number
  /** Largest single wake-up lateness seen. */
  maxLateMs: number
  /** Skips to a checked snapshot. */
  skips: number
  /** Skip attempts that found no snapshot to adopt (the loop replayed instead). */
  skipMisses: number
  /** Acceptances not signed because they could not be delivered before openBy. */
  lateRefusals: number
  /** Heartbeats of replayed (stale) epochs not gossiped. */
  staleHeartbeats: number
}

export class LagMonitor {
  private readonly late: number[] = []
  private readonly skipAfter: bigint
  readonly deliveryMarginMs: number
  private lastAttempt?: bigint
  readonly stats: Omit<LagStats, 'lagMs'> = { maxLateMs: 0, skips: 0, skipMisses: 0, lateRefusals: 0, staleHeartbeats: 0 }

  constructor (profile: Pick<Profile, 'epochMs'>, opts: LagOptions = {}) {
    const skip = opts.skipAfterEpochs ?? DEFAULT_SKIP_AFTER_EPOCHS
    if (!Number.isSafeInteger(skip) || skip < 2 || skip > 1000) throw new RangeError(`skipAfterEpochs must be an integer in [2, 1000], got ${String(skip)}`)
    const margin = opts.deliveryMarginMs ?? Math.min(profile.epochMs, 1000)
    if (!Number.isFinite(margin) || margin < 0 || margin > 3_600_000) throw new RangeError(`deliveryMarginMs must be in [0, 3600000] ms, got ${String(margin)}`)
    this.skipAfter = BigInt(skip)
    this.deliveryMarginMs = margin
  }

  /** Records that the loop woke at `now` for something scheduled at `at`; returns how late it was. */
  woke (at: number, now = Date.now()): number {
    const late = Number.isFinite(at) ? Math.max(0, now - at) : 0
    this.late.push(late)
    if (this.late.length > LAG_SAMPLES) this.late.shift()
    if (late > this.stats.maxLateMs) this.stats.maxLateMs = late
    return late
  }

  /** The measured lag: 90th percentile of the last LAG_SAMPLES wake-ups' lateness (0 before any). */
  lagMs (): number {
    if (this.late.length === 0) return 0
    const s = [...this.late].sort((a, b) => a - b)
    return s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)]
  }

  /**
   * Whether to try skipping ahead: at least `skipAfterEpochs` closed epochs are not matched yet
   * (next ≤ lastClosed − skipAfter + 1), and no attempt was made in the last SKIP_RETRY_EPOCHS.
   */
  shouldSkip (next: bigint, lastClosed: bigint): boolean {
    if (lastClosed - next + 1n < this.skipAfter) return false
    if (this.lastAttempt !== undefined && lastClosed < this.lastAttempt + SKIP_RETRY_EPOCHS) return false
    this.lastAttempt = lastClosed
    return true
  }

  /** Records the outcome of a skip attempt; one that could ask nobody (no peer connected yet) may be retried at once. */
  skipped (adopted: boolean, askedPeers = true): void {
    if (adopted) this.stats.skips++
    else this.stats.skipMisses++
    if (!askedPeers) this.lastAttempt = undefined
  }

  /** Whether an acceptance of a deal with `openByS` (unix seconds) signed at `now` can be delivered in time. */
  canDeliver (openByS: bigint, now = Date.now()): boolean {
    const ok = BigInt(Math.ceil(now + this.lagMs() + this.deliveryMarginMs)) <= openByS * 1000n
    if (!ok) this.stats.lateRefusals++
    return ok
  }

  /** Whether a heartbeat of `epoch` still serves peers (it is not a replayed, stale epoch). */
  heartbeatFresh (epoch: bigint, lastClosed: bigint): boolean {
    const fresh = epoch + 1n >= lastClosed
    if (!fresh) this.stats.staleHeartbeats++
    return fresh
  }

  snapshot (): LagStats { return { lagMs: this.lagMs(), ...this.stats } }
}

/**
 * Writes one job's record as its run goes: the creator role hands every CreatorEvent to
 * `event` and the settled deal (or the error) to `finish`. Writes go in order, in the
 * background; a failed write is logged and the job goes on.
 */
import type { Hash } from '../../protocol/index.js'
import type { Logger } from '../../protocol/index.js'
import type { CreatorEvent } from '../roles/creator.js'
import type { DealRecord } from '../roles/deals.js'
import { JobRecords, type JobFailure, type JobRecord, type JobRecordState } from './records.js'

/** The job's state from its settled deal. */
export function jobStateOf (r: DealRecord): JobRecordState {
  switch (r.state) {
    case 'completed':
    case 'claimed':
      return 'paid'
    case 'timed-out':
      return 'refunded'
    case 'resolved':
      return 'resolved'
    default:
      return 'failed'
  }
}

export class JobTracker {
  private chain: Promise<unknown> = Promise.resolve()

  constructor (
    private readonly records: JobRecords,
    readonly id: string,
    private readonly log: Logger,
    private readonly gasOf?: (tx: Hash) => Promise<bigint | undefined>
  ) {}

  private queue (f: () => Promise<unknown>): void {
    this.chain = this.chain.then(f).catch((e: unknown) => {
      this.log.warn('could not write the job record', { id: this.id, error: e instanceof Error ? e.message : String(e) })
    })
  }

  /** Records one stage. */
  event (e: CreatorEvent): void {
    this.queue(async () => {
      const gasUsed = e.tx !== undefined && this.gasOf !== undefined ? await this.gasOf(e.tx).catch(() => undefined) : undefined
      await this.records.addStage(this.id, {
        stage: e.stage,
        at: e.at,
        elapsedMs: e.elapsedMs,
        ...(e.dealId !== undefined ? { dealId: e.dealId } : {}),
        ...(e.jobOfferHash !== undefined ? { jobOfferHash: e.jobOfferHash } : {}),
        ...(e.provider !== undefined ? { provider: e.provider } : {}),
        ...(e.price !== undefined ? { price: e.price } : {}),
        ...(e.tx !== undefined ? { tx: e.tx } : {}),
        ...(gasUsed !== undefined ? { gasUsed } : {}),
        ...(e.resultHash !== undefined ? { resultHash: e.resultHash } : {}),
        ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
        ...(e.message !== undefined ? { message: e.message } : {})
      })
    })
  }

  /** Notes a failure reason (the provider's typed outcome, or the creator's own). */
  fail (failure: JobFailure): void {
    this.queue(async () => await this.records.update(this.id, (r) => { r.failure = failure }))
  }

  /** The job ended: its settled deal, or the error that stopped it (`cancelled` when aborted). */
  finish (end: { record: DealRecord, exitCode?: number | null, failure?: JobFailure } | { error: { code?: string, message: string }, cancelled: boolean }): void {
    this.queue(async () => {
      // the settle transaction is recorded on the deal, not always as a stage's tx
      const settleGas = 'record' in end && end.record.settleTx !== undefined && this.gasOf !== undefined ? await this.gasOf(end.record.settleTx).catch(() => undefined) : undefined
      await this.records.update(this.id, (r: JobRecord) => {
        if ('record' in end) {
          const d = end.record
          r.state = jobStateOf(d)
          if (!r.dealIds.includes(d.dealId)) r.dealIds.push(d.dealId)
          r.provider = d.deal.provider
          r.price = d.deal.price
          if (d.resultHash !== undefined) r.resultHash = d.resultHash
          if (end.exitCode !== undefined) r.exitCode = end.exitCode
          if (end.failure !== undefined) r.failure = end.failure
          if (settleGas !== undefined && !r.stages.some((s) => s.tx === d.settleTx)) r.gasUsed += settleGas
          if (d.settleTx !== undefined && !r.stages.some((s) => s.tx === d.settleTx)) {
            r.stages.push({ stage: 'settle-tx', at: d.updatedAt, elapsedMs: d.updatedAt - r.createdAt, dealId: d.dealId, tx: d.settleTx, ...(settleGas !== undefined ? { gasUsed: settleGas } : {}), message: `chain: ${d.state}` })
          }
          if (r.state === 'failed' && r.failure === undefined) r.failure = { code: 'CREATOR_FAILED', message: d.error ?? `the deal ended ${d.state}`, dealId: d.dealId, at: Date.now() }
        } else {
          r.state = end.cancelled ? 'cancelled' : 'failed'
          r.failure ??= { code: end.error.code ?? 'CREATOR_FAILED', message: end.error.message, at: Date.now() }
        }
      })
    })
  }

  /** Waits for the queued writes. */
  async flush (): Promise<void> {
    await this.chain
  }
}

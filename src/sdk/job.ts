/**
 * One job started by `LilyClient.run`: an AsyncIterable of its events (each iterator sees
 * every event from the first, so iterating late loses nothing) and `result`, the final
 * JobResult. A failed job ends every iterator with the error and rejects `result` with it.
 */
import type { JobEvent, JobResult } from './events.js'

export class LilyJob implements AsyncIterable<JobEvent> {
  /** The final result; rejects with a LilyError (or the abort reason) when the job fails. */
  readonly result: Promise<JobResult>
  private readonly seen: JobEvent[] = []
  private done = false
  private error: unknown
  private waiters: Array<() => void> = []

  /** `work` receives the emitter for events; what it resolves is the result. */
  constructor (work: (emit: (e: JobEvent) => void) => Promise<JobResult>) {
    this.result = work((e) => { this.push(e) }).then(
      (r) => { this.finish(undefined); return r },
      (e: unknown) => { this.finish(e); throw e }
    )
    // the result is there to await, not required: a caller that only iterates sees the error there
    this.result.catch(() => undefined)
  }

  /** Events so far, in order. */
  get events (): readonly JobEvent[] { return this.seen }

  private push (e: JobEvent): void {
    if (this.done) return
    this.seen.push(e)
    this.wake()
  }

  private finish (error: unknown): void {
    this.done = true
    this.error = error
    this.wake()
  }

  private wake (): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<JobEvent> {
    let i = 0
    for (;;) {
      while (i < this.seen.length) yield this.seen[i++]
      if (this.done) {
        if (this.error !== undefined) throw this.error
        return
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }
}

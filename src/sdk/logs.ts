/**
 * A job's stdout and stderr as an async iterable (`LilyClient.logs`): from the result stored in
 * the data dir once the job has one, else streamed from the deal's provider over libp2p (which
 * sends them to the deal's creator only), live while the job runs with `follow`.
 *
 *   for await (const c of client.logs(jobId, { follow: true })) process[c.stream].write(c.data)
 *
 * Refusals are LogsRefusal (a LilyError): LOGS_UNKNOWN_JOB, LOGS_NO_PROVIDER, and the
 * provider's LOGS_FORBIDDEN, LOGS_UNAVAILABLE, LOGS_BUSY — thrown by the first `next()`.
 */
import type { JobLogs } from '../node/index.js'
import type { Hash } from '../protocol/index.js'
import type { LogChunk } from '../p2p/index.js'

export { LogsRefusal, type LogChunk, type LogStreamName, type LogsCode } from '../p2p/index.js'

export interface LogsOptions {
  /** Keep reading until the job ends (default: the logs as they stand now). */
  follow?: boolean
  /** Aborting it stops reading. */
  signal?: AbortSignal
}

/** The logs of one job: iterate it once. */
export class LilyLogs implements AsyncIterable<LogChunk> {
  /** The deal whose logs they are, once opened. */
  dealId: Hash | undefined
  /** Where they came from, once opened: the data dir's stored result, or the provider. */
  from: 'local' | 'provider' | undefined
  /** Once read to the end: why the stream was cut short (a bound, the provider stopping), if it was. */
  why: string | undefined
  private used = false

  constructor (private readonly open: () => Promise<JobLogs>) {}

  async * [Symbol.asyncIterator] (): AsyncGenerator<LogChunk> {
    if (this.used) throw new TypeError('a LilyLogs is read once; call logs() again')
    this.used = true
    const logs = await this.open()
    this.dealId = logs.dealId
    this.from = logs.from
    yield * logs.chunks
    this.why = logs.ended.why
  }
}

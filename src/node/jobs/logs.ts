/**
 * A job's stdout and stderr, live while it runs, for its parties only (DESIGN: the `logs`
 * protocol, src/p2p/reqresp/logs.ts).
 *
 * Provider side, `providerLogSource`: a deal's logs go to that deal's creator only (the remote
 * peer's address must be `deal.creator`; anyone else gets LOGS_FORBIDDEN). While the job's
 * container runs they come live from the executor (`follow`: until the job exits); once it has
 * exited, from the stored result bundle, for as long as the provider keeps it. A follower that
 * asks before the job started waits for it (bounded by the deal's timeout).
 *
 * Creator side, `openJobLogs`: a job id, deal id or job offer hash of this data dir → its last
 * deal → the stored bundle when this node has the result, else the provider's stream.
 */
import type { PeerId } from '@libp2p/interface'
import { decodeBundle } from '../../executor/index.js'
import type { Hash } from '../../protocol/index.js'
import { LogsRefusal, openLogs, peerIdFromSignature, type LogChunk, type LogEnd, type LogSource } from '../../p2p/index.js'
import { TERMINAL_STATES, type DealRecord, type DealState, type DealStore } from '../roles/deals.js'
import type { ExecutorPort, NetworkPort } from '../roles/ports.js'
import type { JobRecord, JobRecords } from './records.js'

/** States a provider's deal is in before its job has run (a follower waits). */
const BEFORE_RUN: ReadonlySet<DealState> = new Set<DealState>(['matched', 'agreed', 'opening', 'opened', 'fetching', 'running', 'challenged', 'drawn'])

/** The chunks of a stored result bundle: its stdout, then its stderr. */
export function bundleLogChunks (bundle: Uint8Array): LogChunk[] {
  const b = decodeBundle(bundle)
  const out: LogChunk[] = []
  if (b.stdout.length > 0) out.push({ stream: 'stdout', data: b.stdout })
  if (b.stderr.length > 0) out.push({ stream: 'stderr', data: b.stderr })
  return out
}

async function * each (chunks: LogChunk[]): AsyncGenerator<LogChunk> {
  yield * chunks
}

async function abortableSleep (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
  signal.throwIfAborted()
}

export interface ProviderLogSourceOptions {
  store: Pick<DealStore, 'get' | 'getBlob'>
  executor: Pick<ExecutorPort, 'liveLogs'>
  /** How often a follower waiting for the job to start looks again (default 500 ms). */
  pollMs?: number
  /** A follower waits for the job at most the deal's timeout plus this (default 60 s). */
  graceMs?: number
}

/** The provider's LogSource: its deals' logs, to each deal's creator only. */
export function providerLogSource (o: ProviderLogSourceOptions): LogSource {
  const pollMs = o.pollMs ?? 500
  const graceMs = o.graceMs ?? 60_000
  const now = async (r: DealRecord, follow: boolean, signal: AbortSignal): Promise<AsyncIterable<LogChunk> | undefined> => {
    const live = await o.executor.liveLogs?.(r.dealId, follow, signal).catch(() => undefined)
    if (live !== undefined) return live
    const bundle = await o.store.getBlob(r.dealId, 'bundle')
    if (bundle === undefined) return undefined
    try {
      return each(bundleLogChunks(bundle))
    } catch {
      return undefined
    }
  }
  return async (dealId, remote, follow, signal) => {
    const r = await o.store.get(dealId)
    if (r === undefined || r.role !== 'provider') throw new LogsRefusal('LOGS_UNKNOWN_DEAL', `deal ${dealId} is not a deal of this provider`)
    if (remote.toLowerCase() !== r.deal.creator.toLowerCase()) throw new LogsRefusal('LOGS_FORBIDDEN', `only deal ${dealId.slice(0, 10)}…'s creator may read its logs`)
    const first = await now(r, follow, signal)
    if (first !== undefined) return first
    // nothing to show yet: a job about to start (or between its container and its stored bundle)
    const waitable = (x: DealRecord): boolean => BEFORE_RUN.has(x.state) && !TERMINAL_STATES.has(x.state)
    if (!waitable(r)) throw new LogsRefusal('LOGS_UNAVAILABLE', `deal ${dealId.slice(0, 10)}… has no logs here (state ${r.state}: its job never ran here, or its result is no longer kept)`)
    const deadline = Date.now() + (follow ? Number(r.deal.timeout) * 1000 + graceMs : Math.min(3000, graceMs))
    const waitFor = async (): Promise<AsyncIterable<LogChunk> | undefined> => {
      while (Date.now() < deadline) {
        await abortableSleep(pollMs, signal)
        const x = await o.store.get(dealId)
        if (x === undefined) return undefined
        const got = await now(x, follow, signal)
        if (got !== undefined) return got
        if (!waitable(x)) return undefined
      }
      return undefined
    }
    if (!follow) {
      const got = await waitFor()
      if (got === undefined) throw new LogsRefusal('LOGS_UNAVAILABLE', `the job of deal ${dealId.slice(0, 10)}… has not started here yet (state ${r.state}); follow to wait for it`)
      return got
    }
    return (async function * () {
      const got = await waitFor()
      if (got !== undefined) yield * got
    })()
  }
}

/** What `openJobLogs` opened: the deal whose logs they are, where they come from, the chunks. */
export interface JobLogs {
  dealId: Hash
  /** 'local': the result bundle stored in this data dir; 'provider': streamed from the deal's provider. */
  from: 'local' | 'provider'
  chunks: AsyncIterable<LogChunk>
  /** Once the chunks are read: `why` when the stream was cut short. */
  ended: LogEnd
}

export interface JobLogsDeps {
  records: Pick<JobRecords, 'find'>
  deals: Pick<DealStore, 'get' | 'getBlob'>
  net: Pick<NetworkPort, 'libp2p' | 'profile' | 'hasher' | 'peerOf'>
  /** How often a follower of a job not yet matched looks for its deal (default 500 ms). */
  pollMs?: number
  /** Longest a follower waits for the job's first deal (default 10 min). */
  matchWaitMs?: number
}

/** The provider's peer of a creator's deal (from its signature over the deal, else the node's peer book). */
export function providerPeer (net: JobLogsDeps['net'], d: DealRecord): PeerId | undefined {
  if (d.sigProvider !== undefined) {
    try { return peerIdFromSignature(net.hasher.digestBytes('Deal', d.deal), d.sigProvider) } catch {}
  }
  return net.peerOf(d.deal.provider)
}

async function creatorDeal (deps: JobLogsDeps, ref: string, follow: boolean, signal: AbortSignal): Promise<DealRecord> {
  const key = ref.trim()
  let job: JobRecord | undefined = await deps.records.find(key)
  if (job === undefined) {
    if (/^0x[0-9a-fA-F]{64}$/.test(key)) {
      const d = await deps.deals.get(key.toLowerCase() as Hash)
      if (d !== undefined && d.role === 'creator') return d
      if (d !== undefined) throw new LogsRefusal('LOGS_NO_PROVIDER', `deal ${key.slice(0, 10)}… is this node's own ${d.role} deal, not one it created: its logs are read by its creator`)
    }
    throw new LogsRefusal('LOGS_UNKNOWN_JOB', `no job or deal ${JSON.stringify(key.slice(0, 80))} in this data dir; \`lilynode jobs\` lists its jobs (a job id job-…, a deal id or a job offer hash)`)
  }
  const deadline = Date.now() + (deps.matchWaitMs ?? 600_000)
  for (;;) {
    for (const id of [...job.dealIds].reverse()) {
      const d = await deps.deals.get(id)
      if (d !== undefined && d.role === 'creator') return d
    }
    if (!follow || job.state !== 'running' || Date.now() >= deadline) {
      throw new LogsRefusal('LOGS_UNAVAILABLE', `job ${job.id} has no deal${job.state === 'running' ? ' yet (it waits for a provider); follow to wait for it' : ` (it ended ${job.state} before a provider took it)`}`)
    }
    await abortableSleep(deps.pollMs ?? 500, signal)
    const again = await deps.records.find(job.id)
    if (again === undefined) throw new LogsRefusal('LOGS_UNKNOWN_JOB', `job ${job.id} is no longer in this data dir`)
    job = again
  }
}

/**
 * Opens a job's logs (by job id, deal id or job offer hash): resolves once they can be read —
 * from the result stored here, else from the deal's provider — or throws LogsRefusal
 * (LOGS_UNKNOWN_JOB, LOGS_NO_PROVIDER, and the provider's LOGS_FORBIDDEN, LOGS_UNAVAILABLE, LOGS_BUSY).
 */
export async function openJobLogs (deps: JobLogsDeps, ref: string, o: { follow: boolean, signal?: AbortSignal }): Promise<JobLogs> {
  const signal = o.signal ?? new AbortController().signal
  const d = await creatorDeal(deps, ref, o.follow, signal)
  const bundle = await deps.deals.getBlob(d.dealId, 'bundle')
  if (bundle !== undefined) {
    const chunks = each(bundleLogChunks(bundle))
    return { dealId: d.dealId, from: 'local', chunks, ended: {} }
  }
  const peer = providerPeer(deps.net, d)
  if (peer === undefined) throw new LogsRefusal('LOGS_NO_PROVIDER', `no peer is known for provider ${d.deal.provider} of deal ${d.dealId.slice(0, 10)}…; wait until the node has seen its offers, then try again`)
  const opened = await openLogs(deps.net.libp2p, deps.net.profile, peer, d.dealId, { follow: o.follow, signal }).catch((e: unknown) => {
    if (e instanceof LogsRefusal) throw e
    throw new LogsRefusal('LOGS_UNAVAILABLE', `provider ${d.deal.provider} of deal ${d.dealId.slice(0, 10)}… could not be reached for its logs: ${e instanceof Error ? e.message : String(e)}`)
  })
  return { dealId: d.dealId, from: 'provider', ...opened }
}

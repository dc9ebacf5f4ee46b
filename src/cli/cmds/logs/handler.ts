/**
 * `lilynode logs`: a job's stdout and stderr. While a node holds the data dir (a `lilynode run`
 * of the job, an SDK client), through that node's local relay (`<data dir>/logs.sock`): it reads
 * them as the job's creator from the provider, live. Otherwise from the result stored in the data
 * dir, else (with --profile) by connecting as the data dir's creator and asking the provider.
 */
import { CliError, type HandlerContext } from '../../command.js'
import { LilyError, LilyJobs, type LogChunk } from '../../../sdk/index.js'
import { bundleLogChunks, openLocalLogs, readProfile, type JobLogs } from '../../../node/index.js'
import { connectCreator } from '../../creatorClient.js'
import { jsonLine } from '../jobs/handler.js'
import type { LogsArgs } from './options.js'

type Print = (c: LogChunk) => Promise<void>

async function writeOut (s: NodeJS.WriteStream, data: Uint8Array | string): Promise<void> {
  if (!s.write(data)) await new Promise<void>((resolve) => s.once('drain', () => { resolve() }))
}

function printer (json: boolean): { print: Print, flush: () => Promise<void> } {
  if (!json) return { print: async (c) => { await writeOut(c.stream === 'stdout' ? process.stdout : process.stderr, c.data) }, flush: async () => {} }
  // a chunk may end inside a UTF-8 character: one decoder per stream carries it over
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() }
  return {
    print: async (c) => {
      const text = decoders[c.stream].decode(c.data, { stream: true })
      if (text !== '') await writeOut(process.stdout, `${jsonLine({ stream: c.stream, text })}\n`)
    },
    flush: async () => {
      for (const s of ['stdout', 'stderr'] as const) {
        const text = decoders[s].decode()
        if (text !== '') await writeOut(process.stdout, `${jsonLine({ stream: s, text })}\n`)
      }
    }
  }
}

async function drain (logs: JobLogs, json: boolean, signal: AbortSignal): Promise<number> {
  const { print, flush } = printer(json)
  try {
    for await (const c of logs.chunks) {
      if (signal.aborted) break
      await print(c)
    }
  } catch (e) {
    if (!signal.aborted) throw e
  }
  await flush()
  const why = signal.aborted ? 'stopped' : logs.ended.why
  if (json) await writeOut(process.stdout, `${jsonLine({ end: true, dealId: logs.dealId, from: logs.from, ...(why !== undefined ? { why } : {}) })}\n`)
  else if (why !== undefined && !signal.aborted) process.stderr.write(`lilynode logs: the stream of deal ${logs.dealId} was cut short: ${why}\n`)
  return 0
}

/** The logs from the stored bundle, or undefined when the data dir holds no result of the job; 'busy' while a node holds it. */
async function fromDataDir (dataDir: string, ref: string): Promise<JobLogs | 'busy' | undefined> {
  let store: LilyJobs
  try {
    store = await LilyJobs.open(dataDir)
  } catch (e) {
    if (e instanceof LilyError && e.code === 'SDK_DATA_DIR_BUSY') return 'busy'
    throw e
  }
  try {
    const b = await store.bundle(ref)
    if (b === undefined) return undefined
    const chunks = bundleLogChunks(b.bundle)
    return { dealId: b.dealId, from: 'local', chunks: (async function * () { yield * chunks })(), ended: {} }
  } finally {
    await store.close()
  }
}

export async function logs (args: LogsArgs, { positionals, signal }: HandlerContext): Promise<number> {
  const ref = positionals[0]
  const local = await fromDataDir(args.dataDir, ref)
  if (local !== undefined && local !== 'busy') return await drain(local, args.json, signal)
  if (local === 'busy') {
    const relayed = await openLocalLogs(args.dataDir, ref, { follow: args.follow, signal })
    if (relayed === undefined) throw new CliError(`${args.dataDir} is in use by a node that relays no logs (a \`lilynode creator\`: ask its API, GET /jobs/{id}/logs); or wait for it to stop`, 1)
    return await drain(relayed, args.json, signal)
  }
  if (args.profile === undefined) throw new CliError(`no result of ${ref} is stored in ${args.dataDir} and no node holds it; give --profile <profile.json> to read the logs from the deal's provider`, 1)
  const profile = await readProfile(args.profile)
  const { client } = await connectCreator(args, profile, signal)
  try {
    const l = client.logs(ref, { follow: args.follow, signal })
    const ended: JobLogs['ended'] = {}
    const chunks = (async function * () {
      yield * l
      if (l.why !== undefined) ended.why = l.why
    })()
    // dealId and from are known once the stream is open (at its first chunk); the end line reads them then
    return await drain({ get dealId () { return l.dealId ?? ('' as JobLogs['dealId']) }, get from () { return l.from ?? 'provider' }, chunks, ended }, args.json, signal)
  } finally {
    await client.close()
  }
}

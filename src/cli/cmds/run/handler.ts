/** `lilynode run`: on LilyClient, the SDK. */
import { CliError, type HandlerContext } from '../../command.js'
import { parseInputs, readProfile } from '../../../node/index.js'
import { Progress } from '../../progress.js'
import { DEFAULT_TIMEOUT_S, jobResources, LilyClient } from '../../../sdk/index.js'
import type { JobInputs, ModuleSpec } from '../../../protocol/index.js'
import { connectCreator } from '../../creatorClient.js'
import type { RunArgs } from './options.js'

export async function run (args: RunArgs, { positionals, signal }: HandlerContext): Promise<number> {
  // everything is checked before a node starts or anything is published
  if (args.dryRun) {
    const { estimateRun, printEstimate } = await import('../estimate/handler.js')
    return printEstimate(await estimateRun({ module: positionals[0], ...args }, signal), args.json)
  }
  const { spec, inputs } = await resolveRun(positionals[0], args.input)
  const resources = jobResources(spec, {
    ...(args.gpus !== undefined ? { gpus: args.gpus } : {}),
    ...(args.gpuVram !== undefined ? { gpuVram: args.gpuVram } : {})
  })
  const timeoutS = args.timeout ?? spec.timeoutS ?? DEFAULT_TIMEOUT_S
  const profile = await readProfile(args.profile)
  const progress = new Progress({ tty: process.stdout.isTTY, json: args.json, ...(process.stdout.columns !== undefined ? { columns: process.stdout.columns } : {}) })
  progress.start()
  const { client, dataDir } = await connectCreator(args, profile, signal).catch((e: unknown) => { progress.stop(); throw e })
  try {
    // looked up beside the job, not before it: a run's start-up is on its latency path
    const leftover = client.unfinished().then((left) => {
      if (left.length === 0) return
      process.stderr.write(`note: ${left.length} deal${left.length > 1 ? 's' : ''} of an earlier run in ${dataDir} did not settle; 'lilynode resume --profile <profile.json> --data-dir ${dataDir}' settles ${left.length > 1 ? 'them' : 'it'}\n`)
    }, () => undefined)
    const job = client.run(spec, inputs, { maxPrice: args.maxPrice, collateral: args.collateral, timeoutS, resources, signal, source: 'cli', failFast: true, moduleLabel: positionals[0], ...(args.challengeOnFailure ? { challengeOnFailure: true } : {}), ...(args.out !== undefined ? { outDir: args.out } : {}) })
    try {
      for await (const e of job) progress.event(e)
      await leftover
      const r = await job.result
      if (r.exitStatus !== 0) throw new CliError(r.reason, r.exitStatus)
    } catch (e) {
      if (!signal.aborted || e instanceof CliError) throw e
      throw new CliError(stoppedMessage(String((signal.reason as Error | undefined)?.message ?? 'stopped'), progress.last, args.profile, dataDir), 130)
    }
    return 0
  } finally {
    progress.stop()
    await client.close()
  }
}

/**
 * The spec and inputs of `lilynode run <ref> -i K=V…`: a lilynode module's inputs are typed by
 * its spec (file inputs read from a path); a Lilypad module's are strings rendered into it.
 */
export async function resolveRun (ref: string, pairs: string[]): Promise<{ spec: ModuleSpec, inputs: JobInputs }> {
  const found = await LilyClient.findModule(ref)
  if (found.kind === 'lilypad') {
    const values: Record<string, string> = {}
    for (const pair of pairs) {
      const eq = pair.indexOf('=')
      if (eq <= 0) throw new CliError(`input '${pair.slice(0, 80)}' must be KEY=VALUE`)
      values[pair.slice(0, eq)] = pair.slice(eq + 1)
    }
    return await LilyClient.resolveJob(ref, values)
  }
  return { spec: found.spec, inputs: LilyClient.checkInputs(found.spec, await parseInputs(found.spec, pairs)) }
}

/** What Ctrl-C stopped, and how to pick it up again. */
export function stoppedMessage (why: string, last: { stage: string, dealId?: string, provider?: string, price?: bigint | string, jobOfferHash?: string } | undefined, profile: string, dataDir: string): string {
  const resume = `'lilynode resume --profile ${profile} --data-dir ${dataDir}'`
  if (last === undefined) return `${why} before the job was offered: nothing was published or spent`
  if (last.stage === 'offered') return `${why} while the job waited for a provider (offer ${String(last.jobOfferHash ?? '').slice(0, 10)}…): no deal was made and nothing was spent beyond the escrow deposit, which stays yours ('lilynode chain withdraw' takes it out); this data dir signs no deal for that offer any more, so it lapses; run it again to retry`
  const deal = `deal ${String(last.dealId ?? '').slice(0, 10)}…${last.provider !== undefined ? ` with provider ${last.provider}` : ''}`
  return `${why} at stage '${last.stage}' (${deal}): the deal is kept in ${dataDir}; ${resume} follows it from there to settlement (accepts the result and pays, or takes the timeout refund)`
}

/** `lilynode run`: on LilyClient, the SDK. */
import { CliError, type HandlerContext } from '../../command.js'
import { parseInputs, readProfile } from '../../../node/index.js'
import { creatorPrinter } from '../../output.js'
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
  const print = creatorPrinter(args.json)
  const { client, dataDir } = await connectCreator(args, profile, signal)
  try {
    // looked up beside the job, not before it: a run's start-up is on its latency path
    const leftover = client.unfinished().then((left) => {
      if (left.length === 0) return
      process.stderr.write(`note: ${left.length} deal${left.length > 1 ? 's' : ''} of an earlier run in ${dataDir} did not settle; 'lilynode resume --profile <profile.json> --data-dir ${dataDir}' settles ${left.length > 1 ? 'them' : 'it'}\n`)
    }, () => undefined)
    const job = client.run(spec, inputs, { maxPrice: args.maxPrice, collateral: args.collateral, timeoutS, resources, signal, ...(args.out !== undefined ? { outDir: args.out } : {}) })
    try {
      for await (const e of job) print(e)
      await leftover
      const r = await job.result
      if (r.exitStatus !== 0) throw new CliError(r.reason, r.exitStatus)
    } catch (e) {
      if (!signal.aborted || e instanceof CliError) throw e
      throw new CliError(`${String((signal.reason as Error | undefined)?.message ?? 'stopped')} before the job settled; if it was matched, its deal is kept in ${dataDir} and 'lilynode resume --profile ${args.profile} --data-dir ${dataDir}' settles it (accepts the result or takes the timeout refund)`, 130)
    }
    return 0
  } finally {
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

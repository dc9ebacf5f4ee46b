/** `lilynode run <module> [-i K=V]...`: run one job on the network, from offer to paid result (on LilyClient, the SDK). */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { parseInputs, readProfile, parseWei, parseCount } from '../../../node/index.js'
import { creatorPrinter } from '../../output.js'
import { DEFAULT_TIMEOUT_S, jobResources, LilyClient } from '../../../sdk/index.js'
import type { JobInputs, ModuleSpec } from '../../../protocol/index.js'
import { connectCreator } from '../../creatorClient.js'

export const runCommand: Command = {
  name: 'run',
  summary: 'run a job: publish the offer, open the deal, get the result, pay (prints each stage with its time)',
  usage: 'lilynode run <name:version | path/to/module.json | path/to/lilypad-module-folder> [-i KEY=VALUE]... [options]',
  flags: [
    { name: 'input', short: 'i', type: 'string', multiple: true, description: 'job input KEY=VALUE (file inputs: a path)' },
    { name: 'profile', type: 'string', description: 'network profile JSON (e.g. .devnet/profile.json)' },
    { name: 'data-dir', type: 'string', description: 'the creator\'s key and database', default: join(homedir(), '.lilynode', 'creator') },
    { name: 'out', type: 'string', description: 'write stdout, stderr and the output files here' },
    { name: 'max-price', type: 'string', description: 'most you pay for the job, in wei', default: '1000000000000000' },
    { name: 'collateral', type: 'string', description: 'collateral the provider must put up, in wei', default: '100000000000000' },
    { name: 'timeout', type: 'string', description: 'seconds the provider has to deliver (default: the module\'s timeoutS, else 60)' },
    { name: 'gpus', type: 'string', description: 'GPUs the job needs (default: the module\'s resources.gpus)' },
    { name: 'gpu-vram', type: 'string', description: 'least memory per GPU in MiB (default: the module\'s resources.gpuVram; needs --gpus or a GPU module)' },
    { name: 'listen', type: 'string', multiple: true, description: 'libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/0)' },
    { name: 'json', type: 'boolean', description: 'one JSON event per line, with timestamps' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length !== 1) throw new CliError('lilynode run needs exactly one module: name:version (e.g. cowsay:v0.0.4) or a path to a module.json')
    // everything is checked before a node starts or anything is published
    const { spec, inputs } = await resolveRun(args.positionals[0], listFlag(args, 'input'))
    const gpus = stringFlag(args, 'gpus')
    const gpuVram = stringFlag(args, 'gpu-vram')
    const resources = jobResources(spec, {
      ...(gpus !== undefined ? { gpus: parseSmallCount('gpus', gpus) } : {}),
      ...(gpuVram !== undefined ? { gpuVram: parseSmallCount('gpu-vram', gpuVram) } : {})
    })
    const profile = await readProfile(stringFlag(args, 'profile', true))
    const maxPrice = parseWei('max-price', stringFlag(args, 'max-price', true))
    const collateral = parseWei('collateral', stringFlag(args, 'collateral', true))
    const timeout = stringFlag(args, 'timeout')
    const timeoutS = timeout !== undefined ? parseCount('timeout', timeout) : (spec.timeoutS ?? DEFAULT_TIMEOUT_S)
    const outDir = stringFlag(args, 'out')
    const print = creatorPrinter(boolFlag(args, 'json'))
    const { client, dataDir } = await connectCreator(args, profile, signal)
    try {
      // looked up beside the job, not before it: a run's start-up is on its latency path
      const leftover = client.unfinished().then((left) => {
        if (left.length === 0) return
        process.stderr.write(`note: ${left.length} deal${left.length > 1 ? 's' : ''} of an earlier run in ${dataDir} did not settle; 'lilynode resume --profile <profile.json> --data-dir ${dataDir}' settles ${left.length > 1 ? 'them' : 'it'}\n`)
      }, () => undefined)
      const job = client.run(spec, inputs, { maxPrice, collateral, timeoutS, resources, signal, ...(outDir !== undefined ? { outDir } : {}) })
      for await (const e of job) print(e)
      await leftover
      const r = await job.result
      if (r.exitStatus !== 0) throw new CliError(r.reason, r.exitStatus)
      return 0
    } finally {
      await client.close()
    }
  }
}

/** `--gpus` / `--gpu-vram`: a decimal integer (its bounds are checked with the job's resources). */
function parseSmallCount (name: string, v: string): number {
  if (!/^[0-9]{1,9}$/.test(v)) throw new CliError(`--${name} needs a non-negative integer, got '${v.slice(0, 40)}'`)
  return Number(v)
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

export default runCommand

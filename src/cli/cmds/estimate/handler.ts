/** `lilynode estimate` (and `lilynode run --dry-run`): on the SDK's estimate(). */
import { CliError, type HandlerContext } from '../../command.js'
import { DEFAULT_TIMEOUT_S, estimate, estimateJson, formatEstimate, jobResources, type Estimate } from '../../../sdk/index.js'
import { resolveRun } from '../run/handler.js'
import type { EstimateArgs } from './options.js'

export interface EstimateRequest {
  module: string
  input: string[]
  profile?: string
  node?: string
  maxPrice: bigint
  collateral: bigint
  timeout?: number
  gpus?: number
  gpuVram?: number
}

/** Resolves the job as `run` would and asks the network; nothing is published or spent. */
export async function estimateRun (a: EstimateRequest, signal: AbortSignal): Promise<Estimate> {
  if (a.profile === undefined && a.node === undefined) throw new CliError('give --profile <profile.json> (its bootstrap nodes are asked) or --node <multiaddr>')
  const { spec } = await resolveRun(a.module, a.input)
  const resources = jobResources(spec, {
    ...(a.gpus !== undefined ? { gpus: a.gpus } : {}),
    ...(a.gpuVram !== undefined ? { gpuVram: a.gpuVram } : {})
  })
  const timeoutS = a.timeout ?? spec.timeoutS ?? DEFAULT_TIMEOUT_S
  return await estimate({ spec, resources, timeoutS, maxPrice: a.maxPrice, collateral: a.collateral }, {
    ...(a.profile !== undefined ? { profile: a.profile } : {}),
    ...(a.node !== undefined ? { node: a.node } : {}),
    signal
  })
}

/** Prints the estimate; 0 when an offer fits, 1 when none does. */
export function printEstimate (e: Estimate, json: boolean): number {
  process.stdout.write(json ? `${JSON.stringify(estimateJson(e))}\n` : `${formatEstimate(e)}\n`)
  return e.fits.length > 0 ? 0 : 1
}

export async function estimateCmd (args: EstimateArgs, { positionals, signal }: HandlerContext): Promise<number> {
  const e = await estimateRun({ module: positionals[0], ...args }, signal)
  return printEstimate(e, args.json)
}

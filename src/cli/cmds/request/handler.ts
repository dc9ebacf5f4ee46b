/** `lilynode request`. */
import { resolve } from 'node:path'
import type { HandlerContext } from '../../command.js'
import { parseInputs, readProfile, resolveModule } from '../../../node/index.js'
import { runRequest } from '../../../sdk/index.js'
import { printer } from '../../output.js'
import type { RequestArgs } from './options.js'

export async function request (args: RequestArgs, { positionals, signal }: HandlerContext): Promise<number> {
  const spec = await resolveModule(positionals[0])
  const inputs = await parseInputs(spec, args.input)
  const print = printer(args.json)
  const r = await runRequest({
    profile: await readProfile(args.profile),
    dataDir: args.dataDir,
    spec,
    inputs,
    maxPrice: args.maxPrice,
    collateral: args.collateral,
    timeoutS: args.timeout,
    deadlineS: args.deadline,
    ...(args.inputsDir !== undefined ? { inputsDir: resolve(args.inputsDir) } : {}),
    noWait: args.noWait
  }, signal, (e) => {
    if (args.json) { print(e); return }
    if (e.event === 'requested') process.stdout.write(`request ${String(e.requestId)} made (tx ${String(e.tx)}): ${String(e.module)}, inputs ${String(e.inputsHash)}, paid ${String(e.maxPrice)} wei\n`)
    else if (e.event === 'opened') process.stdout.write(`request ${String(e.requestId)}: deal ${String(e.dealId)} opened\n`)
    else if (e.event === 'fulfilled') process.stdout.write(`request ${String(e.requestId)} fulfilled: result ${String(e.resultHash)}\ndata:\n${String(e.text)}\n`)
    else process.stdout.write(`request ${String(e.requestId)} ${String(e.event)}: ${String(e.message ?? '')}\n`)
  })
  return r.status === 'Fulfilled' || r.status === 'Pending' ? 0 : 1
}

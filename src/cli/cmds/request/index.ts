/** `lilynode request`: an on-chain job request (LilyRequests) from this node's account; prints the result data. */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { parseInputs, readProfile, resolveModule } from '../../../node/index.js'
import { printer } from '../../output.js'
import { parseCount, parseWei } from '../../../node/index.js'

export const requestCommand: Command = {
  name: 'request',
  summary: 'request a job on-chain through LilyRequests (paid from this account\'s wallet); a relay (lilynode creator) serves it',
  usage: 'lilynode request <module> [-i KEY=VALUE]... --profile <profile.json> [options]',
  flags: [
    { name: 'profile', type: 'string', description: 'network profile JSON naming a LilyRequests contract ("requests")' },
    { name: 'data-dir', type: 'string', description: 'the account\'s key', default: join(homedir(), '.lilynode', 'creator') },
    { name: 'input', short: 'i', type: 'string', multiple: true, description: 'job input KEY=VALUE' },
    { name: 'inputs-dir', type: 'string', description: 'write the encoded inputs here for a relay to serve (its <data-dir>/request-inputs); not needed for default inputs' },
    { name: 'max-price', type: 'string', description: 'paid now, in wei; what the deal does not use is credited back', default: '1000000000000000' },
    { name: 'collateral', type: 'string', description: 'collateral the provider must put up, in wei', default: '100000000000000' },
    { name: 'timeout', type: 'string', description: 'seconds the provider has to deliver', default: '60' },
    { name: 'deadline', type: 'string', description: 'seconds from now until an unserved request is refundable', default: '120' },
    { name: 'no-wait', type: 'boolean', description: 'return once requested' },
    { name: 'json', type: 'boolean', description: 'one JSON event per line' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length !== 1) throw new CliError('lilynode request needs exactly one module: name:version (e.g. cowsay:v0.0.4) or a path to a module.json')
    const spec = await resolveModule(args.positionals[0])
    const inputs = await parseInputs(spec, listFlag(args, 'input'))
    const inputsDir = stringFlag(args, 'inputs-dir')
    const json = boolFlag(args, 'json')
    const print = printer(json)
    const { runRequest } = await import('../../../sdk/index.js')
    const r = await runRequest({
      profile: await readProfile(stringFlag(args, 'profile', true)),
      dataDir: stringFlag(args, 'data-dir', true),
      spec,
      inputs,
      maxPrice: parseWei('max-price', stringFlag(args, 'max-price', true)),
      collateral: parseWei('collateral', stringFlag(args, 'collateral', true)),
      timeoutS: parseCount('timeout', stringFlag(args, 'timeout', true)),
      deadlineS: parseCount('deadline', stringFlag(args, 'deadline', true)),
      ...(inputsDir !== undefined ? { inputsDir: resolve(inputsDir) } : {}),
      noWait: boolFlag(args, 'no-wait')
    }, signal, (e) => {
      if (json) { print(e); return }
      if (e.event === 'requested') process.stdout.write(`request ${String(e.requestId)} made (tx ${String(e.tx)}): ${String(e.module)}, inputs ${String(e.inputsHash)}, paid ${String(e.maxPrice)} wei\n`)
      else if (e.event === 'opened') process.stdout.write(`request ${String(e.requestId)}: deal ${String(e.dealId)} opened\n`)
      else if (e.event === 'fulfilled') process.stdout.write(`request ${String(e.requestId)} fulfilled: result ${String(e.resultHash)}\ndata:\n${String(e.text)}\n`)
      else process.stdout.write(`request ${String(e.requestId)} ${String(e.event)}: ${String(e.message ?? '')}\n`)
    })
    return r.status === 'Fulfilled' || r.status === 'Pending' ? 0 : 1
  }
}

export default requestCommand

/**
 * `lilynode devnet`: the whole network on this machine — anvil, the escrow, a bootstrap node,
 * providers and a mediator as separate processes — then one example job end to end, every
 * party's balance, and the network kept up for more `lilynode run … --profile` until Ctrl-C.
 */
import { boolFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'

export const devnetCommand: Command = {
  name: 'devnet',
  summary: 'start a local network (anvil, escrow + LilyRequests, bootstrap, providers, mediator, a creator node relaying on-chain requests and serving the HTTP API), run an example job and an on-chain request, keep it up',
  usage: 'lilynode devnet [--data-dir .devnet] [options]',
  flags: [
    { name: 'data-dir', type: 'string', description: 'where the devnet keeps keys, databases, logs and profile.json (wiped on start)', default: '.devnet' },
    { name: 'providers', type: 'string', description: 'how many providers to start', default: '2' },
    { name: 'epoch-ms', type: 'string', description: 'epoch length in ms', default: '1000' },
    { name: 'module', type: 'string', description: 'the example job to run', default: 'cowsay:v0.0.4' },
    { name: 'input', short: 'i', type: 'string', multiple: true, description: 'input of the example job, KEY=VALUE' },
    { name: 'api', type: 'string', description: 'host:port of the HTTP API served by relay-1 (the creator node); "off" for none', default: '127.0.0.1:7070' },
    { name: 'exit', type: 'boolean', description: 'stop after the example job instead of keeping the network up' },
    { name: 'json', type: 'boolean', description: 'one JSON event per line' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length > 0) throw new CliError(`lilynode devnet takes no arguments, got '${args.positionals[0]}'`)
    const inputs = Array.isArray(args.flags.input) ? args.flags.input : []
    // loaded here, not at start-up (every other command would pay for the devnet's imports)
    const { runDevnet } = await import('../../../devnet/index.js')
    return await runDevnet({
      dataDir: stringFlag(args, 'data-dir', true),
      providers: stringFlag(args, 'providers', true),
      epochMs: stringFlag(args, 'epoch-ms', true),
      module: stringFlag(args, 'module', true),
      inputs: inputs.length > 0 ? inputs : ['Message=hello from the lilynode devnet'],
      exitAfterJob: boolFlag(args, 'exit'),
      ...(stringFlag(args, 'api', true) !== 'off' ? { api: stringFlag(args, 'api', true) } : {}),
      json: boolFlag(args, 'json')
    }, signal)
  }
}

export default devnetCommand

/** `lilynode mediator`: stakes, watches for challenged deals, re-runs the drawn ones and rules. */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { readProfile, runMediator } from '../../../node/index.js'
import { printer } from '../../output.js'
import { parseWei } from '../../../node/index.js'

export const mediatorCommand: Command = {
  name: 'mediator',
  summary: 'stake as a mediator: get drawn for challenged deals, re-run the job, rule on-chain',
  usage: 'lilynode mediator --profile <profile.json> [options]',
  flags: [
    { name: 'profile', type: 'string', description: 'network profile JSON' },
    { name: 'data-dir', type: 'string', description: 'key, database and job files', default: join(homedir(), '.lilynode', 'mediator') },
    { name: 'listen', type: 'string', multiple: true, description: 'libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/0)' },
    { name: 'stake', type: 'string', description: 'stake to hold, in wei (at least the escrow\'s minimum)', default: '10000000000000000' },
    { name: 'json', type: 'boolean', description: 'one JSON event per line' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length > 0) throw new CliError(`lilynode mediator takes no arguments, got '${args.positionals[0]}'`)
    const profile = await readProfile(stringFlag(args, 'profile', true))
    await runMediator({
      profile,
      dataDir: stringFlag(args, 'data-dir', true),
      listen: listFlag(args, 'listen').length > 0 ? listFlag(args, 'listen') : undefined,
      stake: parseWei('stake', stringFlag(args, 'stake', true))
    }, signal, printer(boolFlag(args, 'json')))
    return 0
  }
}

export default mediatorCommand

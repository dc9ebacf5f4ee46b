/** `lilynode bootstrap`: a DHT server and gossip relay with a stable key and address. */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { bootstrapIdentity, loadProfile, runBootstrap } from '../../../node/index.js'

export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: 'run a bootstrap node: DHT server and gossip relay with a stable key and address',
  usage: 'lilynode bootstrap --profile <profile.json> --listen <multiaddr> [--data-dir <dir>] | lilynode bootstrap --show-id [--data-dir <dir>]',
  flags: [
    { name: 'profile', type: 'string', description: 'network profile JSON' },
    { name: 'data-dir', type: 'string', description: 'key and database (the key fixes the peer id)', default: join(homedir(), '.lilynode', 'bootstrap') },
    { name: 'listen', type: 'string', multiple: true, description: 'listen multiaddr, e.g. /ip4/0.0.0.0/tcp/4001 (a fixed port)' },
    { name: 'show-id', type: 'boolean', description: 'print the peer id and address of the data dir\'s key (creating it) and exit' },
    { name: 'json', type: 'boolean', description: 'print JSON' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length > 0) throw new CliError(`lilynode bootstrap takes no arguments, got '${args.positionals[0]}'`)
    const dataDir = stringFlag(args, 'data-dir', true)
    const json = boolFlag(args, 'json')
    if (boolFlag(args, 'show-id')) {
      const id = await bootstrapIdentity(dataDir)
      process.stdout.write(json ? `${JSON.stringify(id)}\n` : `peer id ${id.peerId}\naddress ${id.address}\n`)
      return 0
    }
    const profile = await loadProfile(stringFlag(args, 'profile', true))
    const listen = listFlag(args, 'listen')
    if (listen.length === 0) throw new CliError('missing option --listen (a bootstrap node needs a fixed address, e.g. /ip4/0.0.0.0/tcp/4001)')
    await runBootstrap({ profile, dataDir, listen }, signal, (addrs) => {
      process.stdout.write(json ? `${JSON.stringify({ event: 'ready', addrs })}\n` : `bootstrap node listening on\n${addrs.map((a) => `  ${a}`).join('\n')}\n`)
    })
    return 0
  }
}

export default bootstrapCommand

/** `lilynode creator`: a long-running creator node; with a LilyRequests companion it relays on-chain job requests. */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { readProfile } from '../../../node/index.js'
import { printer } from '../../output.js'
import type { Address } from '../../../node/index.js'

export const creatorCommand: Command = {
  name: 'creator',
  summary: 'run a creator node until Ctrl-C; with --requests (or the profile\'s "requests") it turns on-chain job requests into offers and serves them; with --api it serves the local HTTP API',
  usage: 'lilynode creator --profile <profile.json> [--requests <LilyRequests address>] [options]',
  flags: [
    { name: 'profile', type: 'string', description: 'network profile JSON (e.g. .devnet/profile.json)' },
    { name: 'data-dir', type: 'string', description: 'key, database, served files', default: join(homedir(), '.lilynode', 'creator-node') },
    { name: 'listen', type: 'string', multiple: true, description: 'libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/0)' },
    { name: 'requests', type: 'string', description: 'LilyRequests contract to relay (must be the profile\'s "requests"; default: the profile\'s)' },
    { name: 'modules-dir', type: 'string', description: 'module directory request module hashes are resolved against (default: the example modules)' },
    { name: 'inputs-dir', type: 'string', description: 'encoded job inputs served for requests, one file per inputs hash (default <data-dir>/request-inputs)' },
    { name: 'from-block', type: 'string', description: 'first block to follow on a fresh data dir (default: the latest block)' },
    { name: 'api', type: 'string', description: 'serve the local HTTP API on host:port (e.g. 127.0.0.1:7070; off by default; off loopback it needs LILYNODE_API_TOKEN in the environment)' },
    { name: 'json', type: 'boolean', description: 'one JSON event per line' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length > 0) throw new CliError(`lilynode creator takes no arguments, got '${args.positionals[0]}'`)
    const profile = await readProfile(stringFlag(args, 'profile', true))
    const requests = stringFlag(args, 'requests')
    if (requests !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(requests)) throw new CliError(`--requests needs a contract address (0x + 40 hex), got '${requests}'`)
    const fromBlock = stringFlag(args, 'from-block')
    if (fromBlock !== undefined && !/^[0-9]{1,18}$/.test(fromBlock)) throw new CliError(`--from-block needs a block number, got '${fromBlock}'`)
    const modulesDir = stringFlag(args, 'modules-dir')
    const inputsDir = stringFlag(args, 'inputs-dir')
    const api = stringFlag(args, 'api')
    const apiToken = process.env.LILYNODE_API_TOKEN
    const json = boolFlag(args, 'json')
    const print = printer(json)
    // loaded here, not at start-up: the HTTP API and its imports only matter to this command
    const { runCreatorNode } = await import('../../../node/index.js')
    const { startApi } = await import('../../../api/index.js')
    await runCreatorNode({
      profile,
      dataDir: stringFlag(args, 'data-dir', true),
      listen: listFlag(args, 'listen').length > 0 ? listFlag(args, 'listen') : undefined,
      ...(requests !== undefined ? { requests: requests.toLowerCase() as Address } : {}),
      ...(modulesDir !== undefined ? { modulesDir: resolve(modulesDir) } : {}),
      ...(inputsDir !== undefined ? { inputsDir: resolve(inputsDir) } : {}),
      ...(fromBlock !== undefined ? { fromBlock: BigInt(fromBlock) } : {}),
      ...(api !== undefined
        ? {
            attach: async ({ host, creator, gas, signal }) => {
              const server = await startApi({
                host,
                creator,
                gas,
                listen: api,
                ...(apiToken !== undefined && apiToken !== '' ? { token: apiToken } : {}),
                ...(modulesDir !== undefined ? { modulesDir: resolve(modulesDir) } : {}),
                outputsDir: join(stringFlag(args, 'data-dir', true), 'api-outputs'),
                log: host.log.child('api'),
                signal
              })
              return { ready: { api: server.url }, stop: async () => { await server.stop() } }
            }
          }
        : {})
    }, signal, (e) => {
      if (json || e.event !== 'request') { print(e); return }
      print({ ...e, message: `request ${String(e.requestId)}${e.provider !== undefined ? ` provider ${String(e.provider)}` : ''}: ${String(e.message ?? '')}` })
    })
    return 0
  }
}

export default creatorCommand

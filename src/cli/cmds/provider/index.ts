/** `lilynode provider`: offers this machine's CPU, RAM, GPUs and disk, runs matched jobs, gets paid. */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { readProfile, runProvider } from '../../../node/index.js'
import { printer } from '../../output.js'
import { parseWei, parseCount } from '../../../node/index.js'
import type { Hash } from '../../../node/index.js'

export const providerCommand: Command = {
  name: 'provider',
  summary: 'offer this machine\'s compute: publish resource offers, run matched jobs in Docker, get paid',
  usage: 'lilynode provider --profile <profile.json> [options]',
  flags: [
    { name: 'profile', type: 'string', description: 'network profile JSON (e.g. .devnet/profile.json)' },
    { name: 'data-dir', type: 'string', description: 'key, database and job files', default: join(homedir(), '.lilynode', 'provider') },
    { name: 'listen', type: 'string', multiple: true, description: 'libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/0)' },
    { name: 'price-cpu', type: 'string', description: 'wei per millicore-second', default: '1000' },
    { name: 'price-ram', type: 'string', description: 'wei per MiB-second of memory', default: '100' },
    { name: 'price-gpu', type: 'string', description: 'wei per GPU-second', default: '1000000' },
    { name: 'price-disk', type: 'string', description: 'wei per MiB-second of disk', default: '0' },
    { name: 'collateral', type: 'string', description: 'collateral put up per deal, in wei', default: '1000000000000000' },
    { name: 'deposit', type: 'string', description: 'keep this much free in escrow for collateral, in wei (tops up on start)', default: '10000000000000000' },
    { name: 'module', type: 'string', multiple: true, description: 'accept only this module hash (default: any module)' },
    { name: 'max-cpu', type: 'string', description: 'offer at most this many millicores' },
    { name: 'max-ram', type: 'string', description: 'offer at most this many MiB of memory' },
    { name: 'allow-network', type: 'boolean', description: 'let modules that ask for network access have it' },
    { name: 'json', type: 'boolean', description: 'one JSON event per line' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length > 0) throw new CliError(`lilynode provider takes no arguments, got '${args.positionals[0]}'`)
    const profile = await readProfile(stringFlag(args, 'profile', true))
    const modules = listFlag(args, 'module').map((m) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(m)) throw new CliError(`--module needs a 32-byte module hash (0x + 64 hex), got '${m}'`)
      return m.toLowerCase() as Hash
    })
    const maxCpu = stringFlag(args, 'max-cpu')
    const maxRam = stringFlag(args, 'max-ram')
    await runProvider({
      profile,
      dataDir: stringFlag(args, 'data-dir', true),
      listen: listFlag(args, 'listen').length > 0 ? listFlag(args, 'listen') : undefined,
      prices: {
        priceCpu: parseWei('price-cpu', stringFlag(args, 'price-cpu', true)),
        priceRam: parseWei('price-ram', stringFlag(args, 'price-ram', true)),
        priceGpu: parseWei('price-gpu', stringFlag(args, 'price-gpu', true)),
        priceDisk: parseWei('price-disk', stringFlag(args, 'price-disk', true))
      },
      collateral: parseWei('collateral', stringFlag(args, 'collateral', true)),
      depositWei: parseWei('deposit', stringFlag(args, 'deposit', true)),
      modules,
      ...(maxCpu !== undefined ? { maxCpu: parseCount('max-cpu', maxCpu) } : {}),
      ...(maxRam !== undefined ? { maxRam: parseCount('max-ram', maxRam) } : {}),
      allowNetwork: boolFlag(args, 'allow-network')
    }, signal, printer(boolFlag(args, 'json')))
    return 0
  }
}

export default providerCommand

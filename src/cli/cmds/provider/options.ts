import { dataDirOption, jsonOption, listenOption, profileOption } from '../../sharedOptions.js'
import { CliError } from '../../command.js'
import { big, flag, int, list, str, U256_MAX, wei, type Values } from '../../typedOptions.js'
import { slurmOptionSpecs } from './slurm.js'


const moduleHash = (t: string, flagName: string): `0x${string}` => {
  if (!/^0x[0-9a-fA-F]{64}$/.test(t)) throw new CliError(`option ${flagName} needs a 32-byte module hash (0x + 64 hex digits), got '${t}'`)
  return t.toLowerCase() as `0x${string}`
}

export const providerOptions = {
  profile: profileOption,
  'data-dir': dataDirOption('provider', 'key, database and job files'),
  listen: listenOption,
  'price-cpu': wei({ description: 'wei per millicore-second', default: 1000n }),
  'price-ram': wei({ description: 'wei per MiB-second of memory', default: 100n }),
  'price-gpu': wei({ description: 'wei per GPU-second', default: 1_000_000n }),
  'price-disk': wei({ description: 'wei per MiB-second of disk', default: 0n }),
  collateral: wei({ description: 'collateral put up per deal, in wei', default: 10n ** 15n }),
  deposit: big({ description: 'keep this much free in escrow for collateral, in wei (tops up on start)', max: U256_MAX, default: 10n ** 16n }),
  module: list({ description: 'accept only this module hash (default: any module)', placeholder: 'hash', item: moduleHash }),
  'max-cpu': int({ description: 'offer at most this many millicores', placeholder: 'millicores', min: 1, max: 1_000_000_000 }),
  'reserve-cpu': str({ description: 'CPU kept for the node and never offered to jobs: millicores or a percentage of the machine (default: one core or 10 %, at most half)', placeholder: 'millicores|N%', pattern: /^(\d{1,9}|\d{1,2}(\.\d+)?%)$/, hint: 'millicores (e.g. 1000) or a percentage (e.g. 25%)' }),
  'max-ram': int({ description: 'offer at most this many MiB of memory', placeholder: 'MiB', min: 1, max: 1_000_000_000 }),
  'allow-network': flag({ description: 'let modules that ask for network access have it' }),
  ...slurmOptionSpecs,
  json: jsonOption()
}

export type ProviderArgs = Values<typeof providerOptions>

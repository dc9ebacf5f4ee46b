import { dataDirOption, jsonOption, listenOption, profileOption } from '../../sharedOptions.js'
import { big, U256_MAX, type Values } from '../../typedOptions.js'

export const mediatorOptions = {
  profile: profileOption,
  'data-dir': dataDirOption('mediator', 'key, database and job files'),
  listen: listenOption,
  stake: big({ description: 'stake to hold, in wei (at least the escrow\'s minimum)', min: 1n, max: U256_MAX, default: 10n ** 16n }),
  json: jsonOption()
}


export type MediatorArgs = Values<typeof mediatorOptions>

import { dataDirOption, jsonOption } from '../../sharedOptions.js'
import { flag, list, str, type Values } from '../../typedOptions.js'

export const bootstrapOptions = {
  profile: str({ description: 'network profile JSON (required unless --show-id)', placeholder: 'profile.json' }),
  'data-dir': dataDirOption('bootstrap', 'key and database (the key fixes the peer id)'),
  listen: list({ description: 'listen multiaddr, e.g. /ip4/0.0.0.0/tcp/4001 (a fixed port; required unless --show-id)', placeholder: 'multiaddr' }),
  'show-id': flag({ description: 'print the peer id and address of the data dir\'s key (creating it) and exit' }),
  json: jsonOption('print JSON')
}

export type BootstrapArgs = Values<typeof bootstrapOptions>

import { dataDirOption, jsonOption, listenOption, profileOption } from '../../sharedOptions.js'
import { CliError } from '../../command.js'
import { big, flag, hex, list, str, type Values } from '../../typedOptions.js'

/** scheme://host[:port], as browsers send Origin. */
const origin = (t: string, flagName: string): string => {
  if (!/^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?\/?$/.test(t)) throw new CliError(`option ${flagName} needs an origin such as http://localhost:3000 (scheme://host[:port]), got '${t}'`)
  return t.replace(/\/$/, '').toLowerCase()
}

export const creatorOptions = {
  profile: profileOption,
  'data-dir': dataDirOption('creator-node', 'key, database, served files'),
  listen: listenOption,
  requests: hex({ bytes: 20, what: 'a LilyRequests contract address', description: 'LilyRequests contract to relay (must be the profile\'s "requests"; default: the profile\'s)' }),
  'modules-dir': str({ description: 'module directory request module hashes are resolved against (default: the example modules)', placeholder: 'dir' }),
  'inputs-dir': str({ description: 'encoded job inputs served for requests, one file per inputs hash (default <data-dir>/request-inputs)', placeholder: 'dir' }),
  'from-block': big({ description: 'first block to follow on a fresh data dir (default: the latest block)', placeholder: 'block', unit: 'blocks', max: 10n ** 18n }),
  api: str({ description: 'serve the local HTTP API on host:port (e.g. 127.0.0.1:7070; off by default; off loopback it needs LILYNODE_API_TOKEN in the environment)', placeholder: 'host:port', pattern: /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, hint: 'host:port such as 127.0.0.1:7070 (or [::1]:7070)' }),
  'api-allow-origin': list({ description: 'let web pages of this origin call the API (CORS; e.g. http://localhost:3000); pages of other origins are refused', placeholder: 'origin', item: origin }),
  'api-console': flag({ description: 'also serve the web console at http://<api>/console: peers, epochs and roots, offers with their prices, jobs, deals, balances, the mediation queue (off by default; needs --api)' }),
  json: jsonOption()
}

export type CreatorArgs = Values<typeof creatorOptions>

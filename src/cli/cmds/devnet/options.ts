import { jsonOption } from '../../sharedOptions.js'
import { flag, int, pairs, str, type Values } from '../../typedOptions.js'

export const devnetOptions = {
  'data-dir': str({ description: 'where the devnet keeps keys, databases, logs and profile.json (wiped on start)', placeholder: 'dir', default: '.devnet' }),
  providers: int({ description: 'how many providers to start', min: 1, max: 32, default: 2 }),
  'epoch-ms': int({ description: 'epoch length in ms', placeholder: 'ms', min: 100, max: 600_000, default: 1000 }),
  module: str({ description: 'the example job to run', placeholder: 'name:version', default: 'cowsay:v0.0.4' }),
  input: pairs({ short: 'i', description: 'input of the example job, KEY=VALUE (default Message=hello from the lilynode devnet)' }),
  api: str({ description: 'host:port of the HTTP API served by relay-1 (the creator node); "off" for none', placeholder: 'host:port', default: '127.0.0.1:7070', pattern: /^(off|(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5})$/, hint: 'host:port such as 127.0.0.1:7070, or off' }),
  console: flag({ description: 'relay-1\'s HTTP API also serves the web console at http://<api>/console (off unless given)' }),
  exit: flag({ description: 'stop after the example job instead of keeping the network up' }),
  json: jsonOption()
}

export type DevnetArgs = Values<typeof devnetOptions>

import { dataDirOption, jsonOption, listenOption } from '../../sharedOptions.js'
import { str, type Values } from '../../typedOptions.js'

export const getOptions = {
  out: str({ description: 'write stdout, stderr, exitCode and outputs/ here', placeholder: 'dir', required: true }),
  'data-dir': dataDirOption('creator', 'the data dir that ran the job'),
  profile: str({ description: 'network profile JSON: when the result is not stored in the data dir, ask the deal\'s provider for it over libp2p', placeholder: 'profile.json' }),
  listen: listenOption,
  json: jsonOption('print what was written as one JSON line')
}

export type GetArgs = Values<typeof getOptions>

import { dataDirOption, jsonOption, listenOption } from '../../sharedOptions.js'
import { flag, str, type Values } from '../../typedOptions.js'

export const logsOptions = {
  follow: flag({ description: 'keep printing while the job runs, until it ends (also waits for a job not yet matched)' }),
  'data-dir': dataDirOption('creator', 'the data dir that ran the job'),
  profile: str({ description: 'network profile JSON: when no node holds the data dir and its result is not stored there, connect and ask the deal\'s provider', placeholder: 'profile.json' }),
  listen: listenOption,
  json: jsonOption('one JSON object per chunk: {"stream":"stdout"|"stderr","text":…}, then {"end":true,…}')
}

export type LogsArgs = Values<typeof logsOptions>

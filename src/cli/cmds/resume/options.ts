import { dataDirOption, jsonOption, listenOption, profileOption } from '../../sharedOptions.js'
import { CliError } from '../../command.js'
import { list, type Values } from '../../typedOptions.js'

const dealId = (t: string, flag: string): `0x${string}` => {
  if (!/^0x[0-9a-fA-F]{64}$/.test(t)) throw new CliError(`option ${flag} needs a deal id (0x + 64 hex digits), got '${t}'`)
  return t.toLowerCase() as `0x${string}`
}

export const resumeOptions = {
  profile: profileOption,
  'data-dir': dataDirOption('creator', 'the creator\'s key and database (the one `lilynode run` used)'),
  deal: list({ description: 'resume only this deal (default: every unfinished one)', placeholder: 'dealId', item: dealId }),
  listen: listenOption,
  json: jsonOption('one JSON event per line, with timestamps')
}

export type ResumeArgs = Values<typeof resumeOptions>

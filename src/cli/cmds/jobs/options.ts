import { dataDirOption, jsonOption } from '../../sharedOptions.js'
import { CliError } from '../../command.js'
import { choice, int, str, type Values } from '../../typedOptions.js'

/** The states of a job record (src/node/jobs/records.ts JOB_RECORD_STATES; copied so that --help loads no SDK; a test checks they agree). */
export const JOB_STATES = ['running', 'paid', 'refunded', 'resolved', 'failed', 'cancelled'] as const

/** A point in time: an ISO date/time (2026-12-04, 2026-12-04T15:00Z) or an age (90s, 30m, 2h, 7d). */
export function parseWhen (text: string, flag: string, now = Date.now()): number {
  const age = /^([0-9]{1,6})(s|m|h|d)$/.exec(text)
  if (age !== null) return now - Number(age[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd']
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/.test(text)) {
    const t = Date.parse(text)
    if (Number.isFinite(t)) return t
  }
  throw new CliError(`option ${flag} needs a date (2026-12-04, 2026-12-04T15:00Z) or an age (90s, 30m, 2h, 7d), got '${text.slice(0, 40)}'`)
}

export const jobsOptions = {
  'data-dir': dataDirOption('creator', 'the data dir whose jobs to list (the one `lilynode run` or `lilynode creator` used)'),
  state: choice({ description: 'only jobs in this state', choices: JOB_STATES }),
  module: str({ description: 'only jobs of this module (name or name:version)', placeholder: 'module' }),
  since: str({ description: 'only jobs started at or after this date or age (2026-12-04, 2h, 7d)', placeholder: 'when' }),
  until: str({ description: 'only jobs started at or before this date or age', placeholder: 'when' }),
  source: choice({ description: 'only jobs started this way', choices: ['cli', 'sdk', 'api'] as const }),
  limit: int({ description: 'at most this many (newest first)', min: 1, max: 100_000, default: 50 }),
  json: jsonOption('one JSON object per job and line (wei as decimal strings)')
}

export type JobsArgs = Values<typeof jobsOptions>

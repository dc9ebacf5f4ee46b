import { LilyError } from '../protocol/errors.js'

/** An error the CLI prints as one line, without a stack trace, and exits with `exitCode` (2: usage). */
export class CliError extends LilyError<'CLI_USAGE' | 'CLI_FAILED'> {
  override readonly name = 'CliError'
  constructor (message: string, readonly exitCode = 2) { super(exitCode === 2 ? 'CLI_USAGE' : 'CLI_FAILED', message) }
}

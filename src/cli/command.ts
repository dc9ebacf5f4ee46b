/**
 * The shape of a CLI command. Each command lives in src/cli/commands/<name>.ts and exports one
 * `Command`; main.ts registers them. Parsing is strict: unknown flags are errors.
 */
export interface FlagSpec {
  /** Long name without dashes, e.g. 'data-dir'. */
  name: string
  /** Single-letter alias without dash, e.g. 'i'. */
  short?: string
  type: 'string' | 'boolean'
  /** May be given many times (values collected in order). */
  multiple?: boolean
  description: string
  default?: string | boolean
}

export interface ParsedArgs {
  /** Positional arguments after the command (and sub-command) name. */
  positionals: string[]
  flags: Record<string, string | boolean | string[] | undefined>
}

export interface Command {
  name: string
  /** One line for the command list. */
  summary: string
  /** Usage line, e.g. 'lilynode run <module> [--input K=V]...'. */
  usage: string
  flags: FlagSpec[]
  /** Sub-commands (e.g. chain deploy|deposit|...); when present `run` is not used. */
  subcommands?: Command[]
  run?: (args: ParsedArgs, signal: AbortSignal) => Promise<number | void>
}

/** An error the CLI prints as one line, without a stack trace, and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor (message: string, readonly exitCode = 2) { super(message) }
}

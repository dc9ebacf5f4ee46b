/**
 * The shape of a CLI command (Lodestar style: src/cli/cmds/<name>/ holds options.ts, the
 * typed options; handler.ts, what it does; index.ts, the command, which loads its handler only
 * when it runs, so `lilynode --help` and `--version` import no node, chain or libp2p code).
 */
import type { Options, Values } from './typedOptions.js'

export interface HandlerContext {
  /** Positional arguments after the command name (their count already checked). */
  positionals: string[]
  /** Aborted by the first SIGINT/SIGTERM: stop gracefully (a second signal forces exit). */
  signal: AbortSignal
}

export interface PositionalSpec {
  /** As usage shows them, e.g. '<module>'. */
  names: string
  min: number
  max: number
  /** What a missing one should be, e.g. 'a module: name:version (e.g. cowsay:v0.0.4) or a path to a module.json'. */
  hint: string
}

export interface CommandModule<O extends Options = Options> {
  name: string
  /** One line for the command list. */
  summary: string
  /** Usage line, e.g. 'lilynode run <module> [-i KEY=VALUE]... [options]'. */
  usage: string
  options: O
  /** Positional arguments (none when absent). */
  args?: PositionalSpec
  /** Sub-commands (e.g. chain deploy|deposit|…); when present there is no handler. */
  subcommands?: CommandModule[]
  /** Runs the command; returns its exit code (0 when void). A method, so commands of any options fit in one list. */
  handler? (args: Values<O>, ctx: HandlerContext): Promise<number | void>
}

/** Identity, for the compiler to infer a command's option types. */
export function defineCommand<O extends Options> (c: CommandModule<O>): CommandModule<O> {
  return c
}

export { CliError } from './errors.js'

/**
 * The lilynode binary: resolves the command, parses its options strictly, loads and runs its
 * handler with an AbortSignal that the first SIGINT/SIGTERM aborts (graceful stop); a second
 * signal forces exit. Errors print as one line without a stack trace (LILYNODE_DEBUG=1 shows
 * the stack). Only the command that runs loads its code: `--version` and `--help` import no
 * node, chain or libp2p module.
 */
import { readFileSync } from 'node:fs'
import { commandName, helpText, parseArgs } from './parse.js'
import { CliError, defineCommand, type CommandModule } from './command.js'
import { commands } from './registry.js'

export const root: CommandModule = defineCommand({
  name: 'lilynode',
  summary: 'A peer-to-peer marketplace for compute with no central solver. lilynode --version prints the version.',
  usage: 'lilynode <command> [options]',
  options: {},
  subcommands: commands
})

/** The package version (package.json beside dist/). */
export function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function describeError (e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    const prefix = typeof code === 'string' && !(e instanceof CliError) ? `[${code}] ` : ''
    return `${prefix}${e.message}`
  }
  return String(e)
}

/** Parses `argv` (without node and script) and runs the command it names; throws what the command throws. */
export async function execute (argv: string[], signal: AbortSignal): Promise<number> {
  const { path, values, positionals, help } = parseArgs(root, argv)
  const cmd = path[path.length - 1]
  if (help || cmd.handler === undefined) {
    process.stdout.write(`${helpText(path)}\n`)
    return 0
  }
  const code = await cmd.handler(values as never, { positionals, signal })
  return typeof code === 'number' ? code : 0
}

/** Runs the CLI on `argv` (without node and script); prints any error as one line and returns the exit code. */
export async function main (argv: string[], signal: AbortSignal): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`lilynode ${version()}\n`)
    return 0
  }
  if (argv.length === 0) {
    process.stderr.write(`${helpText([root])}\n\nlilynode: error: no command given\n`)
    return 2
  }
  try {
    return await execute(argv, signal)
  } catch (e) {
    if (signal.aborted && !(e instanceof CliError)) {
      process.stderr.write(`lilynode: stopped (${String((signal.reason as Error | undefined)?.message ?? 'aborted')})\n`)
      return 130
    }
    // a stop (exit 130) is no error: say what was stopped
    process.stderr.write(e instanceof CliError && e.exitCode === 130 ? `lilynode: ${e.message}\n` : `lilynode: error: ${describeError(e)}\n`)
    if (process.env.LILYNODE_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`)
    return e instanceof CliError ? e.exitCode : 1
  }
}

/** First SIGINT/SIGTERM: abort (the command stops what it started, database last); second: exit at once. */
export function installSignals (controller: AbortController): void {
  let count = 0
  const onSignal = (sig: NodeJS.Signals): void => {
    count++
    if (count === 1) {
      process.stderr.write(`lilynode: ${sig} received, stopping (send it again to force exit)\n`)
      controller.abort(new Error(`stopped by ${sig}`))
    } else {
      process.stderr.write(`lilynode: ${sig} again: forced exit\n`)
      process.exit(130)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

const isEntry = process.argv[1] !== undefined && /(?:bin[\\/]lilynode(?:\.js)?|cli[\\/]main\.js)$/.test(process.argv[1])
if (isEntry) {
  const controller = new AbortController()
  installSignals(controller)
  main(process.argv.slice(2), controller.signal).then((code) => {
    exitWhenFlushed(code)
  }, (e: unknown) => {
    process.stderr.write(`lilynode: error: ${describeError(e)}\n`)
    exitWhenFlushed(1)
  })
}

/**
 * Exits once stdout and stderr are flushed. By now the command has stopped everything it
 * started (node, database, chain follower), but libp2p leaves timers behind after stop (its
 * address manager's 1 s debounce, a gossipsub timer) that would hold the process for another
 * second: a `lilynode run` would report its paid result and exit 1 s later.
 */
function exitWhenFlushed (code: number): void {
  process.exitCode = code
  let pending = 2
  const done = (): void => { if (--pending === 0) process.exit(code) }
  process.stdout.write('', done)
  process.stderr.write('', done)
}

export { commandName }

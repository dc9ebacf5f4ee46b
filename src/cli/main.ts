/**
 * The lilynode binary: resolves the command, parses its flags strictly, runs it with an
 * AbortSignal that the first SIGINT/SIGTERM aborts (graceful stop); a second signal forces
 * exit. Errors print as one line without a stack trace (LILYNODE_DEBUG=1 shows the stack).
 */
import { commandName, helpText, parseArgs } from './args.js'
import { CliError, type Command } from './command.js'
import { commands } from './registry.js'

export const root: Command = {
  name: 'lilynode',
  summary: 'A peer-to-peer marketplace for compute with no central solver.',
  usage: 'lilynode <command> [options]',
  flags: [],
  subcommands: commands
}

function describeError (e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    const prefix = typeof code === 'string' && !(e instanceof CliError) ? `[${code}] ` : ''
    return `${prefix}${e.message}`
  }
  return String(e)
}

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main (argv: string[], signal: AbortSignal): Promise<number> {
  try {
    const { path, args, help } = parseArgs(root, argv)
    const cmd = path[path.length - 1]
    if (help || cmd.run === undefined) {
      const text = helpText(path)
      if (!help && path.length > 0 && cmd.run === undefined && argv.length > 0) {
        process.stderr.write(`${text}\n`)
        return 2
      }
      process.stdout.write(`${text}\n`)
      return 0
    }
    const code = await cmd.run(args, signal)
    return typeof code === 'number' ? code : 0
  } catch (e) {
    if (signal.aborted && (e as { name?: string }).name === 'AbortError') return 130
    process.stderr.write(`lilynode: error: ${describeError(e)}\n`)
    if (process.env.LILYNODE_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`)
    return e instanceof CliError ? e.exitCode : 1
  }
}

function installSignals (controller: AbortController): void {
  let count = 0
  const onSignal = (sig: NodeJS.Signals): void => {
    count++
    if (count === 1) {
      process.stderr.write(`lilynode: ${sig} received, stopping (send again to force)\n`)
      controller.abort(new Error(`stopped by ${sig}`))
    } else {
      process.stderr.write('lilynode: forced exit\n')
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

/** `lilynode devnet`. */
import { CliError, type HandlerContext } from '../../command.js'
import { runDevnet } from '../../../devnet/index.js'
import type { DevnetArgs } from './options.js'

export async function devnet (args: DevnetArgs, { signal }: HandlerContext): Promise<number> {
  if (args.console && args.api === 'off') throw new CliError('--console serves the web console on relay-1\'s HTTP API: drop --api off (or give --api host:port)')
  return await runDevnet({
    dataDir: args.dataDir,
    providers: args.providers,
    epochMs: args.epochMs,
    module: args.module,
    inputs: args.input.length > 0 ? args.input : ['Message=hello from the lilynode devnet'],
    exitAfterJob: args.exit,
    ...(args.api !== 'off' ? { api: args.api } : {}),
    console: args.console,
    json: args.json
  }, signal)
}

/** `lilynode mediator`. */
import type { HandlerContext } from '../../command.js'
import { readProfile, runMediator } from '../../../node/index.js'
import { printer } from '../../output.js'
import type { MediatorArgs } from './options.js'

export async function mediator (args: MediatorArgs, { signal }: HandlerContext): Promise<number> {
  const profile = await readProfile(args.profile)
  await runMediator({
    profile,
    dataDir: args.dataDir,
    listen: args.listen.length > 0 ? args.listen : undefined,
    stake: args.stake
  }, signal, printer(args.json))
  return 0
}

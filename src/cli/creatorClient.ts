/** The in-process creator node that `lilynode run` and `lilynode resume` drive (LilyClient, the SDK). */
import { listFlag, stringFlag } from './args.js'
import type { ParsedArgs } from './command.js'
import { LilyClient } from '../sdk/index.js'
import type { Profile } from '../node/index.js'

/** Connects a LilyClient on `profile` (read from --profile by the caller) from the --data-dir and --listen flags. */
export async function connectCreator (args: ParsedArgs, profile: Profile, signal: AbortSignal): Promise<{ client: LilyClient, dataDir: string }> {
  const dataDir = stringFlag(args, 'data-dir', true)
  const listen = listFlag(args, 'listen')
  const client = await LilyClient.connect({ profile, dataDir, ...(listen.length > 0 ? { listen } : {}), signal })
  return { client, dataDir }
}

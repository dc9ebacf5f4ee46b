/** The in-process creator node that `lilynode run` and `lilynode resume` drive (LilyClient, the SDK). */
import { LilyClient } from '../sdk/index.js'
import type { Profile } from '../node/index.js'

/** Connects a LilyClient on `profile` from the --data-dir and --listen options. */
export async function connectCreator (args: { dataDir: string, listen: string[] }, profile: Profile, signal: AbortSignal): Promise<{ client: LilyClient, dataDir: string }> {
  const client = await LilyClient.connect({ profile, dataDir: args.dataDir, ...(args.listen.length > 0 ? { listen: args.listen } : {}), signal })
  return { client, dataDir: args.dataDir }
}

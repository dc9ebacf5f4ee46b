/**
 * `lilynode get`: writes the job's outputs from the result bundle stored in the data dir; when
 * none is stored and --profile is given, connects as the data dir's creator and asks the deal's
 * provider for it (a provider hands a deal's bundle to that deal's creator only).
 */
import { CliError, type HandlerContext } from '../../command.js'
import { LilyError, LilyJobs } from '../../../sdk/index.js'
import { readProfile } from '../../../node/index.js'
import { connectCreator } from '../../creatorClient.js'
import { jsonLine } from '../jobs/handler.js'
import type { GetArgs } from './options.js'

export async function get (args: GetArgs, { positionals, signal }: HandlerContext): Promise<number> {
  const ref = positionals[0]
  let written: { dealId: string, from: 'local' | 'provider', files: string[] } | undefined
  const store = await LilyJobs.open(args.dataDir)
  try {
    const local = await store.writeOutputs(ref, args.out).catch((e: unknown) => {
      if (e instanceof LilyError && e.code === 'SDK_NO_OUTPUTS') return undefined
      throw e
    })
    if (local !== undefined) written = { ...local, from: 'local' }
  } finally {
    await store.close()
  }
  if (written === undefined) {
    if (args.profile === undefined) throw new CliError(`no result of ${ref} is stored in ${args.dataDir}; give --profile <profile.json> to ask the deal's provider for it`, 1)
    const profile = await readProfile(args.profile)
    const { client } = await connectCreator(args, profile, signal)
    try {
      written = await client.getOutputs(ref, args.out, { signal })
    } finally {
      await client.close()
    }
  }
  if (args.json) process.stdout.write(`${jsonLine({ out: args.out, ...written })}\n`)
  else process.stdout.write(`outputs of deal ${written.dealId} (${written.from === 'local' ? 'from the data dir' : 'from the provider'}) written to ${args.out}: ${written.files.join(', ')}\n`)
  return 0
}

/** `lilynode resume`: on LilyClient, the SDK. */
import { CliError, type HandlerContext } from '../../command.js'
import { creatorPrinter } from '../../output.js'
import { readProfile } from '../../../node/index.js'
import { connectCreator } from '../../creatorClient.js'
import type { ResumeArgs } from './options.js'

export async function resume (args: ResumeArgs, { signal }: HandlerContext): Promise<number> {
  const only = args.deal
  const json = args.json
  const print = creatorPrinter(json)
  const profile = await readProfile(args.profile)
  const { client, dataDir } = await connectCreator(args, profile, signal)
  try {
    const left = await client.unfinished()
    const missing = only.filter((id) => !left.some((d) => d.dealId === id))
    if (missing.length > 0) throw new CliError(`no unfinished deal ${missing[0]} in ${dataDir}; run lilynode resume without --deal to settle every one (${left.length} unfinished)`)
    const todo = only.length > 0 ? left.filter((d) => only.includes(d.dealId)) : left
    if (json) process.stdout.write(`${JSON.stringify({ resuming: todo.map((d) => ({ dealId: d.dealId, state: d.state })) })}\n`)
    else if (todo.length === 0) process.stdout.write(`no unfinished deals in ${dataDir}\n`)
    else for (const d of todo) process.stdout.write(`resuming deal ${d.dealId}: ${d.state}, provider ${d.provider}, price ${d.price} wei\n`)
    const jobs = todo.map((d) => client.resume(d.dealId, { signal }))
    await Promise.allSettled(jobs.map(async (job) => { for await (const e of job) print(e) }))
    const failures: Array<{ code: number, reason: string }> = []
    for (const job of jobs) {
      try {
        const r = await job.result
        if (r.exitStatus !== 0) failures.push({ code: r.exitStatus, reason: r.reason })
      } catch (e) {
        failures.push({ code: 1, reason: e instanceof Error ? e.message : String(e) })
      }
    }
    if (failures.length > 0) throw new CliError(failures.map((f) => f.reason).join('; '), failures[0].code)
    return 0
  } finally {
    await client.close()
  }
}

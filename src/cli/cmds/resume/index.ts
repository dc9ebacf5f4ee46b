/**
 * `lilynode resume`: settles the deals that earlier `lilynode run`s of a data dir left
 * unfinished (stopped with Ctrl-C, or crashed, before the deal closed): the result is fetched,
 * checked and accepted (or challenged), or the timeout refund is taken. On LilyClient, the SDK.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { creatorPrinter } from '../../output.js'
import { readProfile } from '../../../node/index.js'
import type { Hash } from '../../../node/index.js'
import { connectCreator } from '../../creatorClient.js'

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'settle the deals earlier runs of a data dir left unfinished (stopped or crashed): accept or challenge the result, or take the timeout refund',
  usage: 'lilynode resume --profile <profile.json> [--data-dir <dir>] [--deal <dealId>]... [options]',
  flags: [
    { name: 'profile', type: 'string', description: 'network profile JSON (e.g. .devnet/profile.json)' },
    { name: 'data-dir', type: 'string', description: 'the creator\'s key and database (the one `lilynode run` used)', default: join(homedir(), '.lilynode', 'creator') },
    { name: 'deal', type: 'string', multiple: true, description: 'resume only this deal (default: every unfinished one)' },
    { name: 'listen', type: 'string', multiple: true, description: 'libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/0)' },
    { name: 'json', type: 'boolean', description: 'one JSON event per line, with timestamps' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length > 0) throw new CliError(`lilynode resume takes no arguments, got '${args.positionals[0]}'; name deals with --deal <dealId>`)
    const only = listFlag(args, 'deal').map((d) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(d)) throw new CliError(`--deal needs a deal id (0x + 64 hex), got '${d}'`)
      return d.toLowerCase() as Hash
    })
    const json = boolFlag(args, 'json')
    const print = creatorPrinter(json)
    const profile = await readProfile(stringFlag(args, 'profile', true))
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
}

export default resumeCommand

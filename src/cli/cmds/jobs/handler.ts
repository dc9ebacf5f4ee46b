/** `lilynode jobs`: reads the data dir's job records (no node is started). */
import { LilyJobs, type JobFilter, type JobRecord } from '../../../sdk/index.js'
import { parseWhen, type JobsArgs } from './options.js'

/** JSON with wei as decimal strings. */
export function jsonLine (v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x)
}

function ago (ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : s < 172800 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86400)}d ago`
}

/** One line per job for people. */
export function jobLine (j: JobRecord): string {
  const why = j.failure !== undefined ? `  ${j.failure.code}` : ''
  const exit = j.exitCode !== undefined && j.exitCode !== null ? ` exit ${j.exitCode}` : ''
  return `${j.id}  ${new Date(j.createdAt).toISOString().slice(0, 19).replace('T', ' ')} (${ago(j.createdAt)})  ${j.state.padEnd(9)} ${`${j.moduleName}:${j.moduleVersion}`.padEnd(22)} ${j.source.padEnd(3)} ${j.price !== undefined ? `${j.price} wei` : '-'}${exit}${why}`
}

export async function jobs (args: JobsArgs): Promise<number> {
  const filter: JobFilter = {
    ...(args.state !== undefined ? { state: args.state } : {}),
    ...(args.module !== undefined ? { module: args.module } : {}),
    ...(args.source !== undefined ? { source: args.source } : {}),
    ...(args.since !== undefined ? { since: parseWhen(args.since, '--since') } : {}),
    ...(args.until !== undefined ? { until: parseWhen(args.until, '--until') } : {})
  }
  const store = await LilyJobs.open(args.dataDir)
  try {
    const all = await store.list(filter)
    const shown = all.slice(0, args.limit)
    if (args.json) {
      for (const j of shown) process.stdout.write(`${jsonLine(j)}\n`)
      return 0
    }
    if (all.length === 0) {
      process.stdout.write(`no jobs${Object.keys(filter).length > 0 ? ' match' : ''} in ${args.dataDir}\n`)
      return 0
    }
    process.stdout.write(`${'JOB'.padEnd(20)}  ${'STARTED'.padEnd(19 + 10)}  ${'STATE'.padEnd(9)} ${'MODULE'.padEnd(22)} SRC PRICE\n`)
    for (const j of shown) process.stdout.write(`${jobLine(j)}\n`)
    if (all.length > shown.length) process.stdout.write(`(${all.length - shown.length} more; --limit ${all.length} shows them)\n`)
    process.stdout.write('`lilynode describe <job>` tells a job\'s stages; `lilynode get <job> --out DIR` writes its outputs\n')
    return 0
  } finally {
    await store.close()
  }
}

/** `lilynode query`: LilyClient.queryNode, the SDK. */
import { CliError, type HandlerContext } from '../../command.js'
import { closest } from '../../typedOptions.js'
import type { QueryKind, QueryPage } from '../../../p2p/index.js'
import { LilyClient } from '../../../sdk/index.js'
import { QUERY_KINDS, type QueryArgs } from './options.js'

function plain (v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x))
}

function line (item: Record<string, unknown>): string {
  return Object.entries(item)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ')
}

export async function query (args: QueryArgs, { positionals, signal }: HandlerContext): Promise<number> {
  const what = positionals[0]
  if (!(QUERY_KINDS as readonly string[]).includes(what)) {
    const near = closest(what, QUERY_KINDS)
    throw new CliError(`lilynode query needs one of ${QUERY_KINDS.join(', ')}, got '${what}'${near !== undefined ? `; did you mean '${near}'?` : ''}`)
  }
  const answer = plain(await LilyClient.queryNode(args.node, what as QueryKind, { page: args.page, limit: args.limit, signal }))
  if (args.json) {
    process.stdout.write(`${JSON.stringify(answer)}\n`)
    return 0
  }
  if (what === 'epoch') {
    for (const [k, v] of Object.entries(answer as Record<string, unknown>)) {
      process.stdout.write(`${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`)
    }
    return 0
  }
  const p = answer as QueryPage
  const from = p.page * p.limit
  process.stdout.write(`${what}: ${p.items.length === 0 ? 0 : from + 1}-${from + p.items.length} of ${p.total}\n`)
  for (const item of p.items) process.stdout.write(`${line(item)}\n`)
  return 0
}

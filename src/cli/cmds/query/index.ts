/** `lilynode query <offers|jobs|deals|peers|epoch> --node <multiaddr>`: asks a running node over libp2p (LilyClient.queryNode, the SDK). */
import { boolFlag, stringFlag } from '../../args.js'
import { CliError, type Command } from '../../command.js'
import { QUERY_KINDS, MAX_QUERY_LIMIT, type QueryKind, type QueryPage } from '../../../p2p/index.js'
import { LilyClient } from '../../../sdk/index.js'

function int (name: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}, got '${v}'`)
  return Number(v)
}

function plain (v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x))
}

function line (item: Record<string, unknown>): string {
  return Object.entries(item)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ')
}

export const queryCommand: Command = {
  name: 'query',
  summary: 'ask a running node about its offers, jobs, deals, peers or epoch',
  usage: `lilynode query <${QUERY_KINDS.join('|')}> --node <multiaddr> [--page N] [--limit N] [--json]`,
  flags: [
    { name: 'node', type: 'string', description: 'the node\'s multiaddr, e.g. /ip4/127.0.0.1/tcp/4001/p2p/<peer id>' },
    { name: 'page', type: 'string', description: 'page number (from 0)', default: '0' },
    { name: 'limit', type: 'string', description: `items per page (1..${MAX_QUERY_LIMIT})`, default: '20' },
    { name: 'json', type: 'boolean', description: 'print the answer as one JSON line' }
  ],
  run: async (args, signal) => {
    const what = args.positionals[0]
    if (what === undefined || !(QUERY_KINDS as readonly string[]).includes(what)) {
      throw new CliError(`lilynode query needs one of ${QUERY_KINDS.join(', ')}, got ${what === undefined ? 'nothing' : `'${what}'`}`)
    }
    if (args.positionals.length > 1) throw new CliError(`unexpected argument '${args.positionals[1]}'`)
    const node = stringFlag(args, 'node', true)
    const page = int('page', stringFlag(args, 'page'), 0, 0, 1_000_000)
    const limit = int('limit', stringFlag(args, 'limit'), 20, 1, MAX_QUERY_LIMIT)
    const answer = plain(await LilyClient.queryNode(node, what as QueryKind, { page, limit, signal }))
    if (boolFlag(args, 'json')) {
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
}

export default queryCommand

/** `lilynode query <offers|jobs|deals|peers|epoch> --node <multiaddr>`: asks a running node over libp2p. */
import { defineCommand } from '../../command.js'
import { QUERY_KINDS, queryOptions } from './options.js'

export const queryCommand = defineCommand({
  name: 'query',
  summary: 'ask a running node about its offers, jobs, deals, peers or epoch',
  usage: `lilynode query <${QUERY_KINDS.join('|')}> --node <multiaddr> [--page N] [--limit N] [--json]`,
  options: queryOptions,
  args: { names: `<${QUERY_KINDS.join('|')}>`, min: 1, max: 1, hint: `one of ${QUERY_KINDS.join(', ')}` },
  handler: async (args, ctx) => await (await import('./handler.js')).query(args, ctx)
})

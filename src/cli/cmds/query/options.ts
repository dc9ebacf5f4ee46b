import { jsonOption } from '../../sharedOptions.js'
import { int, str, type Values } from '../../typedOptions.js'
import { MAX_QUERY_LIMIT, QUERY_KINDS } from '../../../protocol/constants.js'

/** What a node answers (the query protocol's kinds and page limit; a test checks them against src/p2p). */
export { QUERY_KINDS, MAX_QUERY_LIMIT }

export const queryOptions = {
  node: str({ description: 'the node\'s multiaddr, e.g. /ip4/127.0.0.1/tcp/4001/p2p/<peer id>', placeholder: 'multiaddr', required: true }),
  page: int({ description: 'page number (from 0)', min: 0, max: 1_000_000, default: 0 }),
  limit: int({ description: 'items per page', min: 1, max: MAX_QUERY_LIMIT, default: 20 }),
  json: jsonOption('print the answer as one JSON line')
}

export type QueryArgs = Values<typeof queryOptions>

import type { Address } from 'viem'
import type { Deal } from '../../protocol/types.js'
import type { ChainClients } from '../client.js'
import { sendRequests, type RequestsTxInfo } from './send.js'

export interface SettleRequestParameters {
  requests: Address
  requestId: bigint
  deal: Deal
}

/** Settles a request whose deal closed in the escrow without fulfill (timeout, claim, mediation); anyone may send it. */
export async function settleRequest (client: ChainClients, p: SettleRequestParameters): Promise<RequestsTxInfo> {
  return await sendRequests(client, 'settleRequest', p.requests, 'settle', [p.requestId, p.deal])
}

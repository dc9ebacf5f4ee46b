import type { Address } from 'viem'
import type { ChainClients } from '../client.js'
import { sendRequests, type RequestsTxInfo } from './send.js'

export interface RefundRequestParameters {
  requests: Address
  requestId: bigint
}

/** Credits maxPrice back to the consumer of a request nobody served by its deadline; anyone may send it. */
export async function refundRequest (client: ChainClients, p: RefundRequestParameters): Promise<RequestsTxInfo> {
  return await sendRequests(client, 'refundRequest', p.requests, 'refund', [p.requestId])
}

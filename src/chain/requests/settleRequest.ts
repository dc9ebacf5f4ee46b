import type { Address, Hex } from 'viem'
import type { Deal } from '../../protocol/index.js'
import type { ChainClients } from '../client.js'
import { sendRequests, type RequestsTxInfo } from './send.js'

export interface SettleRequestParameters {
  requests: Address
  requestId: bigint
  deal: Deal
  /** The short result `fulfill` delivered ('0x' when none was delivered or the provider did not win). */
  data?: Hex
}

export interface SettleRequestReturnType extends RequestsTxInfo {
  /** True when the provider was paid and the consumer called back with a final result. */
  finalized: boolean
  /** The final callback's outcome (undefined when there was no final callback). */
  callbackOk?: boolean
}

/**
 * Settles a request whose deal is over in the escrow, claiming it first when its challenge window
 * has passed: a paid provider makes the result final (callback with isFinal = true); otherwise what
 * came back is credited to the consumer (and a challenger's fee). Anyone may send it.
 */
export async function settleRequest (client: ChainClients, p: SettleRequestParameters): Promise<SettleRequestReturnType> {
  const tx = await sendRequests(client, 'settleRequest', p.requests, 'settle', [p.requestId, p.deal, p.data ?? '0x'])
  const fin = tx.events.find((e) => e.eventName === 'RequestFinalized')
  const cb = tx.events.find((e) => e.eventName === 'CallbackResult')
  return { ...tx, finalized: fin !== undefined, ...(cb !== undefined && cb.eventName === 'CallbackResult' ? { callbackOk: cb.args.ok } : {}) }
}

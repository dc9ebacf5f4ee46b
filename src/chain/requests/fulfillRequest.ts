import { size, type Address, type Hex } from 'viem'
import type { Deal } from '../../protocol/types.js'
import type { ChainClients } from '../client.js'
import { ChainError } from '../errors.js'
import { sendRequests, type RequestsTxInfo } from './send.js'
import { MAX_RESULT_DATA } from './types.js'

export interface FulfillRequestParameters {
  requests: Address
  requestId: bigint
  deal: Deal
  /** Hash of the result bundle. */
  resultHash: Hex
  /** The short result delivered to the consumer ('0x' for none), at most MAX_RESULT_DATA bytes. */
  data: Hex
}

export interface FulfillRequestReturnType extends RequestsTxInfo {
  /** Whether the consumer's callback succeeded (the provider is paid either way). */
  callbackOk: boolean
}

/** The provider delivers the result: the deal completes (provider paid) and the consumer is called back. */
export async function fulfillRequest (client: ChainClients, p: FulfillRequestParameters): Promise<FulfillRequestReturnType> {
  if (size(p.data) > MAX_RESULT_DATA) throw new ChainError('CHAIN_BAD_PARAMS', `result data is ${size(p.data)} bytes, more than ${MAX_RESULT_DATA}: deliver a digest or a pointer instead`)
  const tx = await sendRequests(client, 'fulfillRequest', p.requests, 'fulfill', [p.requestId, p.deal, p.resultHash, p.data])
  const ev = tx.events.find((e) => e.eventName === 'CallbackResult')
  if (ev === undefined || ev.eventName !== 'CallbackResult') throw new ChainError('CHAIN_TX_FAILED', `fulfillRequest: transaction ${tx.hash} emitted no CallbackResult`)
  return { ...tx, callbackOk: ev.args.ok }
}

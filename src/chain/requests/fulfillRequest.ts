import { size, type Address, type Hex } from 'viem'
import type { Deal } from '../../protocol/index.js'
import { lilyRequestsAbi } from '../artifacts.js'
import type { ChainClients } from '../client.js'
import { ChainError } from '../errors.js'
import { submitResult } from '../submitResult.js'
import { guardRead } from '../tx.js'
import { sendRequests, type RequestsTxInfo } from './send.js'
import { MAX_RESULT_DATA } from './types.js'

export interface FulfillRequestParameters {
  requests: Address
  requestId: bigint
  deal: Deal
  /** Hash of the result bundle (put on-chain with the escrow's submitResult first, when not yet there). */
  resultHash: Hex
  /** The short result delivered to the consumer ('0x' for none), at most MAX_RESULT_DATA bytes. */
  data: Hex
}

export interface FulfillRequestReturnType extends RequestsTxInfo {
  /** Whether the consumer's (provisional, isFinal = false) callback succeeded. */
  callbackOk: boolean
  /** The escrow's submitResult transaction, when this call sent it. */
  submitTx?: Hex
}

/**
 * The provider delivers the result: its hash goes on-chain (the escrow's submitResult, which starts
 * the challenge window; skipped when already there), then `fulfill` calls the consumer back with
 * isFinal = false. The provider is paid later, by `settleRequest` after the window.
 */
export async function fulfillRequest (client: ChainClients, p: FulfillRequestParameters): Promise<FulfillRequestReturnType> {
  if (size(p.data) > MAX_RESULT_DATA) throw new ChainError('CHAIN_BAD_PARAMS', `result data is ${size(p.data)} bytes, more than ${MAX_RESULT_DATA}: deliver a digest or a pointer instead`)
  const escrow = await guardRead(client, 'fulfillRequest', async () => await client.public.readContract({ abi: lilyRequestsAbi, address: p.requests, functionName: 'escrow' }))
  const sub = await submitResult(client, { escrow, deal: p.deal, resultHash: p.resultHash })
  const tx = await sendRequests(client, 'fulfillRequest', p.requests, 'fulfill', [p.requestId, p.deal, p.data])
  const ev = tx.events.find((e) => e.eventName === 'CallbackResult')
  if (ev === undefined || ev.eventName !== 'CallbackResult') throw new ChainError('CHAIN_TX_FAILED', `fulfillRequest: transaction ${tx.hash} emitted no CallbackResult`)
  return { ...tx, callbackOk: ev.args.ok, ...(sub.tx !== undefined ? { submitTx: sub.tx.hash } : {}) }
}

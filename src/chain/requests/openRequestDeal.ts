import type { Address, Hex } from 'viem'
import type { Deal } from '../../protocol/index.js'
import type { ChainClients } from '../client.js'
import { ChainError } from '../errors.js'
import { sendRequests, type RequestsTxInfo } from './send.js'

export interface OpenRequestDealParameters {
  requests: Address
  requestId: bigint
  /** The matched Deal: creator = the companion, jobOfferHash = digest of jobOfferForRequest(...). */
  deal: Deal
  /** The epochs of the JobOffer the node published for the request. */
  epoch: bigint
  expiryEpoch: bigint
  /** The provider's 65-byte signature over the Deal; '0x' after the provider's own approveDeal. */
  sigProvider: Hex
}

export interface OpenRequestDealReturnType extends RequestsTxInfo {
  dealId: Hex
}

/** Opens a request's matched deal through the companion, which checks it against the request. */
export async function openRequestDeal (client: ChainClients, p: OpenRequestDealParameters): Promise<OpenRequestDealReturnType> {
  if (p.deal.creator.toLowerCase() !== p.requests.toLowerCase()) {
    throw new ChainError('CHAIN_BAD_PARAMS', `the deal's creator ${p.deal.creator} is not the LilyRequests contract ${p.requests}`)
  }
  const tx = await sendRequests(client, 'openRequestDeal', p.requests, 'openRequestDeal', [p.requestId, p.deal, p.epoch, p.expiryEpoch, p.sigProvider])
  const ev = tx.events.find((e) => e.eventName === 'RequestOpened')
  if (ev === undefined || ev.eventName !== 'RequestOpened') throw new ChainError('CHAIN_TX_FAILED', `openRequestDeal: transaction ${tx.hash} emitted no RequestOpened`)
  return { ...tx, dealId: ev.args.dealId }
}

import type { Address } from 'viem'
import type { ChainClients } from '../client.js'
import { requireWallet } from '../tx.js'
import { sendRequests, type RequestsTxInfo } from './send.js'

export interface WithdrawCreditParameters {
  requests: Address
  /** Recipient (default: the sender). */
  to?: Address
}

/** Pays the sender's whole credit at the companion (refunds, unused funds) to `to`. */
export async function withdrawCredit (client: ChainClients, p: WithdrawCreditParameters): Promise<RequestsTxInfo> {
  const { account } = requireWallet(client, 'withdrawCredit')
  return await sendRequests(client, 'withdrawCredit', p.requests, 'withdraw', [p.to ?? account.address])
}

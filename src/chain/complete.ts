import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'

export interface CompleteParameters {
  escrow: Address
  deal: Deal
  resultHash: Hex
  /** The creator's signature over ResultAcceptance(dealId, resultHash); '0x' when the creator sends the call. */
  sigCreator?: Hex
}

export type CompleteReturnType = DealTxReturnType

/**
 * The one-transaction happy path: with the creator's acceptance of the result, the provider is credited price + collateral.
 * Idempotent: returns the state without sending when the deal is already 'Completed'.
 */
export async function completeDeal (client: ChainClients, params: CompleteParameters): Promise<CompleteReturnType> {
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['Completed'],
    send: async () => await sendEscrow(client, 'completeDeal', params.escrow, 'complete', [params.deal, params.resultHash, params.sigCreator ?? '0x'])
  })
}

import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { completePackedArgs } from './packed.js'
import { sendEscrow } from './tx.js'

export interface CompleteParameters {
  escrow: Address
  deal: Deal
  resultHash: Hex
  /** The creator's signature over ResultAcceptance(dealId, resultHash); '0x' when the creator sends the call. */
  sigCreator?: Hex
  /**
   * Use the compact `completePacked_TWd` when it applies (sent by the provider with the creator's
   * 65-byte ECDSA signature): default true. false always sends the full `complete`.
   */
  packed?: boolean
}

export type CompleteReturnType = DealTxReturnType

/**
 * The one-transaction happy path: with the creator's acceptance of the result, the provider is credited price + collateral.
 * Sent by the provider with the creator's ECDSA signature, it goes through `completePacked_TWd` (the deal's id, not the Deal);
 * otherwise through `complete`.
 * Idempotent: returns the state without sending when the deal is already 'Completed'.
 */
export async function completeDeal (client: ChainClients, params: CompleteParameters): Promise<CompleteReturnType> {
  const sigCreator = params.sigCreator ?? '0x'
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['Completed'],
    send: async (dealId) => {
      const packed = params.packed === false
        ? undefined
        : completePackedArgs(client.chainId, params.escrow, params.deal, dealId, params.resultHash, client.account?.address, sigCreator)
      if (packed !== undefined) return await sendEscrow(client, 'completeDeal', params.escrow, 'completePacked_TWd', packed)
      return await sendEscrow(client, 'completeDeal', params.escrow, 'complete', [params.deal, params.resultHash, sigCreator])
    }
  })
}

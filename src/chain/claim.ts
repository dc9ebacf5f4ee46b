import type { Address } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'

export interface ClaimParameters {
  escrow: Address
  deal: Deal
}

export type ClaimReturnType = DealTxReturnType

/**
 * After an unchallenged window, credits the provider price + collateral (anyone may send it).
 * Idempotent: returns the state without sending when the deal is already 'Claimed'.
 */
export async function claim (client: ChainClients, params: ClaimParameters): Promise<ClaimReturnType> {
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['Claimed'],
    send: async () => await sendEscrow(client, 'claim', params.escrow, 'claim', [params.deal])
  })
}

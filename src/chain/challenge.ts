import type { Address } from 'viem'
import type { Deal } from '../protocol/types.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'

export interface ChallengeParameters {
  escrow: Address
  deal: Deal
}

export type ChallengeReturnType = DealTxReturnType

/**
 * The creator disputes a submitted result within the window, paying the mediation fee from its free balance.
 * Idempotent: returns the state without sending when the deal is already 'Challenged', 'ProviderWon', 'CreatorWon'.
 */
export async function challenge (client: ChainClients, params: ChallengeParameters): Promise<ChallengeReturnType> {
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['Challenged', 'ProviderWon', 'CreatorWon'],
    send: async () => await sendEscrow(client, 'challenge', params.escrow, 'challenge', [params.deal])
  })
}

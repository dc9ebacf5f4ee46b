import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'
import { ownCommitment } from './drawSecret.js'

export interface ChallengeParameters {
  escrow: Address
  deal: Deal
  /** The creator's draw commitment (default: this account's, from drawSecret). */
  commit?: Hex
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
    send: async (dealId) => await sendEscrow(client, 'challenge', params.escrow, 'challenge', [params.deal, params.commit ?? await ownCommitment(client, params.escrow, dealId)])
  })
}

import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'
import { ownCommitment } from './drawSecret.js'

export interface SubmitResultParameters {
  escrow: Address
  deal: Deal
  resultHash: Hex
  /** The provider's draw commitment (default: this account's, from drawSecret). */
  commit?: Hex
}

export type SubmitResultReturnType = DealTxReturnType

/**
 * The provider puts its result hash on-chain (before the result deadline), starting the challenge window.
 * Idempotent: returns the state without sending when the deal is already 'Submitted', 'Challenged', 'Claimed', 'ProviderWon', 'CreatorWon'.
 */
export async function submitResult (client: ChainClients, params: SubmitResultParameters): Promise<SubmitResultReturnType> {
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['Submitted', 'Challenged', 'Claimed', 'ProviderWon', 'CreatorWon'],
    send: async (dealId) => await sendEscrow(client, 'submitResult', params.escrow, 'submitResult', [params.deal, params.resultHash, params.commit ?? await ownCommitment(client, params.escrow, dealId)])
  })
}

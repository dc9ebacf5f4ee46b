import type { Address } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'

export interface ResolveParameters {
  escrow: Address
  deal: Deal
  /** True when the provider's result stands. */
  providerWins: boolean
}

export type ResolveReturnType = DealTxReturnType

/**
 * The drawn mediator rules: it earns the mediation fee, the winner gets price + collateral.
 * Idempotent: returns the state without sending when the deal is already 'ProviderWon', 'CreatorWon'.
 */
export async function resolve (client: ChainClients, params: ResolveParameters): Promise<ResolveReturnType> {
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['ProviderWon', 'CreatorWon'],
    send: async () => await sendEscrow(client, 'resolve', params.escrow, 'resolve', [params.deal, params.providerWins])
  })
}

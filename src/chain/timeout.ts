import type { Address } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'

export interface TimeoutParameters {
  escrow: Address
  deal: Deal
}

export type TimeoutReturnType = DealTxReturnType

/**
 * When no result came by the deadline: the creator is credited its price and the provider's collateral.
 * Idempotent: returns the state without sending when the deal is already 'TimedOut'.
 */
export async function timeoutDeal (client: ChainClients, params: TimeoutParameters): Promise<TimeoutReturnType> {
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['TimedOut'],
    send: async () => await sendEscrow(client, 'timeoutDeal', params.escrow, 'timeout', [params.deal])
  })
}

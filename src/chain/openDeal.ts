import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { sendEscrow } from './tx.js'

export interface OpenDealParameters {
  escrow: Address
  deal: Deal
  /** The creator's approval: a 65-byte signature over dealId, an EIP-1271 signature, or '0x' when the creator sends the call or approved on-chain. */
  sigCreator?: Hex
  /** The provider's approval, likewise. */
  sigProvider?: Hex
}

export type OpenDealReturnType = DealTxReturnType

/**
 * Opens a deal with both parties' approvals: the price leaves the creator's free balance, the collateral the provider's.
 * Idempotent: returns the state without sending when the deal is already 'Open', 'Submitted', 'Challenged', 'Completed', 'Claimed', 'TimedOut', 'ProviderWon', 'CreatorWon'.
 */
export async function openDeal (client: ChainClients, params: OpenDealParameters): Promise<OpenDealReturnType> {
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['Open', 'Submitted', 'Challenged', 'Completed', 'Claimed', 'TimedOut', 'ProviderWon', 'CreatorWon'],
    send: async () => await sendEscrow(client, 'openDeal', params.escrow, 'openDeal', [params.deal, params.sigCreator ?? '0x', params.sigProvider ?? '0x'])
  })
}

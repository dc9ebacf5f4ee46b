import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { dealTransition, type DealTxReturnType } from './dealState.js'
import { openDealPackedArgs } from './packed.js'
import { sendEscrow } from './tx.js'

export interface OpenDealParameters {
  escrow: Address
  deal: Deal
  /** The creator's approval: a 65-byte signature over dealId, an EIP-1271 signature, or '0x' when the creator sends the call or approved on-chain. */
  sigCreator?: Hex
  /** The provider's approval, likewise. */
  sigProvider?: Hex
  /**
   * Use the compact `openDealPacked_XMg` when it applies (the sender is a party and the other party's
   * approval is its 65-byte ECDSA signature; price and collateral below 2^96): default true.
   * false always sends the full `openDeal`.
   */
  packed?: boolean
}

export type OpenDealReturnType = DealTxReturnType

/**
 * Opens a deal with both parties' approvals: the price leaves the creator's free balance, the collateral the provider's.
 * Sent by a party with the other's ECDSA signature, it goes through `openDealPacked_XMg` (fewer calldata bytes, same checks);
 * otherwise through `openDeal`.
 * Idempotent: returns the state without sending when the deal is already 'Open', 'Submitted', 'Challenged', 'Completed', 'Claimed', 'TimedOut', 'ProviderWon', 'CreatorWon'.
 */
export async function openDeal (client: ChainClients, params: OpenDealParameters): Promise<OpenDealReturnType> {
  const sigCreator = params.sigCreator ?? '0x'
  const sigProvider = params.sigProvider ?? '0x'
  return await dealTransition(client, {
    escrow: params.escrow,
    deal: params.deal,
    done: ['Open', 'Submitted', 'Challenged', 'Completed', 'Claimed', 'TimedOut', 'ProviderWon', 'CreatorWon'],
    send: async (dealId) => {
      const packed = params.packed === false ? undefined : openDealPackedArgs(params.deal, dealId, client.account?.address, sigCreator, sigProvider)
      if (packed !== undefined) return await sendEscrow(client, 'openDeal', params.escrow, 'openDealPacked_XMg', packed)
      return await sendEscrow(client, 'openDeal', params.escrow, 'openDeal', [params.deal, sigCreator, sigProvider])
    }
  })
}

import type { Address, Hex } from 'viem'
import type { ChainClients } from './client.js'
import { sendEscrow, type TxInfo } from './tx.js'

export interface ApproveDealParameters {
  escrow: Address
  dealId: Hex
}

/**
 * Approves a deal on-chain instead of signing it (for accounts that cannot sign off-chain, or a
 * contract creator relaying through its own logic): openDeal then takes '0x' for this party.
 */
export async function approveDeal (client: ChainClients, params: ApproveDealParameters): Promise<TxInfo> {
  return await sendEscrow(client, 'approveDeal', params.escrow, 'approveDeal', [params.dealId])
}

import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { ChainError } from './errors.js'
import { sendEscrow, type TxInfo } from './tx.js'

export interface OpenDealsParameters {
  escrow: Address
  /** The deals with both approvals each ('0x' = the sender is that party, or it approved on-chain). */
  deals: ReadonlyArray<{ deal: Deal, sigCreator?: Hex, sigProvider?: Hex }>
}

export interface OpenDealsReturnType {
  /** Ids of the deals this transaction opened (deals already open are skipped by the contract). */
  opened: Hex[]
  tx: TxInfo
}

/** Most deals per transaction: keeps one batch well under a block's gas limit. */
export const MAX_DEALS_PER_BATCH = 200

/**
 * Opens many deals in one transaction. Deals that are already open are skipped on-chain, so a
 * batch can be re-sent; any other failure (a used job offer, a bad signature, a short balance)
 * reverts the whole batch with that error decoded.
 */
export async function openDeals (client: ChainClients, params: OpenDealsParameters): Promise<OpenDealsReturnType> {
  const n = params.deals.length
  if (n === 0 || n > MAX_DEALS_PER_BATCH) {
    throw new ChainError('CHAIN_BAD_PARAMS', `openDeals takes 1 to ${MAX_DEALS_PER_BATCH} deals, got ${n} — split the batch`)
  }
  const tx = await sendEscrow(client, 'openDeals', params.escrow, 'openDeals', [
    params.deals.map((d) => d.deal),
    params.deals.map((d) => d.sigCreator ?? '0x'),
    params.deals.map((d) => d.sigProvider ?? '0x')
  ])
  const opened = tx.events.flatMap((e) => e.eventName === 'DealOpened' ? [e.args.dealId] : [])
  return { opened, tx }
}

import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import type { ChainClients } from './client.js'
import { sendEscrow, type TxInfo } from './tx.js'

export interface RedrawParameters {
  escrow: Address
  deal: Deal
}

export interface RedrawReturnType extends TxInfo {
  dealId: Hex
  /** The late mediator and the stake it lost. */
  slashed: { mediator: Address, amount: bigint }
}

/**
 * Replaces a drawn mediator that missed its deadline (anyone may send it): its stake is slashed
 * to the parties and the deal is drawn again from the next block's hash (call drawMediator).
 */
export async function redraw (client: ChainClients, params: RedrawParameters): Promise<RedrawReturnType> {
  const tx = await sendEscrow(client, 'redraw', params.escrow, 'redraw', [params.deal])
  const ev = tx.events.find((e) => e.eventName === 'MediatorSlashed')
  if (ev?.eventName !== 'MediatorSlashed') throw new Error('redraw: the receipt has no MediatorSlashed event')
  return { ...tx, dealId: ev.args.dealId, slashed: { mediator: ev.args.mediator, amount: ev.args.amount } }
}

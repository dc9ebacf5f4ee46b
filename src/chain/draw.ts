import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/types.js'
import { lilyEscrowAbi } from './artifacts.js'
import type { ChainClients } from './client.js'
import { guardRead, sendEscrow, type TxInfo } from './tx.js'

export interface DisputeState {
  /** The drawn mediator (null before the draw). */
  mediator: Address | null
  /** The draw anchor b: the draw uses blockhash(b + 1). */
  challengeBlock: bigint
  /** The mediator's deadline, unix seconds (0 before the draw). */
  deadline: bigint
}

const ZERO = '0x0000000000000000000000000000000000000000'

/** Reads the dispute of a challenged deal. */
export async function getDispute (client: ChainClients, params: { escrow: Address, dealId: Hex }): Promise<DisputeState> {
  const [mediator, challengeBlock, deadline] = await guardRead(client, 'getDispute', async () =>
    await client.public.readContract({ abi: lilyEscrowAbi, address: params.escrow, functionName: 'disputeOf', args: [params.dealId] }))
  return { mediator: mediator === ZERO ? null : mediator, challengeBlock: BigInt(challengeBlock), deadline: BigInt(deadline) }
}

export interface DrawParameters {
  escrow: Address
  deal: Deal
}

export interface DrawReturnType {
  dealId: Hex
  /** The drawn mediator; null when the anchor's block hash had expired and the anchor moved (call again later). */
  mediator: Address | null
  /** The mediator's deadline, unix seconds. */
  deadline: bigint
  alreadyDone: boolean
  tx?: TxInfo
}

/**
 * Draws the mediator of a challenged deal (anyone may send it, from block challengeBlock + 2 on).
 * Idempotent: returns the mediator already drawn without sending.
 */
export async function drawMediator (client: ChainClients, params: DrawParameters): Promise<DrawReturnType> {
  const dealId = await guardRead(client, 'draw', async () =>
    await client.public.readContract({ abi: lilyEscrowAbi, address: params.escrow, functionName: 'dealId', args: [params.deal] }))
  const before = await getDispute(client, { escrow: params.escrow, dealId })
  if (before.mediator !== null) return { dealId, mediator: before.mediator, deadline: before.deadline, alreadyDone: true }
  const tx = await sendEscrow(client, 'draw', params.escrow, 'draw', [params.deal])
  const after = await getDispute(client, { escrow: params.escrow, dealId })
  return { dealId, mediator: after.mediator, deadline: after.deadline, alreadyDone: false, tx }
}

import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import { lilyEscrowAbi } from './artifacts.js'
import type { ChainClients } from './client.js'
import { drawSecret } from './drawSecret.js'
import { guardRead, sendEscrow, type TxInfo } from './tx.js'

export interface DisputeState {
  /** The drawn mediator (null before the draw, or when none of the frozen set is eligible). */
  mediator: Address | null
  /** How many late mediators were replaced. */
  round: number
  /** Before the draw: the reveal deadline; after it: the mediator's deadline (unix seconds). */
  deadline: bigint
  /** Whether the creator / the provider revealed its draw secret. */
  creatorRevealed: boolean
  providerRevealed: boolean
}

const ZERO = '0x0000000000000000000000000000000000000000'

/** Reads the dispute of a challenged deal. */
export async function getDispute (client: ChainClients, params: { escrow: Address, dealId: Hex }): Promise<DisputeState> {
  const [mediator, round, deadline, revealed] = await guardRead(client, 'getDispute', async () =>
    await client.public.readContract({ abi: lilyEscrowAbi, address: params.escrow, functionName: 'disputeOf', args: [params.dealId] }))
  return { mediator: mediator === ZERO ? null : mediator, round, deadline: BigInt(deadline), creatorRevealed: (revealed & 1) !== 0, providerRevealed: (revealed & 2) !== 0 }
}

export interface DrawParameters {
  escrow: Address
  deal: Deal
}

export interface DrawReturnType {
  dealId: Hex
  /** The drawn mediator; null while the parties have not both revealed. */
  mediator: Address | null
  /** The mediator's deadline (or the reveal deadline before the draw), unix seconds. */
  deadline: bigint
  alreadyDone: boolean
  tx?: TxInfo
}

/**
 * Advances the draw of a challenged deal as far as this account can: a party of the deal
 * reveals its draw secret (the second reveal draws the mediator); after the reveal deadline,
 * anyone closes a dispute a party did not reveal for (`forfeit`). Returns without sending when
 * there is nothing this account can do now (mediator drawn, own secret revealed, deadline ahead).
 */
export async function drawMediator (client: ChainClients, params: DrawParameters): Promise<DrawReturnType> {
  const dealId = await guardRead(client, 'draw', async () =>
    await client.public.readContract({ abi: lilyEscrowAbi, address: params.escrow, functionName: 'dealId', args: [params.deal] }))
  const before = await getDispute(client, { escrow: params.escrow, dealId })
  const idle = { dealId, mediator: before.mediator, deadline: before.deadline, alreadyDone: true }
  if (before.mediator !== null || (before.creatorRevealed && before.providerRevealed)) return idle
  const me = client.account?.address.toLowerCase()
  const now = (await guardRead(client, 'draw', async () => await client.public.getBlock({ blockTag: 'latest' }))).timestamp
  let tx: TxInfo | undefined
  if (now <= before.deadline) {
    const mine = me === params.deal.creator.toLowerCase() ? !before.creatorRevealed : me === params.deal.provider.toLowerCase() ? !before.providerRevealed : false
    if (!mine) return idle
    tx = await sendEscrow(client, 'reveal', params.escrow, 'reveal', [params.deal, await drawSecret(client, params.escrow, dealId)])
  } else {
    if (me === undefined) return idle
    tx = await sendEscrow(client, 'forfeit', params.escrow, 'forfeit', [params.deal])
  }
  const after = await getDispute(client, { escrow: params.escrow, dealId })
  return { dealId, mediator: after.mediator, deadline: after.deadline, alreadyDone: false, tx }
}

import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import { lilyEscrowAbi } from './artifacts.js'
import type { ChainClients } from './client.js'
import { dealStatusName, type DealStatusName } from './status.js'
import { guardRead, type TxInfo } from './tx.js'
import { isChainError } from './errors.js'

export interface GetDealStateParameters {
  escrow: Address
  deal: Deal
  blockNumber?: bigint
}

export interface GetDealStateReturnType {
  dealId: Hex
  /** This deal's status (None when this deal was never opened). */
  status: DealStatusName
  /** Result deadline (Open) or end of the challenge window (Submitted), unix seconds. */
  deadline: bigint
  /** Whether the job offer is used, by this deal or another one. */
  jobOfferUsed: boolean
}

/** Reads a deal's on-chain state (one eth_call for the deal, one for its job offer). */
export async function getDealState (client: ChainClients, params: GetDealStateParameters): Promise<GetDealStateReturnType> {
  const { escrow, deal, blockNumber } = params
  return await guardRead(client, 'getDealState', async () => {
    const [[dealId, status, deadline], [offerStatus]] = await Promise.all([
      client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'dealState', args: [deal], blockNumber }),
      client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'jobOfferState', args: [deal.creator, deal.jobOfferHash], blockNumber })
    ])
    return { dealId, status: dealStatusName(status), deadline: BigInt(deadline), jobOfferUsed: offerStatus !== 0 }
  })
}

/** What a deal transition returns. */
export interface DealTxReturnType {
  dealId: Hex
  status: DealStatusName
  /** True when the deal was already past this step: nothing was sent. */
  alreadyDone: boolean
  /** The transaction, when one was sent. */
  tx?: TxInfo
}

/**
 * Runs one deal transition idempotently: when the deal is already in one of `done`, returns
 * its state without sending; when a race makes the call revert because the step happened
 * meanwhile (WrongStatus, DealAlreadyOpened), re-reads and returns the state as well.
 */
export async function dealTransition (
  client: ChainClients,
  params: { escrow: Address, deal: Deal, done: readonly DealStatusName[], send: (dealId: Hex) => Promise<TxInfo> }
): Promise<DealTxReturnType> {
  const before = await getDealState(client, params)
  if (params.done.includes(before.status)) return { dealId: before.dealId, status: before.status, alreadyDone: true }
  try {
    const tx = await params.send(before.dealId)
    const after = await getDealState(client, { ...params, blockNumber: tx.blockNumber })
    return { dealId: before.dealId, status: after.status, alreadyDone: false, tx }
  } catch (e) {
    if (isChainError(e, 'CHAIN_REVERTED') && (e.errorName === 'WrongStatus' || e.errorName === 'DealAlreadyOpened')) {
      const now = await getDealState(client, params)
      if (params.done.includes(now.status)) return { dealId: now.dealId, status: now.status, alreadyDone: true }
    }
    throw e
  }
}

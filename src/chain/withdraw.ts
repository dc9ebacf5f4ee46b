import type { Address } from 'viem'
import { lilyEscrowAbi } from './artifacts.js'
import type { ChainClients } from './client.js'
import { ChainError } from './errors.js'
import { guardRead, requireWallet, sendEscrow, type TxInfo } from './tx.js'

export interface WithdrawParameters {
  escrow: Address
  /** How much; omit to withdraw the whole free balance. */
  amount?: bigint
}

export interface WithdrawReturnType extends TxInfo {
  amount: bigint
}

/** Withdraws from the sender's free balance (CHAIN_INSUFFICIENT_BALANCE when it is too small). */
export async function withdraw (client: ChainClients, params: WithdrawParameters): Promise<WithdrawReturnType> {
  const { account } = requireWallet(client, 'withdraw')
  const free = await guardRead(client, 'withdraw', async () => await client.public.readContract({
    abi: lilyEscrowAbi, address: params.escrow, functionName: 'balanceOf', args: [account.address]
  }))
  const amount = params.amount ?? free
  if (amount <= 0n) throw new ChainError('CHAIN_BAD_PARAMS', `nothing to withdraw: the free balance of ${account.address} is ${free}`)
  if (free < amount) {
    throw new ChainError('CHAIN_INSUFFICIENT_BALANCE',
      `cannot withdraw ${amount}: the free escrow balance of ${account.address} is ${free} (funds in open deals are not free) — withdraw at most ${free}`,
      { details: { amount, available: free } })
  }
  return { ...await sendEscrow(client, 'withdraw', params.escrow, 'withdraw', [amount]), amount }
}

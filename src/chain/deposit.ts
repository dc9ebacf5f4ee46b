import { encodeFunctionData, erc20Abi, type Address } from 'viem'
import { getBalances } from './balance.js'
import type { ChainClients } from './client.js'
import { ChainError } from './errors.js'
import { guardRead, requireWallet, sendEscrow, sendRaw, type TxInfo } from './tx.js'

export interface DepositParameters {
  escrow: Address
  amount: bigint
  /** Credit another account's free balance (default: the sender's). */
  for?: Address
}

export interface DepositReturnType extends TxInfo {
  /** The approve transaction sent first for an ERC-20 escrow, if the allowance was short. */
  approveHash?: `0x${string}`
}

/**
 * Deposits into the escrow: ETH as msg.value, or an ERC-20 after approving the escrow when the
 * allowance is short. Checks the wallet holds the amount first (CHAIN_INSUFFICIENT_FUNDS).
 */
export async function deposit (client: ChainClients, params: DepositParameters): Promise<DepositReturnType> {
  const { amount, escrow } = params
  const signer = requireWallet(client, 'deposit')
  if (amount <= 0n) throw new ChainError('CHAIN_BAD_PARAMS', `deposit amount must be positive, got ${amount}`)
  const bal = await getBalances(client, { escrow, account: signer.account.address })
  if (bal.wallet < amount) {
    throw new ChainError('CHAIN_INSUFFICIENT_FUNDS',
      `deposit of ${amount} needs ${amount} ${bal.token === null ? 'wei of ETH' : `units of token ${bal.token}`}, but ${signer.account.address} holds ${bal.wallet} — fund the account first`,
      { details: { amount, available: bal.wallet } })
  }
  let approveHash: `0x${string}` | undefined
  if (bal.token !== null) {
    const token = bal.token
    const allowance = await guardRead(client, 'deposit', async () => await client.public.readContract({
      abi: erc20Abi, address: token, functionName: 'allowance', args: [signer.account.address, escrow]
    }))
    if (allowance < amount) {
      approveHash = (await sendRaw(client, 'deposit (approve)', signer, token,
        encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [escrow, amount] }))).hash
    }
  }
  const value = bal.token === null ? amount : undefined
  const tx = params.for === undefined
    ? await sendEscrow(client, 'deposit', escrow, 'deposit', [amount], value)
    : await sendEscrow(client, 'deposit', escrow, 'depositFor', [params.for, amount], value)
  return { ...tx, approveHash }
}

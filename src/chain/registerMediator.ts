import { encodeFunctionData, erc20Abi, type Address } from 'viem'
import { lilyEscrowAbi } from './artifacts.js'
import { getBalances } from './balance.js'
import type { ChainClients } from './client.js'
import { ChainError } from './errors.js'
import { guardRead, requireWallet, sendEscrow, sendRaw, type TxInfo } from './tx.js'

export interface MediatorInfo {
  stake: bigint
  /** Whether it is registered and not leaving. */
  listed: boolean
  /** Drawn disputes awaiting its ruling. */
  assigned: bigint
  /** When its stake unlocks (0 = not unregistering). */
  unlockAt: bigint
  /** Disputes challenged from then on (unix s) count it. */
  activeAt: bigint
  /** Disputes challenged from then on no longer count it (0 = not leaving). */
  leaveAt: bigint
}

/** Reads a mediator's registry entry. */
export async function getMediator (client: ChainClients, params: { escrow: Address, mediator: Address }): Promise<MediatorInfo> {
  const [stake, listed, assigned, unlockAt, activeAt, leaveAt] = await guardRead(client, 'getMediator', async () =>
    await client.public.readContract({ abi: lilyEscrowAbi, address: params.escrow, functionName: 'mediatorInfo', args: [params.mediator] }))
  return { stake, listed, assigned, unlockAt, activeAt, leaveAt }
}

export interface RegisterMediatorParameters {
  escrow: Address
  /** Stake to add (the total must reach the escrow's minStake). */
  amount: bigint
}

export interface RegisterMediatorReturnType extends TxInfo {
  mediator: MediatorInfo
}

/** Stakes and joins the mediator draw (approving an ERC-20 stake first when needed). */
export async function registerMediator (client: ChainClients, params: RegisterMediatorParameters): Promise<RegisterMediatorReturnType> {
  const signer = requireWallet(client, 'registerMediator')
  const { escrow, amount } = params
  const [bal, minStake, current] = await Promise.all([
    getBalances(client, { escrow, account: signer.account.address }),
    guardRead(client, 'registerMediator', async () => await client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'minStake' })),
    getMediator(client, { escrow, mediator: signer.account.address })
  ])
  if (current.stake + amount < minStake) {
    throw new ChainError('CHAIN_BAD_PARAMS', `a mediator must stake at least ${minStake}; ${current.stake} staked + ${amount} is less — stake more`)
  }
  if (bal.wallet < amount) {
    throw new ChainError('CHAIN_INSUFFICIENT_FUNDS', `staking ${amount} needs that much in the wallet of ${signer.account.address}, which holds ${bal.wallet} — fund it first`,
      { details: { amount, available: bal.wallet } })
  }
  if (bal.token !== null) {
    const token = bal.token
    const allowance = await guardRead(client, 'registerMediator', async () => await client.public.readContract({
      abi: erc20Abi, address: token, functionName: 'allowance', args: [signer.account.address, escrow]
    }))
    if (allowance < amount) {
      await sendRaw(client, 'registerMediator (approve)', signer, token, encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [escrow, amount] }))
    }
  }
  const tx = await sendEscrow(client, 'registerMediator', escrow, 'registerMediator', [amount], bal.token === null ? amount : undefined)
  return { ...tx, mediator: await getMediator(client, { escrow, mediator: signer.account.address }) }
}

/** Leaves the mediator set (after the escrow's mediatorDelay); the stake unlocks at unlockAt (see getMediator). */
export async function unregisterMediator (client: ChainClients, params: { escrow: Address }): Promise<TxInfo> {
  return await sendEscrow(client, 'unregisterMediator', params.escrow, 'unregisterMediator', [])
}

/** Takes an unlocked stake back to the wallet. */
export async function withdrawStake (client: ChainClients, params: { escrow: Address }): Promise<TxInfo> {
  return await sendEscrow(client, 'withdrawStake', params.escrow, 'withdrawStake', [])
}

import { erc20Abi, type Address } from 'viem'
import { lilyEscrowAbi } from './artifacts.js'
import type { ChainClients } from './client.js'
import { guardRead } from './tx.js'

export interface GetBalancesParameters {
  escrow: Address
  /** Whose balances (default: the client's account). */
  account?: Address
}

export interface GetBalancesReturnType {
  account: Address
  /** The settlement token (null = native ETH). */
  token: Address | null
  /** Free balance in the escrow (withdrawable). */
  escrow: bigint
  /** Balance of the settlement token in the wallet (ETH for an ETH escrow). */
  wallet: bigint
  /** Native ETH in the wallet (for gas). */
  native: bigint
}

const ZERO = '0x0000000000000000000000000000000000000000'

/** The settlement token of an escrow (null = native ETH). */
export async function getToken (client: ChainClients, escrow: Address): Promise<Address | null> {
  const token = await guardRead(client, 'getToken', async () =>
    await client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'token' }))
  return token === ZERO ? null : token
}

/** Reads an account's escrow and wallet balances. */
export async function getBalances (client: ChainClients, params: GetBalancesParameters): Promise<GetBalancesReturnType> {
  const account = params.account ?? client.account?.address
  if (account === undefined) throw new TypeError('getBalances: pass account or a signing client')
  const token = await getToken(client, params.escrow)
  return await guardRead(client, 'getBalances', async () => {
    const [escrow, native, wallet] = await Promise.all([
      client.public.readContract({ abi: lilyEscrowAbi, address: params.escrow, functionName: 'balanceOf', args: [account] }),
      client.public.getBalance({ address: account }),
      token === null ? Promise.resolve(undefined) : client.public.readContract({ abi: erc20Abi, address: token, functionName: 'balanceOf', args: [account] })
    ])
    return { account, token, escrow, native, wallet: wallet ?? native }
  })
}

/**
 * Sending escrow transactions: encode, send (gas estimation surfaces reverts, which are decoded
 * into the custom error's name), wait for the receipt, decode the events.
 */
import {
  encodeFunctionData, parseEventLogs,
  type Account, type Address, type ContractFunctionArgs, type ContractFunctionName, type EncodeFunctionDataParameters,
  type Hex, type ParseEventLogsReturnType, type WalletClient, type Transport, type Chain
} from 'viem'
import { lilyEscrowAbi } from './artifacts.js'
import type { ChainClients } from './client.js'
import { ChainError, toChainError } from './errors.js'

export type EscrowAbi = typeof lilyEscrowAbi
export type EscrowWriteName = ContractFunctionName<EscrowAbi, 'nonpayable' | 'payable'>
export type EscrowEventLog = ParseEventLogsReturnType<EscrowAbi, undefined, true>[number]

/** What every write action returns about its transaction. */
export interface TxInfo {
  hash: Hex
  gasUsed: bigint
  blockNumber: bigint
  /** The escrow's events in this transaction. */
  events: EscrowEventLog[]
}

export function requireWallet (client: ChainClients, action: string): { wallet: WalletClient<Transport, Chain, Account>, account: Account } {
  if (client.wallet === undefined || client.account === undefined) {
    throw new ChainError('CHAIN_BAD_PARAMS', `${action} needs a signing client: pass privateKey to createChainClients`)
  }
  return { wallet: client.wallet, account: client.account }
}

/** Sends one call to the escrow and waits for it to be mined. */
export async function sendEscrow<const F extends EscrowWriteName> (
  client: ChainClients,
  action: string,
  escrow: Address,
  functionName: F,
  args: ContractFunctionArgs<EscrowAbi, 'nonpayable' | 'payable', F>,
  value?: bigint
): Promise<TxInfo> {
  const { wallet, account } = requireWallet(client, action)
  const data = encodeFunctionData({ abi: lilyEscrowAbi, functionName, args } as EncodeFunctionDataParameters)
  return await sendRaw(client, action, { wallet, account }, escrow, data, value)
}

/** Sends calldata to a contract, waits for the receipt and decodes escrow events. */
export async function sendRaw (
  client: ChainClients,
  action: string,
  signer: { wallet: WalletClient<Transport, Chain, Account>, account: Account },
  to: Address,
  data: Hex,
  value?: bigint
): Promise<TxInfo> {
  let hash: Hex
  try {
    hash = await signer.wallet.sendTransaction({ account: signer.account, chain: client.chain, to, data, value })
  } catch (e) {
    throw toChainError(e, { action, rpcUrl: client.rpcUrl })
  }
  try {
    const receipt = await client.public.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') {
      // re-run the call at that block to decode why
      try {
        await client.public.call({ account: signer.account, to, data, value, blockNumber: receipt.blockNumber })
      } catch (e) {
        throw toChainError(e, { action, rpcUrl: client.rpcUrl })
      }
      throw new ChainError('CHAIN_TX_FAILED', `${action}: transaction ${hash} reverted`)
    }
    const events = parseEventLogs({ abi: lilyEscrowAbi, strict: true, logs: receipt.logs.filter((l) => l.address.toLowerCase() === to.toLowerCase()) })
    return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, events }
  } catch (e) {
    throw toChainError(e, { action, rpcUrl: client.rpcUrl })
  }
}

/** Runs a read, with errors decoded (reverts by name, unreachable RPC). */
export async function guardRead<T> (client: ChainClients, action: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (e) {
    throw toChainError(e, { action, rpcUrl: client.rpcUrl })
  }
}

/**
 * Sending LilyRequests transactions: encode, send, wait, decode the companion's events, and turn
 * its custom errors (or the escrow's, when the escrow reverted inside the call) into ChainErrors.
 */
import {
  BaseError, decodeErrorResult, encodeFunctionData, parseEventLogs,
  type Address, type ContractFunctionArgs, type ContractFunctionName, type EncodeFunctionDataParameters, type Hex, type ParseEventLogsReturnType
} from 'viem'
import { lilyRequestsAbi } from '../artifacts.js'
import type { ChainClients } from '../client.js'
import { ChainError, revertData, toChainError } from '../errors.js'
import { requireWallet } from '../tx.js'

export type RequestsAbi = typeof lilyRequestsAbi
export type RequestsWriteName = ContractFunctionName<RequestsAbi, 'nonpayable' | 'payable'>
export type RequestsEventLog = ParseEventLogsReturnType<RequestsAbi, undefined, true>[number]

/** What every LilyRequests write action returns about its transaction. */
export interface RequestsTxInfo {
  hash: Hex
  gasUsed: bigint
  blockNumber: bigint
  /** The companion's events in this transaction. */
  events: RequestsEventLog[]
}

const HINTS: Record<string, string> = {
  BadParams: 'fix the named request parameter (deadline in the future, callbackGasLimit ≤ MAX_CALLBACK_GAS, non-zero maxPrice, timeout, module and agent)',
  WrongValue: 'send exactly maxPrice as value for an ETH escrow, and no value for an ERC-20 escrow',
  WrongRequestStatus: 'the request is not in a state that allows this call; read it with getRequest first',
  TermsMismatch: 'the deal must carry exactly the request\'s terms: build the JobOffer with jobOfferForRequest',
  WrongDeal: 'pass the Deal that was opened for this request',
  TooEarly: 'wait until the request\'s deadline has passed',
  TooLate: 'the request\'s deadline has passed: it can only be refunded now',
  Unauthorized: 'only the request\'s agent may open its deal, only the deal\'s provider may fulfill it, only the agent or the consumer may challenge it',
  DataTooLong: 'deliver at most MAX_RESULT_DATA bytes of data',
  InsufficientGas: 'send the transaction with more gas so the callback gets its full gas limit',
  DealNotClosed: 'the deal is still live in the escrow; settle after it closes',
  ZeroAmount: 'there is no credit to withdraw'
}

/** Like toChainError, but decodes LilyRequests' custom errors first. */
export function toRequestsError (e: unknown, context: { action: string, rpcUrl?: string }): ChainError {
  if (e instanceof ChainError) return e
  if (e instanceof BaseError) {
    const data = revertData(e)
    if (data !== undefined) {
      try {
        const d = decodeErrorResult({ abi: lilyRequestsAbi, data })
        const args = (d.args ?? []) as readonly unknown[]
        const shown = args.map((a) => typeof a === 'bigint' ? a.toString() : String(a)).join(', ')
        const hint = HINTS[d.errorName]
        return new ChainError('CHAIN_REVERTED', `${context.action} reverted: ${d.errorName}(${shown})${hint !== undefined ? ` — ${hint}` : ''}`, {
          cause: e, errorName: d.errorName, errorArgs: args
        })
      } catch {
        // not one of ours: the escrow's decoder below
      }
    }
  }
  return toChainError(e, context)
}

/** Sends one call to LilyRequests and waits for it to be mined. */
export async function sendRequests<const F extends RequestsWriteName> (
  client: ChainClients,
  action: string,
  requests: Address,
  functionName: F,
  args: ContractFunctionArgs<RequestsAbi, 'nonpayable' | 'payable', F>,
  value?: bigint
): Promise<RequestsTxInfo> {
  const { wallet, account } = requireWallet(client, action)
  const data = encodeFunctionData({ abi: lilyRequestsAbi, functionName, args } as EncodeFunctionDataParameters)
  let hash: Hex
  try {
    hash = await wallet.sendTransaction({ account, chain: client.chain, to: requests, data, value })
  } catch (e) {
    throw toRequestsError(e, { action, rpcUrl: client.rpcUrl })
  }
  try {
    const receipt = await client.public.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') {
      try {
        await client.public.call({ account, to: requests, data, value, blockNumber: receipt.blockNumber })
      } catch (e) {
        throw toRequestsError(e, { action, rpcUrl: client.rpcUrl })
      }
      throw new ChainError('CHAIN_TX_FAILED', `${action}: transaction ${hash} reverted`)
    }
    const events = parseEventLogs({ abi: lilyRequestsAbi, strict: true, logs: receipt.logs.filter((l) => l.address.toLowerCase() === requests.toLowerCase()) })
    return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, events }
  } catch (e) {
    throw toRequestsError(e, { action, rpcUrl: client.rpcUrl })
  }
}

/** Reads a LilyRequests view, with typed errors. */
export async function readRequests<T> (client: ChainClients, action: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (e) {
    throw toRequestsError(e, { action, rpcUrl: client.rpcUrl })
  }
}

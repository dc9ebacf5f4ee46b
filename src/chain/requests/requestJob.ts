import { encodeFunctionData, erc20Abi, type Address, type Hex } from 'viem'
import { lilyRequestsAbi } from '../artifacts.js'
import type { ChainClients } from '../client.js'
import { ChainError } from '../errors.js'
import { requireWallet, sendRaw } from '../tx.js'
import { readRequests, sendRequests, type RequestsTxInfo } from './send.js'
import { MAX_CALLBACK_GAS, type RequestParams } from './types.js'

export interface RequestJobParameters {
  /** The LilyRequests address. */
  requests: Address
  params: RequestParams
}

export interface RequestJobReturnType extends RequestsTxInfo {
  requestId: bigint
  /** The token approve transaction sent first in ERC-20 mode, if the allowance was short. */
  approveHash?: Hex
}

/**
 * Requests a job from an account (an EOA acting as consumer; contracts call `request` themselves):
 * pays maxPrice as ETH, or approves and lets the companion pull the token.
 */
export async function requestJob (client: ChainClients, p: RequestJobParameters): Promise<RequestJobReturnType> {
  const signer = requireWallet(client, 'requestJob')
  const r = p.params
  if (r.maxPrice <= 0n) throw new ChainError('CHAIN_BAD_PARAMS', `maxPrice must be positive, got ${r.maxPrice}`)
  if (!Number.isInteger(r.callbackGasLimit) || r.callbackGasLimit < 0 || r.callbackGasLimit > MAX_CALLBACK_GAS) {
    throw new ChainError('CHAIN_BAD_PARAMS', `callbackGasLimit must be an integer in 0..${MAX_CALLBACK_GAS}, got ${r.callbackGasLimit}`)
  }
  const token = await readRequests(client, 'requestJob', async () => await client.public.readContract({ abi: lilyRequestsAbi, address: p.requests, functionName: 'token' }))
  let approveHash: Hex | undefined
  let value: bigint | undefined = r.maxPrice
  if (token !== '0x0000000000000000000000000000000000000000') {
    value = undefined
    const allowance = await readRequests(client, 'requestJob', async () => await client.public.readContract({
      abi: erc20Abi, address: token, functionName: 'allowance', args: [signer.account.address, p.requests]
    }))
    if (allowance < r.maxPrice) {
      approveHash = (await sendRaw(client, 'requestJob (approve)', signer, token,
        encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [p.requests, r.maxPrice] }))).hash
    }
  }
  const tx = await sendRequests(client, 'requestJob', p.requests, 'request', [r], value)
  const ev = tx.events.find((e) => e.eventName === 'JobRequested')
  if (ev === undefined || ev.eventName !== 'JobRequested') throw new ChainError('CHAIN_TX_FAILED', `requestJob: transaction ${tx.hash} emitted no JobRequested`)
  return { ...tx, requestId: ev.args.requestId, approveHash }
}

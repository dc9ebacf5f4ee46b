import type { Address, Hex } from 'viem'
import { lilyRequestsAbi } from '../artifacts.js'
import type { ChainClients } from '../client.js'
import { readRequests } from './send.js'
import { requestStatusName, type OnChainRequest } from './types.js'

export interface GetRequestParameters {
  requests: Address
  requestId: bigint
}

/** Reads a request (status 'None' when it does not exist). */
export async function getRequest (client: ChainClients, p: GetRequestParameters): Promise<OnChainRequest> {
  const [consumer, status, params, dealId] = await readRequests(client, 'getRequest', async () => await client.public.readContract({
    abi: lilyRequestsAbi, address: p.requests, functionName: 'getRequest', args: [p.requestId]
  }))
  return { requestId: p.requestId, consumer, status: requestStatusName(status), params: { ...params, agent: params.agent.toLowerCase() as Address }, dealId }
}

export interface GetRequestJobOfferHashParameters extends GetRequestParameters {
  epoch: bigint
  expiryEpoch: bigint
}

/** The jobOfferHash the companion computes on-chain for a request and epochs. */
export async function getRequestJobOfferHash (client: ChainClients, p: GetRequestJobOfferHashParameters): Promise<Hex> {
  return await readRequests(client, 'getRequestJobOfferHash', async () => await client.public.readContract({
    abi: lilyRequestsAbi, address: p.requests, functionName: 'jobOfferHash', args: [p.requestId, p.epoch, p.expiryEpoch]
  }))
}

/** The withdrawable credit of an account at the companion. */
export async function getRequestCredit (client: ChainClients, p: { requests: Address, account: Address }): Promise<bigint> {
  return await readRequests(client, 'getRequestCredit', async () => await client.public.readContract({
    abi: lilyRequestsAbi, address: p.requests, functionName: 'creditOf', args: [p.account]
  }))
}

import type { Address } from 'viem'
import type { JobOffer } from '../../protocol/index.js'
import type { RequestParams } from './types.js'

export interface JobOfferForRequestParameters {
  /** The LilyRequests address: the JobOffer's creator. */
  requests: Address
  requestId: bigint
  params: RequestParams
  /** First epoch the offer may match in (chosen by the node that publishes it). */
  epoch: bigint
  /** Last epoch the offer may match in. */
  expiryEpoch: bigint
}

/**
 * The JobOffer a node publishes for an on-chain request: every term comes from the request
 * (creator = the companion, nonce = requestId), only the epochs are the node's. Its EIP-712
 * digest under the escrow's domain is what `openRequestDeal` recomputes on-chain.
 */
export function jobOfferForRequest (p: JobOfferForRequestParameters): JobOffer {
  const r = p.params
  return {
    creator: p.requests,
    nonce: p.requestId,
    module: r.module,
    inputsHash: r.inputsHash,
    cpu: r.cpu,
    ram: r.ram,
    gpus: r.gpus,
    gpuVram: r.gpuVram,
    disk: r.disk,
    maxPrice: r.maxPrice,
    timeout: r.timeout,
    collateral: r.collateral,
    epoch: p.epoch,
    expiryEpoch: p.expiryEpoch
  }
}

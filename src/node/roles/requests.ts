/**
 * On-chain job requests (LilyRequests) as the node roles see them: which deals belong to a
 * request, who relayed a request's job offer, and the provider's `fulfill`. The relay side
 * (turning JobRequested events into offers) lives in requestRelay.ts.
 */
import type { PeerId } from '@libp2p/interface'
import { bytesToHex } from 'viem'
import type { ChainClients } from '../../chain/index.js'
import { fulfillRequest } from '../../chain/index.js'
import { getRequest } from '../../chain/index.js'
import { settleRequest } from '../../chain/index.js'
import { MAX_RESULT_DATA } from '../../chain/index.js'
import type { Address, Deal, Hash } from '../../protocol/index.js'
import type { LilyNode } from '../network.js'
import { decodeMessage } from '../../p2p/index.js'
import { peerIdFromSignature } from '../../p2p/index.js'
import type { TxResult } from './ports.js'

/** What a provider needs to serve deals whose creator is the LilyRequests companion. */
export interface RequestsPort {
  /** The companion's address (the profile's `requests`). */
  readonly address: Address
  /** The peer that signed (relayed) the job offer `jobOfferHash`, from the node's offer pool. */
  relayPeer: (jobOfferHash: Hash) => PeerId | undefined
  /** Puts the result hash on-chain (the escrow's submitResult) and delivers `data` (`fulfill`: provisional callback); nothing is paid yet. */
  fulfill: (requestId: bigint, deal: Deal, resultHash: Hash, data: Uint8Array) => Promise<TxResult & { callbackOk: boolean }>
  /** After the challenge window: `settle` claims the deal (pays the provider) and gives the consumer its final callback. */
  settle: (requestId: bigint, deal: Deal, data: Uint8Array) => Promise<TxResult & { finalized: boolean }>
}

/**
 * The short result a provider delivers to the consumer contract: the first MAX_RESULT_DATA
 * (512) bytes of the job's stdout, as UTF-8 bytes (cut at a byte boundary; the full result
 * stays behind `resultHash`).
 */
export function resultData (stdout: string): Uint8Array {
  const b = new TextEncoder().encode(stdout)
  return b.length > MAX_RESULT_DATA ? b.subarray(0, MAX_RESULT_DATA) : b
}

/** The RequestsPort of a node whose chain client is `chain`. */
export function requestsPort (node: LilyNode, chain: ChainClients, address: Address): RequestsPort {
  const relays = new Map<Hash, PeerId>()
  return {
    address: address.toLowerCase() as Address,
    relayPeer: (jobOfferHash) => {
      const known = relays.get(jobOfferHash)
      if (known !== undefined) return known
      const o = node.pool.get(jobOfferHash)
      if (o === undefined) return undefined
      const m = decodeMessage(o.wire, 'job')
      if (m.kind !== 'job') return undefined
      const peer = peerIdFromSignature(node.hasher.digestBytes('JobOffer', m.offer), m.signature)
      relays.set(jobOfferHash, peer)
      return peer
    },
    fulfill: async (requestId, deal, resultHash, data) => {
      const tx = await fulfillRequest(chain, { requests: address, requestId, deal, resultHash, data: bytesToHex(data) })
      return { hash: tx.hash, gasUsed: tx.gasUsed, callbackOk: tx.callbackOk }
    },
    settle: async (requestId, deal, data) => {
      // the data must be what fulfill delivered; none when the provider never delivered
      const req = await getRequest(chain, { requests: address, requestId })
      const tx = await settleRequest(chain, { requests: address, requestId, deal, data: req.status === 'Delivered' ? bytesToHex(data) : '0x' })
      return { hash: tx.hash, gasUsed: tx.gasUsed, finalized: tx.finalized }
    }
  }
}

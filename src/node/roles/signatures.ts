/**
 * Deal signatures between the two parties directly, when gossip lost one: each party serves
 * its own DealAcceptance signature over `transfer` to the counterparty only.
 */
import { verifySigner } from '../../protocol/index.js'
import type { Address, Hash, Signature } from '../../protocol/index.js'
import type { DealRecord } from './deals.js'
import type { NetworkPort } from './ports.js'
import { fetchBlob } from '../../p2p/index.js'
import type { PeerId } from '@libp2p/interface'

/** Our own signature over the deal, as bytes to serve (undefined when we have not signed). */
export function ownSignatureBlob (net: NetworkPort, r: DealRecord): Uint8Array | undefined {
  const own = net.acceptances(r.dealId)[r.role === 'creator' ? 'creator' : 'provider']
  return own === undefined ? undefined : new TextEncoder().encode(own)
}

/** The counterparty of `r` for this node's role. */
export function counterparty (r: DealRecord): Address {
  return r.role === 'creator' ? r.deal.provider : r.deal.creator
}

/** Fetches the counterparty's signature over the deal and checks who made it. */
export async function fetchCounterpartySignature (net: NetworkPort, r: DealRecord, target: PeerId, maxBytes: number, signal?: AbortSignal): Promise<Signature> {
  const bytes = await fetchBlob(net.libp2p, net.profile, target, r.dealId as Hash, 'signature', { maxBytes: Math.min(maxBytes, 1024), ...(signal !== undefined ? { signal } : {}) })
  const sig = new TextDecoder().decode(bytes) as Signature
  verifySigner(net.hasher.digestBytes('Deal', r.deal), sig, counterparty(r))
  return sig
}

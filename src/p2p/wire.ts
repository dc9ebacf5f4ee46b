/**
 * The wire messages the node gossips, on top of src/protocol's codec (canonical JSON, size
 * caps, strict fields and bounds) and message signing/verification.
 */
import { decodeMessage, encodeMessage, type WireMessage, type WireMessageOf } from '../protocol/index.js'
import { signDeal, signHeartbeat, signJobOffer, signResourceOffer, verifyMessage } from '../protocol/index.js'
import type { DomainHasher } from '../protocol/index.js'
import type { Deal, Heartbeat, JobOffer, ResourceOffer } from '../protocol/index.js'

/** The kinds gossiped by the node (result acceptances travel with the lifecycle, not here). */
export type GossipKind = 'job' | 'resource' | 'acceptance' | 'heartbeat'
export type { WireMessage, WireMessageOf }

export { decodeMessage, encodeMessage, verifyMessage, signDeal, signHeartbeat, signJobOffer, signResourceOffer }

/** The signed struct of a message the node gossips. */
export function bodyOf (m: WireMessage): JobOffer | ResourceOffer | Deal | Heartbeat | undefined {
  switch (m.kind) {
    case 'job': case 'resource': return m.offer
    case 'acceptance': return m.deal
    case 'heartbeat': return m.heartbeat
    case 'result': return undefined
  }
}

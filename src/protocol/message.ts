/**
 * Signing and verifying wire messages. The id of a message is the EIP-712 digest of what it
 * carries (an offer's id, a deal's `dealId`); the signer recovered from the signature must
 * be the party the message names.
 */
import { ProtocolError } from './errors.js'
import { privateKeyToAddress, recoverAddress, signDigest } from './crypto.js'
import type { DomainHasher } from './eip712.js'
import { bytesToHex } from './hex.js'
import { PRIMARY_TYPE_OF, validateMessage, type WireMessage } from './codec.js'
import { checkEpochWindow } from './validate.js'
import type { Address, Deal, Hash, Heartbeat, JobOffer, Party, ResourceOffer, ResultAcceptance } from './types.js'

/** The EIP-712 digest a message's signature covers. */
export function messageDigest (hasher: DomainHasher, m: WireMessage): Uint8Array {
  switch (m.kind) {
    case 'job': return hasher.digestBytes('JobOffer', m.offer)
    case 'resource': return hasher.digestBytes('ResourceOffer', m.offer)
    case 'acceptance': return hasher.digestBytes('Deal', m.deal)
    case 'result': return hasher.digestBytes('ResultAcceptance', m.acceptance)
    case 'heartbeat': return hasher.digestBytes('Heartbeat', m.heartbeat)
  }
}

/** The id of a message: its EIP-712 digest as hex. */
export function messageId (hasher: DomainHasher, m: WireMessage): Hash {
  return bytesToHex(messageDigest(hasher, m))
}

/**
 * The party that must have signed a message; undefined for a result acceptance, whose
 * signer (the deal's creator) only the caller knows.
 */
export function declaredSigner (m: WireMessage): Address | undefined {
  switch (m.kind) {
    case 'job': return m.offer.creator
    case 'resource': return m.offer.provider
    case 'acceptance': return m.party === 'creator' ? m.deal.creator : m.deal.provider
    case 'result': return undefined
    case 'heartbeat': return m.heartbeat.node
  }
}

/**
 * Whether `m` is a job offer for an on-chain request: its creator is the network's LilyRequests
 * companion (`relayedCreator`, the profile's `requests`). A contract cannot sign, so such an
 * offer is signed by whichever node relays it, and any signer is accepted — only for that one
 * contract. This gives the relay no power: the companion's `openRequestDeal` recomputes the
 * offer's digest from the stored request (module, inputs, resources, maxPrice, collateral,
 * timeout, creator = the companion, nonce = requestId) and refuses any deal that differs, and
 * the money only ever moves between the consumer, the escrow and the deal's provider.
 */
export function isRelayedOffer (m: WireMessage, relayedCreator: Address | undefined): boolean {
  return relayedCreator !== undefined && m.kind === 'job' && m.offer.creator === relayedCreator.toLowerCase()
}

export interface VerifiedMessage {
  /** EIP-712 digest of the body: the offer id or the dealId. */
  id: Hash
  signer: Address
}

/**
 * Recovers the signer and checks it is the declared party (and `expectedSigner` when given,
 * e.g. the deal's creator for a result acceptance, or the address of the gossip author).
 * With `relayedCreator` (the profile's `requests`), a job offer naming that contract as its
 * creator may be signed by any key (see isRelayedOffer).
 * Throws PROTOCOL_BAD_SIGNATURE, PROTOCOL_HIGH_S or PROTOCOL_WRONG_SIGNER. Fields are not
 * re-validated: pass messages that came from `decodeMessage` or were built locally.
 */
export function verifyMessage (hasher: DomainHasher, m: WireMessage, expectedSigner?: Address, relayedCreator?: Address): VerifiedMessage {
  const digest = messageDigest(hasher, m)
  const signer = recoverAddress(digest, m.signature)
  // a request's offer is signed by its relay, not by its creator (the companion contract)
  const declared = isRelayedOffer(m, relayedCreator) ? undefined : declaredSigner(m)
  if (declared !== undefined && signer !== declared) {
    throw new ProtocolError('PROTOCOL_WRONG_SIGNER', 'reject', `${m.kind} message signed by ${signer}, but it names ${declared} as its ${m.kind === 'acceptance' ? m.party : 'author'}`)
  }
  if (expectedSigner !== undefined && signer !== expectedSigner.toLowerCase()) {
    throw new ProtocolError('PROTOCOL_WRONG_SIGNER', 'reject', `${m.kind} message signed by ${signer}, expected ${expectedSigner}`)
  }
  return { id: bytesToHex(digest), signer }
}

type Unsigned<M extends WireMessage> = M extends WireMessage ? Omit<M, 'signature'> : never

/**
 * Validates and signs a message. The key must be the declared party's
 * (PROTOCOL_WRONG_SIGNER otherwise), so a node never emits a message others will reject.
 */
export function signMessage<M extends WireMessage> (hasher: DomainHasher, privateKey: Uint8Array, unsigned: Unsigned<M>, relayedCreator?: Address): M {
  const placeholder = { ...unsigned, signature: `0x${'00'.repeat(65)}` } as unknown as M
  validateMessage(placeholder)
  const declared = isRelayedOffer(placeholder, relayedCreator) ? undefined : declaredSigner(placeholder)
  if (declared !== undefined) {
    const own = privateKeyToAddress(privateKey)
    if (own !== declared) {
      throw new ProtocolError('PROTOCOL_WRONG_SIGNER', 'reject', `cannot sign a ${PRIMARY_TYPE_OF[placeholder.kind]} for ${declared} with the key of ${own}`)
    }
  }
  return { ...unsigned, signature: signDigest(messageDigest(hasher, placeholder), privateKey) } as unknown as M
}

/** A job offer signed by its creator, or by a relay when the creator is `relayedCreator` (isRelayedOffer). */
export function signJobOffer (hasher: DomainHasher, key: Uint8Array, offer: JobOffer, relayedCreator?: Address): Extract<WireMessage, { kind: 'job' }> {
  return signMessage(hasher, key, { kind: 'job', offer }, relayedCreator)
}

export function signResourceOffer (hasher: DomainHasher, key: Uint8Array, offer: ResourceOffer): Extract<WireMessage, { kind: 'resource' }> {
  return signMessage(hasher, key, { kind: 'resource', offer })
}

/** A party's `DealAcceptance`: its signature over the deal. */
export function signDeal (hasher: DomainHasher, key: Uint8Array, deal: Deal, party: Party): Extract<WireMessage, { kind: 'acceptance' }> {
  return signMessage(hasher, key, { kind: 'acceptance', deal, party })
}

/** The creator's acceptance of a result (the key is not checked against a deal here). */
export function signResultAcceptance (hasher: DomainHasher, key: Uint8Array, acceptance: ResultAcceptance): Extract<WireMessage, { kind: 'result' }> {
  return signMessage(hasher, key, { kind: 'result', acceptance })
}

export function signHeartbeat (hasher: DomainHasher, key: Uint8Array, heartbeat: Heartbeat): Extract<WireMessage, { kind: 'heartbeat' }> {
  return signMessage(hasher, key, { kind: 'heartbeat', heartbeat })
}

/**
 * The epoch window of a message at `currentEpoch` (gossip: Ignore when outside it).
 * Offers are current from `epoch − maxSkew` to `expiryEpoch + maxSkew`, heartbeats within
 * `maxSkew` of their epoch, deal acceptances from their match epoch on for the `maxSkew`
 * epochs after it. Result acceptances carry no epoch and always pass.
 */
export function checkMessageEpoch (m: WireMessage, currentEpoch: bigint, maxSkew: number | bigint): void {
  switch (m.kind) {
    case 'job':
    case 'resource': return checkEpochWindow(m.offer.epoch, m.offer.expiryEpoch, currentEpoch, maxSkew)
    case 'heartbeat': return checkEpochWindow(m.heartbeat.epoch, m.heartbeat.epoch, currentEpoch, maxSkew)
    case 'acceptance': return checkEpochWindow(m.deal.matchEpoch, m.deal.matchEpoch, currentEpoch, maxSkew)
    case 'result': return undefined
  }
}

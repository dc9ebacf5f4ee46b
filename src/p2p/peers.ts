/**
 * One key, three names (DESIGN §1): the secp256k1 key behind a libp2p peer ID is the
 * Ethereum address that signs offers and deals. These helpers go both ways: peer ID →
 * address (to authorise a stream), and signature → peer ID (to reach the counterparty
 * whose signature we hold, without any directory).
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { peerIdToAddress } from '../protocol/index.js'
import { hexToBytes } from '../protocol/index.js'
import type { Address, Signature } from '../protocol/index.js'

/** The Ethereum address of a secp256k1 peer ID, or undefined for other key types. */
export function peerAddress (peer: PeerId): Address | undefined {
  try {
    return peerIdToAddress(peer)
  } catch {
    return undefined
  }
}

/** The peer ID of whoever made `signature` over `digest` (65-byte r ‖ s ‖ v). */
export function peerIdFromSignature (digest: Uint8Array, signature: Signature): PeerId {
  const sig = hexToBytes(signature, 65)
  const rs = new Uint8Array(65)
  rs[0] = sig[64] - 27
  rs.set(sig.subarray(0, 64), 1)
  const pub = secp256k1.recoverPublicKey(rs, digest, { prehash: false })
  const compressed = secp256k1.Point.fromBytes(pub).toBytes(true)
  return peerIdFromPublicKey(publicKeyFromRaw(compressed))
}

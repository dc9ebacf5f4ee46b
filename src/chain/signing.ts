/**
 * The EIP-712 domain of an escrow deployment and the two signatures the escrow checks, built
 * with src/protocol's hasher and signer (one encoding for the network and the chain).
 */
import type { Address, Hex } from 'viem'
import { DomainHasher } from '../protocol/index.js'
import { signDigest } from '../protocol/index.js'
import type { Deal, Domain, Signature } from '../protocol/index.js'

/** EIP-712 domain name and version the contract uses. */
export const ESCROW_DOMAIN_NAME = 'lilynode'
export const ESCROW_DOMAIN_VERSION = '1'

/** The domain of the escrow at `escrow` on chain `chainId`. */
export function escrowDomain (chainId: bigint | number, escrow: Address): Domain {
  return { name: ESCROW_DOMAIN_NAME, version: ESCROW_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: escrow.toLowerCase() as Address }
}

/** dealId = the EIP-712 digest of the Deal under the escrow's domain. */
export function dealIdOf (hasher: DomainHasher, deal: Deal): Hex {
  return hasher.digest('Deal', deal)
}

/** A party's signature over a Deal (its DealAcceptance). */
export function signDeal (hasher: DomainHasher, deal: Deal, privateKey: Uint8Array): Signature {
  return signDigest(hasher.digestBytes('Deal', deal), privateKey)
}

/** The creator's ResultAcceptance signature over (dealId, resultHash). */
export function signResultAcceptance (hasher: DomainHasher, dealId: Hex, resultHash: Hex, privateKey: Uint8Array): Signature {
  return signDigest(hasher.digestBytes('ResultAcceptance', { dealId, resultHash }), privateKey)
}

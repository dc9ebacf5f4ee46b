/**
 * The escrow's compact happy path (contracts/LilyEscrow.sol `openDealPacked_XMg`, `completePacked_TWd`):
 * the same Deal and signatures as `openDeal` / `complete`, in fewer calldata bytes. A party
 * sending `openDeal` passes the Deal as four words plus the other party's EIP-2098 signature;
 * the provider sending `complete` passes only (jobOfferHash, dealId, payout, resultHash) and
 * the creator's EIP-2098 signature (the contract recovers the creator from it).
 *
 * `openDeal` and `completeDeal` pick the compact call on their own when it applies and fall back
 * to the full ABI otherwise (a relayer, a contract party, amounts beyond 96 bits).
 */
import type { Address, Hex } from 'viem'
import type { Deal } from '../protocol/index.js'
import { DomainHasher, hexToBytes, recoverAddress } from '../protocol/index.js'
import { escrowDomain } from './signing.js'

const MAX96 = (1n << 96n) - 1n
const MAX63 = (1n << 63n) - 1n
const S_MASK = (1n << 255n) - 1n
const SENDER_IS_CREATOR = 1n << 255n

/** An EIP-2098 compact signature. */
export interface CompactSignature { r: Hex, vs: Hex }

const word = (x: bigint): Hex => `0x${x.toString(16).padStart(64, '0')}`

/** r ‖ s ‖ v (v 27 or 28) → EIP-2098 (r, vs = s | (v − 27) << 255). */
export function toCompact (sig: Hex): CompactSignature {
  if (sig.length !== 132) throw new TypeError('a compact signature comes from a 65-byte r ‖ s ‖ v signature')
  const v = Number.parseInt(sig.slice(130), 16)
  if (v !== 27 && v !== 28) throw new TypeError(`signature v must be 27 or 28, got ${v}`)
  const s = BigInt(`0x${sig.slice(66, 130)}`)
  return { r: `0x${sig.slice(2, 66)}`, vs: word(s | (BigInt(v - 27) << 255n)) }
}

/** EIP-2098 (r, vs) → r ‖ s ‖ v. */
export function fromCompact (r: Hex, vs: Hex): Hex {
  const x = BigInt(vs)
  const v = 27 + Number(x >> 255n)
  return `0x${r.slice(2).padStart(64, '0')}${(x & S_MASK).toString(16).padStart(64, '0')}${v.toString(16)}`
}

/** Whether `sig` is a 65-byte ECDSA signature of `signer` over `digest` (false for EIP-1271 and the like). */
function signedBy (digest: Hex, sig: Hex | undefined, signer: Address): boolean {
  if (sig === undefined || sig.length !== 132) return false
  try {
    return recoverAddress(hexToBytes(digest, 32), sig) === signer.toLowerCase()
  } catch {
    return false
  }
}

export type OpenDealPackedArgs = readonly [Hex, Hex, bigint, bigint, Hex, Hex]

/**
 * The arguments of `openDealPacked_XMg` for `deal` sent by `sender`, or undefined when the compact
 * call does not apply: the sender is not exactly one of the parties, the other party's approval
 * is not its 65-byte ECDSA signature over `dealId`, or price, collateral or openBy do not fit.
 */
export function openDealPackedArgs (deal: Deal, dealId: Hex, sender: Address | undefined, sigCreator: Hex, sigProvider: Hex): OpenDealPackedArgs | undefined {
  if (sender === undefined) return undefined
  const me = sender.toLowerCase()
  const creator = deal.creator.toLowerCase()
  const provider = deal.provider.toLowerCase()
  if (creator === provider || (me !== creator && me !== provider)) return undefined
  if (deal.price > MAX96 || deal.collateral > MAX96 || deal.openBy > MAX63) return undefined
  const byCreator = me === creator
  const other = (byCreator ? deal.provider : deal.creator) as Address
  const sig = byCreator ? sigProvider : sigCreator
  if (!signedBy(dealId, sig, other)) return undefined
  const { r, vs } = toCompact(sig)
  const party = BigInt(other) | (BigInt(deal.timeout) << 160n) | (deal.matchEpoch << 192n)
  const terms = deal.price | (deal.collateral << 96n) | (deal.openBy << 192n) | (byCreator ? SENDER_IS_CREATOR : 0n)
  return [deal.jobOfferHash, deal.resourceOfferHash, party, terms, r, vs]
}

/** What an `openDealPacked_XMg` call carried: the Deal (given its sender) and both approvals ('0x' = the sender's own). */
export function decodeOpenDealPacked (sender: Address, args: OpenDealPackedArgs): { deal: Deal, sigCreator: Hex, sigProvider: Hex } {
  const [jobOfferHash, resourceOfferHash, party, terms, r, vs] = args
  const byCreator = (terms & SENDER_IS_CREATOR) !== 0n
  const other = `0x${(party & ((1n << 160n) - 1n)).toString(16).padStart(40, '0')}` as Address
  const me = sender.toLowerCase() as Address
  const sig = fromCompact(r, vs)
  const deal: Deal = {
    jobOfferHash,
    resourceOfferHash,
    creator: byCreator ? me : other,
    provider: byCreator ? other : me,
    price: terms & MAX96,
    collateral: (terms >> 96n) & MAX96,
    timeout: Number((party >> 160n) & 0xffffffffn),
    matchEpoch: party >> 192n,
    openBy: (terms >> 192n) & MAX63
  }
  return { deal, sigCreator: byCreator ? '0x' : sig, sigProvider: byCreator ? sig : '0x' }
}

export type CompletePackedArgs = readonly [Hex, Hex, bigint, Hex, Hex, Hex]

/**
 * The arguments of `completePacked_TWd`, or undefined when it does not apply: the sender is not the
 * provider, or `sigCreator` is not the creator's 65-byte ECDSA signature of ResultAcceptance.
 */
export function completePackedArgs (chainId: number, escrow: Address, deal: Deal, dealId: Hex, resultHash: Hex, sender: Address | undefined, sigCreator: Hex): CompletePackedArgs | undefined {
  if (sender === undefined || sender.toLowerCase() !== deal.provider.toLowerCase()) return undefined
  if (sigCreator.length !== 132) return undefined
  const digest = new DomainHasher(escrowDomain(chainId, escrow)).digest('ResultAcceptance', { dealId, resultHash })
  if (!signedBy(digest, sigCreator, deal.creator as Address)) return undefined
  const { r, vs } = toCompact(sigCreator)
  return [deal.jobOfferHash, dealId, deal.price + deal.collateral, resultHash, r, vs]
}

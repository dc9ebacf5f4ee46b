/**
 * The message formats of lilynode (DESIGN §3). Every message that crosses the network or
 * the chain is one of these, hashed as EIP-712 typed data (see eip712.ts).
 *
 * Integers that may pass 2^53 (prices, collateral, nonces, epochs) are bigint; small bounded
 * integers (resources, timeouts) are number. No floats anywhere.
 */

/** 0x-prefixed, lower-case, 20-byte hex. */
export type Address = `0x${string}`
/** 0x-prefixed, lower-case, 32-byte hex. */
export type Hash = `0x${string}`
/** 0x-prefixed 65-byte signature r ‖ s ‖ v, v ∈ {27, 28}. */
export type Signature = `0x${string}`

/** Resource amounts, shared by job requirements and provider capacity. */
export interface Resources {
  /** CPU in millicores (1000 = one core). */
  cpu: number
  /** Memory in MiB. */
  ram: number
  /** Number of GPUs. */
  gpus: number
  /** GPU memory in MiB, per GPU. */
  gpuVram: number
  /** Scratch disk in MiB. */
  disk: number
}

/** A job creator's offer: "run this module on these inputs for at most maxPrice". */
export interface JobOffer extends Resources {
  creator: Address
  nonce: bigint
  /** Hash of the module spec (module.ts `moduleHash`). */
  module: Hash
  /** keccak256 of the canonical encoding of the job inputs. */
  inputsHash: Hash
  /** Highest total price the creator pays, in wei of the settlement token. */
  maxPrice: bigint
  /** Wall-clock limit of the job, in seconds. */
  timeout: number
  /** Collateral the provider must put up for this deal, in wei. */
  collateral: bigint
  /** First epoch in which the offer may be matched. */
  epoch: bigint
  /** Last epoch in which the offer may be matched. */
  expiryEpoch: bigint
}

/** Prices per resource-second, in wei, integers. */
export interface Prices {
  /** Per millicore-second. */
  priceCpu: bigint
  /** Per MiB-second of memory. */
  priceRam: bigint
  /** Per GPU-second. */
  priceGpu: bigint
  /** Per MiB-second of disk. */
  priceDisk: bigint
}

/** A provider's offer of capacity. A newer `version` (same provider, same nonce) supersedes an older one. */
export interface ResourceOffer extends Resources, Prices {
  provider: Address
  nonce: bigint
  version: number
  /** GPU model name as nvidia-smi reports it ('' for CPU-only offers). */
  gpuModel: string
  /** Module hashes accepted; empty = any module. */
  modules: Hash[]
  /** Collateral the provider puts up per deal, in wei. */
  collateral: bigint
  epoch: bigint
  expiryEpoch: bigint
}

/** The agreement the matcher derives; both parties sign the same struct. dealId = EIP-712 struct hash. */
export interface Deal {
  /** EIP-712 digest of the job offer (its id). */
  jobOfferHash: Hash
  /** EIP-712 digest of the resource offer (its id). */
  resourceOfferHash: Hash
  creator: Address
  provider: Address
  /** Total price of the job, in wei. */
  price: bigint
  /** Provider collateral held in escrow, in wei. */
  collateral: bigint
  /** Seconds the provider has from opening to deliver a result. */
  timeout: number
  /** Epoch whose matching produced the deal. */
  matchEpoch: bigint
  /** Unix time (seconds) after which the deal can no longer be opened on-chain. */
  openBy: bigint
}

/** The creator's acceptance of a result: its signature over (dealId, resultHash). */
export interface ResultAcceptance {
  dealId: Hash
  resultHash: Hash
}

/** Per-epoch heartbeat: what a node saw (offer digest) and what it computed (state root). */
export interface Heartbeat {
  node: Address
  epoch: bigint
  offerDigest: Hash
  stateRoot: Hash
}

/** A message together with its signature. */
export interface Signed<T> {
  message: T
  signature: Signature
}

/** The role in which a party signs a deal. */
export type Party = 'creator' | 'provider'

/** A party's signature over a `Deal`. */
export interface DealAcceptance {
  deal: Deal
  party: Party
  signature: Signature
}

/** The EIP-712 domain of a network: bound to the chain and the escrow contract. */
export interface Domain {
  name: string
  version: string
  chainId: bigint
  verifyingContract: Address
}

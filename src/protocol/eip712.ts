/**
 * EIP-712 schemas and a fast, allocation-light struct hasher for them.
 *
 * The type strings below are the single definition of the encoding: the escrow contract
 * hashes `Deal` and `ResultAcceptance` with the same strings (checked by the shared test
 * vectors), and viem's generic `hashTypedData` over `EIP712_TYPES` gives the same digests
 * (checked in test/protocol).
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { createKeccak, type IHasher } from 'hash-wasm'
import type { Deal, Domain, Hash, Heartbeat, JobOffer, ResourceOffer, ResultAcceptance } from './types.js'
import { bytesToHex, writeHex } from './hex.js'
import { ProtocolError } from './errors.js'

function checkHexLength (h: string, bytes: number): void {
  if (typeof h !== 'string' || h.length !== 2 + 2 * bytes || h.charCodeAt(0) !== 48 || (h.charCodeAt(1) | 0x20) !== 120) {
    throw new ProtocolError('PROTOCOL_BAD_HEX', 'reject', `expected 0x-prefixed hex of ${bytes} bytes`)
  }
}

/** viem / ethers style type definitions. */
export const EIP712_TYPES = {
  JobOffer: [
    { name: 'creator', type: 'address' },
    { name: 'nonce', type: 'uint64' },
    { name: 'module', type: 'bytes32' },
    { name: 'inputsHash', type: 'bytes32' },
    { name: 'cpu', type: 'uint32' },
    { name: 'ram', type: 'uint32' },
    { name: 'gpus', type: 'uint32' },
    { name: 'gpuVram', type: 'uint32' },
    { name: 'disk', type: 'uint32' },
    { name: 'maxPrice', type: 'uint256' },
    { name: 'timeout', type: 'uint32' },
    { name: 'collateral', type: 'uint256' },
    { name: 'epoch', type: 'uint64' },
    { name: 'expiryEpoch', type: 'uint64' }
  ],
  ResourceOffer: [
    { name: 'provider', type: 'address' },
    { name: 'nonce', type: 'uint64' },
    { name: 'version', type: 'uint32' },
    { name: 'cpu', type: 'uint32' },
    { name: 'ram', type: 'uint32' },
    { name: 'gpus', type: 'uint32' },
    { name: 'gpuVram', type: 'uint32' },
    { name: 'disk', type: 'uint32' },
    { name: 'gpuModel', type: 'string' },
    { name: 'priceCpu', type: 'uint256' },
    { name: 'priceRam', type: 'uint256' },
    { name: 'priceGpu', type: 'uint256' },
    { name: 'priceDisk', type: 'uint256' },
    { name: 'modules', type: 'bytes32[]' },
    { name: 'collateral', type: 'uint256' },
    { name: 'epoch', type: 'uint64' },
    { name: 'expiryEpoch', type: 'uint64' }
  ],
  Deal: [
    { name: 'jobOfferHash', type: 'bytes32' },
    { name: 'resourceOfferHash', type: 'bytes32' },
    { name: 'creator', type: 'address' },
    { name: 'provider', type: 'address' },
    { name: 'price', type: 'uint256' },
    { name: 'collateral', type: 'uint256' },
    { name: 'timeout', type: 'uint32' },
    { name: 'matchEpoch', type: 'uint64' },
    { name: 'openBy', type: 'uint64' }
  ],
  ResultAcceptance: [
    { name: 'dealId', type: 'bytes32' },
    { name: 'resultHash', type: 'bytes32' }
  ],
  Heartbeat: [
    { name: 'node', type: 'address' },
    { name: 'epoch', type: 'uint64' },
    { name: 'offerDigest', type: 'bytes32' },
    { name: 'stateRoot', type: 'bytes32' }
  ]
} as const

export type PrimaryType = keyof typeof EIP712_TYPES

/** The canonical EIP-712 type string, e.g. `Deal(bytes32 jobOfferHash,...)`. */
export function typeString (primaryType: PrimaryType): string {
  const fields = EIP712_TYPES[primaryType].map((f) => `${f.type} ${f.name}`).join(',')
  return `${primaryType}(${fields})`
}

const enc = new TextEncoder()

/**
 * WASM keccak (hash-wasm) is ~8× faster than the pure-JS one on the 500–700-byte structs
 * of offers, which makes it the second largest cost of verifying an offer after the
 * signature recovery. The hasher is stateful but every use below is synchronous, so one
 * instance is safe on one thread. Pure JS stays as the fallback.
 */
async function loadWasmKeccak (): Promise<IHasher | undefined> {
  if (process.env.LILYNODE_PURE_JS_CRYPTO === '1') return undefined
  try {
    return await createKeccak(256)
  } catch {
    return undefined
  }
}

const wasmKeccak = await loadWasmKeccak()

/** Which implementation hashes ('wasm' = hash-wasm). */
export const keccakBackend: 'wasm' | 'noble' = wasmKeccak !== undefined ? 'wasm' : 'noble'

/** keccak256 over bytes. */
export const keccak: (data: Uint8Array) => Uint8Array = wasmKeccak !== undefined
  ? (data) => { wasmKeccak.init(); wasmKeccak.update(data); return wasmKeccak.digest('binary') }
  : (data) => keccak_256(data)

/** keccak256 of a UTF-8 string, as hex. */
export function keccakText (text: string): Hash {
  return bytesToHex(keccak(enc.encode(text)))
}

export const TYPE_HASHES: Readonly<Record<PrimaryType, Uint8Array>> = Object.freeze({
  JobOffer: keccak_256(enc.encode(typeString('JobOffer'))),
  ResourceOffer: keccak_256(enc.encode(typeString('ResourceOffer'))),
  Deal: keccak_256(enc.encode(typeString('Deal'))),
  ResultAcceptance: keccak_256(enc.encode(typeString('ResultAcceptance'))),
  Heartbeat: keccak_256(enc.encode(typeString('Heartbeat')))
})

const DOMAIN_TYPE_HASH = keccak_256(enc.encode(
  'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'
))

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const TWO_256 = 1n << 256n

/** Writes 32-byte ABI words into one buffer. */
class WordWriter {
  readonly buf: Uint8Array
  private off = 0
  constructor (words: number) { this.buf = new Uint8Array(words * 32) }

  bytes32 (b: Uint8Array): this {
    this.buf.set(b, this.off)
    this.off += 32
    return this
  }

  hex32 (h: string): this {
    checkHexLength(h, 32)
    writeHex(this.buf, this.off, h, 32)
    this.off += 32
    return this
  }

  address (a: string): this {
    checkHexLength(a, 20)
    writeHex(this.buf, this.off + 12, a, 20)
    this.off += 32
    return this
  }

  uint (v: bigint | number): this {
    if (typeof v === 'number' || v <= MAX_SAFE) return this.small(Number(v))
    if (v < 0n || v >= TWO_256) throw new RangeError(`uint256 out of range: ${v}`)
    // one toString instead of 32 BigInt shifts
    const hex = v.toString(16)
    let i = this.off + 31
    for (let j = hex.length; j > 0; j -= 2) {
      this.buf[i--] = Number.parseInt(hex.slice(Math.max(0, j - 2), j), 16)
    }
    this.off += 32
    return this
  }

  /** Small non-negative integers (≤ 2^53) without BigInt. */
  small (v: number): this {
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(v)) throw new RangeError(`not a small non-negative integer: ${v}`)
    let x = v
    let i = this.off + 31
    while (x > 0) {
      this.buf[i--] = x % 256
      x = Math.floor(x / 256)
    }
    this.off += 32
    return this
  }
}

/** EIP-712 domain separator. */
export function domainSeparator (domain: Domain): Uint8Array {
  return keccak(new WordWriter(5)
    .bytes32(DOMAIN_TYPE_HASH)
    .bytes32(keccak(enc.encode(domain.name)))
    .bytes32(keccak(enc.encode(domain.version)))
    .uint(domain.chainId)
    .address(domain.verifyingContract).buf)
}

export function hashJobOffer (o: JobOffer): Uint8Array {
  return keccak(new WordWriter(15)
    .bytes32(TYPE_HASHES.JobOffer)
    .address(o.creator).uint(o.nonce).hex32(o.module).hex32(o.inputsHash)
    .small(o.cpu).small(o.ram).small(o.gpus).small(o.gpuVram).small(o.disk)
    .uint(o.maxPrice).small(o.timeout).uint(o.collateral).uint(o.epoch).uint(o.expiryEpoch).buf)
}

export function hashResourceOffer (o: ResourceOffer): Uint8Array {
  const mods = new Uint8Array(o.modules.length * 32)
  for (let i = 0; i < o.modules.length; i++) {
    checkHexLength(o.modules[i], 32)
    writeHex(mods, i * 32, o.modules[i], 32)
  }
  return keccak(new WordWriter(18)
    .bytes32(TYPE_HASHES.ResourceOffer)
    .address(o.provider).uint(o.nonce).small(o.version)
    .small(o.cpu).small(o.ram).small(o.gpus).small(o.gpuVram).small(o.disk)
    .bytes32(keccak(enc.encode(o.gpuModel)))
    .uint(o.priceCpu).uint(o.priceRam).uint(o.priceGpu).uint(o.priceDisk)
    .bytes32(keccak(mods))
    .uint(o.collateral).uint(o.epoch).uint(o.expiryEpoch).buf)
}

export function hashDeal (d: Deal): Uint8Array {
  return keccak(new WordWriter(10)
    .bytes32(TYPE_HASHES.Deal)
    .hex32(d.jobOfferHash).hex32(d.resourceOfferHash).address(d.creator).address(d.provider)
    .uint(d.price).uint(d.collateral).small(d.timeout).uint(d.matchEpoch).uint(d.openBy).buf)
}

export function hashResultAcceptance (r: ResultAcceptance): Uint8Array {
  return keccak(new WordWriter(3)
    .bytes32(TYPE_HASHES.ResultAcceptance).hex32(r.dealId).hex32(r.resultHash).buf)
}

export function hashHeartbeat (h: Heartbeat): Uint8Array {
  return keccak(new WordWriter(5)
    .bytes32(TYPE_HASHES.Heartbeat)
    .address(h.node).uint(h.epoch).hex32(h.offerDigest).hex32(h.stateRoot).buf)
}

/** The message each primary type carries. */
export interface TypedMessages {
  JobOffer: JobOffer
  ResourceOffer: ResourceOffer
  Deal: Deal
  ResultAcceptance: ResultAcceptance
  Heartbeat: Heartbeat
}

const STRUCT_HASHERS: { [K in PrimaryType]: (m: TypedMessages[K]) => Uint8Array } = {
  JobOffer: hashJobOffer,
  ResourceOffer: hashResourceOffer,
  Deal: hashDeal,
  ResultAcceptance: hashResultAcceptance,
  Heartbeat: hashHeartbeat
}

/** The EIP-712 struct hash (`hashStruct`) of a message. */
export function structHash<K extends PrimaryType> (primaryType: K, message: TypedMessages[K]): Hash {
  return bytesToHex(STRUCT_HASHERS[primaryType](message))
}

/**
 * The EIP-712 digest `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))`: what is
 * signed, and the id of offers and deals (`dealId` on-chain).
 */
export function typedDigestBytes<K extends PrimaryType> (separator: Uint8Array, primaryType: K, message: TypedMessages[K]): Uint8Array {
  const buf = new Uint8Array(66)
  buf[0] = 0x19
  buf[1] = 0x01
  buf.set(separator, 2)
  buf.set(STRUCT_HASHERS[primaryType](message), 34)
  return keccak(buf)
}

/** Digest as hex; caches nothing, so prefer a `DomainHasher` on hot paths. */
export function typedDigest<K extends PrimaryType> (domain: Domain, primaryType: K, message: TypedMessages[K]): Hash {
  return bytesToHex(typedDigestBytes(domainSeparator(domain), primaryType, message))
}

/** A domain with its separator computed once. */
export class DomainHasher {
  readonly separator: Uint8Array
  constructor (readonly domain: Domain) {
    this.separator = domainSeparator(domain)
  }

  digestBytes<K extends PrimaryType> (primaryType: K, message: TypedMessages[K]): Uint8Array {
    return typedDigestBytes(this.separator, primaryType, message)
  }

  digest<K extends PrimaryType> (primaryType: K, message: TypedMessages[K]): Hash {
    return bytesToHex(this.digestBytes(primaryType, message))
  }
}

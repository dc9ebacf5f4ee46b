/**
 * secp256k1 signatures over EIP-712 digests. libsecp256k1 through the `secp256k1` package's
 * prebuilt binding when it loads (about 40× faster), @noble/curves otherwise; both sign
 * deterministically (RFC 6979) with low s, so they give the same bytes (the test vectors
 * check it). High-s signatures are refused before recovery, as the contract refuses them.
 */
import { createRequire } from 'node:module'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak } from './eip712.js'
import { ProtocolError } from './errors.js'
import { bytesToHex, hexToBytes } from './hex.js'
import type { Address, Signature } from './types.js'

interface NativeSecp256k1 {
  ecdsaRecover: (sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean) => Uint8Array
  ecdsaSign: (msg32: Uint8Array, seckey: Uint8Array) => { signature: Uint8Array, recid: number }
  publicKeyCreate: (seckey: Uint8Array, compressed: boolean) => Uint8Array
}

function loadNative (): NativeSecp256k1 | undefined {
  if (process.env.LILYNODE_PURE_JS_CRYPTO === '1') return undefined
  try {
    const require = createRequire(import.meta.url)
    return require('secp256k1/bindings.js') as NativeSecp256k1
  } catch {
    return undefined
  }
}

const native = loadNative()

/** Which implementation recovers signatures ('native' = libsecp256k1). */
export const recoverBackend: 'native' | 'noble' = native !== undefined ? 'native' : 'noble'

const N = secp256k1.Point.CURVE().n
const HALF_N = N >> 1n

function toBytes32 (x: bigint): Uint8Array {
  return hexToBytes(`0x${x.toString(16).padStart(64, '0')}`, 32)
}

const N_BYTES = toBytes32(N)
const HALF_N_BYTES = toBytes32(HALF_N)

/** Big-endian compare of the 32 bytes at `b[off..]` with `ref`: −1, 0 or 1 (no BigInt on the hot path). */
function cmp32 (b: Uint8Array, off: number, ref: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = b[off + i] - ref[i]
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}

function isZero32 (b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 32; i++) if (b[off + i] !== 0) return false
  return true
}

/** Ethereum address of an uncompressed (65-byte) or compressed (33-byte) public key. */
export function publicKeyToAddress (pub: Uint8Array): Address {
  const full = pub.length === 65 ? pub : secp256k1.Point.fromBytes(pub).toBytes(false)
  return bytesToHex(keccak(full.subarray(1)).subarray(12))
}

/** Addresses of the private keys this process signs with, so signing does not redo the EC multiplication. */
const ownAddresses = new WeakMap<Uint8Array, Address>()

export function privateKeyToAddress (priv: Uint8Array): Address {
  let a = ownAddresses.get(priv)
  if (a === undefined) {
    a = publicKeyToAddress(native !== undefined ? native.publicKeyCreate(priv, false) : secp256k1.getPublicKey(priv, false))
    ownAddresses.set(priv, a)
  }
  return a
}

/** Signs a 32-byte digest; returns r ‖ s ‖ v with v ∈ {27, 28} and low s. */
export function signDigest (digest: Uint8Array, priv: Uint8Array): Signature {
  const out = new Uint8Array(65)
  if (native !== undefined) {
    // libsecp256k1: RFC 6979 nonce, s normalised to the low half
    const { signature, recid } = native.ecdsaSign(digest, priv)
    out.set(signature, 0)
    out[64] = 27 + recid
    return bytesToHex(out)
  }
  const sig = secp256k1.sign(digest, priv, { prehash: false, lowS: true, format: 'recovered' })
  // noble's 'recovered' format is recid ‖ r ‖ s
  out.set(sig.subarray(1), 0)
  out[64] = 27 + sig[0]
  return bytesToHex(out)
}

/**
 * Recovers the signer of a digest. Throws PROTOCOL_BAD_SIGNATURE for a malformed or
 * unrecoverable signature and PROTOCOL_HIGH_S for a malleable one.
 */
export function recoverAddress (digest: Uint8Array, signature: string): Address {
  const sig = hexToBytesOr(signature)
  const v = sig[64]
  if (v !== 27 && v !== 28) throw new ProtocolError('PROTOCOL_BAD_SIGNATURE', 'reject', `signature v must be 27 or 28, got ${v}`)
  if (isZero32(sig, 0) || cmp32(sig, 0, N_BYTES) >= 0 || isZero32(sig, 32) || cmp32(sig, 32, N_BYTES) >= 0) {
    throw new ProtocolError('PROTOCOL_BAD_SIGNATURE', 'reject', 'signature r or s out of range')
  }
  if (cmp32(sig, 32, HALF_N_BYTES) > 0) throw new ProtocolError('PROTOCOL_HIGH_S', 'reject', 'high-s signature refused (malleable); sign with low s')
  try {
    if (native !== undefined) {
      return publicKeyToAddress(native.ecdsaRecover(sig.subarray(0, 64), v - 27, digest, false))
    }
    const rs = new Uint8Array(65)
    rs[0] = v - 27
    rs.set(sig.subarray(0, 64), 1)
    return publicKeyToAddress(secp256k1.recoverPublicKey(rs, digest, { prehash: false }))
  } catch (cause) {
    throw new ProtocolError('PROTOCOL_BAD_SIGNATURE', 'reject', 'signature does not recover to a public key', { cause })
  }
}

function hexToBytesOr (signature: string): Uint8Array {
  try {
    return hexToBytes(signature, 65)
  } catch (cause) {
    throw new ProtocolError('PROTOCOL_BAD_SIGNATURE', 'reject', 'signature must be 65 bytes of 0x-hex (r ‖ s ‖ v)', { cause })
  }
}

/** Recovers the signer and checks it is `expected`; PROTOCOL_WRONG_SIGNER otherwise. */
export function verifySigner (digest: Uint8Array, signature: string, expected: Address): void {
  const got = recoverAddress(digest, signature)
  if (got !== expected.toLowerCase()) {
    throw new ProtocolError('PROTOCOL_WRONG_SIGNER', 'reject', `signed by ${got}, but the message names ${expected}`)
  }
}

export function randomPrivateKey (): Uint8Array {
  return secp256k1.utils.randomSecretKey()
}

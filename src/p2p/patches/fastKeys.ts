/**
 * Gossipsub checks a secp256k1 signature on every message (StrictSign: the author's `from`
 * is what ties an offer to the peer that published it), and @libp2p/crypto does that with
 * @noble/curves in pure JS, which at a few ms per message on a loaded 2-core machine was
 * most of a node's CPU. When the `secp256k1` package's prebuilt libsecp256k1 binding loads
 * (src/protocol/crypto.ts uses the same one), this swaps in:
 * `verify` of libp2p secp256k1 public keys → libsecp256k1 `ecdsaVerify` over the same sha256
 * digest and DER signature (high-s refused by both, as before), and `sign` of private keys →
 * libsecp256k1 `ecdsaSign` (RFC 6979, low-s: byte-identical to noble's).
 * Semantics are unchanged (the same signatures verify); set LILYNODE_PURE_JS_CRYPTO=1 to
 * keep the pure-JS paths.
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import type { PrivateKey } from '@libp2p/interface'

interface NativeSecp256k1 {
  ecdsaVerify: (sig: Uint8Array, msg32: Uint8Array, pubkey: Uint8Array) => boolean
  signatureImport: (der: Uint8Array) => Uint8Array
  signatureExport: (sig: Uint8Array) => Uint8Array
  ecdsaSign: (msg32: Uint8Array, key: Uint8Array) => { signature: Uint8Array, recid: number }
}

let installed = false
export const verifyCount = { n: 0 }

function loadNative (): NativeSecp256k1 | undefined {
  if (process.env.LILYNODE_PURE_JS_CRYPTO === '1') return undefined
  try {
    return createRequire(import.meta.url)('secp256k1/bindings.js') as NativeSecp256k1
  } catch {
    return undefined
  }
}

/** Installs the fast paths once per process; `key` is any libp2p secp256k1 private key. */
export function installFastSecp256k1 (key: PrivateKey): boolean {
  if (installed) return true
  const native = loadNative()
  if (native === undefined || key.type !== 'secp256k1') return false
  installed = true
  const sample = key.publicKey
  // RFC 6979 and low-s on both sides: the same DER bytes noble's `sign` gives
  const privProto = Object.getPrototypeOf(key) as { sign: (data: Uint8Array | Iterable<Uint8Array>, options?: { signal?: AbortSignal }) => Uint8Array }
  privProto.sign = function (this: { raw: Uint8Array }, data, options): Uint8Array {
    options?.signal?.throwIfAborted()
    const h = createHash('sha256')
    if (data instanceof Uint8Array) h.update(data)
    else for (const b of data) h.update(b)
    return native.signatureExport(native.ecdsaSign(h.digest(), this.raw).signature)
  }
  const proto = Object.getPrototypeOf(sample) as { verify: (data: Uint8Array | Iterable<Uint8Array>, sig: Uint8Array, options?: { signal?: AbortSignal }) => boolean }
  proto.verify = function (this: { raw: Uint8Array }, data, sig, options): boolean {
    verifyCount.n++
    options?.signal?.throwIfAborted()
    const h = createHash('sha256')
    if (data instanceof Uint8Array) h.update(data)
    else for (const b of data) h.update(b)
    let compact: Uint8Array
    try {
      compact = native.signatureImport(sig)
    } catch {
      return false
    }
    try {
      return native.ecdsaVerify(compact, h.digest(), this.raw)
    } catch {
      return false
    }
  }
  return true
}

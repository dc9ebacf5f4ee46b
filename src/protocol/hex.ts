/** Hex helpers that refuse anything but lower- or upper-case 0x-prefixed hex of the exact length. */
import { ProtocolError } from './errors.js'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function bytesToHex (b: Uint8Array): `0x${string}` {
  let s = '0x'
  for (let i = 0; i < b.length; i++) s += HEX[b[i]]
  return s as `0x${string}`
}

/** Value of each ASCII hex digit, −1 for anything else (a table: this runs on every hash and address of every message). */
const NIBBLE = new Int8Array(256).fill(-1)
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i
for (let i = 0; i < 6; i++) { NIBBLE[97 + i] = 10 + i; NIBBLE[65 + i] = 10 + i }

function nibble (c: number): number {
  return c < 256 ? NIBBLE[c] : -1
}

/** Parses `0x…` hex of exactly `length` bytes (any length when omitted). */
export function hexToBytes (hex: string, length?: number): Uint8Array {
  if (typeof hex !== 'string' || hex.length < 2 || hex[0] !== '0' || (hex[1] !== 'x' && hex[1] !== 'X') || hex.length % 2 !== 0) {
    throw new ProtocolError('PROTOCOL_BAD_HEX', 'reject', 'expected 0x-prefixed hex with an even number of digits')
  }
  const n = (hex.length - 2) / 2
  if (length !== undefined && n !== length) {
    throw new ProtocolError('PROTOCOL_BAD_HEX', 'reject', `expected ${length} bytes of hex, got ${n}`)
  }
  const out = new Uint8Array(n)
  writeHex(out, 0, hex, n)
  return out
}

/**
 * Writes the `n` bytes of `0x…` hex into `out` at `off`, without allocating. The caller has
 * checked the prefix and length (hexToBytes does); bad digits throw PROTOCOL_BAD_HEX.
 */
export function writeHex (out: Uint8Array, off: number, hex: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const hi = nibble(hex.charCodeAt(2 + 2 * i))
    const lo = nibble(hex.charCodeAt(3 + 2 * i))
    if (hi < 0 || lo < 0) throw new ProtocolError('PROTOCOL_BAD_HEX', 'reject', 'invalid hex digit')
    out[off + i] = hi * 16 + lo
  }
}

export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

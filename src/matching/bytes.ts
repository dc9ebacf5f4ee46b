/** Fast fixed-width writers and readers for the canonical state encoding (big-endian). */
import { Buffer } from 'node:buffer'
import { MatchingError } from './types.js'

const NIBBLE = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i
for (let i = 0; i < 6; i++) { NIBBLE[97 + i] = 10 + i; NIBBLE[65 + i] = 10 + i }

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/**
 * A Buffer over the same memory as `buf` (no copy): the writers below decode hex natively
 * (several times faster than the table loop) when handed one.
 */
export function bufferView (buf: Uint8Array): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
}

function writeHex (buf: Uint8Array, off: number, hex: string, bytes: number): number {
  if (typeof hex !== 'string' || hex.length !== 2 + 2 * bytes || hex.charCodeAt(0) !== 48 || (hex.charCodeAt(1) | 32) !== 120) {
    throw new MatchingError('MATCHING_BAD_STATE', `expected 0x-prefixed hex of ${bytes} bytes, got ${JSON.stringify(String(hex).slice(0, 80))}`)
  }
  // Node's hex decoder stops at the first pair that is not hex: all `bytes` written ⇔ valid
  if (buf instanceof Buffer) {
    if (buf.write(hex.slice(2), off, bytes, 'hex') !== bytes) throw new MatchingError('MATCHING_BAD_STATE', `invalid hex digit in ${hex}`)
    return off + bytes
  }
  for (let i = 0; i < bytes; i++) {
    const a = hex.charCodeAt(2 + 2 * i); const b = hex.charCodeAt(3 + 2 * i)
    const hi = a < 128 ? NIBBLE[a] : -1; const lo = b < 128 ? NIBBLE[b] : -1
    if (hi < 0 || lo < 0) throw new MatchingError('MATCHING_BAD_STATE', `invalid hex digit in ${hex}`)
    buf[off + i] = (hi << 4) | lo
  }
  return off + bytes
}

export function writeHash32 (buf: Uint8Array, off: number, hex: string): number { return writeHex(buf, off, hex, 32) }
export function writeAddress (buf: Uint8Array, off: number, hex: string): number { return writeHex(buf, off, hex, 20) }

const U64_MAX = (1n << 64n) - 1n
export function writeU64 (view: DataView, off: number, v: bigint): number {
  if (v < 0n || v > U64_MAX) throw new MatchingError('MATCHING_BAD_STATE', `value ${v} does not fit in uint64`)
  view.setBigUint64(off, v)
  return off + 8
}

export function readHex (buf: Uint8Array, off: number, bytes: number): `0x${string}` {
  let s = '0x'
  for (let i = 0; i < bytes; i++) s += HEX[buf[off + i]]
  return s as `0x${string}`
}

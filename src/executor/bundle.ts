/**
 * Result bundles: what a job produced, in one canonical byte string.
 *
 *   "LNB1" ‖ i32 exitCode ‖ u32 len ‖ stdout ‖ u32 len ‖ stderr ‖ u32 len ‖ outputTar
 *
 * (big-endian). `resultHash = keccak256(encodeBundle(bundle))`: the provider sends the bundle
 * bytes, the creator re-hashes them, a mediator re-runs the job and compares hashes.
 */
import { keccak } from '../protocol/index.js'
import { bytesToHex } from '../protocol/index.js'
import type { Hash } from '../protocol/index.js'
import { ExecutorError } from './errors.js'

export interface ResultBundle {
  exitCode: number
  stdout: Uint8Array
  stderr: Uint8Array
  /** Deterministic tar of the output folder (tar.ts). */
  outputTar: Uint8Array
}

const MAGIC = [0x4c, 0x4e, 0x42, 0x31] // "LNB1"
/** Largest bundle `decodeBundle` accepts by default. */
export const MAX_BUNDLE_BYTES = 2 ** 31

export function encodeBundle (b: ResultBundle): Uint8Array {
  if (!Number.isInteger(b.exitCode) || b.exitCode < -(2 ** 31) || b.exitCode >= 2 ** 31) {
    throw new ExecutorError('EXECUTOR_BAD_BUNDLE', `exit code ${b.exitCode} is not a 32-bit integer`)
  }
  const size = 4 + 4 + 12 + b.stdout.length + b.stderr.length + b.outputTar.length
  if (size > MAX_BUNDLE_BYTES) throw new ExecutorError('EXECUTOR_BAD_BUNDLE', `bundle of ${size} bytes is larger than ${MAX_BUNDLE_BYTES}`)
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  out.set(MAGIC, 0)
  dv.setInt32(4, b.exitCode)
  let off = 8
  for (const part of [b.stdout, b.stderr, b.outputTar]) {
    dv.setUint32(off, part.length)
    out.set(part, off + 4)
    off += 4 + part.length
  }
  return out
}

/** Strict inverse of `encodeBundle`; EXECUTOR_BAD_BUNDLE on any deviation. */
export function decodeBundle (bytes: Uint8Array, maxBytes = MAX_BUNDLE_BYTES): ResultBundle {
  const fail = (why: string): never => { throw new ExecutorError('EXECUTOR_BAD_BUNDLE', `result bundle: ${why}`) }
  if (bytes.length > maxBytes) fail(`${bytes.length} bytes, more than ${maxBytes}`)
  if (bytes.length < 20 || MAGIC.some((m, i) => bytes[i] !== m)) fail('bad magic (expected LNB1)')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const exitCode = dv.getInt32(4)
  let off = 8
  const parts: Uint8Array[] = []
  for (let i = 0; i < 3; i++) {
    if (off + 4 > bytes.length) fail('truncated')
    const len = dv.getUint32(off)
    if (off + 4 + len > bytes.length) fail('truncated')
    parts.push(bytes.slice(off + 4, off + 4 + len))
    off += 4 + len
  }
  if (off !== bytes.length) fail('trailing bytes')
  return { exitCode, stdout: parts[0], stderr: parts[1], outputTar: parts[2] }
}

/** keccak256 of the canonical encoding: the `resultHash` of a deal. */
export function bundleHash (b: ResultBundle | Uint8Array): Hash {
  return bytesToHex(keccak(b instanceof Uint8Array ? b : encodeBundle(b)))
}

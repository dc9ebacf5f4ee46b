/**
 * The wire format of gossiped and streamed messages: canonical JSON, exactly one encoding
 * per message (fixed key order = the EIP-712 field order, no whitespace, integers that may
 * pass 2^53 as decimal strings, hex lower-case). Decoding checks the size cap before
 * anything else, then refuses unknown and missing keys, validates every field, and last
 * refuses any encoding but the canonical one.
 *
 *   {"kind":"job","offer":{…JobOffer…},"signature":"0x…"}
 *   {"kind":"resource","offer":{…ResourceOffer…},"signature":"0x…"}
 *   {"kind":"acceptance","deal":{…Deal…},"party":"creator"|"provider","signature":"0x…"}
 *   {"kind":"result","acceptance":{…ResultAcceptance…},"signature":"0x…"}
 *   {"kind":"heartbeat","heartbeat":{…Heartbeat…},"signature":"0x…"}
 *
 * Signatures are checked apart (`verifyMessage` in message.ts), so a node can drop
 * malformed bytes before paying for a signature recovery.
 */
import { EIP712_TYPES, type PrimaryType, type TypedMessages } from './eip712.js'
import { ProtocolError } from './errors.js'
import type { Deal, Heartbeat, JobOffer, Party, ResourceOffer, ResultAcceptance, Signature } from './types.js'
import {
  checkSignature, validateDeal, validateHeartbeat, validateJobOffer, validateParty,
  validateResourceOffer, validateResultAcceptance, type ValidateOptions
} from './validate.js'

export type WireMessage =
  | { kind: 'job', offer: JobOffer, signature: Signature }
  | { kind: 'resource', offer: ResourceOffer, signature: Signature }
  | { kind: 'acceptance', deal: Deal, party: Party, signature: Signature }
  | { kind: 'result', acceptance: ResultAcceptance, signature: Signature }
  | { kind: 'heartbeat', heartbeat: Heartbeat, signature: Signature }

export type WireKind = WireMessage['kind']
export type WireMessageOf<K extends WireKind> = Extract<WireMessage, { kind: K }>
export type JobOfferMessage = WireMessageOf<'job'>
export type ResourceOfferMessage = WireMessageOf<'resource'>
export type DealAcceptanceMessage = WireMessageOf<'acceptance'>
export type ResultAcceptanceMessage = WireMessageOf<'result'>
export type HeartbeatMessage = WireMessageOf<'heartbeat'>

export const WIRE_KINDS: readonly WireKind[] = ['job', 'resource', 'acceptance', 'result', 'heartbeat']

/** The EIP-712 primary type each kind carries. */
export const PRIMARY_TYPE_OF: Readonly<Record<WireKind, PrimaryType>> = {
  job: 'JobOffer',
  resource: 'ResourceOffer',
  acceptance: 'Deal',
  result: 'ResultAcceptance',
  heartbeat: 'Heartbeat'
}

/**
 * Size caps per kind, in bytes. Each is above the largest valid message of its kind (every
 * field at its bound; test/protocol checks it) and far below what would hurt.
 */
export const MAX_MESSAGE_BYTES: Readonly<Record<WireKind, number>> = Object.freeze({
  job: 1024,
  resource: 4096,
  acceptance: 1024,
  result: 512,
  heartbeat: 512
})

/** The largest cap of all kinds: the cap when the kind is not known in advance. */
export const MAX_ANY_MESSAGE_BYTES = Math.max(...Object.values(MAX_MESSAGE_BYTES))

// ------------------------------------------------------------------ struct <-> JSON

type FieldCodec = 'address' | 'bytes32' | 'int' | 'bigint' | 'string' | 'bytes32[]'

function codecOf (solidityType: string): FieldCodec {
  switch (solidityType) {
    case 'address': return 'address'
    case 'bytes32': return 'bytes32'
    case 'string': return 'string'
    case 'bytes32[]': return 'bytes32[]'
    case 'uint32': return 'int'
    case 'uint64':
    case 'uint256': return 'bigint'
    default: throw new Error(`no wire codec for ${solidityType}`)
  }
}

interface Field { name: string, codec: FieldCodec }

/** Wire fields of each struct, in EIP-712 order (also the JSON key order). */
const FIELDS: Readonly<Record<PrimaryType, readonly Field[]>> = Object.fromEntries(
  (Object.keys(EIP712_TYPES) as PrimaryType[]).map((t) => [t, EIP712_TYPES[t].map((f) => ({ name: f.name, codec: codecOf(f.type) }))])
) as unknown as Record<PrimaryType, readonly Field[]>

const FIELD_SETS: Readonly<Record<PrimaryType, ReadonlySet<string>>> = Object.fromEntries(
  (Object.keys(FIELDS) as PrimaryType[]).map((t) => [t, new Set(FIELDS[t].map((f) => f.name))])
) as unknown as Record<PrimaryType, ReadonlySet<string>>

/** Decimal digits of 2^256 − 1; longer strings are refused before BigInt sees them. */
const MAX_DECIMAL_DIGITS = 78
const DECIMAL_RE = /^(0|[1-9][0-9]*)$/

function malformed (code: 'PROTOCOL_BAD_TYPE' | 'PROTOCOL_UNKNOWN_FIELD' | 'PROTOCOL_MISSING_FIELD' | 'PROTOCOL_MALFORMED', message: string): ProtocolError {
  return new ProtocolError(code, 'reject', message)
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Refuses keys outside `allowed` and requires each of `required`. */
function checkKeys (path: string, obj: Record<string, unknown>, allowed: ReadonlySet<string>, required: Iterable<string>): void {
  for (const k in obj) {
    if (!allowed.has(k)) throw malformed('PROTOCOL_UNKNOWN_FIELD', `${path}: unknown field ${JSON.stringify(k.slice(0, 64))}; known: ${[...allowed].join(', ')}`)
  }
  // JSON.parse defines "__proto__" as an own key, which for-in sees but a plain literal lookup would not
  if (Object.prototype.hasOwnProperty.call(obj, '__proto__')) throw malformed('PROTOCOL_UNKNOWN_FIELD', `${path}: unknown field "__proto__"`)
  for (const k of required) {
    if (obj[k] === undefined) throw malformed('PROTOCOL_MISSING_FIELD', `${path}: missing field "${k}"`)
  }
}

function readField (path: string, f: Field, v: unknown): unknown {
  switch (f.codec) {
    case 'bigint':
      if (typeof v !== 'string' || v.length > MAX_DECIMAL_DIGITS || !DECIMAL_RE.test(v)) {
        throw malformed('PROTOCOL_BAD_TYPE', `${path}.${f.name}: must be a decimal string without leading zeros, got ${JSON.stringify(v)?.slice(0, 80)}`)
      }
      return BigInt(v)
    case 'int':
      // a number that JSON gave us; bounds are the validator's job
      if (typeof v !== 'number') throw malformed('PROTOCOL_BAD_TYPE', `${path}.${f.name}: must be a JSON integer, got ${JSON.stringify(v)?.slice(0, 80)}`)
      return v
    case 'bytes32[]':
      if (!Array.isArray(v)) throw malformed('PROTOCOL_BAD_TYPE', `${path}.${f.name}: must be an array`)
      return v
    default:
      if (typeof v !== 'string') throw malformed('PROTOCOL_BAD_TYPE', `${path}.${f.name}: must be a string, got ${JSON.stringify(v)?.slice(0, 80)}`)
      return v
  }
}

/** Reads one struct from parsed JSON (types only; call the validator after). */
function readStruct<K extends PrimaryType> (type: K, json: unknown, path: string): TypedMessages[K] {
  if (!isObject(json)) throw malformed('PROTOCOL_BAD_TYPE', `${path}: must be a JSON object`)
  const fields = FIELDS[type]
  checkKeys(path, json, FIELD_SETS[type], FIELD_SETS[type])
  const out: Record<string, unknown> = {}
  for (const f of fields) out[f.name] = readField(path, f, json[f.name])
  return out as unknown as TypedMessages[K]
}

/**
 * Canonical JSON of a struct. `raw`: the values are the parsed wire JSON (decimal strings
 * already checked canonical), not typed values, which spares re-printing every bigint.
 */
function writeStruct (type: PrimaryType, value: TypedMessages[PrimaryType] | Record<string, unknown>, raw = false): string {
  const v = value as unknown as Record<string, unknown>
  let s = '{'
  let first = true
  for (const f of FIELDS[type]) {
    const x = v[f.name]
    s += first ? `"${f.name}":` : `,"${f.name}":`
    first = false
    switch (f.codec) {
      case 'bigint': s += raw ? `"${x as string}"` : `"${(x as bigint).toString(10)}"`; break
      case 'int': s += String(x as number); break
      case 'string': s += JSON.stringify(x as string); break
      case 'bytes32[]': s += `[${(x as string[]).map((h) => `"${h}"`).join(',')}]`; break
      default: s += `"${x as string}"`
    }
  }
  return s + '}'
}

const VALIDATORS: { [K in PrimaryType]: (m: TypedMessages[K], opts: ValidateOptions, path: string) => void } = {
  JobOffer: validateJobOffer,
  ResourceOffer: validateResourceOffer,
  Deal: (d, _o, p) => validateDeal(d, p),
  ResultAcceptance: (r, _o, p) => validateResultAcceptance(r, p),
  Heartbeat: (h, _o, p) => validateHeartbeat(h, p)
}

/** Validates a struct of any primary type. */
export function validateStruct<K extends PrimaryType> (type: K, value: TypedMessages[K], opts: ValidateOptions = {}, path: string = type): void {
  if (!isObject(value)) throw malformed('PROTOCOL_BAD_TYPE', `${path}: must be an object`)
  VALIDATORS[type](value, opts, path)
}

/** A struct as plain JSON (bigints as decimal strings), e.g. for storage or the query protocol. */
export function structToJson<K extends PrimaryType> (type: K, value: TypedMessages[K]): Record<string, unknown> {
  return JSON.parse(encodeStruct(type, value)) as Record<string, unknown>
}

/** The canonical JSON text of a (validated) struct. */
export function encodeStruct<K extends PrimaryType> (type: K, value: TypedMessages[K]): string {
  validateStruct(type, value)
  return writeStruct(type, value)
}

/** Reads and validates a struct from plain JSON (the inverse of `structToJson`). */
export function structFromJson<K extends PrimaryType> (type: K, json: unknown, opts: ValidateOptions = {}, path: string = type): TypedMessages[K] {
  const v = readStruct(type, json, path)
  VALIDATORS[type](v, opts, path)
  return v
}

// ------------------------------------------------------------------ messages

/** The JSON key that holds each kind's struct. */
const BODY_KEY = { job: 'offer', resource: 'offer', acceptance: 'deal', result: 'acceptance', heartbeat: 'heartbeat' } as const

const MESSAGE_KEYS: Readonly<Record<WireKind, ReadonlySet<string>>> = {
  job: new Set(['kind', 'offer', 'signature']),
  resource: new Set(['kind', 'offer', 'signature']),
  acceptance: new Set(['kind', 'deal', 'party', 'signature']),
  result: new Set(['kind', 'acceptance', 'signature']),
  heartbeat: new Set(['kind', 'heartbeat', 'signature'])
}

function bodyOf (m: WireMessage): TypedMessages[PrimaryType] {
  switch (m.kind) {
    case 'job':
    case 'resource': return m.offer
    case 'acceptance': return m.deal
    case 'result': return m.acceptance
    case 'heartbeat': return m.heartbeat
  }
}

/** The EIP-712 message a wire message carries, with its primary type. */
export function messageBody (m: WireMessage): { primaryType: PrimaryType, message: TypedMessages[PrimaryType] } {
  return { primaryType: PRIMARY_TYPE_OF[m.kind], message: bodyOf(m) }
}

/** Validates every field of a message (not its signature). */
export function validateMessage (m: WireMessage, opts: ValidateOptions = {}): void {
  if (!isObject(m) || !(WIRE_KINDS as readonly unknown[]).includes(m.kind)) {
    throw new ProtocolError('PROTOCOL_UNKNOWN_KIND', 'reject', `message kind must be one of ${WIRE_KINDS.join(', ')}`)
  }
  validateStruct(PRIMARY_TYPE_OF[m.kind], bodyOf(m), opts, `${m.kind}.${BODY_KEY[m.kind]}`)
  if (m.kind === 'acceptance') validateParty('acceptance.party', m.party)
  checkSignature(`${m.kind}.signature`, m.signature)
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** The canonical JSON text of a (valid) message. */
function canonicalText (m: WireMessage, rawBody?: Record<string, unknown>): string {
  const body = rawBody !== undefined ? writeStruct(PRIMARY_TYPE_OF[m.kind], rawBody, true) : writeStruct(PRIMARY_TYPE_OF[m.kind], bodyOf(m))
  const party = m.kind === 'acceptance' ? `,"party":"${m.party}"` : ''
  return `{"kind":"${m.kind}","${BODY_KEY[m.kind]}":${body}${party},"signature":"${m.signature}"}`
}

/** Canonical wire bytes of a message; validates it first, so nothing invalid is ever sent. */
export function encodeMessage (m: WireMessage, opts: ValidateOptions = {}): Uint8Array {
  validateMessage(m, opts)
  const bytes = encoder.encode(canonicalText(m))
  if (bytes.length > MAX_MESSAGE_BYTES[m.kind]) {
    // unreachable for validated messages (the caps sit above the largest valid message); kept as a guard
    throw new ProtocolError('PROTOCOL_TOO_LARGE', 'reject', `${m.kind} message is ${bytes.length} bytes, over its cap of ${MAX_MESSAGE_BYTES[m.kind]}`)
  }
  return bytes
}

/**
 * Decodes and fully validates wire bytes (signature not checked). Throws only ProtocolError:
 * PROTOCOL_TOO_LARGE (checked before parsing), PROTOCOL_MALFORMED (not UTF-8 JSON),
 * PROTOCOL_UNKNOWN_KIND, PROTOCOL_UNKNOWN_FIELD, PROTOCOL_MISSING_FIELD, PROTOCOL_BAD_TYPE,
 * PROTOCOL_BAD_HEX, PROTOCOL_OUT_OF_BOUNDS, PROTOCOL_BAD_SIGNATURE (malformed); and
 * PROTOCOL_MALFORMED for a valid message in any but its canonical encoding.
 */
export function decodeMessage (bytes: Uint8Array, expectedKind?: WireKind, opts: ValidateOptions = {}): WireMessage {
  const cap = expectedKind === undefined ? MAX_ANY_MESSAGE_BYTES : MAX_MESSAGE_BYTES[expectedKind]
  if (!(bytes instanceof Uint8Array)) throw malformed('PROTOCOL_MALFORMED', 'message must be bytes')
  if (bytes.length > cap) {
    throw new ProtocolError('PROTOCOL_TOO_LARGE', 'reject', `message is ${bytes.length} bytes, over the cap of ${cap} for ${expectedKind ?? 'any kind'}`)
  }
  let json: unknown
  let text: string
  try {
    text = decoder.decode(bytes)
    json = JSON.parse(text)
  } catch (cause) {
    throw new ProtocolError('PROTOCOL_MALFORMED', 'reject', `message is not UTF-8 JSON: ${(cause as Error).message}`, { cause })
  }
  if (!isObject(json)) throw malformed('PROTOCOL_MALFORMED', 'message must be a JSON object')
  const kind = json.kind
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(MESSAGE_KEYS, kind)) {
    throw new ProtocolError('PROTOCOL_UNKNOWN_KIND', 'reject', `unknown message kind ${JSON.stringify(kind)?.slice(0, 40)}; known: ${WIRE_KINDS.join(', ')}`)
  }
  const k = kind as WireKind
  if (expectedKind !== undefined && k !== expectedKind) {
    throw new ProtocolError('PROTOCOL_UNKNOWN_KIND', 'reject', `expected a ${expectedKind} message, got ${k}`)
  }
  if (bytes.length > MAX_MESSAGE_BYTES[k]) {
    throw new ProtocolError('PROTOCOL_TOO_LARGE', 'reject', `${k} message is ${bytes.length} bytes, over its cap of ${MAX_MESSAGE_BYTES[k]}`)
  }
  checkKeys(k, json, MESSAGE_KEYS[k], MESSAGE_KEYS[k])
  const key = BODY_KEY[k]
  const type = PRIMARY_TYPE_OF[k]
  const body = structFromJson(type, json[key], opts, `${k}.${key}`)
  checkSignature(`${k}.signature`, json.signature)
  const m = build(k, body, json)
  // One encoding per message: otherwise a relay could re-serialise a valid signed message
  // ("1.0" for 1, other key orders, \u escapes) into many distinct gossip messages.
  if (canonicalText(m, json[key] as Record<string, unknown>) !== text) {
    throw new ProtocolError('PROTOCOL_MALFORMED', 'reject', `${k} message is not in canonical form (key order, no whitespace, plain integers, no escapes); encode it with encodeMessage`)
  }
  return m
}

function build (k: WireKind, body: TypedMessages[PrimaryType], json: Record<string, unknown>): WireMessage {
  const signature = json.signature as Signature
  switch (k) {
    case 'job': return { kind: k, offer: body as JobOffer, signature }
    case 'resource': return { kind: k, offer: body as ResourceOffer, signature }
    case 'acceptance':
      validateParty('acceptance.party', json.party)
      return { kind: k, deal: body as Deal, party: json.party, signature }
    case 'result': return { kind: k, acceptance: body as ResultAcceptance, signature }
    case 'heartbeat': return { kind: k, heartbeat: body as Heartbeat, signature }
  }
}

/**
 * Network profile (DESIGN §2): the JSON that names a network. Its hash is part of every
 * gossip topic and protocol id, so nodes of different networks never mix.
 *
 * Parsing is strict: unknown fields are refused, every value is bounded, and `limits`
 * fields left out take the defaults below (the parsed profile is always complete, so two
 * nodes that load equivalent files compute the same hash).
 */
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { ProtocolError } from './errors.js'
import { bytesToHex } from './hex.js'
import type { Address, Domain, Hash } from './types.js'

/** Network-wide limits every node enforces on what it accepts. */
export interface ProfileLimits {
  /** Hard cap on any one gossip or stream message, in bytes (per-kind caps may be lower). */
  maxMessageBytes: number
  /** Offers (job + resource) accepted from one signer per epoch; more are ignored. */
  maxOffersPerPeerPerEpoch: number
  /** How many epochs ahead of or behind the local epoch a message may be. */
  maxEpochSkew: number
  /** Most epochs an offer may live (`expiryEpoch − epoch`). */
  maxOfferLifetimeEpochs: number
  /** Most offers one node keeps per epoch (all signers together). */
  maxOffersPerEpoch: number
  /** Most offers returned by one `sync` response. */
  maxSyncOffers: number
  /** Cap on one `transfer` (module spec, job inputs, result bundle), in bytes. */
  maxTransferBytes: number
}

export interface Profile {
  /** Human name of the network, e.g. `devnet`, `arbitrum-sepolia`. */
  name: string
  chainId: bigint
  rpcUrl: string
  /** The LilyEscrow contract; also the EIP-712 verifyingContract. */
  escrow: Address
  /**
   * The block the escrow was deployed in (`lilynode chain deploy` prints it). Nodes read the
   * escrow's events from here on a fresh database; left out, from block 0 — fine on a devnet,
   * but on Arbitrum One that is hundreds of millions of empty blocks to page through.
   */
  escrowBlock?: number
  /** ERC-20 settlement token, or null for native ETH. */
  token: Address | null
  /**
   * The LilyRequests companion of the escrow (on-chain job requests), if the network has one.
   * Job offers whose creator is this contract may be signed by any node (the relay): the
   * contract checks every term of the deal against the stored request when it is opened.
   */
  requests?: Address
  epochMs: number
  /** Wait after an epoch ends before matching it, for late offers to arrive. */
  graceMs: number
  /** Unix ms at which epoch 0 starts. */
  genesisMs: number
  /** k: how many epochs a match reserves its offers before they are released. */
  reserveEpochs: number
  /** On-chain challenge window after `submitResult`, in seconds (informational; the contract holds the real one). */
  challengeWindowS?: number
  /** Multiaddrs of bootstrap nodes (with /p2p/<peer id>). */
  bootstrap: string[]
  limits: ProfileLimits
}

export const DEFAULT_LIMITS: Readonly<ProfileLimits> = Object.freeze({
  maxMessageBytes: 16 * 1024,
  maxOffersPerPeerPerEpoch: 64,
  maxEpochSkew: 2,
  maxOfferLifetimeEpochs: 10_000,
  maxOffersPerEpoch: 100_000,
  maxSyncOffers: 10_000,
  maxTransferBytes: 256 * 1024 * 1024
})

/** The first block whose escrow events a node reads on a fresh database. */
export function escrowStartBlock (p: Profile): bigint {
  return BigInt(p.escrowBlock ?? 0)
}

/** Inclusive bounds of each limit. */
const LIMIT_BOUNDS: Readonly<Record<keyof ProfileLimits, readonly [number, number]>> = {
  maxMessageBytes: [1024, 1024 * 1024],
  maxOffersPerPeerPerEpoch: [1, 100_000],
  maxEpochSkew: [0, 1000],
  maxOfferLifetimeEpochs: [1, 1_000_000],
  maxOffersPerEpoch: [1, 10_000_000],
  maxSyncOffers: [1, 1_000_000],
  maxTransferBytes: [1024, 64 * 1024 * 1024 * 1024]
}

const PROFILE_KEYS = ['name', 'chainId', 'rpcUrl', 'escrow', 'escrowBlock', 'token', 'requests', 'epochMs', 'graceMs', 'genesisMs',
  'reserveEpochs', 'challengeWindowS', 'bootstrap', 'limits'] as const
const REQUIRED_KEYS = new Set<string>(['name', 'chainId', 'rpcUrl', 'escrow', 'genesisMs', 'bootstrap'])
/**
 * `epochMs` of a profile that leaves it out: nodes spread over a wide-area network. From bench:wan
 * (README, "Epoch timing for a real network"): 500 nodes over links of 150 ms mean one way reach
 * p99 in ~0.7 s, which calls for graceMs ≥ 1.6 s and epochMs ≥ 5.3 s with a 1 s matcher step;
 * 12 s (grace 3 s, its quarter) leaves room for a repair round of gossip, a node lagging a few
 * seconds, and a matcher step of ~3 s. The devnet sets its own 1 s.
 */
export const DEFAULT_EPOCH_MS = 12_000
const DAY_MS = 86_400_000
/** 2200-01-01 in unix ms: genesis beyond it is surely a unit mistake (seconds × 1000 twice). */
const MAX_GENESIS_MS = 7_258_118_400_000
const MAX_BOOTSTRAP = 64
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/
const URL_RE = /^(https?|wss?):\/\/[^\s]+$/

function bad (field: string, message: string): ProtocolError {
  return new ProtocolError('PROTOCOL_BAD_PROFILE', 'reject', `profile field "${field}": ${message}`)
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function int (field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(field, `must be an integer, got ${JSON.stringify(v)}`)
  if (v < min || v > max) throw bad(field, `must be between ${min} and ${max}, got ${v}`)
  return v
}

function address (field: string, v: unknown): Address {
  if (typeof v !== 'string' || !ADDRESS_RE.test(v)) throw bad(field, `must be a 0x-prefixed 20-byte hex address, got ${JSON.stringify(v)}`)
  return v.toLowerCase() as Address
}

function chainId (v: unknown): bigint {
  let id: bigint
  if (typeof v === 'number' && Number.isSafeInteger(v)) id = BigInt(v)
  else if (typeof v === 'string' && /^[1-9][0-9]{0,19}$/.test(v)) id = BigInt(v)
  else throw bad('chainId', `must be a positive integer or a decimal string, got ${JSON.stringify(v)}`)
  if (id < 1n || id >= 1n << 64n) throw bad('chainId', `must be between 1 and 2^64 − 1, got ${id}`)
  return id
}

function bootstrap (v: unknown): string[] {
  if (!Array.isArray(v)) throw bad('bootstrap', 'must be an array of multiaddr strings (may be empty)')
  if (v.length > MAX_BOOTSTRAP) throw bad('bootstrap', `at most ${MAX_BOOTSTRAP} entries, got ${v.length}`)
  return v.map((a: unknown, i) => {
    if (typeof a !== 'string' || a.length === 0 || a.length > 512) throw bad(`bootstrap[${i}]`, 'must be a multiaddr string of 1..512 characters')
    try {
      multiaddr(a)
    } catch (cause) {
      throw bad(`bootstrap[${i}]`, `not a valid multiaddr (${(cause as Error).message}); use e.g. /ip4/127.0.0.1/tcp/4001/p2p/<peer id>`)
    }
    return a
  })
}

function limits (v: unknown): ProfileLimits {
  if (v === undefined) return { ...DEFAULT_LIMITS }
  if (!isRecord(v)) throw bad('limits', 'must be an object')
  for (const k of Object.keys(v)) {
    if (!(k in LIMIT_BOUNDS)) throw bad(`limits.${k}`, `unknown limit; known: ${Object.keys(LIMIT_BOUNDS).join(', ')}`)
  }
  const out = { ...DEFAULT_LIMITS }
  for (const k of Object.keys(LIMIT_BOUNDS) as Array<keyof ProfileLimits>) {
    if (v[k] !== undefined) out[k] = int(`limits.${k}`, v[k], LIMIT_BOUNDS[k][0], LIMIT_BOUNDS[k][1])
  }
  return out
}

/**
 * Parses and validates a profile (the value of `JSON.parse` of the file). Throws
 * PROTOCOL_BAD_PROFILE naming the field and what it should be.
 */
export function parseProfile (json: unknown): Profile {
  if (!isRecord(json)) throw bad('(root)', 'a profile must be a JSON object')
  for (const k of Object.keys(json)) {
    if (!(PROFILE_KEYS as readonly string[]).includes(k)) throw bad(k, `unknown field; remove it (known: ${PROFILE_KEYS.join(', ')})`)
  }
  for (const k of REQUIRED_KEYS) {
    if (json[k] === undefined) throw bad(k, 'missing; it is required')
  }
  if (typeof json.name !== 'string' || !NAME_RE.test(json.name)) {
    throw bad('name', 'must be 1..64 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit')
  }
  if (typeof json.rpcUrl !== 'string' || json.rpcUrl.length > 2048 || !URL_RE.test(json.rpcUrl)) {
    throw bad('rpcUrl', 'must be an http(s):// or ws(s):// URL of at most 2048 characters')
  }
  const epochMs = json.epochMs === undefined ? DEFAULT_EPOCH_MS : int('epochMs', json.epochMs, 100, DAY_MS)
  const p: Profile = {
    name: json.name,
    chainId: chainId(json.chainId),
    rpcUrl: json.rpcUrl,
    escrow: address('escrow', json.escrow),
    token: json.token === undefined || json.token === null ? null : address('token', json.token),
    epochMs,
    graceMs: json.graceMs === undefined ? Math.floor(epochMs / 4) : int('graceMs', json.graceMs, 0, DAY_MS),
    genesisMs: int('genesisMs', json.genesisMs, 0, MAX_GENESIS_MS),
    reserveEpochs: json.reserveEpochs === undefined ? 3 : int('reserveEpochs', json.reserveEpochs, 1, 10_000),
    bootstrap: bootstrap(json.bootstrap),
    limits: limits(json.limits)
  }
  if (json.requests !== undefined && json.requests !== null) {
    p.requests = address('requests', json.requests)
    if (p.requests === p.escrow) throw bad('requests', 'must be the LilyRequests contract, not the escrow itself')
  }
  if (json.escrowBlock !== undefined) p.escrowBlock = int('escrowBlock', json.escrowBlock, 0, Number.MAX_SAFE_INTEGER)
  if (json.challengeWindowS !== undefined) p.challengeWindowS = int('challengeWindowS', json.challengeWindowS, 1, 30 * 86_400)
  return p
}

/** Reads and parses a profile file; PROTOCOL_BAD_PROFILE for unreadable or invalid JSON. */
export async function loadProfile (path: string): Promise<Profile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new ProtocolError('PROTOCOL_BAD_PROFILE', 'reject', `cannot read profile ${path}: ${(cause as Error).message}`, { cause })
  }
  if (text.length > 1024 * 1024) throw new ProtocolError('PROTOCOL_BAD_PROFILE', 'reject', `profile ${path} is larger than 1 MiB`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new ProtocolError('PROTOCOL_BAD_PROFILE', 'reject', `profile ${path} is not valid JSON: ${(cause as Error).message}`, { cause })
  }
  try {
    return parseProfile(json)
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(e.code, e.action, `${path}: ${e.message}`, { cause: e })
    throw e
  }
}

function canonical (v: unknown): string {
  if (typeof v === 'bigint') return JSON.stringify(v.toString(10))
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (isRecord(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`
  }
  return JSON.stringify(v)
}

/** Canonical JSON: sorted keys, no whitespace, bigints as decimal strings. `parseProfile` reads it back. */
export function serializeProfile (p: Profile): string {
  return canonical(p)
}

const hashCache = new WeakMap<Profile, Hash>()

/** keccak256 of the canonical JSON. Cached per profile object (profiles are treated as immutable). */
export function profileHash (p: Profile): Hash {
  let h = hashCache.get(p)
  if (h === undefined) {
    h = bytesToHex(keccak_256(new TextEncoder().encode(serializeProfile(p))))
    hashCache.set(p, h)
  }
  return h
}

/** The first 8 bytes of the profile hash as 16 hex digits: the network tag in topics and protocol ids. */
export function networkTag (p: Profile): string {
  return profileHash(p).slice(2, 18)
}

export type TopicKind = 'jobs' | 'resources' | 'deals' | 'epochs'
export const TOPIC_KINDS: readonly TopicKind[] = ['jobs', 'resources', 'deals', 'epochs']

/** Gossipsub topic, e.g. `/lilynode/1a2b3c4d5e6f7a8b/jobs/1`. */
export function topicName (p: Profile, kind: TopicKind): string {
  return `/lilynode/${networkTag(p)}/${kind}/1`
}

/** The inverse of `topicName` for this profile; undefined for topics of other networks or kinds. */
export function parseTopic (p: Profile, topic: string): TopicKind | undefined {
  const prefix = `/lilynode/${networkTag(p)}/`
  if (!topic.startsWith(prefix) || !topic.endsWith('/1')) return undefined
  const kind = topic.slice(prefix.length, -2)
  return (TOPIC_KINDS as readonly string[]).includes(kind) ? kind as TopicKind : undefined
}

/** Request/response protocol id, e.g. `/lilynode/1a2b3c4d5e6f7a8b/sync/1.0.0`. */
export function protocolId (p: Profile, name: 'sync' | 'query' | 'transfer' | (string & {}), version = '1.0.0'): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new RangeError(`protocol name must be 1..32 of a-z, 0-9, "-", got ${JSON.stringify(name)}`)
  if (!/^[0-9]+\.[0-9]+\.[0-9]+$/.test(version)) throw new RangeError(`protocol version must be semver x.y.z, got ${JSON.stringify(version)}`)
  return `/lilynode/${networkTag(p)}/${name}/${version}`
}

/** Kad-DHT protocol prefix for this network, so DHTs of different networks never merge. */
export function dhtProtocol (p: Profile): string {
  return `/lilynode/${networkTag(p)}/kad/1.0.0`
}

/** Epoch containing `timeMs` (floor); negative before genesis. */
export function epochAt (p: Profile, timeMs: number): bigint {
  const d = Math.floor(timeMs) - p.genesisMs
  return BigInt(Math.floor(d / p.epochMs))
}

/** Unix ms at which `epoch` starts. */
export function epochStart (p: Profile, epoch: bigint): number {
  return Number(BigInt(p.genesisMs) + epoch * BigInt(p.epochMs))
}

/** Unix ms at which `epoch` ends (= start of the next one, exclusive). */
export function epochEnd (p: Profile, epoch: bigint): number {
  return epochStart(p, epoch + 1n)
}

/** Unix ms at which `epoch` is matched: its end plus the grace period. */
export function epochMatchTime (p: Profile, epoch: bigint): number {
  return epochEnd(p, epoch) + p.graceMs
}

/** The EIP-712 domain of the network. */
export function domainOf (p: Profile): Domain {
  return { name: 'lilynode', version: '1', chainId: p.chainId, verifyingContract: p.escrow }
}

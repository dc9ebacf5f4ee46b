/**
 * A minimal lilynode client written only from PROTOCOL.md: it imports npm packages and nothing
 * of src/ (test/conformance/conformance.test.ts checks that). Each piece names the section of
 * PROTOCOL.md it implements; where this file and the document disagree, the document is right
 * and this file has a bug.
 *
 * Stock libp2p (tcp, noise, yamux, identify) and stock gossipsub, plus what the document
 * requires: a secp256k1 key that is also the Ethereum key (§2), StrictSign and the message id
 * sha256(from ‖ data) (§6.2), and the scoring parameters of §6.4.
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, type GossipSub, type Message } from '@libp2p/gossipsub'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { sha256 } from '@noble/hashes/sha2.js'
import { createPublicClient, createWalletClient, defineChain, hashTypedData, http, keccak256, parseAbi, recoverTypedDataAddress, toBytes, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

// ------------------------------------------------------------------ §3 profile

/** PROTOCOL.md §3.1: the defaults a parsed profile is completed with before it is hashed. */
const LIMIT_DEFAULTS: Record<string, number> = {
  maxMessageBytes: 16384,
  maxOffersPerPeerPerEpoch: 64,
  maxEpochSkew: 2,
  maxOfferLifetimeEpochs: 10000,
  maxOffersPerEpoch: 100000,
  maxSyncOffers: 10000,
  maxTransferBytes: 268435456
}

export interface ClientProfile {
  /** The completed profile (§3.1), as hashed. */
  json: Record<string, unknown>
  hash: Hex
  /** §3.2: the first 8 bytes of the hash, 16 hex digits. */
  tag: string
  chainId: bigint
  escrow: Hex
  epochMs: number
  graceMs: number
  genesisMs: number
  maxEpochSkew: number
  bootstrap: string[]
  rpcUrl: string
  token: Hex | null
}

function canonical (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`
  }
  return JSON.stringify(v)
}

/** §3.1: complete the profile, §3.2: hash its canonical JSON. */
export function readProfile (file: Record<string, unknown>): ClientProfile {
  const epochMs = file.epochMs as number
  const json: Record<string, unknown> = {
    ...file,
    chainId: String(file.chainId),
    escrow: String(file.escrow).toLowerCase(),
    token: file.token === undefined || file.token === null ? null : String(file.token).toLowerCase(),
    graceMs: file.graceMs ?? Math.floor(epochMs / 4),
    reserveEpochs: file.reserveEpochs ?? 3,
    limits: { ...LIMIT_DEFAULTS, ...(file.limits as Record<string, number> | undefined ?? {}) }
  }
  if (typeof file.requests === 'string') json.requests = file.requests.toLowerCase()
  const hash = keccak256(toBytes(canonical(json)))
  return {
    json,
    hash,
    tag: hash.slice(2, 18),
    chainId: BigInt(json.chainId as string),
    escrow: json.escrow as Hex,
    epochMs,
    graceMs: json.graceMs as number,
    genesisMs: json.genesisMs as number,
    maxEpochSkew: (json.limits as Record<string, number>).maxEpochSkew,
    bootstrap: json.bootstrap as string[],
    rpcUrl: json.rpcUrl as string,
    token: json.token as Hex | null
  }
}

/** §3.3 */
export function topicOf (p: ClientProfile, kind: 'jobs' | 'resources' | 'deals' | 'epochs'): string {
  return `/lilynode/${p.tag}/${kind}/1`
}

/** §3.3 */
export function protocolOf (p: ClientProfile, name: 'sync' | 'query' | 'transfer' | 'outcome' | 'logs'): string {
  return `/lilynode/${p.tag}/${name}/1.0.0`
}

/** §3.4 */
export function epochAt (p: ClientProfile, ms: number): bigint {
  return BigInt(Math.floor((Math.floor(ms) - p.genesisMs) / p.epochMs))
}

// ------------------------------------------------------------------ §4 EIP-712

/** §4.2, copied from the document. */
export const TYPES = {
  JobOffer: [
    { name: 'creator', type: 'address' }, { name: 'nonce', type: 'uint64' }, { name: 'module', type: 'bytes32' },
    { name: 'inputsHash', type: 'bytes32' }, { name: 'cpu', type: 'uint32' }, { name: 'ram', type: 'uint32' },
    { name: 'gpus', type: 'uint32' }, { name: 'gpuVram', type: 'uint32' }, { name: 'disk', type: 'uint32' },
    { name: 'maxPrice', type: 'uint256' }, { name: 'timeout', type: 'uint32' }, { name: 'collateral', type: 'uint256' },
    { name: 'epoch', type: 'uint64' }, { name: 'expiryEpoch', type: 'uint64' }
  ],
  Deal: [
    { name: 'jobOfferHash', type: 'bytes32' }, { name: 'resourceOfferHash', type: 'bytes32' }, { name: 'creator', type: 'address' },
    { name: 'provider', type: 'address' }, { name: 'price', type: 'uint256' }, { name: 'collateral', type: 'uint256' },
    { name: 'timeout', type: 'uint32' }, { name: 'matchEpoch', type: 'uint64' }, { name: 'openBy', type: 'uint64' }
  ]
} as const

type Primary = keyof typeof TYPES

/** §4.1 */
export function domainOf (p: ClientProfile): { name: string, version: string, chainId: bigint, verifyingContract: Hex } {
  return { name: 'lilynode', version: '1', chainId: p.chainId, verifyingContract: p.escrow }
}

export interface JobOffer {
  creator: Hex
  nonce: bigint
  module: Hex
  inputsHash: Hex
  cpu: number
  ram: number
  gpus: number
  gpuVram: number
  disk: number
  maxPrice: bigint
  timeout: number
  collateral: bigint
  epoch: bigint
  expiryEpoch: bigint
}

export interface Deal {
  jobOfferHash: Hex
  resourceOfferHash: Hex
  creator: Hex
  provider: Hex
  price: bigint
  collateral: bigint
  timeout: number
  matchEpoch: bigint
  openBy: bigint
}

/** §4.3: the digest that is signed, and the id of the message. */
export function digestOf (p: ClientProfile, primaryType: Primary, message: JobOffer | Deal): Hex {
  return hashTypedData({ domain: domainOf(p), types: TYPES, primaryType, message: message as never })
}

// ------------------------------------------------------------------ §5 wire encoding

/** §5.1: struct fields in EIP-712 order; uint64/uint256 as decimal strings, uint32 as JSON numbers. */
function structJson (type: Primary, v: JobOffer | Deal): string {
  const o = v as unknown as Record<string, unknown>
  return `{${TYPES[type].map((f) => {
    const x = o[f.name]
    const text = f.type === 'uint32' ? String(x as number) : f.type === 'uint64' || f.type === 'uint256' ? `"${(x as bigint).toString(10)}"` : `"${x as string}"`
    return `"${f.name}":${text}`
  }).join(',')}}`
}

/** §5.2 */
export function encodeJob (offer: JobOffer, signature: Hex): Uint8Array {
  return new TextEncoder().encode(`{"kind":"job","offer":${structJson('JobOffer', offer)},"signature":"${signature}"}`)
}

/** §5.2 */
export function encodeAcceptance (deal: Deal, party: 'creator' | 'provider', signature: Hex): Uint8Array {
  return new TextEncoder().encode(`{"kind":"acceptance","deal":${structJson('Deal', deal)},"party":"${party}","signature":"${signature}"}`)
}

export interface Acceptance { deal: Deal, party: 'creator' | 'provider', signature: Hex }

/** Reads an acceptance (§5.2) from the `deals` topic; undefined for anything else. */
export function decodeAcceptance (data: Uint8Array): Acceptance | undefined {
  const j = JSON.parse(new TextDecoder().decode(data)) as { kind?: string, deal?: Record<string, unknown>, party?: 'creator' | 'provider', signature?: Hex }
  if (j.kind !== 'acceptance' || j.deal === undefined || j.party === undefined || j.signature === undefined) return undefined
  const d = j.deal
  return {
    deal: {
      jobOfferHash: d.jobOfferHash as Hex,
      resourceOfferHash: d.resourceOfferHash as Hex,
      creator: d.creator as Hex,
      provider: d.provider as Hex,
      price: BigInt(d.price as string),
      collateral: BigInt(d.collateral as string),
      timeout: d.timeout as number,
      matchEpoch: BigInt(d.matchEpoch as string),
      openBy: BigInt(d.openBy as string)
    },
    party: j.party,
    signature: j.signature
  }
}

/** §4.4: who signed a message. */
export async function signerOf (p: ClientProfile, primaryType: Primary, message: JobOffer | Deal, signature: Hex): Promise<Hex> {
  const a = await recoverTypedDataAddress({ domain: domainOf(p), types: TYPES, primaryType, message: message as never, signature })
  return a.toLowerCase() as Hex
}

// ------------------------------------------------------------------ §7 request/response

/** §7.1: `{"$n":"<decimal>"}` for integers in request/response frames. */
export function frameJson (v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? { $n: x.toString(10) } : x)
}

export function parseFrameJson<T> (text: string): T {
  return JSON.parse(text, (_k, x: unknown) => {
    if (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length === 1 && typeof (x as { $n?: unknown }).$n === 'string') return BigInt((x as { $n: string }).$n)
    return x
  }) as T
}

async function readOneFrame (stream: Stream, maxBytes: number): Promise<Uint8Array> {
  for await (const frame of lp.decode(stream, { maxDataLength: maxBytes })) return frame.subarray()
  throw new Error('the stream ended before a frame')
}

/** §6.5: the escrow functions a job creator needs. */
export const ESCROW_ABI = parseAbi([
  'function deposit(uint256 amount) payable',
  'function balanceOf(address account) view returns (uint256)'
])

// ------------------------------------------------------------------ the client

export interface ClientOptions {
  profile: ClientProfile
  /** 32 bytes: the libp2p key and the Ethereum key at once (§2). */
  privateKey: Hex
}

export class ConformanceClient {
  readonly address: Hex
  readonly received: Array<{ topic: string, data: Uint8Array, from: string, at: number }> = []
  private constructor (readonly libp2p: Libp2p<{ pubsub: GossipSub }>, readonly profile: ClientProfile, private readonly key: Hex) {
    this.address = privateKeyToAccount(key).address.toLowerCase() as Hex
  }

  static async start (o: ClientOptions): Promise<ConformanceClient> {
    const p = o.profile
    const topicParams = {
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1000,
      timeInMeshCap: 10,
      firstMessageDeliveriesWeight: 0.5,
      firstMessageDeliveriesDecay: 0.9,
      firstMessageDeliveriesCap: 20,
      meshMessageDeliveriesWeight: 0,
      meshMessageDeliveriesDecay: 0.9,
      meshMessageDeliveriesCap: 10,
      meshMessageDeliveriesThreshold: 1,
      meshMessageDeliveriesWindow: 100,
      meshMessageDeliveriesActivation: 5000,
      meshFailurePenaltyWeight: 0,
      meshFailurePenaltyDecay: 0.9,
      invalidMessageDeliveriesWeight: -10,
      invalidMessageDeliveriesDecay: 0.99
    }
    const topics = Object.fromEntries((['jobs', 'resources', 'deals', 'epochs'] as const).map((k) => [topicOf(p, k), topicParams]))
    const libp2p = await createLibp2p({
      privateKey: privateKeyFromRaw(toBytes(o.privateKey)),
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({
          // §6.2: signed by the author's libp2p key, id = sha256(from ‖ data)
          globalSignaturePolicy: 'StrictSign',
          msgIdFn: (m: Message) => sha256(m.type === 'signed' ? concat(m.from.toMultihash().bytes, m.data) : m.data),
          // §6.4
          scoreParams: { topics, IPColocationFactorWeight: 0, behaviourPenaltyWeight: -1, behaviourPenaltyDecay: 0.9, decayInterval: 1000, decayToZero: 0.01, retainScore: 60_000 },
          scoreThresholds: { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80, acceptPXThreshold: 10, opportunisticGraftThreshold: 20 },
          allowPublishToZeroTopicPeers: false
        })
      }
    })
    await libp2p.start()
    const c = new ConformanceClient(libp2p, p, o.privateKey)
    libp2p.services.pubsub.addEventListener('message', (e) => {
      const m = e.detail
      c.received.push({ topic: m.topic, data: m.data, from: m.type === 'signed' ? m.from.toString() : '', at: Date.now() })
    })
    for (const k of ['jobs', 'deals', 'epochs'] as const) libp2p.services.pubsub.subscribe(topicOf(p, k))
    return c
  }

  /** Dials a node (multiaddr with /p2p/) and waits until it is a gossip peer on the `jobs` topic. */
  async join (addr: string, timeoutMs = 20_000): Promise<PeerId> {
    const conn = await this.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeoutMs) })
    const jobs = topicOf(this.profile, 'jobs')
    const until = Date.now() + timeoutMs
    while (!this.libp2p.services.pubsub.getSubscribers(jobs).some((s) => s.equals(conn.remotePeer))) {
      if (Date.now() > until) throw new Error(`${addr} did not subscribe to ${jobs} within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return conn.remotePeer
  }

  /** Protocols the peer announced through identify. */
  async protocolsOf (peer: PeerId): Promise<string[]> {
    return (await this.libp2p.peerStore.get(peer)).protocols
  }

  async sign (primaryType: Primary, message: JobOffer | Deal): Promise<Hex> {
    return await privateKeyToAccount(this.key).signTypedData({ domain: domainOf(this.profile), types: TYPES, primaryType, message: message as never })
  }

  /** Signs and publishes a job offer (§6.1, topic `jobs`); returns its id (§4.3). */
  async publishJob (offer: JobOffer): Promise<Hex> {
    const signature = await this.sign('JobOffer', offer)
    await this.libp2p.services.pubsub.publish(topicOf(this.profile, 'jobs'), encodeJob(offer, signature))
    return digestOf(this.profile, 'JobOffer', offer)
  }

  /** Signs a deal as `party` and publishes the acceptance (topic `deals`). */
  async publishAcceptance (deal: Deal, party: 'creator' | 'provider'): Promise<void> {
    const signature = await this.sign('Deal', deal)
    await this.libp2p.services.pubsub.publish(topicOf(this.profile, 'deals'), encodeAcceptance(deal, party, signature))
  }

  /** The acceptances received on `deals` so far. */
  acceptances (): Acceptance[] {
    const topic = topicOf(this.profile, 'deals')
    return this.received.filter((m) => m.topic === topic).map((m) => decodeAcceptance(m.data)).filter((a): a is Acceptance => a !== undefined)
  }

  /** §7.1: one request frame `{"m","a"}`, one answer frame `{"ok","r"}` or `{"ok":false,"code","message"}`. */
  async call<T> (peer: PeerId, protocol: string, method: string, args: unknown, timeoutMs = 10_000): Promise<T> {
    const signal = AbortSignal.timeout(timeoutMs)
    const stream = await this.libp2p.dialProtocol(peer, protocol, { signal })
    try {
      if (!stream.send(lp.encode.single(new TextEncoder().encode(frameJson({ m: method, a: args }))))) await stream.onDrain({ signal })
      const answer = parseFrameJson<{ ok: boolean, r?: T, code?: string, message?: string }>(new TextDecoder().decode(await readOneFrame(stream, 8 * 1024 * 1024)))
      await stream.close({ signal }).catch(() => undefined)
      if (answer.ok !== true) throw new Error(`${method}: ${String(answer.code)}: ${String(answer.message)}`)
      return answer.r as T
    } catch (e) {
      stream.abort(e as Error)
      throw e
    }
  }

  /** §7.4 */
  async query<T> (peer: PeerId, kind: 'offers' | 'jobs' | 'deals' | 'peers' | 'epoch', args: Record<string, unknown> = {}): Promise<T> {
    return await this.call<T>(peer, protocolOf(this.profile, 'query'), kind, args)
  }

  /**
   * §6.5: puts `amount` wei into the escrow (native-ETH networks: `deposit(amount)` with
   * msg.value = amount), so that the client's job offers count for matching. Waits for the receipt.
   */
  async deposit (amount: bigint): Promise<Hex> {
    if (this.profile.token !== null) throw new Error('this client deposits native ETH only; an ERC-20 network needs approve() first')
    const chain = defineChain({ id: Number(this.profile.chainId), name: String(this.profile.json.name), nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [this.profile.rpcUrl] } } })
    const wallet = createWalletClient({ account: privateKeyToAccount(this.key), chain, transport: http(this.profile.rpcUrl) })
    const hash = await wallet.writeContract({ address: this.profile.escrow, abi: ESCROW_ABI, functionName: 'deposit', args: [amount], value: amount })
    const receipt = await createPublicClient({ chain, transport: http(this.profile.rpcUrl) }).waitForTransactionReceipt({ hash, timeout: 30_000 })
    if (receipt.status !== 'success') throw new Error(`deposit ${hash} reverted`)
    return hash
  }

  async stop (): Promise<void> {
    await this.libp2p.stop()
  }
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}



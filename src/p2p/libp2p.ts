/**
 * The libp2p 3 host of a node: TCP, noise, yamux, identify, ping, kad-dht (protocol prefixed
 * by the profile), bootstrap discovery from the profile, and gossipsub with peer scoring on
 * the four topics. The node's secp256k1 key is the libp2p key, so peer ID ↔ address.
 */
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, type GossipSub, type GossipsubOpts, type Message } from '@libp2p/gossipsub'
import type { TopicScoreParams } from '@libp2p/gossipsub/score'
import { createHash } from 'node:crypto'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '../protocol/index.js'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { installFastSecp256k1 } from './patches/fastKeys.js'
import { dhtProtocol, topicName, TOPIC_KINDS, type Profile } from '../protocol/index.js'
import { LilyError } from '../protocol/errors.js'

export interface NodeServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
}

export type NodeLibp2p = Libp2p<NodeServices>

/** Gossipsub score thresholds: below graylist a peer's RPCs are dropped; the node hangs up below `disconnect`. */
export const SCORE_THRESHOLDS = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
} as const
export const DISCONNECT_SCORE = -80
/** Gossipsub's peer-level score parameters besides the topics' (PROTOCOL.md §6.4). */
export const PEER_SCORE_PARAMS = {
  topicScoreCap: 100,
  appSpecificWeight: 1,
  // every test node shares 127.0.0.1; colocation says nothing here
  IPColocationFactorWeight: 0,
  behaviourPenaltyWeight: -1,
  behaviourPenaltyDecay: 0.9,
  decayInterval: 1000,
  decayToZero: 0.01,
  retainScore: 60_000
} as const
/** How often libp2p's connection monitor pings each connection (libp2p's default: 10 s). */
export const CONNECTION_PING_INTERVAL_MS = 60_000

/**
 * Gossipsub mesh and gossip parameters (see `createNodeLibp2p` for why these values).
 * Spec defaults: D 6, Dlo 4, Dhi 12, Dlazy 6, gossipFactor 0.25, heartbeat 1000 ms,
 * IDONTWANT for messages of 512 bytes and more, flood publishing on.
 */
export interface GossipTuning {
  D: number
  Dlo: number
  Dhi: number
  Dout: number
  Dscore: number
  Dlazy: number
  gossipFactor: number
  heartbeatIntervalMs: number
  /** Messages at least this large make the receiver send IDONTWANT to its mesh peers. */
  idontwantMinDataSize: number
  floodPublish: boolean
  /** Ignore a received message's `key` field when it is the key inlined in its `from` peer ID. */
  dropRedundantKeys: boolean
}

/** A gossip tuning outside what gossipsub accepts. */
export class GossipConfigError extends LilyError<'NODE_BAD_GOSSIP_CONFIG'> {
  override readonly name = 'GossipConfigError'
  constructor (message: string) { super('NODE_BAD_GOSSIP_CONFIG', message) }
}

export const DEFAULT_GOSSIP_TUNING: Readonly<GossipTuning> = Object.freeze({
  D: 4,
  Dlo: 3,
  Dhi: 8,
  Dout: 1,
  Dscore: 2,
  Dlazy: 4,
  gossipFactor: 0.25,
  heartbeatIntervalMs: 1000,
  idontwantMinDataSize: 1 << 21,
  floodPublish: true,
  dropRedundantKeys: true
})

/** The gossipsub spec's own values, for comparison (`--gossip` of bench:network). */
export const SPEC_GOSSIP_TUNING: Readonly<GossipTuning> = Object.freeze({
  D: 6,
  Dlo: 4,
  Dhi: 12,
  Dout: 2,
  Dscore: 4,
  Dlazy: 6,
  gossipFactor: 0.25,
  heartbeatIntervalMs: 1000,
  idontwantMinDataSize: 512,
  floodPublish: true,
  dropRedundantKeys: false
})

/** Checks a tuning (overrides on the defaults) against gossipsub's constraints. */
export function gossipTuning (over: Partial<GossipTuning> = {}): GossipTuning {
  const t: GossipTuning = { ...DEFAULT_GOSSIP_TUNING, ...over }
  const int = (k: keyof GossipTuning, min: number, max: number): void => {
    const v = t[k]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new GossipConfigError(`gossip ${k} must be an integer in [${min}, ${max}], got ${String(v)}`)
  }
  int('D', 1, 64); int('Dlo', 1, 64); int('Dhi', 1, 128); int('Dout', 0, 64); int('Dscore', 0, 64); int('Dlazy', 0, 64)
  int('heartbeatIntervalMs', 50, 60_000); int('idontwantMinDataSize', 0, 1 << 30)
  if (!(t.Dlo <= t.D && t.D <= t.Dhi)) throw new GossipConfigError(`gossip needs Dlo ≤ D ≤ Dhi, got ${t.Dlo}, ${t.D}, ${t.Dhi}`)
  if (t.Dout >= t.Dlo || t.Dout > t.D / 2) throw new GossipConfigError(`gossip Dout must be below Dlo and at most D/2, got ${t.Dout}`)
  if (!(t.gossipFactor >= 0 && t.gossipFactor <= 1)) throw new GossipConfigError(`gossip gossipFactor must be in [0, 1], got ${t.gossipFactor}`)
  return t
}

export interface CreateLibp2pOptions {
  profile: Profile
  privateKey: PrivateKey
  listen?: string[]
  /** Serve the DHT (bootstrap nodes); others run it in client mode. */
  dhtServer?: boolean
  /** Extra score from the node's own validators (≤ 0 for misbehaving peers). */
  appScore?: (peerId: string) => number
  /** Peers refused at the connection level (cut-off flooders). */
  isBanned?: (peerId: PeerId) => boolean
  maxInboundDataLength?: number
  /** Inbound connections per second accepted from one host (default 100). */
  inboundConnectionThreshold?: number
  /** Overrides of DEFAULT_GOSSIP_TUNING. */
  gossip?: Partial<GossipTuning>
  /** Where libp2p and gossipsub report their own metrics (none by default). */
  metrics?: P2pMetrics
}

/** gossipsub's metrics sink (prom-client shaped). */
export type GossipMetricsRegister = NonNullable<GossipsubOpts['metricsRegister']>

/** libp2p's `metrics` implementation (e.g. @libp2p/prometheus-metrics) and gossipsub's register. */
export interface P2pMetrics {
  libp2p?: Libp2pOptions['metrics']
  gossipsub?: GossipMetricsRegister
}

/** Gossipsub score parameters of each of the four topics (PROTOCOL.md §6.4). */
export function topicParams (): TopicScoreParams {
  return {
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 10,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    // mesh delivery penalties punish quiet topics in small test networks; off
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.9,
    meshMessageDeliveriesCap: 10,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 100,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.9,
    // every Reject from a validator costs the propagation source this much (squared)
    invalidMessageDeliveriesWeight: -10,
    invalidMessageDeliveriesDecay: 0.99
  }
}

export async function createNodeLibp2p (opts: CreateLibp2pOptions): Promise<NodeLibp2p> {
  installFastSecp256k1(opts.privateKey)
  installLazyWindowUpdates()
  installCheapEndOfBuffer()
  const p = opts.profile
  const g = gossipTuning(opts.gossip)
  const topics: Record<string, TopicScoreParams> = {}
  for (const kind of TOPIC_KINDS) topics[topicName(p, kind)] = topicParams()
  const isBanned = opts.isBanned ?? (() => false)
  const dedup = new InFlightDedup()
  const peerDiscovery = p.bootstrap.length > 0 ? [bootstrap({ list: p.bootstrap, timeout: 200 })] : []
  const node = await createLibp2p<NodeServices>({
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    ...(opts.metrics?.libp2p !== undefined ? { metrics: opts.metrics.libp2p } : {}),
    connectionGater: {
      // loopback and private addresses are legitimate for local networks and tests
      denyDialMultiaddr: async (_ma: Multiaddr) => false,
      denyDialPeer: async (peer: PeerId) => isBanned(peer),
      denyInboundEncryptedConnection: async (peer: PeerId) => isBanned(peer),
      denyOutboundEncryptedConnection: async (peer: PeerId) => isBanned(peer)
    },
    // libp2p pings every connection every 10 s by default, a new stream each time (protocol
    // negotiation, peer store update): with ~15 connections per node that was ~2 % of a node's
    // CPU in bench:network. A closed socket is noticed at once anyway, and yamux keeps its own
    // keep-alive; a silent peer is now dropped after about a minute instead of 10 s.
    connectionMonitor: { pingInterval: CONNECTION_PING_INTERVAL_MS },
    connectionManager: {
      maxConnections: 200,
      // many nodes behind one address (a local network, a test run) connect to the same bootstrap at once
      inboundConnectionThreshold: opts.inboundConnectionThreshold ?? 100,
      maxIncomingPendingConnections: 64
    },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: dhtProtocol(p),
        clientMode: opts.dhtServer !== true,
        peerInfoMapper: passthroughMapper,
        allowQueryWithZeroPeers: true
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
        globalSignaturePolicy: 'StrictSign',
        doPX: opts.dhtServer === true,
        floodPublish: g.floodPublish,
        D: g.D,
        Dlo: g.Dlo,
        Dhi: g.Dhi,
        Dout: g.Dout,
        Dscore: g.Dscore,
        Dlazy: g.Dlazy,
        gossipFactor: g.gossipFactor,
        heartbeatInterval: g.heartbeatIntervalMs,
        idontwantMinDataSize: g.idontwantMinDataSize,
        // content ids over author ‖ data: the same offer gossiped twice is one message, and a peer
        // replaying someone else's bytes under its own name does not shadow the real author's copy
        msgIdFn,
        msgIdToStrFn,
        fastMsgIdFn: (rpc) => dedup.fastId(rpc),
        allowedTopics: Object.keys(topics),
        maxInboundDataLength: opts.maxInboundDataLength ?? p.limits.maxMessageBytes * 2,
        scoreParams: {
          topics,
          ...PEER_SCORE_PARAMS,
          appSpecificScore: opts.appScore ?? (() => 0)
        },
        scoreThresholds: SCORE_THRESHOLDS,
        // labelled by topic kind, not by the profile-hashed topic name
        ...(opts.metrics?.gossipsub !== undefined
          ? { metricsRegister: opts.metrics.gossipsub, metricsTopicStrToLabel: new Map(TOPIC_KINDS.map((k) => [topicName(p, k), k])) }
          : {})
      })
    }
  })
  dedup.attach(node.services.pubsub)
  if (g.dropRedundantKeys) dropRedundantKeys(node)
  return node
}

/**
 * Gossipsub puts the author's public key (protobuf) in every message it publishes, and every
 * receiver decodes it next to the key inside `from` (a secp256k1 peer ID inlines its key) and
 * checks that the two agree: two more point decompressions in pure JS per message and node,
 * for nothing. The gossipsub spec makes the field optional when the key can be taken from the
 * peer ID (go-libp2p leaves it out then), and it is not part of what is signed. This version
 * of @libp2p/gossipsub cannot publish without it, so the receiving side drops it instead, only
 * when it is byte for byte the key inlined in `from` (identity multihash); any other key is
 * left for gossipsub to check and refuse as before.
 */
function dropRedundantKeys (node: NodeLibp2p): void {
  const pubsub = node.services.pubsub as unknown as { decodeRpc?: (bytes: Uint8Array) => { messages?: Array<{ from?: Uint8Array, key?: Uint8Array }> } }
  const decode = pubsub.decodeRpc
  if (typeof decode !== 'function') return
  pubsub.decodeRpc = (bytes) => {
    const rpc = decode.call(pubsub, bytes)
    for (const m of rpc.messages ?? []) {
      if (m.key !== undefined && m.from !== undefined && isInlinedKey(m.from, m.key)) m.key = undefined
    }
    return rpc
  }
}

interface YamuxStreamInternals { state: StreamState, recvWindow: number, recvWindowCapacity: number, sendWindowUpdate: () => void }

let lazyWindowUpdates = false
export const windowUpdateStats = { skipped: 0, sent: 0 }

/**
 * @chainsafe/libp2p-yamux 8 answers every data frame it receives with a window-update frame,
 * even when its receive window is nearly full: for gossip (one small RPC per frame) that
 * doubled the frames on every connection, and each frame costs a noise encryption, a socket
 * write and, on the other side, a read, a decryption and a frame dispatch — about a tenth
 * of a node's CPU in bench:network. The yamux spec leaves the timing of updates to the
 * receiver; go-yamux sends one only once at least half the window is used up. This does the
 * same for established streams (at most half of the 256 KiB window is ever withheld, so a
 * sender never stalls on a window the receiver could have opened); updates that carry a flag
 * (SYN, ACK) and those of paused or closing streams go through unchanged.
 * LILYNODE_EAGER_YAMUX_WINDOW=1 keeps yamux's own behaviour.
 */
export function installLazyWindowUpdates (): void {
  if (lazyWindowUpdates || process.env.LILYNODE_EAGER_YAMUX_WINDOW === '1') return
  const proto = YamuxStream.prototype as unknown as YamuxStreamInternals
  const eager = proto.sendWindowUpdate
  if (typeof eager !== 'function') return
  lazyWindowUpdates = true
  proto.sendWindowUpdate = function (this: YamuxStreamInternals): void {
    if (this.state === StreamState.Established && this.recvWindowCapacity * 2 > this.recvWindow) {
      windowUpdateStats.skipped++
      return
    }
    windowUpdateStats.sent++
    eager.call(this)
  }
}

type LengthDecoder = (data: { byteLength: number }) => number
interface DecoderInternals { lengthDecoder: LengthDecoder, decode: (buf: Uint8Array) => Generator<unknown> }
let cheapEndOfBuffer = false
const EMPTY_BUFFER = new RangeError('no length prefix in an empty buffer')
const WRAPPED = Symbol('lilynode.cheapEndOfBuffer')

/**
 * @libp2p/utils' LengthPrefixedDecoder (noise's transport frames: every chunk read from every
 * connection) finds out that its buffer holds no further frame by calling its length decoder
 * and catching the RangeError that throws, so every chunk read cost a new Error with a stack
 * trace: about 5 % of a node's CPU in bench:network. Here a decoder's length decoder throws one
 * RangeError made once when the buffer is empty (the decoder's loop stops on it exactly as
 * before); any other input goes to the original length decoder unchanged.
 */
export function installCheapEndOfBuffer (): void {
  if (cheapEndOfBuffer) return
  const proto = LengthPrefixedDecoder.prototype as unknown as DecoderInternals
  const decode = proto.decode
  if (typeof decode !== 'function') return
  cheapEndOfBuffer = true
  proto.decode = function (this: DecoderInternals & { [WRAPPED]?: true }, buf: Uint8Array): Generator<unknown> {
    if (this[WRAPPED] !== true && typeof this.lengthDecoder === 'function') {
      const lengthOf = this.lengthDecoder
      this.lengthDecoder = function (this: unknown, data: { byteLength: number }): number {
        if (data.byteLength === 0) throw EMPTY_BUFFER
        return lengthOf.call(this, data)
      }
      this[WRAPPED] = true
    }
    return decode.call(this, buf)
  }
}

/** Whether `from` is the identity multihash of exactly `key` (0x00, length < 128, key). */
export function isInlinedKey (from: Uint8Array, key: Uint8Array): boolean {
  if (from.length !== key.length + 2 || from[0] !== 0x00 || from[1] !== key.length || key.length >= 128) return false
  for (let i = 0; i < key.length; i++) if (from[i + 2] !== key[i]) return false
  return true
}

/** The gossip message id (PROTOCOL.md §6.2): sha256(author multihash ‖ data) of a signed message. */
export function msgIdFn (msg: Message): Uint8Array {
  return sha256(msg.type === 'signed' ? concatBytes(msg.from.toMultihash().bytes, msg.data) : msg.data)
}

function msgIdToStrFn (id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('base64')
}

interface RpcMessage { from?: Uint8Array, data?: Uint8Array, seqno?: Uint8Array, signature?: Uint8Array, key?: Uint8Array, topic: string }
interface TimeCache { get: (k: string | number) => string | undefined, put: (k: string | number, v: string) => boolean }

/**
 * Gossipsub dedups by fast id only after a copy's signature was checked, and it checks copies
 * from different peers concurrently: with a publisher flooding all its peers and relays
 * forwarding at once, a node verified each message several times (and rebuilt the author's
 * key each time — point decompressions in pure JS), which saturated 50 nodes on 2 cores.
 * The fast id here covers author, seqno, signature and data, so only byte-identical copies
 * share it (a forged copy cannot shadow the real one); the second copy seen while the
 * first is still being validated is entered in gossipsub's fast-id cache at once, so it is
 * handled as the duplicate it is.
 */
export const dedupStats = { calls: 0, inflightDuplicates: 0 }

class InFlightDedup {
  private cache?: TimeCache
  private readonly firstSeen = new Map<string, true>()

  attach (pubsub: GossipSub): void {
    const c = (pubsub as unknown as { fastMsgIdCache?: TimeCache }).fastMsgIdCache
    if (c !== undefined && typeof c.get === 'function' && typeof c.put === 'function') this.cache = c
  }

  fastId (rpc: RpcMessage): string {
    const h = createHash('sha256')
    for (const part of [rpc.from, rpc.seqno, rpc.signature, rpc.data]) {
      h.update(part ?? EMPTY)
      h.update(SEP)
    }
    const id = h.digest('base64')
    dedupStats.calls++
    if (this.cache === undefined) return id
    if (this.firstSeen.has(id)) {
      if (this.cache.get(id) === undefined) {
        dedupStats.inflightDuplicates++
        this.cache.put(id, msgIdToStrFn(sha256(rpc.from !== undefined ? concatBytes(rpc.from, rpc.data ?? EMPTY) : rpc.data ?? EMPTY)))
      }
    } else {
      this.firstSeen.set(id, true)
      if (this.firstSeen.size > 20_000) this.firstSeen.delete(this.firstSeen.keys().next().value as string)
    }
    return id
  }
}

const EMPTY = new Uint8Array(0)
const SEP = new Uint8Array([0xff])

/** Gossipsub's score of a peer, when the implementation exposes it. */
export function gossipScore (pubsub: GossipSub, peer: string): number | undefined {
  const withScore = pubsub as GossipSub & { getScore?: (p: string) => number }
  return typeof withScore.getScore === 'function' ? withScore.getScore(peer) : undefined
}

/**
 * Connected peers, one per peer, from the open connections. `libp2p.getPeers()` rebuilds
 * every PeerId from its string (a secp256k1 point decompression each), which on a
 * once-a-second timer across 50 nodes was a measurable share of the CPU.
 */
export function connectedPeers (libp2p: { getConnections: () => Array<{ remotePeer: PeerId, status: string }> }): PeerId[] {
  const out = new Map<string, PeerId>()
  for (const c of libp2p.getConnections()) {
    if (c.status !== 'open') continue
    const k = c.remotePeer.toString()
    if (!out.has(k)) out.set(k, c.remotePeer)
  }
  return [...out.values()]
}

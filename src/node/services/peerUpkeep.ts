/**
 * Peer upkeep: redials the profile's bootstrap nodes, tops up direct peers through peer
 * exchange while there are fewer than TARGET_PEERS, and cuts off peers that misbehave (too
 * many rejected deliveries, or a gossipsub score under DISCONNECT_SCORE).
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../../protocol/index.js'
import type { Profile } from '../../protocol/index.js'
import type { PeerPolicing } from '../../p2p/index.js'
import { connectedPeers, DISCONNECT_SCORE, gossipScore, type NodeLibp2p } from '../../p2p/index.js'

export interface PeerUpkeepComponents {
  libp2p: NodeLibp2p
  profile: Profile
  policing: PeerPolicing
  log: Logger
  /** Peer exchange: the peers a connected peer knows. */
  askPeers: (peer: PeerId, signal: AbortSignal) => Promise<Array<{ id: string, addrs: string[] }>>
}

export interface PeerUpkeepInit {
  /** A DHT server does not top up its peers (others dial it). */
  dhtServer?: boolean
}

/** Direct peers a (non-bootstrap) node tries to keep. */
export const TARGET_PEERS = 8
const DIAL_TIMEOUT_MS = 3000

export class PeerUpkeep {
  private timer?: NodeJS.Timeout
  private dialing = false
  private running = false

  constructor (private readonly components: PeerUpkeepComponents, private readonly init: PeerUpkeepInit = {}) {}

  start (): void {
    if (this.running) return
    this.running = true
    const { epochMs } = this.components.profile
    this.timer = setInterval(() => {
      this.policePeers()
      void this.keepConnected()
    }, Math.min(1000, Math.max(500, epochMs)))
    this.timer.unref()
  }

  stop (): void {
    this.running = false
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** A delivery of `peer` was rejected: cut it off when it crossed the reject threshold or its score is too low. */
  onReject (peer: string): void {
    const { libp2p, policing, log } = this.components
    const crossed = policing.reject(peer)
    const score = gossipScore(libp2p.services.pubsub, peer)
    if (crossed || (score !== undefined && score < DISCONNECT_SCORE)) {
      policing.ban(peer)
      log.warn('cutting off misbehaving peer', { peer, score, rejects: policing.rejectsOf(peer) })
      libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
    }
  }

  /**
   * Cuts off peers whose gossipsub score fell below DISCONNECT_SCORE. Once graylisted their
   * messages no longer reach the validators, so this cannot wait for the next reject.
   */
  policePeers (): void {
    const { libp2p, policing, log } = this.components
    for (const peer of connectedPeers(libp2p)) {
      const id = peer.toString()
      const score = gossipScore(libp2p.services.pubsub, id)
      if (score !== undefined && score < DISCONNECT_SCORE) {
        policing.ban(id)
        log.warn('cutting off peer with a low score', { peer: id, score })
        libp2p.hangUp(peer).catch(() => {})
      }
    }
  }

  /**
   * Keeps the node well connected: redials the profile's bootstrap nodes it is not connected
   * to, and while it has fewer than TARGET_PEERS peers, asks one peer for its peers (`sync`
   * peer exchange) and dials a few of them. More direct peers make gossip and reconciliation
   * robust to lost deliveries.
   */
  async keepConnected (): Promise<void> {
    const { libp2p, profile, policing, log } = this.components
    if (this.dialing || !this.running) return
    this.dialing = true
    try {
      const self = libp2p.peerId.toString()
      const connected = new Set(connectedPeers(libp2p).map(String))
      await Promise.all(profile.bootstrap.map(async (addr) => {
        const id = addr.split('/p2p/')[1]
        if (id === undefined || id === self || connected.has(id)) return
        await libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch((e: unknown) => {
          log.debug('bootstrap dial failed', { addr, err: e })
        })
      }))
      const peers = connectedPeers(libp2p)
      if (peers.length === 0 || peers.length >= TARGET_PEERS || this.init.dhtServer === true) return
      const from = peers[Math.floor(Math.random() * peers.length)]
      const known = await this.components.askPeers(from, AbortSignal.timeout(DIAL_TIMEOUT_MS)).catch(() => [])
      const fresh = known.filter((k) => k.id !== self && !connected.has(k.id) && !policing.isBanned(k.id))
      for (const k of fresh.slice(0, TARGET_PEERS - peers.length)) {
        const addr = k.addrs.find((a) => a.includes('/tcp/'))
        if (addr === undefined) continue
        const full = addr.includes('/p2p/') ? addr : `${addr}/p2p/${k.id}`
        await libp2p.dial(multiaddr(full), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch(() => {})
      }
    } catch (e) {
      log.debug('keepConnected failed', { err: e })
    } finally {
      this.dialing = false
    }
  }
}

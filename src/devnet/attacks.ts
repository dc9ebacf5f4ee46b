/**
 * A stranger with throwaway keys attacking a running network (issue: the replicated market
 * must refuse what costs nothing). Used by the adversary suite (test/adversary) and
 * `npm run bench:adversary`. It speaks only the wire — its own libp2p peers, gossip and the
 * `query` protocol — and holds no ETH and no escrow balance, so nothing it sends may steer the
 * shared state.
 *
 *   votes        every throwaway identity gossips a made-up state root for the current and the
 *                previous epoch (the majority was counted per key)
 *   squat        unfunded job offers that outbid everyone and ask for a whole provider
 *                (they took every provider, again each time the reservation lapsed)
 *   flood        one key, a new nonce per offer and a new epoch per batch (the per-epoch quota
 *                never cut it off)
 *   acceptances  acceptances of deals nobody matched, and one with matchEpoch 2^48−1 (stored
 *                forever; the far one emptied the anti-entropy index)
 *   SyncLiar     peers that answer `sync` with lies: a head a million epochs ahead, a genuine
 *                old snapshot relabelled with that epoch (a node adopted it and stopped
 *                matching), and 1,000 offers from 1,000 keys for an epoch already closed (they
 *                entered every pool)
 */
import { multiaddr } from '@multiformats/multiaddr'
import { createIdentity, DomainHasher, domainOf, epochAt, moduleHash, topicName, type Address, type Deal, type Hash, type Identity, type JobOffer, type Profile, type TopicKind } from '../protocol/index.js'
import { loadExampleModules } from '../executor/index.js'
import { callRpc, createNodeLibp2p, encodeMessage, serveRpc, signDeal, signHeartbeat, signJobOffer, queryNode, verifyMessage, type NodeLibp2p } from '../p2p/index.js'
import { protocolId } from '../protocol/index.js'

export const ATTACKS = ['votes', 'squat', 'flood', 'acceptances'] as const
export type AttackKind = typeof ATTACKS[number]

/** What the attacker sent (per kind), for reports. */
export type AttackCounts = Record<AttackKind, number>

interface Peer { host: NodeLibp2p, identity: Identity }

const TOPICS: TopicKind[] = ['jobs', 'resources', 'deals', 'epochs']

function randomHash (): Hash {
  const b = new Uint8Array(32)
  crypto.getRandomValues(b)
  return `0x${Buffer.from(b).toString('hex')}` as Hash
}

export interface AdversaryOptions {
  profile: Profile
  /** Multiaddrs (with /p2p/) of the nodes to attack; each attacker peer dials all of them. */
  targets: string[]
  /** Throwaway identities (each its own libp2p peer); default 8. */
  identities?: number
  /** Resources a squatting job asks for: a whole provider's offer (default one core, 256 MiB). */
  squat?: { cpu: number, ram: number }
}

export class Adversary {
  readonly sent: AttackCounts = { votes: 0, squat: 0, flood: 0, acceptances: 0 }
  private readonly hasher: DomainHasher
  private nonce = 1n
  private timer?: NodeJS.Timeout
  private busy = false
  private module: Hash = `0x${'00'.repeat(32)}` as Hash

  private constructor (private readonly o: AdversaryOptions, readonly peers: Peer[]) {
    this.hasher = new DomainHasher(domainOf(o.profile))
  }

  /** Starts the throwaway peers, subscribes them to every topic and dials every target. */
  static async start (o: AdversaryOptions): Promise<Adversary> {
    const peers: Peer[] = []
    try {
      for (let i = 0; i < (o.identities ?? 8); i++) {
        const identity = createIdentity()
        const host = await createNodeLibp2p({ profile: o.profile, privateKey: identity.libp2pKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
        peers.push({ host, identity })
        await host.start()
        for (const k of TOPICS) host.services.pubsub.subscribe(topicName(o.profile, k))
        for (const t of o.targets) await host.dial(multiaddr(t)).catch(() => undefined)
      }
    } catch (e) {
      await Promise.all(peers.map(async (p) => { await p.host.stop() }))
      throw e
    }
    const a = new Adversary(o, peers)
    const cowsay = (await loadExampleModules()).get('cowsay')
    if (cowsay !== undefined) a.module = moduleHash(cowsay)
    return a
  }

  /** Runs `kinds` every third of an epoch until `stop`. */
  run (kinds: readonly AttackKind[]): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => {
      if (this.busy) return
      this.busy = true
      void this.round(kinds).catch(() => undefined).finally(() => { this.busy = false })
    }, Math.max(100, Math.floor(this.o.profile.epochMs / 3)))
  }

  async stop (): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 20))
    await Promise.all(this.peers.map(async (p) => { await p.host.stop() }))
  }

  /** One round of each kind. */
  async round (kinds: readonly AttackKind[]): Promise<void> {
    const cur = epochAt(this.o.profile, Date.now())
    for (const k of kinds) {
      if (k === 'votes') await this.votes(cur)
      else if (k === 'squat') await this.squat(cur)
      else if (k === 'flood') await this.flood(cur)
      else await this.acceptances(cur)
    }
  }

  private async publish (p: Peer, kind: TopicKind, data: Uint8Array): Promise<void> {
    await p.host.services.pubsub.publish(topicName(this.o.profile, kind), data).catch(() => undefined)
  }

  private async votes (cur: bigint): Promise<void> {
    for (const p of this.peers) {
      for (const epoch of [cur - 1n, cur]) {
        const root = randomHash()
        await this.publish(p, 'epochs', encodeMessage(signHeartbeat(this.hasher, p.identity.privateKey, { node: p.identity.address, epoch, offerDigest: root, stateRoot: root })))
        this.sent.votes++
      }
    }
  }

  private job (creator: Address, epoch: bigint, lifetime: bigint, over: Partial<JobOffer> = {}): JobOffer {
    return {
      creator,
      nonce: this.nonce++,
      module: this.module,
      inputsHash: randomHash(),
      cpu: 1000,
      ram: 256,
      gpus: 0,
      gpuVram: 0,
      disk: 10,
      maxPrice: 10n ** 17n,
      timeout: 600,
      collateral: 0n,
      epoch,
      expiryEpoch: epoch + lifetime,
      ...over
    }
  }

  /** Two identities each keep an outbidding job for a whole provider live. */
  private async squat (cur: bigint): Promise<void> {
    const size = this.o.squat ?? { cpu: 1000, ram: 256 }
    for (const p of this.peers.slice(0, 2)) {
      const o = this.job(p.identity.address, cur + 1n, 4n, { cpu: size.cpu, ram: size.ram, maxPrice: (1n << 96n) - 1n })
      await this.publish(p, 'jobs', encodeMessage(signJobOffer(this.hasher, p.identity.privateKey, o)))
      this.sent.squat++
    }
  }

  /** One key: 64 offers a round, a new nonce each, spread over the epochs the nodes accept. */
  private async flood (cur: bigint): Promise<void> {
    const p = this.peers[this.peers.length - 1]
    for (let i = 0; i < 64; i++) {
      const o = this.job(p.identity.address, cur + BigInt(i % 2), 20n, { cpu: 250 + i, maxPrice: 0n })
      await this.publish(p, 'jobs', encodeMessage(signJobOffer(this.hasher, p.identity.privateKey, o)))
      this.sent.flood++
    }
  }

  /** Acceptances of deals nobody matched, for the current epoch and for 2^48−1. */
  private async acceptances (cur: bigint): Promise<void> {
    const p = this.peers[0]
    for (let i = 0; i < 8; i++) {
      const matchEpoch = i === 0 ? (1n << 48n) - 1n : cur - 1n
      const deal: Deal = {
        jobOfferHash: randomHash(),
        resourceOfferHash: randomHash(),
        creator: p.identity.address,
        provider: this.peers[1 % this.peers.length].identity.address,
        price: 1n,
        collateral: 0n,
        timeout: 60,
        matchEpoch,
        openBy: 4_000_000_000n
      }
      await this.publish(p, 'deals', encodeMessage(signDeal(this.hasher, p.identity.privateKey, deal, 'creator')))
      this.sent.acceptances++
    }
  }
}

/** What a node says of itself over `query epoch` (the fields the adversary checks). */
export interface NodeView {
  address: Address
  currentEpoch: bigint
  headEpoch: bigint | null
  stateRoot: Hash | null
  offers: number
  sync: { resyncRecompute: number, resyncSnapshot: number, joins: number } | null
}

/** Asks a node for its epoch view (throwaway key, any node). */
export async function nodeView (addr: string): Promise<NodeView> {
  return await queryNode<NodeView>(addr, 'epoch', { timeoutMs: 10_000 })
}

/** What a sync liar serves and how often it was asked. */
export interface SyncLiarStats { snapshotsServed: number, offersServed: number, headsServed: number }

const FAR = 1_000_000n

/**
 * Peers that lie over `sync` (see the header). Each takes a genuine snapshot from `targets[0]`
 * at start (any peer may ask for one), then serves it relabelled as epoch head + 1,000,000,
 * with that head, and a digest and id list of `closedOffers` offers, each from a fresh key, for
 * an epoch that closed a few epochs before the liar started.
 */
export class SyncLiar {
  readonly stats: SyncLiarStats = { snapshotsServed: 0, offersServed: 0, headsServed: 0 }
  /** The genuine snapshot it relabels (undefined: the target had none to give). */
  genuine?: { epoch: bigint, state: string, root: Hash, digest: Hash }

  private constructor (readonly peers: Peer[]) {}

  static async start (o: { profile: Profile, targets: string[], identities?: number, closedOffers?: number }): Promise<SyncLiar> {
    const hasher = new DomainHasher(domainOf(o.profile))
    const sync = protocolId(o.profile, 'sync')
    const closed = epochAt(o.profile, Date.now()) - 3n
    const wires = new Map<Hash, string>()
    for (let i = 0; i < (o.closedOffers ?? 1000); i++) {
      const k = createIdentity()
      const offer: JobOffer = {
        creator: k.address, nonce: 1n, module: randomHash(), inputsHash: randomHash(), cpu: 1000, ram: 256, gpus: 0, gpuVram: 0, disk: 10,
        maxPrice: 10n ** 15n, timeout: 60, collateral: 0n, epoch: closed, expiryEpoch: closed + 50n
      }
      const m = signJobOffer(hasher, k.privateKey, offer)
      wires.set(verifyMessage(hasher, m).id, Buffer.from(encodeMessage(m)).toString('base64'))
    }
    const ids = [...wires.keys()].sort()
    const peers: Peer[] = []
    const liar = new SyncLiar(peers)
    try {
      for (let i = 0; i < (o.identities ?? 2); i++) {
        const identity = createIdentity()
        const host = await createNodeLibp2p({ profile: o.profile, privateKey: identity.libp2pKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
        peers.push({ host, identity })
        const far = (): bigint => (liar.genuine?.epoch ?? 0n) + FAR
        await serveRpc(host, sync, {
          head: async () => { liar.stats.headsServed++; return liar.genuine === undefined ? null : { epoch: far(), root: liar.genuine.root } },
          root: async () => liar.genuine === undefined ? null : { root: liar.genuine.root },
          snapshot: async () => {
            if (liar.genuine === undefined) return null
            liar.stats.snapshotsServed++
            return { epoch: far(), state: liar.genuine.state, root: liar.genuine.root, digest: liar.genuine.digest, inputIds: [] }
          },
          digest: async (a: unknown) => ({ digest: randomHash(), count: ids.length, frozen: false, acc: [], epoch: (a as { epoch?: unknown } | null)?.epoch }),
          ids: async (a: unknown) => {
            const { offset = 0, limit = 2000 } = (a ?? {}) as { offset?: number, limit?: number }
            return { ids: ids.slice(offset, offset + limit), total: ids.length }
          },
          offers: async (a: unknown) => {
            const asked = ((a ?? {}) as { ids?: Hash[] }).ids ?? []
            liar.stats.offersServed += asked.length
            return { offers: asked.map((id) => wires.get(id)).filter((w): w is string => w !== undefined) }
          },
          accIds: async () => ({ keys: [] }),
          accGet: async () => ({ wires: [] }),
          peers: async () => ({ peers: [] })
        })
        await host.start()
        for (const k of TOPICS) host.services.pubsub.subscribe(topicName(o.profile, k))
        for (const t of o.targets) await host.dial(multiaddr(t)).catch(() => undefined)
      }
      // a genuine snapshot of the target's head, asked like any peer would
      const target = peers[0].host
      const head = await callRpc<{ epoch: bigint, root: Hash } | null>(target, multiaddr(o.targets[0]), sync, 'head', {})
      if (head !== null) {
        const snap = await callRpc<{ epoch: bigint, state: string, root: Hash, digest: Hash } | null>(target, multiaddr(o.targets[0]), sync, 'snapshot', { epoch: head.epoch }, { limits: { maxResponseBytes: 16 * 1024 * 1024 } })
        if (snap !== null) liar.genuine = snap
      }
    } catch (e) {
      await Promise.all(peers.map(async (p) => { await p.host.stop() }))
      throw e
    }
    return liar
  }


  async stop (): Promise<void> {
    await Promise.all(this.peers.map(async (p) => { await p.host.stop() }))
  }
}

/**
 * One process's node for a role: its identity, the chain client of its account, the database,
 * the chain facts (in the database), the LilyNode (libp2p, gossip, matcher) over that database,
 * the deal store, and the `transfer` server. Started in that order and stopped in reverse,
 * database last.
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createChainClients, type ChainClients } from '../../chain/index.js'
import { loadOrCreateIdentity, type Identity } from '../../protocol/index.js'
import { escrowStartBlock, type Profile } from '../../protocol/index.js'
import { ChainFactsSource } from '../chainFacts.js'
import { createLogger, type Logger } from '../../protocol/index.js'
import { LilyNode } from '../network.js'
import { NodeStore } from '../store.js'
import { networkPort } from './adapters.js'
import { DealStore, type KvStore } from './deals.js'
import { escrowPort } from './escrow.js'
import type { EscrowPort, NetworkPort } from './ports.js'
import { TransferServer, type TransferService } from '../../p2p/index.js'
import { serveLogs, type LogSource, type ServeLogsOptions } from '../../p2p/index.js'
import type { P2pMetrics } from '../../p2p/index.js'
import { JobRecords } from '../jobs/records.js'
import type { Address, Hash } from '../../protocol/index.js'

export interface RoleHostOptions {
  profile: Profile
  dataDir: string
  /** libp2p listen multiaddrs (default /ip4/0.0.0.0/tcp/0). */
  listen?: string[]
  /** Default: true only when the profile names no bootstrap node. */
  dhtServer?: boolean
  log?: Logger
  /** Where libp2p and gossipsub report their own metrics. */
  metrics?: P2pMetrics
}

export class RoleHost {
  private server?: TransferServer
  private logs?: { protocol: string, stop: AbortController }

  private constructor (
    readonly profile: Profile,
    readonly identity: Identity,
    readonly node: LilyNode,
    readonly net: NetworkPort,
    readonly chain: ChainClients,
    readonly escrow: EscrowPort,
    readonly deals: DealStore,
    readonly meta: KvStore,
    readonly log: Logger,
    private readonly facts: ChainFactsSource,
    private readonly store: NodeStore,
    /** The job records of this data dir's creator runs (`lilynode jobs`). */
    readonly jobs: JobRecords
  ) {}

  /** Providers with a live resource offer in the node's pool. */
  liveProviders (): Address[] {
    const epoch = this.node.currentEpoch()
    const out = new Set<Address>()
    for (const o of this.node.pool.all()) if (o.kind === 'resource' && o.expiry >= epoch) out.add(o.signer)
    return [...out]
  }

  /** Gas a transaction used (undefined when its receipt cannot be read). */
  async gasOf (tx: Hash): Promise<bigint | undefined> {
    const receipt = await this.chain.public.getTransactionReceipt({ hash: tx }).catch(() => undefined)
    return receipt?.gasUsed
  }

  static async start (o: RoleHostOptions): Promise<RoleHost> {
    const log = o.log ?? createLogger('lilynode')
    const identity = await loadOrCreateIdentity(o.dataDir)
    const chain = await createChainClients({ rpcUrl: o.profile.rpcUrl, chainId: o.profile.chainId, privateKey: identity.privateKey })
    // the database first: the chain facts (its event log) and the deal store live in it, and
    // the node's epoch loop asks the facts from its first epoch on
    const store = await NodeStore.open(join(o.dataDir, 'db'))
    let facts: ChainFactsSource | undefined
    let node: LilyNode | undefined
    try {
      const source = facts = new ChainFactsSource({ profile: o.profile, client: chain, db: store.sublevel('chainlog'), log: log.child('chainfacts') })
      facts.start()
      node = new LilyNode({
        profile: o.profile,
        identity,
        store,
        listen: o.listen ?? ['/ip4/0.0.0.0/tcp/0'],
        // a DHT server by default only where the profile names no bootstrap node (then this node
        // may be the network's first). Elsewhere the bootstrap nodes serve the DHT — and a node
        // that is a DHT server and has no peer yet "starts fresh" from its stored head: a `run`
        // whose head is older than keepEpochs/2 then loops between rejoin and start-fresh forever
        // (seen in bench:e2e under load: every creator stuck, logs stopped)
        dhtServer: o.dhtServer ?? o.profile.bootstrap.length === 0,
        // a creator signs deals only for the job offers of its live runs (CreatorRole follows them)
        followedJobsOnly: true,
        logger: log.child('node'),
        chainFacts: async (epoch) => await source.facts(epoch),
        depositedSoFar: (account) => source.deposited(account),
        ...(o.metrics !== undefined ? { metrics: o.metrics } : {})
      })
      await node.start()
      const started = node
      // dial the bootstrap nodes now rather than when discovery gets to them: a `lilynode run`
      // publishes its offer once a peer subscribes to the jobs topic, a few hundred ms sooner so
      const self = identity.peerId.toString()
      for (const addr of o.profile.bootstrap) {
        if (addr.endsWith(`/p2p/${self}`)) continue
        Promise.resolve().then(async () => await started.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(3000) })).catch((e: unknown) => {
          log.debug('early bootstrap dial failed (discovery retries)', { addr, err: e })
        })
      }
      const net = networkPort(started)
      const escrow = escrowPort(chain, o.profile.escrow, started.hasher, (dealId) => started.getAcceptances(dealId), {
        openedIn: async (dealId) => await source.openedIn(dealId),
        fromBlock: escrowStartBlock(o.profile)
      })
      const deals = new DealStore(store.sublevel('deals'), join(o.dataDir, 'blobs'))
      return new RoleHost(o.profile, identity, started, net, chain, escrow, deals, store.sublevel('lifecycle'), log, source, store, new JobRecords(store.sublevel('jobs')))
    } catch (e) {
      await facts?.stop()
      await node?.stop()
      await store.close()
      throw e
    }
  }

  get maxTransferBytes (): number { return this.profile.limits.maxTransferBytes }

  /** Serves `transfer` for the role. */
  async serve (service: TransferService): Promise<void> {
    this.server = new TransferServer(this.node.libp2p, this.profile, service, { maxBytes: this.maxTransferBytes })
    await this.server.start()
  }

  /** Serves the `logs` protocol (a provider: its deals' logs, to each deal's creator only), bounded per peer, in bytes and in time. */
  async serveLogs (source: LogSource, o: ServeLogsOptions = {}): Promise<void> {
    const stop = new AbortController()
    const protocol = await serveLogs(this.node.libp2p, this.profile, source, stop.signal, o)
    this.logs = { protocol, stop }
  }

  /** Multiaddrs others can dial (with /p2p/<peer id>). */
  addrs (): string[] {
    return this.node.libp2p.getMultiaddrs().map((a) => a.toString())
  }

  async stop (): Promise<void> {
    if (this.logs !== undefined) {
      this.logs.stop.abort(new Error('the node is stopping'))
      await this.node.libp2p.unhandle(this.logs.protocol).catch(() => undefined)
    }
    await this.server?.stop()
    // the facts first: an epoch waiting for chain facts ends, so the node's loop stops promptly
    await this.facts.stop()
    await this.node.stop()
    await this.store.close()
  }
}

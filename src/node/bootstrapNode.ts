/**
 * The bootstrap role (DESIGN §1): a DHT server and gossip relay with a stable key (from its
 * data dir) and a fixed listen address. It also runs the matcher like every node, so it can
 * answer `sync` and `query`, but it publishes nothing of its own.
 */
import { loadOrCreateIdentity, peerIdToAddress } from '../protocol/index.js'
import { loadProfile, type Profile } from '../protocol/index.js'
import type { Address } from '../protocol/index.js'
import { createChainClients } from '../chain/index.js'
import { DeferredChainFacts } from './chainFacts.js'
import { LilyNode } from './network.js'
import { NodeStore } from './store.js'
import { createLogger } from '../protocol/index.js'

export interface BootstrapOptions {
  profile: Profile
  dataDir: string
  listen: string[]
}

/** The key of a data dir (created when missing): its peer id and address, for writing a profile's bootstrap list. */
export async function bootstrapIdentity (dataDir: string): Promise<{ peerId: string, address: Address }> {
  const id = await loadOrCreateIdentity(dataDir)
  return { peerId: id.peerId.toString(), address: peerIdToAddress(id.peerId) }
}

export { loadProfile }

/** Runs until `signal` aborts; `onReady` gets the node's multiaddrs (with /p2p/<peer id>). */
export async function runBootstrap (opts: BootstrapOptions, signal: AbortSignal, onReady: (addrs: string[], node: LilyNode) => void): Promise<void> {
  const identity = await loadOrCreateIdentity(opts.dataDir)
  const log = createLogger('bootstrap')
  signal.throwIfAborted()
  const store = await NodeStore.open(opts.dataDir)
  // the same chain facts as every other node, or its state root would differ from theirs; the
  // source starts once the chain answers (the node does not match before)
  const facts = new DeferredChainFacts()
  const node = new LilyNode({
    profile: opts.profile,
    identity,
    store,
    listen: opts.listen,
    dhtServer: true,
    logger: log,
    chainFacts: facts.fn,
    depositedSoFar: facts.deposited
  })
  try {
    facts.attach({ profile: opts.profile, db: store.sublevel('chainlog'), log: log.child('chainfacts') },
      async () => await createChainClients({ rpcUrl: opts.profile.rpcUrl, chainId: opts.profile.chainId }))
    await node.start()
    onReady(node.libp2p.getMultiaddrs().map(String), node)
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve()
      else signal.addEventListener('abort', () => { resolve() }, { once: true })
    })
  } finally {
    await facts.stop()
    await node.stop()
    await store.close()
  }
}

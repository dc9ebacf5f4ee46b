/**
 * `lilynode creator`: a long-running creator node. One RoleHost and one CreatorRole whose
 * `transfer` service serves every deal in the node's store; with a LilyRequests companion
 * (`--requests` or the profile's `requests`) it also relays on-chain job requests
 * (requestRelay.ts) until the signal aborts. Deals of its own that it left unsettled when it
 * last stopped are followed to settlement again at start.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { exampleModulesDir, loadModule } from '../../executor/index.js'
import { moduleHash, type ModuleSpec } from '../../protocol/index.js'
import type { Profile } from '../../protocol/index.js'
import type { Address, Hash } from '../../protocol/index.js'
import { GasLedger, meteredEscrow } from './gas.js'
import { createLogger } from '../../protocol/index.js'
import { executorPort } from './adapters.js'
import { CreatorRole } from './creator.js'
import { RoleHost } from './host.js'
import { RequestRelay } from './requestRelay.js'
import { RoleError, type RoleOutput } from './roles.js'
import type { P2pMetrics } from '../../p2p/index.js'

export interface CreatorNodeOptions {
  profile: Profile
  dataDir: string
  listen?: string[]
  /** The LilyRequests companion to relay; must be the profile's `requests` (default: it). */
  requests?: Address
  /** Module directory the relay resolves module hashes against (default: the repository's modules/). */
  modulesDir?: string
  /** Encoded inputs named by their hash (default `<dataDir>/request-inputs`). */
  inputsDir?: string
  /** First block to follow on a fresh data dir (default: the latest block at start). */
  fromBlock?: bigint
  /** Chain polling interval (default: a quarter epoch, 250..1000 ms). */
  pollMs?: number
  /**
   * Services composed on top of the node once its creator role is up (the local HTTP API:
   * src/api sits above the node, so the caller brings it). Stopped before the node.
   */
  attach?: (ctx: CreatorNodeContext) => Promise<AttachedService>
  /** Where libp2p and gossipsub report their own metrics (for an attached API's /metrics). */
  metrics?: P2pMetrics
}

/** What an attached service gets: the node's host, its creator role and its gas ledger. */
export interface CreatorNodeContext {
  host: RoleHost
  creator: CreatorRole
  gas: GasLedger
  signal: AbortSignal
}

/** A service started by `attach`: what `ready` reports of it, and how to stop it. */
export interface AttachedService {
  ready?: Record<string, unknown>
  stop: () => Promise<void>
}

/** Every module.json one level below `dir`, by module hash. */
export async function loadModuleDirectory (dir: string): Promise<Map<Hash, ModuleSpec>> {
  const out = new Map<Hash, ModuleSpec>()
  const names = await readdir(dir).catch((e: unknown) => { throw new RoleError('ROLE_BAD_MODULE', `cannot read module directory ${dir}: ${(e as Error).message}`) })
  for (const name of names.sort()) {
    const spec = await loadModule(join(dir, name, 'module.json')).catch(() => undefined)
    if (spec !== undefined) out.set(moduleHash(spec), spec)
  }
  return out
}

/** The companion to relay: the flag, which must agree with the profile (every node validates relayed offers against it). */
export function requestsAddress (profile: Profile, flag?: Address): Address | undefined {
  if (flag === undefined) return profile.requests
  const a = flag.toLowerCase() as Address
  if (profile.requests === undefined) {
    throw new RoleError('ROLE_BAD_PROFILE', `--requests ${a} needs a profile whose "requests" field names it: every node checks relayed offers against the profile, so add "requests": "${a}" to the network's profile`)
  }
  if (profile.requests !== a) throw new RoleError('ROLE_BAD_PROFILE', `--requests ${a} differs from the profile's requests ${profile.requests}; drop the flag or fix the profile`)
  return a
}

export async function runCreatorNode (o: CreatorNodeOptions, signal: AbortSignal, out: RoleOutput): Promise<void> {
  const log = createLogger('creator')
  const requests = requestsAddress(o.profile, o.requests)
  const modules = requests !== undefined ? await loadModuleDirectory(o.modulesDir ?? exampleModulesDir()) : new Map<Hash, ModuleSpec>()
  const host = await RoleHost.start({ profile: o.profile, dataDir: o.dataDir, listen: o.listen, log, ...(o.metrics !== undefined ? { metrics: o.metrics } : {}) })
  let relay: RequestRelay | undefined
  let attached: AttachedService | undefined
  const resuming: Array<Promise<void>> = []
  try {
    const pollMs = o.pollMs ?? Math.min(1000, Math.max(250, Math.floor(o.profile.epochMs / 4)))
    // one ledger behind every transaction this node sends (the API's /metrics reports it)
    const gas = new GasLedger(host.identity.address, host.chain.public)
    const escrow = meteredEscrow(host.escrow, gas)
    const role = new CreatorRole({
      net: host.net,
      jobs: host.jobs,
      gasOf: async (tx) => await host.gasOf(tx),
      liveProviders: () => host.liveProviders(),
      escrow,
      executor: executorPort({ dataDir: o.dataDir }),
      store: host.deals,
      log,
      maxTransferBytes: host.maxTransferBytes,
      pollMs
    })
    await host.serve(role.transferService())
    await role.serveOutcomes()
    if (requests !== undefined) {
      relay = new RequestRelay({
        node: host.node,
        net: host.net,
        escrow,
        chain: host.chain,
        deals: host.deals,
        meta: host.meta,
        log: log.child('requests'),
        requests,
        modules,
        inputsDir: o.inputsDir ?? join(o.dataDir, 'request-inputs'),
        ...(o.fromBlock !== undefined ? { fromBlock: o.fromBlock } : {}),
        pollMs,
        onEvent: (e) => out({ event: 'request', ...e })
      })
      await relay.start()
    }
    if (o.attach !== undefined) attached = await o.attach({ host, creator: role, gas, signal })
    // deals this node left unsettled when it last stopped (those of API jobs the API resumed
    // as it loaded its jobs): follow each to settlement again
    for (const r of await role.unfinished()) {
      out({ event: 'resuming', dealId: r.dealId, state: r.state })
      resuming.push(role.resume(r.dealId, signal, (e) => out({ event: 'deal', state: e.stage, ...e })).then(
        (done) => out({ event: 'resumed', dealId: done.dealId, state: done.state }),
        (e: unknown) => { if (!signal.aborted) log.warn('a resumed deal stopped', { dealId: r.dealId, error: e instanceof Error ? e.message : String(e) }) }
      ))
    }
    out({
      event: 'ready',
      role: 'creator',
      address: host.identity.address,
      peerId: host.identity.peerId.toString(),
      addrs: host.addrs(),
      ...attached?.ready,
      ...(requests !== undefined ? { requests, modules: [...modules.values()].map((s) => `${s.name}:${s.version}`) } : {})
    })
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
  } finally {
    await attached?.stop()
    await relay?.stop()
    await Promise.allSettled(resuming)
    await host.stop()
  }
}

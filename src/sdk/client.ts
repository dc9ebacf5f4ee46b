/**
 * `LilyClient`: lilynode as a library. `connect` starts an in-process creator node (a
 * RoleHost — libp2p, gossip, matcher, chain client, deal store, `transfer` server — and one
 * CreatorRole), and the client then runs jobs on the network (`run`, several at once), asks
 * nodes about their state (`query`) and moves escrow funds (`balance`, `deposit`,
 * `withdraw`), and settles deals an earlier client left unsettled (`unfinished`, `resume`).
 * `lilynode run`, `resume`, `query` and `chain deposit|withdraw|balance` are built on this
 * class, so the CLI and the SDK never disagree.
 *
 *   await using client = await LilyClient.connect({ profile: '.devnet/profile.json', dataDir: '.devnet/creator-1' })
 *   const job = client.run('cowsay:v0.0.4', { Message: 'moo' })
 *   for await (const e of job) console.log(e.stage, e.elapsedMs)
 *   const { outcome, stdout } = await job.result
 */
import { exampleModulesDir, findModule, jobSpec, type FoundModule } from '../executor/index.js'
import { parseModuleSpec, resolveInputs, RESOURCE_BOUNDS, type JobInputs, type ModuleSpec } from '../protocol/index.js'
import { loadProfile, type Profile } from '../protocol/index.js'
import type { Address, Hash, Resources } from '../protocol/index.js'
import { createLogger, type Logger } from '../protocol/index.js'
import { queryNode, QUERY_KINDS, type QueryKind, type QueryPage } from '../p2p/index.js'
import { executorPort } from '../node/index.js'
import { CreatorError, CreatorRole, type CreatorEvent } from '../node/index.js'
import { TERMINAL_STATES, type DealRecord, type DealState } from '../node/index.js'
import { RoleHost } from '../node/index.js'
import { creatorExitCode } from '../node/index.js'
import type { ExecutorPort } from '../node/index.js'
import { resolveModule } from '../node/index.js'
import { SdkError } from './errors.js'
import { toJobEvent, type JobEvent, type JobOutcome, type JobResult } from './events.js'
import { LilyJob } from './job.js'
import { LilyWallet, type ChainBalanceResult, type ChainTxResult } from './wallet.js'
import { bundleOf, describeJob, type JobDescription } from './jobs.js'
import type { JobFilter, JobRecord } from '../node/index.js'
import { fetchBlob } from '../p2p/index.js'
import { openJobLogs, serveLocalLogs, type JobLogs, type LogRelay } from '../node/index.js'
import { LilyLogs, type LogsOptions } from './logs.js'
import { peerIdFromSignature } from '../p2p/index.js'
import { estimateFrom, poolOffers, reconciled, type Estimate } from './estimate.js'
import { DEFAULT_COLLATERAL, DEFAULT_MAX_PRICE, DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S, MAX_AMOUNT } from '../protocol/constants.js'

export interface LilyClientOptions {
  /** The network profile: a path to its JSON, or a parsed Profile. */
  profile: string | Profile
  /** The client's key (key.json, created when missing) and database. */
  dataDir: string
  /** libp2p listen multiaddrs (default /ip4/0.0.0.0/tcp/0). Providers dial back to fetch the module and inputs. */
  listen?: string[]
  /** Aborting it closes the client (running jobs end with the abort reason). */
  signal?: AbortSignal
  /** Where `name:version` modules are looked up (default: the repository's modules/). */
  modulesDir?: string
  /** Chain/store polling interval (default: a quarter epoch, 100..500 ms). */
  pollMs?: number
  /** Logger (default: the `creator` logger, quiet unless LILYNODE_LOG says otherwise). */
  log?: Logger
}

export interface RunOptions {
  /** Highest total price, in wei (default 10^15). */
  maxPrice?: bigint
  /** Collateral the provider must put up, in wei (default 10^14). */
  collateral?: bigint
  /** Seconds the provider has to deliver (default: the module's `timeoutS`, else 60). */
  timeoutS?: number
  /** Write stdout, stderr and the output files here. */
  outDir?: string
  /** Resources to ask for (default: the module's). */
  resources?: Resources
  /** GPUs to ask for, over the module's default (0..64). */
  gpus?: number
  /** Least VRAM per GPU in MiB, over the module's default (needs gpus > 0). */
  gpuVram?: number
  /** Epochs the offer stays matchable (default 20). */
  lifetimeEpochs?: number
  /** Aborting it stops following the job (the deal, once open, still settles on-chain). */
  signal?: AbortSignal
  /**
   * Challenge a result whose job exited non-zero (spends the mediation fee; the 'challenging'
   * event says how much before the transaction). Default: such a result is accepted as the
   * answer — the job ran, its stderr says why it failed — and the provider is paid.
   */
  challengeOnFailure?: boolean
  /** What the job's record names as its origin (default 'sdk'; `lilynode run` says 'cli'). */
  source?: 'cli' | 'sdk'
  /** The module as the job's record names it (default: the reference given, or name:version). */
  moduleLabel?: string
  /**
   * Fail (LilyError SDK_NO_MATCH, naming the constraint) as soon as the node has reconciled
   * an epoch's offers and none of the live ones can fit the job (default false).
   */
  failFast?: boolean
}

export interface QueryOptions {
  /** Ask this node (a multiaddr with /p2p/<peer id>) instead of the client's own node. */
  node?: string
  page?: number
  limit?: number
  signal?: AbortSignal
  timeoutMs?: number
}

/** What `query('epoch')` answers. */
export interface EpochInfo {
  network: string
  networkTag: string
  address: Address
  currentEpoch: number | string
  headEpoch: number | string | null
  stateRoot: Hash | null
  participating: boolean
  offers: number
  peers: number
  [key: string]: unknown
}

export type QueryAnswer<K extends QueryKind> = K extends 'epoch' ? EpochInfo : QueryPage

/**
 * A module: `name:version` (from the modules folder), a path to a module.json, to a Lilypad
 * lilypad_module.json.tmpl, or to a folder holding one, or a ModuleSpec.
 */
export type ModuleRef = string | ModuleSpec

/**
 * The resources of a job: the module's defaults, or `resources`, with `gpus` and `gpuVram`
 * over them. Throws LilyError SDK_BAD_OPTION naming the field.
 */
export function jobResources (spec: ModuleSpec, o: Pick<RunOptions, 'resources' | 'gpus' | 'gpuVram'> = {}): Resources {
  const base = o.resources ?? spec.resources
  const out: Resources = { ...base }
  if (o.gpus !== undefined) out.gpus = o.gpus
  if (o.gpuVram !== undefined) out.gpuVram = o.gpuVram
  for (const k of Object.keys(RESOURCE_BOUNDS) as Array<keyof Resources>) {
    const [lo, hi] = RESOURCE_BOUNDS[k]
    const v = out[k]
    if (!Number.isSafeInteger(v) || v < lo || v > hi) throw new SdkError('SDK_BAD_OPTION', `${k === 'gpus' || k === 'gpuVram' ? k : `resources.${k}`} must be an integer from ${lo} to ${hi}, got ${String(v)}`)
  }
  if (out.gpus === 0 && out.gpuVram > 0) throw new SdkError('SDK_BAD_OPTION', `gpuVram ${out.gpuVram} MiB asks for GPU memory but the job asks for no GPU: give gpus too`)
  return out
}

/** A deal an earlier run from this data dir left unsettled (see `LilyClient.unfinished`). */
export interface UnfinishedDeal {
  dealId: Hash
  /** Where the stored deal stands (matched, agreed, opened, running, result, accepted, challenged, …). */
  state: DealState
  provider: Address
  price: bigint
  collateral: bigint
  /** Unix ms the deal was recorded and last moved. */
  createdAt: number
  updatedAt: number
  /** The folder its outputs go to, when the run that made it asked for one. */
  outDir?: string
}

export { DEFAULT_MAX_PRICE, DEFAULT_COLLATERAL, DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S }

function describe (e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** A simple FIFO lock. */
class Lock {
  private tail: Promise<void> = Promise.resolve()
  async run<T> (f: () => Promise<T>): Promise<T> {
    const prev = this.tail
    let release: () => void = () => {}
    this.tail = new Promise<void>((resolve) => { release = resolve })
    try {
      await prev
      return await f()
    } finally {
      release()
    }
  }
}

function checkWei (name: string, v: unknown, allowZero: boolean): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_AMOUNT || (!allowZero && v === 0n)) {
    throw new SdkError('SDK_BAD_OPTION', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} amount of wei of at most 2^96−1 (${MAX_AMOUNT}), got ${typeof v === 'bigint' ? v.toString() : typeof v}`)
  }
  return v
}

function outcomeOf (r: DealRecord): JobOutcome {
  switch (r.state) {
    case 'completed':
    case 'claimed':
      return 'paid'
    case 'timed-out':
      return 'refunded'
    case 'resolved':
      return r.history.some((h) => /creator-won/.test(h.note ?? '')) ? 'creator-won' : 'provider-won'
    case 'expired':
      return 'expired'
    default:
      return 'failed'
  }
}

export class LilyClient implements AsyncDisposable {
  private readonly controller = new AbortController()
  private readonly following = new Set<Promise<unknown>>()
  /** Escrow each job still needs free until its deal is open (price + mediation fee). */
  private readonly reserved = new Map<number, bigint>()
  private readonly funding = new Lock()
  private nextJob = 1
  private closing?: Promise<void>
  /** Resolves once the node has matched an epoch after connecting (its pool then holds the network's live offers). */
  private readonly synced: Promise<boolean>
  /** Serves this data dir's job logs to `lilynode logs` in other processes (`<data dir>/logs.sock`). */
  private relay: LogRelay | undefined
  readonly wallet: LilyWallet

  private constructor (
    private readonly host: RoleHost,
    private readonly role: CreatorRole,
    private readonly executor: Pick<ExecutorPort, 'decodeBundle' | 'hashBundle' | 'writeOutputs'>,
    private readonly modulesDir: string,
    dataDir: string,
    private readonly onAbort?: { signal: AbortSignal, listener: () => void }
  ) {
    this.wallet = LilyWallet.forNode(host.profile, dataDir)
    this.synced = reconciled(host.node, 4 * host.profile.epochMs + host.profile.graceMs + 2000, this.controller.signal)
  }

  /** Starts the in-process node and joins the network. Close it with `close()` (or `await using`). */
  static async connect (o: LilyClientOptions): Promise<LilyClient> {
    if (typeof o !== 'object' || o === null || typeof o.dataDir !== 'string' || o.dataDir === '') throw new SdkError('SDK_BAD_OPTION', 'LilyClient.connect needs { profile, dataDir }: dataDir is the folder of the client\'s key and database')
    o.signal?.throwIfAborted()
    const profile = typeof o.profile === 'string'
      ? await loadProfile(o.profile).catch((e: unknown) => { throw new SdkError('SDK_BAD_OPTION', `cannot load the profile ${String(o.profile)}: ${describe(e)}`, { cause: e }) })
      : o.profile
    if (typeof profile !== 'object' || profile === null || typeof profile.epochMs !== 'number') throw new SdkError('SDK_BAD_OPTION', 'profile must be a path to a profile JSON or a parsed Profile')
    const log = o.log ?? createLogger('creator')
    const host = await RoleHost.start({ profile, dataDir: o.dataDir, listen: o.listen, log })
    try {
      const executor = executorPort({ dataDir: o.dataDir })
      const role = new CreatorRole({
        net: host.net,
        jobs: host.jobs,
        gasOf: async (tx) => await host.gasOf(tx),
        liveProviders: () => host.liveProviders(),
        escrow: host.escrow,
        executor,
        store: host.deals,
        log,
        maxTransferBytes: host.maxTransferBytes,
        pollMs: o.pollMs ?? Math.min(500, Math.max(100, Math.floor(profile.epochMs / 4))),
        ...(process.env.LILYNODE_TEST_DISPUTE === '1' ? { disputeAll: true } : {})
      })
      await host.serve(role.transferService())
      await role.serveOutcomes()
      let client: LilyClient | undefined
      const listener = (): void => { void client?.close() }
      client = new LilyClient(host, role, executor, o.modulesDir ?? exampleModulesDir(), o.dataDir, o.signal !== undefined ? { signal: o.signal, listener } : undefined)
      const opened = client
      client.relay = await serveLocalLogs(o.dataDir, async (ref, follow, signal) => await opened.openLogs(ref, follow, signal)).catch((e: unknown) => {
        log.debug('the local log relay did not start (lilynode logs from another process cannot follow this node\'s jobs)', { error: describe(e) })
        return undefined
      })
      o.signal?.addEventListener('abort', listener, { once: true })
      if (o.signal?.aborted === true) await client.close()
      return client
    } catch (e) {
      await host.stop()
      throw e
    }
  }

  /**
   * Resolves a module reference to its spec without a node: `name:version` from `modulesDir`
   * (default: the repository's modules/), a path to a module.json or its folder, or a
   * ModuleSpec (validated). Throws LilyError SDK_BAD_MODULE.
   */
  /**
   * The spec and inputs a job runs: as `resolveModule` and `checkInputs` for a lilynode module;
   * a Lilypad module (lilypad_module.json.tmpl) is rendered with `inputs` (strings, as Lilypad's
   * `-i K=V`), which are then fixed in the spec. Throws SDK_BAD_MODULE / SDK_BAD_INPUT.
   */
  static async resolveJob (ref: ModuleRef, inputs: unknown = {}, modulesDir = exampleModulesDir()): Promise<{ spec: ModuleSpec, inputs: JobInputs, lilypad: boolean }> {
    if (typeof ref === 'string') {
      let found: FoundModule
      try {
        found = await findModule(ref, modulesDir)
      } catch (e) {
        throw new SdkError('SDK_BAD_MODULE', describe(e), { cause: e })
      }
      if (found.kind === 'lilypad') {
        if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs) || !Object.values(inputs).every((v) => typeof v === 'string')) {
          throw new SdkError('SDK_BAD_INPUT', `${ref} is a Lilypad module: its inputs are strings, such as { Message: 'moo' }`)
        }
        try {
          return { spec: jobSpec(found, inputs as Record<string, string>), inputs: {}, lilypad: true }
        } catch (e) {
          throw new SdkError('SDK_BAD_INPUT', `Lilypad module ${ref}: ${describe(e)}`, { cause: e })
        }
      }
      return { spec: found.spec, inputs: LilyClient.checkInputs(found.spec, inputs), lilypad: false }
    }
    const spec = await LilyClient.resolveModule(ref, modulesDir)
    return { spec, inputs: LilyClient.checkInputs(spec, inputs), lilypad: false }
  }

  /** Finds a module on disk (a lilynode spec, or a Lilypad template to render). Throws SDK_BAD_MODULE. */
  static async findModule (ref: string, modulesDir = exampleModulesDir()): Promise<FoundModule> {
    try {
      return await findModule(ref, modulesDir)
    } catch (e) {
      throw new SdkError('SDK_BAD_MODULE', describe(e), { cause: e })
    }
  }

  static async resolveModule (ref: ModuleRef, modulesDir = exampleModulesDir()): Promise<ModuleSpec> {
    try {
      if (typeof ref === 'string') return await resolveModule(ref, modulesDir)
      if (typeof ref === 'object' && ref !== null) return parseModuleSpec(ref)
    } catch (e) {
      throw new SdkError('SDK_BAD_MODULE', describe(e), { cause: e })
    }
    throw new SdkError('SDK_BAD_MODULE', `a module is name:version, a path to a module.json, or a ModuleSpec; got ${typeof ref}`)
  }

  /** Checks inputs against the module's input spec (defaults filled in). Throws LilyError SDK_BAD_INPUT. */
  static checkInputs (spec: ModuleSpec, inputs: unknown): JobInputs {
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) throw new SdkError('SDK_BAD_INPUT', `inputs must be a plain object such as { Message: 'moo' }; module ${spec.name} takes: ${Object.keys(spec.inputs).join(', ') || 'none'}`)
    try {
      return resolveInputs(spec, inputs as JobInputs)
    } catch (e) {
      throw new SdkError('SDK_BAD_INPUT', `module ${spec.name}: ${describe(e)}`, { cause: e })
    }
  }

  /** Asks any running node (its multiaddr with /p2p/<peer id>) — what `lilynode query` does. */
  static async queryNode<K extends QueryKind> (node: string, kind: K, o: Omit<QueryOptions, 'node'> = {}): Promise<QueryAnswer<K>> {
    if (!(QUERY_KINDS as readonly string[]).includes(kind)) throw new SdkError('SDK_BAD_OPTION', `query kind must be one of ${QUERY_KINDS.join(', ')}, got ${JSON.stringify(kind)}`)
    return await queryNode<QueryAnswer<K>>(node, kind, o)
  }

  /** The client's chain address (its key in dataDir). */
  get address (): Address { return this.host.identity.address }
  /** The client's libp2p peer id. */
  get peerId (): string { return this.host.identity.peerId.toString() }
  /** The network profile. */
  get profile (): Profile { return this.host.profile }
  /** Multiaddrs others can dial (with /p2p/<peer id>). */
  get addrs (): string[] { return this.host.addrs() }
  get closed (): boolean { return this.closing !== undefined }

  /**
   * Runs one job on the network, from offer to settled deal. The returned LilyJob is an
   * AsyncIterable of JobEvents and has `result`. Module, inputs and options are checked
   * before anything is published (LilyError SDK_BAD_MODULE / SDK_BAD_INPUT / SDK_BAD_OPTION).
   */
  run (module: ModuleRef, inputs: Record<string, unknown> = {}, options: RunOptions = {}): LilyJob {
    return new LilyJob(async (emit) => await this.runJob(module, inputs, options, emit))
  }

  private async runJob (module: ModuleRef, inputs: Record<string, unknown>, o: RunOptions, emit: (e: JobEvent) => void): Promise<JobResult> {
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
    const { spec, inputs: jobInputs } = await LilyClient.resolveJob(module, inputs, this.modulesDir)
    const resources = jobResources(spec, o)
    const maxPrice = checkWei('maxPrice', o.maxPrice ?? DEFAULT_MAX_PRICE, false)
    const collateral = checkWei('collateral', o.collateral ?? DEFAULT_COLLATERAL, true)
    const timeoutS = o.timeoutS ?? spec.timeoutS ?? DEFAULT_TIMEOUT_S
    if (!Number.isSafeInteger(timeoutS) || timeoutS < 1 || timeoutS > MAX_TIMEOUT_S) throw new SdkError('SDK_BAD_OPTION', `timeoutS must be an integer from 1 to ${MAX_TIMEOUT_S}, got ${String(timeoutS)}`)
    const lifetime = o.lifetimeEpochs
    if (lifetime !== undefined && (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > 1000)) throw new SdkError('SDK_BAD_OPTION', `lifetimeEpochs must be an integer from 1 to 1000, got ${String(lifetime)}`)
    if (o.outDir !== undefined && (typeof o.outDir !== 'string' || o.outDir === '')) throw new SdkError('SDK_BAD_OPTION', 'outDir must be a folder path')
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')

    const id = this.nextJob++
    const estimateJob = { spec, resources, timeoutS, maxPrice, collateral, creator: this.address }
    return await this.follow(o.signal, emit, o.outDir, async (followSignal, onEvent) => {
      // fails the run within an epoch when the node's live offers show that nothing can fit
      const noFit = new AbortController()
      let matched = false
      const signal = AbortSignal.any([followSignal, noFit.signal])
      if (o.failFast === true) {
        void this.synced.then((ok) => {
          if (!ok || matched || signal.aborted) return
          const e = estimateFrom(estimateJob, poolOffers(this.host.node), this.host.node.currentEpoch(), 'own node')
          // only a constraint that rules out the live offers fails the run: with no live offer at all
          // (a network still starting, an offer between versions) the run waits as usual
          if (e.verdict !== null && e.considered > 0 && !matched) noFit.abort(new SdkError('SDK_NO_MATCH', e.verdict))
        }, () => undefined)
      }
      try {
        await this.fund(id, maxPrice)
        signal.throwIfAborted()
        return await this.role.run({
          spec,
          inputs: jobInputs,
          maxPrice,
          collateral,
          timeoutS,
          resources,
          ...(lifetime !== undefined ? { lifetimeEpochs: lifetime } : {}),
          ...(o.outDir !== undefined ? { outDir: o.outDir } : {}),
          ...(o.challengeOnFailure === true ? { challengeOnFailure: true } : {}),
          record: { source: o.source ?? 'sdk', module: o.moduleLabel ?? (typeof module === 'string' ? module : `${spec.name}:${spec.version}`) }
        }, signal, (e) => {
          if (e.stage === 'matched') matched = true
          if (e.stage === 'opened' || e.stage === 'refunded' || e.stage === 'paid') this.reserved.delete(id)
          onEvent(e)
        })
      } catch (e) {
        if (noFit.signal.aborted && !followSignal.aborted) throw noFit.signal.reason
        throw e
      } finally {
        this.reserved.delete(id)
      }
    })
  }

  /**
   * Which live offers the job would fit, at what price, and why the others would not — from
   * this client's node (once it has matched an epoch since connecting, so that its pool holds
   * the network's offers). Publishes and spends nothing.
   */
  async estimate (module: ModuleRef, inputs: Record<string, unknown> = {}, o: Pick<RunOptions, 'maxPrice' | 'collateral' | 'timeoutS' | 'resources' | 'gpus' | 'gpuVram'> = {}): Promise<Estimate> {
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
    const { spec } = await LilyClient.resolveJob(module, inputs, this.modulesDir)
    const resources = jobResources(spec, o)
    const maxPrice = checkWei('maxPrice', o.maxPrice ?? DEFAULT_MAX_PRICE, false)
    const collateral = checkWei('collateral', o.collateral ?? DEFAULT_COLLATERAL, true)
    const timeoutS = o.timeoutS ?? spec.timeoutS ?? DEFAULT_TIMEOUT_S
    if (!Number.isSafeInteger(timeoutS) || timeoutS < 1 || timeoutS > MAX_TIMEOUT_S) throw new SdkError('SDK_BAD_OPTION', `timeoutS must be an integer from 1 to ${MAX_TIMEOUT_S}, got ${String(timeoutS)}`)
    await this.synced
    return estimateFrom({ spec, resources, timeoutS, maxPrice, collateral, creator: this.address }, poolOffers(this.host.node), this.host.node.currentEpoch(), 'own node')
  }

  /**
   * Deals that earlier runs from this data dir left unsettled (the run was stopped or crashed
   * before its deal closed). Each may still need its result checked and accepted, a challenge,
   * or the timeout refund: `resume` takes it there. Oldest first.
   */
  async unfinished (): Promise<UnfinishedDeal[]> {
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
    return (await this.role.unfinished()).map((r) => ({
      dealId: r.dealId,
      state: r.state,
      provider: r.deal.provider,
      price: r.deal.price,
      collateral: r.deal.collateral,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      ...(r.outDir !== undefined ? { outDir: r.outDir } : {})
    }))
  }

  /** The job records of this data dir (every run from it: CLI, SDK, API), newest first. */
  async jobs (filter: JobFilter = {}): Promise<JobRecord[]> {
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
    return await this.host.jobs.list(filter)
  }

  /** A job (by job id, deal id or job offer hash) with its deals: every stage, time, transaction, the outcome and failure reason. */
  async describe (ref: string): Promise<JobDescription> {
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
    return await describeJob(this.host.jobs, this.host.deals, ref)
  }

  /**
   * Writes a job's outputs (stdout, stderr, exitCode, outputs/) to `outDir` again: from the
   * result bundle stored in this data dir, else fetched from the deal's provider (which hands it
   * to the deal's creator only, for as long as it keeps it) and checked against the result hash.
   */
  async getOutputs (ref: string, outDir: string, o: { signal?: AbortSignal } = {}): Promise<{ dealId: Hash, from: 'local' | 'provider', files: string[] }> {
    const d = await this.describe(ref)
    const local = await bundleOf(this.host.deals, d.job, d.deals.map((x) => x.dealId))
    if (local !== undefined) return { dealId: local.dealId, from: 'local', files: await this.executor.writeOutputs(local.bundle, outDir) }
    const errors: string[] = []
    for (const deal of [...d.deals].reverse()) {
      if (deal.role !== 'creator') continue
      try {
        const peer = deal.sigProvider !== undefined ? peerIdFromSignature(this.host.net.hasher.digestBytes('Deal', deal.deal), deal.sigProvider) : this.host.net.peerOf(deal.deal.provider)
        if (peer === undefined) throw new Error(`no peer known for provider ${deal.deal.provider}`)
        const bundle = await fetchBlob(this.host.net.libp2p, this.host.profile, peer, deal.dealId, 'bundle', { maxBytes: this.host.maxTransferBytes, ...(o.signal !== undefined ? { signal: o.signal } : {}) })
        if (deal.resultHash !== undefined && this.executor.hashBundle(bundle) !== deal.resultHash) throw new Error(`the provider's bundle does not hash to the deal's result ${deal.resultHash}`)
        await this.host.deals.putBlob(deal.dealId, 'bundle', bundle)
        return { dealId: deal.dealId, from: 'provider', files: await this.executor.writeOutputs(bundle, outDir) }
      } catch (e) {
        errors.push(`deal ${deal.dealId}: ${describe(e)}`)
      }
    }
    throw new SdkError('SDK_NO_OUTPUTS', `no result of ${ref.slice(0, 80)} is stored here${errors.length > 0 ? `, and its provider did not hand it over (${errors.join('; ')})` : ', and no deal of it names a provider to ask'}`)
  }

  /**
   * A job's stdout and stderr (by job id, deal id or job offer hash), as chunks: from the result
   * stored in this data dir once the job has one, else from the deal's provider over libp2p (it
   * sends them to the deal's creator only), live while the job runs with `follow` (until it
   * ends). The first `next()` throws LogsRefusal (LOGS_UNKNOWN_JOB, LOGS_FORBIDDEN, LOGS_UNAVAILABLE, …).
   */
  logs (ref: string, o: LogsOptions = {}): LilyLogs {
    return new LilyLogs(async () => {
      const signal = o.signal !== undefined ? AbortSignal.any([o.signal, this.controller.signal]) : this.controller.signal
      return await this.openLogs(ref, o.follow === true, signal)
    })
  }

  private async openLogs (ref: string, follow: boolean, signal: AbortSignal): Promise<JobLogs> {
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
    if (typeof ref !== 'string' || ref === '') throw new SdkError('SDK_BAD_OPTION', 'logs() needs a job id (job-…), a deal id or a job offer hash')
    return await openJobLogs({ records: this.host.jobs, deals: this.host.deals, net: this.host.net }, ref, { follow, signal })
  }

  /**
   * Follows an unsettled deal (one of `unfinished()`) to settlement from where it stands, with
   * the same events and result as `run`; its outputs go where its run asked.
   */
  resume (dealId: Hash, options: { signal?: AbortSignal } = {}): LilyJob {
    return new LilyJob(async (emit) => {
      if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
      const unknown = (): SdkError => new SdkError('SDK_UNKNOWN_DEAL', `${String(dealId).slice(0, 80)} is not an unsettled deal of this data dir (or it is already followed); unfinished() lists them`)
      const known = await this.host.deals.get(dealId)
      if (known === undefined || known.role !== 'creator' || known.deal.creator.toLowerCase() !== this.host.identity.address.toLowerCase() || TERMINAL_STATES.has(known.state)) throw unknown()
      return await this.follow(options.signal, emit, known.outDir, async (signal, onEvent) => await this.role.resume(dealId, signal, onEvent).catch((e: unknown) => {
        throw e instanceof CreatorError && e.code === 'CREATOR_BUSY' ? unknown() : e
      }))
    })
  }

  /** Runs `work` (one deal of the creator role) under the client's signal, gathering its events for the result. */
  private async follow (userSignal: AbortSignal | undefined, emit: (e: JobEvent) => void, outDir: string | undefined,
    work: (signal: AbortSignal, onEvent: (e: CreatorEvent) => void) => Promise<DealRecord>): Promise<JobResult> {
    const signal = userSignal !== undefined ? AbortSignal.any([userSignal, this.controller.signal]) : this.controller.signal
    signal.throwIfAborted()
    const events: JobEvent[] = []
    const running = work(signal, (ce) => {
      const e = toJobEvent(ce)
      events.push(e)
      emit(e)
    })
    this.following.add(running)
    void running.catch(() => undefined).finally(() => this.following.delete(running))
    let record: DealRecord
    try {
      record = await running
    } catch (e) {
      if (signal.aborted) throw signal.reason
      if (e instanceof CreatorError && e.code === 'CREATOR_NO_MATCH') throw new SdkError('SDK_NO_MATCH', e.message, { cause: e })
      if (e instanceof SdkError) throw e
      throw new SdkError('SDK_JOB_FAILED', `the job failed: ${describe(e)}`, { cause: e })
    }
    return await this.resultOf(record, events, outDir)
  }

  /**
   * Makes sure the escrow holds what every job not yet opened needs (price + mediation fee
   * each), so that concurrent jobs do not each count the same free balance.
   */
  private async fund (id: number, maxPrice: bigint): Promise<void> {
    await this.funding.run(async () => {
      const { mediationFee } = await this.host.escrow.params()
      const need = maxPrice + mediationFee
      let pending = 0n
      for (const v of this.reserved.values()) pending += v
      const free = await this.host.escrow.freeBalance()
      if (free < pending + need) await this.host.escrow.deposit(pending + need - free)
      this.reserved.set(id, need)
    })
  }

  private async resultOf (record: DealRecord, events: JobEvent[], outDir?: string): Promise<JobResult> {
    const matched = events.findLast((e) => e.stage === 'matched')
    const result = events.findLast((e) => e.stage === 'result')
    let exitCode: number | null = result?.stage === 'result' ? result.exitCode : null
    let stdout = result?.stage === 'result' ? result.stdout : ''
    let stderr = ''
    const bundle = await this.host.deals.getBlob(record.dealId, 'bundle').catch(() => undefined)
    if (bundle !== undefined) {
      try {
        const d = this.executor.decodeBundle(bundle)
        exitCode = d.exitCode
        stdout = d.stdout
        stderr = d.stderr
      } catch {}
    }
    const offered = events.find((e) => e.stage === 'offered' && e.jobId !== undefined)
    const jobId = offered?.stage === 'offered' ? offered.jobId : undefined
    const job = jobId !== undefined ? await this.host.jobs.get(jobId).catch(() => undefined) : (await this.host.jobs.find(record.dealId).catch(() => undefined))
    const outputs = events.flatMap((e) => e.stage === 'outputs' ? e.outputs : [])
    const txs = {
      ...(record.openTx !== undefined ? { open: record.openTx } : {}),
      ...(record.settleTx !== undefined ? { settle: record.settleTx } : {})
    }
    let gasUsed = 0n
    for (const hash of Object.values(txs)) {
      const receipt = await this.host.chain.public.getTransactionReceipt({ hash }).catch(() => undefined)
      gasUsed += receipt?.gasUsed ?? 0n
    }
    const { code, reason } = creatorExitCode(record, exitCode, job?.failure)
    return {
      ...(job !== undefined ? { jobId: job.id } : {}),
      ...(job?.failure !== undefined ? { failure: job.failure } : {}),
      stderr,
      outcome: outcomeOf(record),
      exitStatus: code,
      reason,
      dealId: record.dealId,
      jobOfferHash: record.deal.jobOfferHash,
      provider: record.deal.provider,
      price: matched?.stage === 'matched' ? matched.price : record.deal.price,
      collateral: record.deal.collateral,
      ...(record.resultHash !== undefined ? { resultHash: record.resultHash } : {}),
      exitCode,
      stdout,
      ...(outDir !== undefined ? { outDir } : {}),
      outputs,
      txs,
      gasUsed,
      events,
      record
    }
  }

  /**
   * Asks the client's own node (default) or `options.node` over the libp2p query protocol —
   * the same answers as `lilynode query <kind> --node …`.
   */
  async query<K extends QueryKind> (kind: K, o: QueryOptions = {}): Promise<QueryAnswer<K>> {
    const node = o.node ?? this.selfAddr()
    const { node: _n, ...rest } = o
    return await LilyClient.queryNode(node, kind, rest)
  }

  private selfAddr (): string {
    if (this.closing !== undefined) throw new SdkError('SDK_CLOSED', 'the client is closed; connect a new one')
    const addrs = this.host.addrs()
    const own = addrs.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/')) ?? addrs.find((a) => a.includes('/tcp/'))
    if (own === undefined) throw new SdkError('SDK_BAD_OPTION', 'the client\'s node listens on no TCP address; pass options.node')
    return own
  }

  /** The client's escrow (free), wallet and mediator-stake balances. */
  async balance (): Promise<ChainBalanceResult> {
    return await this.wallet.balance()
  }

  /** Deposits `wei` into the client's free escrow balance. */
  async deposit (wei: bigint): Promise<ChainTxResult> {
    return await this.funding.run(async () => await this.wallet.deposit(wei))
  }

  /** Withdraws `wei` (default: all) of the client's free escrow balance. */
  async withdraw (wei?: bigint): Promise<ChainTxResult> {
    return await this.funding.run(async () => await this.wallet.withdraw(wei))
  }

  /**
   * Stops following running jobs, then stops the node. Idempotent. A job's deal that was open
   * stays in the data dir's store: a later client's `unfinished()` lists it and `resume` settles it.
   */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      if (this.onAbort !== undefined) this.onAbort.signal.removeEventListener('abort', this.onAbort.listener)
      this.controller.abort(new SdkError('SDK_CLOSED', 'the client was closed while the job ran'))
      await Promise.allSettled([...this.following])
      await this.relay?.close()
      await this.host.stop()
    })()
    await this.closing
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.close()
  }
}

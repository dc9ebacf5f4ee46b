/**
 * The three long-running roles as functions the CLI calls: each builds its RoleHost, starts
 * the role, reports what happens through `out`, and stops everything in reverse order when
 * `signal` aborts (or, for the creator, when its job is settled).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exampleModulesDir, findModule, ModuleNotFoundError } from '../../executor/index.js'
import { escrowStartBlock, loadProfile, type Profile } from '../../protocol/index.js'
import type { InputValue, JobInputs, ModuleSpec } from '../../protocol/index.js'
import type { Address, Hash, Prices } from '../../protocol/index.js'
import { createLogger } from '../../protocol/index.js'
import { executorPort, type SlurmSettings } from './adapters.js'
import type { CpuReserve } from '../../executor/index.js'
import { CreatorRole, type CreatorEvent } from './creator.js'
import type { DealRecord } from './deals.js'
import { RoleHost } from './host.js'
import { MediatorRole } from './mediator.js'
import { parseCheat, ProviderRole } from './provider.js'
import { requestsPort } from './requests.js'
import { providerLogSource } from '../jobs/logs.js'
import { LilyError } from '../../protocol/errors.js'

export class RoleError extends LilyError<'ROLE_BAD_MODULE' | 'ROLE_BAD_INPUT' | 'ROLE_JOB_FAILED' | 'ROLE_BAD_PROFILE'> {
  override readonly name = 'RoleError'
  constructor (code: RoleError['code'], message: string, readonly exitCode = 1) { super(code, message) }
}

/** One line of output: an event object (the CLI prints it as JSON or as text). */
export type RoleOutput = (event: Record<string, unknown>) => void

async function untilAborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

export async function readProfile (path: string): Promise<Profile> {
  return await loadProfile(path)
}

/**
 * Resolves a module reference to a lilynode spec: `name:version` from the modules folder (the
 * repository's examples by default), or a path to a module.json (or to a folder holding one).
 * A Lilypad module needs its inputs to be rendered: LilyClient.resolveJob does that.
 */
export async function resolveModule (ref: string, modulesDir = exampleModulesDir()): Promise<ModuleSpec> {
  const found = await findModule(ref, modulesDir).catch((e: unknown) => {
    if (e instanceof ModuleNotFoundError) throw new RoleError('ROLE_BAD_MODULE', e.message)
    throw e
  })
  if (found.kind === 'lilypad') throw new RoleError('ROLE_BAD_MODULE', `${ref} is a Lilypad module (${found.path}): it is rendered with its inputs; run it with lilynode run or LilyClient.run`)
  return found.spec
}

/** Parses `K=V` pairs against the spec's input types (file inputs take a path to read). */
export async function parseInputs (spec: ModuleSpec, pairs: string[]): Promise<JobInputs> {
  const out: JobInputs = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new RoleError('ROLE_BAD_INPUT', `input '${pair}' must be KEY=VALUE`)
    const k = pair.slice(0, eq)
    const v = pair.slice(eq + 1)
    const s = spec.inputs[k]
    if (s === undefined) throw new RoleError('ROLE_BAD_INPUT', `module ${spec.name} has no input '${k}'; it takes: ${Object.keys(spec.inputs).join(', ') || 'none'}`)
    let value: InputValue
    switch (s.type) {
      case 'int':
        if (!/^-?[0-9]{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new RoleError('ROLE_BAD_INPUT', `input ${k} must be an integer, got '${v}'`)
        value = Number(v)
        break
      case 'bool':
        if (v !== 'true' && v !== 'false') throw new RoleError('ROLE_BAD_INPUT', `input ${k} must be true or false, got '${v}'`)
        value = v === 'true'
        break
      case 'file':
        value = new Uint8Array(await readFile(v).catch((e: unknown) => { throw new RoleError('ROLE_BAD_INPUT', `input ${k}: cannot read file ${v}: ${(e as Error).message}`) }))
        break
      default:
        value = v
    }
    out[k] = value
  }
  return out
}

export interface ProviderRunOptions {
  profile: Profile
  dataDir: string
  listen?: string[]
  prices: Prices
  collateral: bigint
  depositWei: bigint
  modules: Hash[]
  maxCpu?: number
  maxRam?: number
  /** CPU kept for the node, never offered (docker backend; default one core or 10 %, at most half). */
  reserveCpu?: CpuReserve
  allowNetwork?: boolean
  offerLifetimeEpochs?: number
  /** Run deals as Slurm batch jobs (`--backend slurm`); this machine's Docker Engine when omitted. */
  slurm?: SlurmSettings
}

export async function runProvider (o: ProviderRunOptions, signal: AbortSignal, out: RoleOutput): Promise<void> {
  const log = createLogger('provider')
  const host = await RoleHost.start({ profile: o.profile, dataDir: o.dataDir, listen: o.listen, log })
  let role: ProviderRole | undefined
  try {
    const cheat = parseCheat(process.env.LILYNODE_TEST_CHEAT)
    const executor = executorPort({ dataDir: o.dataDir, allowNetwork: o.allowNetwork, ...(o.reserveCpu !== undefined ? { reserveCpu: o.reserveCpu } : {}), ...(o.slurm !== undefined ? { slurm: { ...o.slurm, log: (msg, fields) => log.info(msg, fields) } } : {}) })
    role = new ProviderRole({
      net: host.net,
      escrow: host.escrow,
      executor,
      store: host.deals,
      log,
      maxTransferBytes: host.maxTransferBytes,
      ...(o.profile.requests !== undefined ? { requests: requestsPort(host.node, host.chain, o.profile.requests) } : {}),
      config: {
        prices: o.prices,
        collateral: o.collateral,
        modules: o.modules,
        maxCpu: o.maxCpu,
        maxRam: o.maxRam,
        offerLifetimeEpochs: o.offerLifetimeEpochs ?? 30,
        depositWei: o.depositWei,
        openWaitMs: 3 * o.profile.epochMs + 2000,
        acceptWaitMs: Math.max(5000, 3 * o.profile.epochMs),
        offerStatePath: join(o.dataDir, 'provider-offer.json'),
        cheat
      }
    })
    role.onEvent = (e) => out({ event: 'deal', ...e })
    role.onOffer = (e) => out({ event: 'offer', message: e.withdrawn ? `v${e.offer.version} withdrawn: nothing can run now` : `v${e.offer.version}: ${e.offer.cpu} millicores, ${e.offer.ram} MiB, ${e.offer.gpus} GPU(s)${e.offer.gpus > 0 ? ` ${e.offer.gpuModel}` : ''}, ${e.offer.disk} MiB disk${e.source !== undefined ? ` — ${e.source}` : ''}`, version: e.offer.version, withdrawn: e.withdrawn, cpu: e.offer.cpu, ram: e.offer.ram, gpus: e.offer.gpus, gpuVram: e.offer.gpuVram, gpuModel: e.offer.gpuModel, disk: e.offer.disk, ...(e.source !== undefined ? { source: e.source } : {}) })
    await host.serve(role.transferService())
    // each deal's stdout and stderr, live while its job runs, to that deal's creator only
    await host.serveLogs(providerLogSource({ store: host.deals, executor }))
    await role.start()
    const offer = role.offer
    out({ event: 'ready', role: 'provider', backend: o.slurm !== undefined ? `slurm (partition ${o.slurm.partition}${o.slurm.restUrl !== undefined ? `, slurmrestd ${o.slurm.restUrl}` : ', Slurm commands'})` : 'docker', address: host.identity.address, peerId: host.identity.peerId.toString(), addrs: host.addrs(), cpu: offer?.cpu, ram: offer?.ram, gpus: offer?.gpus, gpuModel: offer?.gpuModel, ...(cheat !== undefined ? { warning: `LILYNODE_TEST_CHEAT=${String(process.env.LILYNODE_TEST_CHEAT)}: this provider fakes results (test only)` } : {}) })
    await untilAborted(signal)
  } finally {
    await role?.stop()
    await host.stop()
  }
}

export interface MediatorRunOptions {
  profile: Profile
  dataDir: string
  listen?: string[]
  stake: bigint
}

export async function runMediator (o: MediatorRunOptions, signal: AbortSignal, out: RoleOutput): Promise<void> {
  const log = createLogger('mediator')
  const host = await RoleHost.start({ profile: o.profile, dataDir: o.dataDir, listen: o.listen, log })
  let role: MediatorRole | undefined
  try {
    role = new MediatorRole({
      net: host.net,
      escrow: host.escrow,
      executor: executorPort({ dataDir: o.dataDir }),
      store: host.deals,
      meta: host.meta,
      log,
      stake: o.stake,
      maxTransferBytes: host.maxTransferBytes,
      fromBlock: escrowStartBlock(o.profile)
    })
    role.onEvent = (e) => out({ event: 'mediation', ...e })
    await role.start()
    out({ event: 'ready', role: 'mediator', address: host.identity.address, peerId: host.identity.peerId.toString(), addrs: host.addrs() })
    await untilAborted(signal)
  } finally {
    await role?.stop()
    await host.stop()
  }
}

export interface CreatorRunOptions {
  profile: Profile
  dataDir: string
  listen?: string[]
  spec: ModuleSpec
  inputs: JobInputs
  maxPrice: bigint
  collateral: bigint
  timeoutS: number
  outDir?: string
}

export interface CreatorRunResult {
  record: DealRecord
  address: Address
}

/** Runs one job and returns its settled deal; every stage goes to `out`. */
export async function runCreator (o: CreatorRunOptions, signal: AbortSignal, out: (e: CreatorEvent) => void): Promise<CreatorRunResult> {
  const log = createLogger('creator')
  const host = await RoleHost.start({ profile: o.profile, dataDir: o.dataDir, listen: o.listen, log })
  try {
    const role = new CreatorRole({
      net: host.net,
      jobs: host.jobs,
      gasOf: async (tx) => await host.gasOf(tx),
      liveProviders: () => host.liveProviders(),
      escrow: host.escrow,
      executor: executorPort({ dataDir: o.dataDir }),
      store: host.deals,
      log,
      maxTransferBytes: host.maxTransferBytes,
      pollMs: Math.min(500, Math.max(100, Math.floor(o.profile.epochMs / 4)))
    })
    await host.serve(role.transferService())
    await role.serveOutcomes()
    const record = await role.run({ spec: o.spec, inputs: o.inputs, maxPrice: o.maxPrice, collateral: o.collateral, timeoutS: o.timeoutS, ...(o.outDir !== undefined ? { outDir: o.outDir } : {}) }, signal, out)
    return { record, address: host.identity.address }
  } finally {
    await host.stop()
  }
}

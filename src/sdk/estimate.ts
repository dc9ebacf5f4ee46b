/**
 * Look before you leap: which live resource offers a job would fit, what each would charge
 * (its ask, and the deal price the matcher would set: the midpoint of that ask and the job's
 * max price, k = ½; both formulas with their numbers), and why the others would not — without publishing anything
 * or spending anything. `estimate()` asks a running node over the `query` protocol (the
 * profile's bootstrap nodes, or `node`), so it needs no key, no data dir and no chain;
 * `LilyClient#estimate` reads its own node's offer pool. `lilynode estimate`, `run --dry-run`
 * and the API's `POST /jobs?dryRun=1` print the same thing.
 */
import { fitOffers, fitResultJson, formatWei, PRICE_FORMULA, type FitJob, type FitResult, type OfferFit } from '../matching/index.js'
import type { OfferRecord } from '../matching/index.js'
import { moduleHash, type ModuleSpec } from '../protocol/index.js'
import { epochAt, loadProfile, type Profile } from '../protocol/index.js'
import type { Address, Hash, ResourceOffer, Resources } from '../protocol/index.js'
import { queryNode, MAX_QUERY_LIMIT, type QueryPage } from '../p2p/index.js'
import type { LilyNode } from '../node/index.js'
import { SdkError } from './errors.js'

/** Pages of offers read from a node at most (100 each). */
export const MAX_ESTIMATE_PAGES = 50

export interface EstimateJob {
  spec: ModuleSpec
  resources: Resources
  timeoutS: number
  maxPrice: bigint
  collateral: bigint
  creator?: Address
}

export interface Estimate extends FitResult {
  module: string
  moduleHash: Hash
  resources: Resources
  timeoutS: number
  maxPrice: bigint
  collateral: bigint
  /** The reference formula (what each offer's `formula` fills in). */
  formula: string
  /** Where the offers came from: a node's multiaddr, or 'own node'. */
  source: string
}

/** The matcher's view of the job. */
export function fitJobOf (j: EstimateJob): FitJob {
  return {
    module: moduleHash(j.spec),
    cpu: j.resources.cpu,
    ram: j.resources.ram,
    gpus: j.resources.gpus,
    gpuVram: j.resources.gpuVram,
    disk: j.resources.disk,
    timeout: j.timeoutS,
    maxPrice: j.maxPrice,
    collateral: j.collateral,
    ...(j.creator !== undefined ? { creator: j.creator } : {})
  }
}

/** Fits `job` against `offers` at `epoch`. */
export function estimateFrom (job: EstimateJob, offers: Array<OfferRecord<ResourceOffer>>, epoch: bigint, source: string): Estimate {
  const fit = fitJobOf(job)
  return {
    module: `${job.spec.name}:${job.spec.version}`,
    moduleHash: fit.module,
    resources: job.resources,
    timeoutS: job.timeoutS,
    maxPrice: job.maxPrice,
    collateral: job.collateral,
    formula: PRICE_FORMULA,
    source,
    ...fitOffers(fit, offers, epoch)
  }
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The resource offers a node holds (every page, bounded), as records for fitOffers. */
export async function offersOf (node: string, signal?: AbortSignal): Promise<Array<OfferRecord<ResourceOffer>>> {
  const out: Array<OfferRecord<ResourceOffer>> = []
  for (let page = 0; page < MAX_ESTIMATE_PAGES; page++) {
    const p = await queryNode<QueryPage>(node, 'offers', { page, limit: MAX_QUERY_LIMIT, ...(signal !== undefined ? { signal } : {}) })
    for (const item of p.items) {
      if (!isRecord(item) || typeof item.id !== 'string') continue
      const { id, ...offer } = item
      // fitOffers (effectiveResources) skips any that breaks the protocol bounds
      out.push({ id: id as Hash, offer: offer as unknown as ResourceOffer })
    }
    if ((page + 1) * p.limit >= p.total) break
  }
  return out
}

/** The resource offers in a node's own pool. */
export function poolOffers (node: LilyNode): Array<OfferRecord<ResourceOffer>> {
  const out: Array<OfferRecord<ResourceOffer>> = []
  for (const o of node.pool.all()) if (o.kind === 'resource') out.push({ id: o.id, offer: o.offer as ResourceOffer })
  return out
}

/**
 * Resolves true at the node's first matched epoch from now (it reconciled that epoch's offer
 * set with its peers, so its pool holds the network's live offers), false after `timeoutMs`
 * or when `signal` aborts.
 */
export async function reconciled (node: LilyNode, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false
  return await new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      node.off('epoch', onEpoch)
      signal.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onEpoch = (): void => { done(true) }
    const onAbort = (): void => { done(false) }
    const timer = setTimeout(() => { done(false) }, timeoutMs)
    timer.unref()
    node.on('epoch', onEpoch)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export interface EstimateOptions {
  /** The network profile (a path or parsed): its bootstrap nodes are asked, in order. */
  profile?: string | Profile
  /** Ask this node (a multiaddr with /p2p/<peer id>) instead. */
  node?: string
  signal?: AbortSignal
}

/**
 * Estimates `job` on a running network: asks `node`, else each of the profile's bootstrap
 * nodes in turn until one answers, for its live resource offers. Throws LilyError
 * SDK_BAD_OPTION without a node or profile, SDK_NO_MATCH… never: an estimate in which nothing
 * fits is an answer (`verdict` says why).
 */
export async function estimate (job: EstimateJob, o: EstimateOptions): Promise<Estimate> {
  const profile = typeof o.profile === 'string'
    ? await loadProfile(o.profile).catch((e: unknown) => { throw new SdkError('SDK_BAD_OPTION', `cannot load the profile ${String(o.profile)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }) })
    : o.profile
  const nodes = o.node !== undefined ? [o.node] : profile?.bootstrap ?? []
  if (nodes.length === 0) throw new SdkError('SDK_BAD_OPTION', 'estimate needs a node to ask: give a profile that names bootstrap nodes, or node (a multiaddr with /p2p/<peer id>)')
  const errors: string[] = []
  for (const node of nodes) {
    try {
      const epoch = profile !== undefined
        ? epochAt(profile, Date.now())
        : BigInt(String((await queryNode<{ currentEpoch: unknown }>(node, 'epoch', o.signal !== undefined ? { signal: o.signal } : {})).currentEpoch))
      return estimateFrom(job, await offersOf(node, o.signal), epoch, node)
    } catch (e) {
      o.signal?.throwIfAborted()
      errors.push(`${node}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  throw new SdkError('SDK_NO_MATCH', `no node answered for its offers (${errors.join('; ').slice(0, 600)}); check that the network is up`)
}

function offerLine (f: OfferFit, unit: string): string {
  const o = f.offer
  return `${o.provider} v${o.version}: ${o.cpu} millicores, ${o.ram} MiB, ${o.gpus} GPU${o.gpus === 1 ? '' : 's'}${o.gpus > 0 ? ` (${o.gpuModel !== '' ? `${o.gpuModel}, ` : ''}${o.gpuVram} MiB each)` : ''}, ${o.disk} MiB disk; collateral ${formatWei(o.collateral, unit)}; asks ${formatWei(f.ask, unit)}${f.reasons.length === 0 ? `, a deal pays ${formatWei(f.price, unit)}` : ''}`
}

/** The estimate for people, one line per offer (what `lilynode estimate` prints). */
export function formatEstimate (e: Estimate, unit = 'ETH'): string {
  const r = e.resources
  const lines = [
    `job: ${e.module} (${e.moduleHash.slice(0, 10)}…): ${r.cpu} millicores, ${r.ram} MiB, ${r.gpus} GPU${r.gpus === 1 ? '' : 's'}${r.gpus > 0 ? ` of ≥ ${r.gpuVram} MiB` : ''}, ${r.disk} MiB disk, timeout ${e.timeoutS} s`,
    `  max price ${formatWei(e.maxPrice, unit)}; collateral asked ${formatWei(e.collateral, unit)}`,
    `  ${e.formula}`,
    `live offers at epoch ${e.epoch} (from ${e.source}): ${e.considered}, ${e.fits.length} fit${e.fits.length === 1 ? 's' : ''}`
  ]
  if (e.fits.length > 0) {
    lines.push('fits (cheapest first; the matcher picks the cheapest with room this epoch):')
    for (const f of e.fits) lines.push(`  ${offerLine(f, unit)}`, `      = ${f.formula}`)
  }
  if (e.misfits.length > 0) {
    lines.push('does not fit:')
    for (const f of e.misfits) lines.push(`  ${f.provider} v${f.version}: ${f.reasons.map((x) => `${x.constraint}: ${x.message}`).join('; ')}`)
  }
  if (e.verdict !== null) lines.push(e.verdict)
  return lines.join('\n')
}

/** The estimate as plain JSON (wei as decimal strings). */
export function estimateJson (e: Estimate): Record<string, unknown> {
  return {
    module: e.module,
    moduleHash: e.moduleHash,
    resources: e.resources,
    timeoutS: e.timeoutS,
    maxPrice: e.maxPrice.toString(),
    collateral: e.collateral.toString(),
    formula: e.formula,
    source: e.source,
    ...fitResultJson(e)
  }
}

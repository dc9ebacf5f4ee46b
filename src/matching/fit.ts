/**
 * Which live resource offers a job could be matched to, and at what price — the matcher's
 * admission rule (engine.ts) spelled out per offer, for `lilynode estimate`, `run --dry-run`,
 * the SDK's `estimate()` and `POST /jobs?dryRun=1`. An offer fits when it accepts the module,
 * has the GPUs and the GPU memory, whose nominal capacity holds the job's CPU, memory and disk,
 * whose price (its ask, `jobPrice`) is at most the job's maxPrice, that puts up at least the
 * job's collateral, and that is not the creator's own. The deal would then carry the matcher's
 * `dealPrice`: the midpoint of that ask and maxPrice (k = ½), which is what the estimate reports. Capacity held by this epoch's other matches is not counted: an
 * offer that fits here may still be taken by a higher-paying job first.
 */
import type { Address, Hash, ResourceOffer } from '../protocol/index.js'
import { effectiveResources } from './offers.js'
import { dealPrice, jobPrice } from './price.js'
import type { OfferRecord } from './types.js'
import { MatchingError } from './types.js'

/** What keeps an offer from a job, in the order they are checked and reported. */
export const FIT_CONSTRAINTS = ['module', 'gpu', 'resources', 'price', 'collateral', 'self'] as const
export type FitConstraint = typeof FIT_CONSTRAINTS[number]

/** The job fields matching reads (a JobOffer's, without its nonce, hashes and epochs). */
export interface FitJob {
  module: Hash
  cpu: number
  ram: number
  gpus: number
  gpuVram: number
  disk: number
  /** Seconds. */
  timeout: number
  maxPrice: bigint
  collateral: bigint
  /** The creator, when known: its own offers never match its jobs. */
  creator?: Address
}

export interface FitReason { constraint: FitConstraint, message: string }

export interface OfferFit {
  id: Hash
  provider: Address
  version: number
  /** What the offer asks for the job (`jobPrice`), in wei: matching needs ask ≤ maxPrice. */
  ask: bigint
  /** What a deal on this offer would carry (`dealPrice`, the matcher's rule: the midpoint of ask and maxPrice), in wei. */
  price: bigint
  /** Both formulas with the offer's and the job's numbers. */
  formula: string
  offer: ResourceOffer
  /** Empty when the offer fits. */
  reasons: FitReason[]
}

export interface FitResult {
  epoch: bigint
  /** Live offers considered (effective at `epoch`, the latest version per slot). */
  considered: number
  /** Offers that fit, cheapest first (ties by id): by ask, which is also by deal price. */
  fits: OfferFit[]
  /** The others, each with why (by offer id). */
  misfits: OfferFit[]
  /** null when an offer fits; otherwise one sentence naming the constraints that rule them out. */
  verdict: string | null
}

/** The reference formulas, as `estimate` prints them (matching/price.ts: jobPrice, dealPrice). */
export const PRICE_FORMULA = 'ask = (priceCpu × cpu + priceRam × ram + priceGpu × gpus + priceDisk × disk) × timeout; price = ask + ⌊(maxPrice − ask) / 2⌋'

/** Groups of three digits: 15192000 → 15,192,000. */
export function groupDigits (v: bigint): string {
  const s = (v < 0n ? -v : v).toString()
  return (v < 0n ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** An amount of wei for people: '15,192,000 wei (0.015192 gwei)'; `unit` for an ERC-20. */
export function formatWei (wei: bigint, unit = 'ETH'): string {
  const h = humanWei(wei, unit)
  return h.endsWith(' wei') ? h : `${groupDigits(wei)} wei (${h})`
}

/** An amount in the unit that reads best: ETH from 0.001 ETH, gwei from 0.001 gwei, else wei. */
export function humanWei (wei: bigint, unit = 'ETH'): string {
  const a = wei < 0n ? -wei : wei
  if (a >= 10n ** 15n) return `${ether(wei)} ${unit}`
  if (a >= 10n ** 6n) return `${decimal(wei, 9)} g${unit === 'ETH' ? 'wei' : unit}`
  return `${groupDigits(wei)} wei`
}

function decimal (v: bigint, places: number): string {
  const neg = v < 0n
  const a = neg ? -v : v
  const d = 10n ** BigInt(places)
  const frac = (a % d).toString().padStart(places, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${groupDigits(a / d)}${frac !== '' ? `.${frac}` : ''}`
}

/** wei as a decimal of 10^18, trailing zeros dropped: 1500000000000000 → '0.0015'. */
export function ether (wei: bigint): string {
  const neg = wei < 0n
  const a = neg ? -wei : wei
  const whole = a / 10n ** 18n
  const frac = (a % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${whole}${frac !== '' ? `.${frac}` : ''}`
}

/**
 * 'ask (1000×100 + 100×64 + 1000000×0 + 0×0) × 60 = 6,384,000 wei; price 6,384,000 + ⌊(10,000,000 − 6,384,000) / 2⌋ = 8,192,000 wei'
 * (only the ask when it is above maxPrice: there is no deal price then).
 */
export function priceFormula (job: FitJob, o: ResourceOffer): string {
  const ask = jobPrice(job, o)
  const a = `ask (${o.priceCpu}×${job.cpu} + ${o.priceRam}×${job.ram} + ${o.priceGpu}×${job.gpus} + ${o.priceDisk}×${job.disk}) × ${job.timeout} = ${groupDigits(ask)} wei`
  if (ask > job.maxPrice) return a
  return `${a}; price ${groupDigits(ask)} + ⌊(${groupDigits(job.maxPrice)} − ${groupDigits(ask)}) / 2⌋ = ${groupDigits(dealPrice(job, o))} wei`
}

function short (h: string): string {
  return `${h.slice(0, 10)}…`
}

/** Why `o` cannot take `job` (empty: it can), in FIT_CONSTRAINTS order. */
export function whyNot (job: FitJob, o: ResourceOffer): FitReason[] {
  const out: FitReason[] = []
  if (o.modules.length > 0 && !o.modules.includes(job.module)) out.push({ constraint: 'module', message: `accepts only ${o.modules.length} module${o.modules.length > 1 ? 's' : ''} (${o.modules.map(short).join(', ')}), not ${short(job.module)}` })
  if (job.gpus > o.gpus) out.push({ constraint: 'gpu', message: `the job asks for ${job.gpus} GPU${job.gpus > 1 ? 's' : ''}, the offer has ${o.gpus}` })
  else if (job.gpus > 0 && o.gpuVram < job.gpuVram) out.push({ constraint: 'gpu', message: `the job asks for ${job.gpuVram} MiB per GPU, the offer's ${o.gpuModel !== '' ? `${o.gpuModel} ` : ''}GPUs have ${o.gpuVram} MiB` })
  const short3: string[] = []
  if (job.cpu > o.cpu) short3.push(`${job.cpu} millicores asked, ${o.cpu} offered`)
  if (job.ram > o.ram) short3.push(`${job.ram} MiB of memory asked, ${o.ram} offered`)
  if (job.disk > o.disk) short3.push(`${job.disk} MiB of disk asked, ${o.disk} offered`)
  if (short3.length > 0) out.push({ constraint: 'resources', message: short3.join('; ') })
  const ask = jobPrice(job, o)
  if (ask > job.maxPrice) out.push({ constraint: 'price', message: `asks ${groupDigits(ask)} wei, above the max price of ${groupDigits(job.maxPrice)} wei` })
  if (o.collateral < job.collateral) out.push({ constraint: 'collateral', message: `puts up ${groupDigits(o.collateral)} wei of collateral, the job asks for ${groupDigits(job.collateral)} wei` })
  if (job.creator !== undefined && o.provider.toLowerCase() === job.creator.toLowerCase()) out.push({ constraint: 'self', message: 'is the creator\'s own offer' })
  return out
}

const LABELS: Record<FitConstraint, string> = {
  module: 'does not accept the module',
  gpu: 'lacks the GPUs or GPU memory asked for',
  resources: 'lacks the CPU, memory or disk asked for',
  price: 'asks more than --max-price',
  collateral: 'puts up less than --collateral',
  self: 'is the creator\'s own'
}

/**
 * The live offers (effective at `epoch`, latest version per slot; malformed ones skipped)
 * that fit `job`, cheapest first, and why each other one does not.
 */
export function fitOffers (job: FitJob, offers: Array<OfferRecord<ResourceOffer>>, epoch: bigint): FitResult {
  // the matcher refuses such a job offer (offers.ts jobOfferOk): an estimate must not promise it a deal at price 0
  if (!Number.isSafeInteger(job.timeout) || job.timeout < 1) {
    throw new MatchingError('MATCHING_BAD_JOB', `job timeout must be a whole number of seconds ≥ 1, got ${String(job.timeout)}: the matcher refuses a job offer with timeout 0 (it would ask 0 of every offer); give --timeout 1 or more`)
  }
  const live = effectiveResources(offers, epoch)
  const fits: OfferFit[] = []
  const misfits: OfferFit[] = []
  for (const r of live) {
    const o = r.offer
    const f: OfferFit = { id: r.id, provider: o.provider, version: o.version, ask: jobPrice(job, o), price: dealPrice(job, o), formula: priceFormula(job, o), offer: o, reasons: whyNot(job, o) }
    ;(f.reasons.length === 0 ? fits : misfits).push(f)
  }
  fits.sort((a, b) => a.ask < b.ask ? -1 : a.ask > b.ask ? 1 : a.id < b.id ? -1 : 1)
  misfits.sort((a, b) => a.id < b.id ? -1 : 1)
  return { epoch, considered: live.length, fits, misfits, verdict: fits.length > 0 ? null : verdictOf(misfits) }
}

/** One sentence: why no live offer fits, naming the constraint(s) and the closest offers. */
function verdictOf (misfits: OfferFit[]): string {
  if (misfits.length === 0) return 'no live resource offer on the network: no provider is up (or none has published an offer yet)'
  // the constraint that rules out the most offers first
  const counts = new Map<FitConstraint, number>()
  for (const m of misfits) for (const r of m.reasons) counts.set(r.constraint, (counts.get(r.constraint) ?? 0) + 1)
  const ranked = FIT_CONSTRAINTS.filter((c) => counts.has(c)).sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0))
  const parts = ranked.map((c) => `${c}: ${counts.get(c) ?? 0} of ${misfits.length} ${LABELS[c]}`)
  const onlyPrice = misfits.filter((m) => m.reasons.every((r) => r.constraint === 'price'))
  let hint = ''
  if (onlyPrice.length > 0) {
    const cheapest = onlyPrice.reduce((a, b) => b.ask < a.ask ? b : a)
    hint = `; the cheapest offer that fits otherwise asks ${groupDigits(cheapest.ask)} wei: give --max-price ${cheapest.ask} or more`
  }
  const first = misfits[0].reasons[0]
  return `no live offer fits the job: ${parts.join('; ')}${hint} (e.g. the offer of ${misfits[0].provider}: ${first.constraint}: ${first.message})`
}

/** One offer's fit as plain JSON (wei as decimal strings). */
export function offerFitJson (f: OfferFit): Record<string, unknown> {
  const o = f.offer
  return {
    id: f.id,
    provider: f.provider,
    version: f.version,
    ask: f.ask.toString(),
    price: f.price.toString(),
    formula: f.formula,
    cpu: o.cpu,
    ram: o.ram,
    gpus: o.gpus,
    gpuVram: o.gpuVram,
    gpuModel: o.gpuModel,
    disk: o.disk,
    collateral: o.collateral.toString(),
    prices: { cpu: o.priceCpu.toString(), ram: o.priceRam.toString(), gpu: o.priceGpu.toString(), disk: o.priceDisk.toString() },
    reasons: f.reasons
  }
}

/** A FitResult as plain JSON. */
export function fitResultJson (r: FitResult): Record<string, unknown> {
  return { epoch: r.epoch.toString(), considered: r.considered, fits: r.fits.map(offerFitJson), misfits: r.misfits.map(offerFitJson), verdict: r.verdict }
}

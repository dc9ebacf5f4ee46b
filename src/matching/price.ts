import type { JobOffer, ResourceOffer } from '../protocol/index.js'

/** The fields of a job its price reads (a JobOffer has them, and so does an estimate's job). */
export type PricedJob = Pick<JobOffer, 'cpu' | 'ram' | 'gpus' | 'disk' | 'timeout'>
/** The fields of an offer a price reads. */
export type PricedOffer = Pick<ResourceOffer, 'priceCpu' | 'priceRam' | 'priceGpu' | 'priceDisk'>

/** The provider's price for a job: (priceCpu·cpu + priceRam·ram + priceGpu·gpus + priceDisk·disk) · timeout, in wei. */
export function jobPrice (job: PricedJob, offer: PricedOffer): bigint {
  return (offer.priceCpu * BigInt(job.cpu) + offer.priceRam * BigInt(job.ram) + offer.priceGpu * BigInt(job.gpus) + offer.priceDisk * BigInt(job.disk)) * BigInt(job.timeout)
}

/**
 * The price a deal carries (a k-double auction with k = ½, see README): the midpoint of the
 * provider's ask (`jobPrice`) and the creator's bid (maxPrice), rounded down, so a higher bid,
 * which is served earlier, also pays more. Both sides gain: price ∈ [ask, maxPrice].
 */
export function dealPrice (job: PricedJob & Pick<JobOffer, 'maxPrice'>, offer: PricedOffer): bigint {
  return midpoint(jobPrice(job, offer), job.maxPrice)
}

/** ask + ⌊(bid − ask) / 2⌋ (the ask itself when the bid is below it). */
export function midpoint (ask: bigint, bid: bigint): bigint {
  return bid > ask ? ask + (bid - ask) / 2n : ask
}

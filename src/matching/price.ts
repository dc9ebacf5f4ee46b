import type { JobOffer, ResourceOffer } from '../protocol/types.js'
/** The provider's price for a job: (priceCpu·cpu + priceRam·ram + priceGpu·gpus + priceDisk·disk) · timeout, in wei. */
export function jobPrice (job: JobOffer, offer: ResourceOffer): bigint {
  return (offer.priceCpu * BigInt(job.cpu) + offer.priceRam * BigInt(job.ram) + offer.priceGpu * BigInt(job.gpus) + offer.priceDisk * BigInt(job.disk)) * BigInt(job.timeout)
}

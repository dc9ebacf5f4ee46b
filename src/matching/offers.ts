import type { Hash, JobOffer, ResourceOffer } from '../protocol/types.js'
import type { EpochInput, OfferRecord } from './types.js'
import { MatchingError } from './types.js'
/** Work in progress: signatures final. */
export function offerSetDigest (input: EpochInput, epoch: bigint): Hash { void input; void epoch; throw new MatchingError('MATCHING_BAD_STATE', 'not implemented yet') }
export function effectiveJobs (jobs: Array<OfferRecord<JobOffer>>, epoch: bigint): Array<OfferRecord<JobOffer>> { void jobs; void epoch; throw new MatchingError('MATCHING_BAD_STATE', 'not implemented yet') }
export function effectiveResources (resources: Array<OfferRecord<ResourceOffer>>, epoch: bigint): Array<OfferRecord<ResourceOffer>> { void resources; void epoch; throw new MatchingError('MATCHING_BAD_STATE', 'not implemented yet') }

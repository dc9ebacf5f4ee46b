/** The deterministic matcher (DESIGN §4): a pure `step` every node runs on the same inputs. */
export * from './types.js'
export { initialState, encodeState, decodeState, stateRoot, MAX_SNAPSHOT_BYTES } from './state.js'
export { step, MAX_RESERVE_EPOCHS } from './step.js'
export { offerSetDigest, effectiveJobs, effectiveResources, slotKey } from './offers.js'
export { jobPrice, dealPrice, type PricedJob, type PricedOffer } from './price.js'
export { fitOffers, fitResultJson, offerFitJson, whyNot, priceFormula, formatWei, humanWei, ether, groupDigits, PRICE_FORMULA, FIT_CONSTRAINTS, type FitJob, type FitResult, type OfferFit, type FitReason, type FitConstraint } from './fit.js'

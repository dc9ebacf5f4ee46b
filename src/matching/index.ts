/** The deterministic matcher (DESIGN §4): a pure `step` every node runs on the same inputs. */
export * from './types.js'
export { initialState, encodeState, decodeState, stateRoot } from './state.js'
export { step } from './step.js'
export { offerSetDigest, effectiveJobs, effectiveResources } from './offers.js'
export { jobPrice } from './price.js'

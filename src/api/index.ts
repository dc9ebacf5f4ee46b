/** The node's local HTTP API (issue 7): startApi and the pieces its tests and the CLI use. */
export { startApi, parseListen, openApiDocument, DEFAULT_API_LISTEN, API_VERSION, type ApiOptions, type ApiServer } from './server.js'
export { authorize, isLoopback, tokensEqual, checkBindToken, checkHost, checkOrigin, normalizeOrigin, MIN_TOKEN_LENGTH, type AuthDecision, type OriginDecision } from './auth.js'
export { ApiError, validate, type ApiErrorCode } from './schema.js'
export { ROUTES, DEFAULT_MAX_PRICE, DEFAULT_COLLATERAL, DEFAULT_TIMEOUT_S, type Route } from './routes.js'
export { createNodeMetrics, EpochWatch, type NodeMetrics } from './metrics.js'
export { GasLedger, meteredEscrow } from '../node/index.js'
export { JOB_STATES, type ApiJob, type JobState, type JobResult } from './jobs.js'

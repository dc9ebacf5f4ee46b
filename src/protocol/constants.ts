/**
 * Constants more than one layer uses: job defaults shared by `lilynode run`, `lilynode request`,
 * the SDK and the HTTP API, and the bounds every layer checks the same way. Defined once here.
 */

/** Default most a job may cost, in wei. */
export const DEFAULT_MAX_PRICE = 10n ** 15n
/** Default collateral a provider must put up for a job, in wei. */
export const DEFAULT_COLLATERAL = 10n ** 14n
/** Default seconds a provider has to deliver a job. */
export const DEFAULT_TIMEOUT_S = 60
/** Longest job timeout anything accepts (7 days), in seconds. */
export const MAX_TIMEOUT_S = 7 * 24 * 3600
/** Default fee a challenger pays the mediator, in wei. */
export const DEFAULT_MEDIATION_FEE = 10n ** 15n
/** Largest uint256. */
export const MAX_UINT256 = (1n << 256n) - 1n
/** The largest amount of wei an offer or a deal can carry (uint96 on the wire and in the escrow). */
export const MAX_AMOUNT = (1n << 96n) - 1n
/** Largest disk figure an offer or a module may carry (MiB). */
export const MAX_DISK_MIB = 16_777_216

/** What a node answers on the query protocol (`lilynode query <kind>`). */
export const QUERY_KINDS = ['offers', 'jobs', 'deals', 'peers', 'epoch'] as const
export type QueryKind = typeof QUERY_KINDS[number]
/** Most items in one query answer page. */
export const MAX_QUERY_LIMIT = 100

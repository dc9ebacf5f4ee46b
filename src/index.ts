/**
 * The `lilynode` package: `import { LilyClient } from 'lilynode'`.
 *
 * LilyClient runs jobs on a lilynode network from a program (typed progress events and a
 * final result), queries nodes, and moves escrow funds; the `lilynode` CLI is built on it.
 */
export * from './sdk/index.js'
export { QUERY_KINDS, MAX_QUERY_LIMIT, type QueryKind, type QueryPage } from './p2p/index.js'
export { loadProfile, parseProfile, type Profile } from './protocol/profile.js'
export type { ModuleSpec, JobInputs, InputValue } from './protocol/module.js'
export type { Address, Hash, Resources } from './protocol/types.js'
export type { DealRecord, DealState } from './node/roles/deals.js'
export type { MediatorInfo } from './chain/registerMediator.js'
export { ChainError } from './chain/errors.js'

import type { Hash } from '../protocol/types.js'
import type { MatcherState } from './types.js'
import { MatchingError } from './types.js'

export function initialState (): MatcherState {
  return { epoch: null, reserved: [], open: [], spent: [] }
}
/** Work in progress: signatures final. */
export function encodeState (s: MatcherState): Uint8Array { void s; throw new MatchingError('MATCHING_BAD_STATE', 'not implemented yet') }
export function decodeState (b: Uint8Array): MatcherState { void b; throw new MatchingError('MATCHING_BAD_SNAPSHOT', 'not implemented yet') }
export function stateRoot (s: MatcherState): Hash { void s; throw new MatchingError('MATCHING_BAD_STATE', 'not implemented yet') }

import type { ChainFacts, EpochInput, MatcherConfig, MatcherState, StepResult } from './types.js'
import { MatchingError } from './types.js'

/** Work in progress: the signature is final, the body lands in the next commit. */
export function step (prev: MatcherState, input: EpochInput, facts: ChainFacts, epoch: bigint, config: MatcherConfig): StepResult {
  void prev; void input; void facts; void epoch; void config
  throw new MatchingError('MATCHING_BAD_STATE', 'step is not implemented yet')
}

/** Multi-epoch scenarios: offers arrive over time, some matches get opened on-chain, some deals close. */
import fc from 'fast-check'
import type { Hash } from '../../src/protocol/types.js'
import type { ChainFacts, EpochInput, Match, MatcherConfig, MatcherState, StepResult } from '../../src/matching/index.js'
import { initialState, step } from '../../src/matching/index.js'
import { CONFIG, hasher, inputArb } from './fixtures.js'

export interface EpochPlan {
  /** Offers that arrive before this epoch is stepped. */
  add: EpochInput
  /** How far this epoch is after the previous one (nodes may skip epochs). */
  gap: bigint
  /** Which of the previous state's reservations are opened on-chain (by position). */
  open: boolean[]
  /** Which of the previous state's open deals are closed (by position). */
  close: boolean[]
}

export const planArb = (withFacts: boolean): fc.Arbitrary<EpochPlan> => fc.record({
  add: inputArb,
  gap: fc.bigInt({ min: 1n, max: 2n }),
  open: withFacts ? fc.array(fc.boolean(), { maxLength: 12 }) : fc.constant([]),
  close: withFacts ? fc.array(fc.boolean(), { maxLength: 12 }) : fc.constant([])
})

export const scenarioArb = (withFacts: boolean): fc.Arbitrary<EpochPlan[]> => fc.array(planArb(withFacts), { minLength: 1, maxLength: 5 })

export interface StepRecord {
  prev: MatcherState
  input: EpochInput
  facts: ChainFacts
  epoch: bigint
  result: StepResult
}

export function dealId (m: Match): Hash {
  return hasher.digest('Deal', m.deal)
}

/**
 * Steps through a scenario from the initial state (epochs counted from 0), feeding back chain
 * facts derived from the plan. `swap` may replace the state before each step (a late joiner
 * that loads a snapshot).
 */
export function runScenario (plans: EpochPlan[], config: MatcherConfig = CONFIG, swap?: (t: number, s: MatcherState) => MatcherState): StepRecord[] {
  const out: StepRecord[] = []
  const jobs: EpochInput['jobs'] = []
  const resources: EpochInput['resources'] = []
  const matches = new Map<Hash, Match>()
  let state = initialState()
  let epoch = 0n
  for (let t = 0; t < plans.length; t++) {
    const p = plans[t]
    jobs.push(...p.add.jobs); resources.push(...p.add.resources)
    epoch += p.gap
    if (swap !== undefined) state = swap(t, state)
    const facts: ChainFacts = {
      opened: state.reserved.filter((_, i) => p.open[i] === true).flatMap((r) => {
        const m = matches.get(r.jobId)
        return m === undefined ? [] : [{ dealId: dealId(m), jobOfferHash: m.jobId, resourceOfferHash: m.resourceId }]
      }),
      closed: state.open.filter((_, i) => p.close[i] === true).map((d) => d.dealId)
    }
    const input: EpochInput = { jobs: [...jobs], resources: [...resources] }
    const result = step(state, input, facts, epoch, config)
    for (const m of result.matches) matches.set(m.jobId, m)
    out.push({ prev: state, input, facts, epoch, result })
    state = result.state
  }
  return out
}

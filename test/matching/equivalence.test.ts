/**
 * Equivalence of the matcher across changes to its indexing (issue 16): the digest of every
 * step's matches (job, offer, price, in order) and its state root, over the bench's
 * heterogeneous and adversarial families at small sizes (several seeds, and a next epoch of
 * other jobs on the same offers less the first one's reservations), the bench's generated markets, and fixed-seed
 * samples of the property tests' generators, must equal what the engine produced when
 * `equivalence.fixture.json` was recorded (commit 2b87637, before the walk's index changed).
 * The naive reference in fixtures.ts stays the spec for small markets; this pins the engine's
 * own output, walk bounds included, on markets too large for the reference.
 *
 * Re-record (only for an intended change of the matching rule): `EQUIV_RECORD=1 npx mocha
 * dist/test/matching/equivalence.test.js` writes the fixture next to this file's source.
 */
import { strict as assert } from 'node:assert'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import type { EpochInput, StepResult } from '../../src/matching/index.js'
import { initialState, step } from '../../src/matching/index.js'
import { CONFIG as BENCH_CONFIG, EPOCH, generate, generateHet } from '../../scripts/bench/matchMarkets.js'
import type { Family } from '../../scripts/bench/matchMarkets.js'
import { CONFIG, collateralHeavyInputArb, inputArb, wideInputArb } from './fixtures.js'

const FIXTURE = fileURLToPath(new URL('../../../test/matching/equivalence.fixture.json', import.meta.url))
const RECORD = process.env.EQUIV_RECORD === '1'

function digest (r: StepResult): string {
  const h = createHash('sha256')
  for (const m of r.matches) h.update(`${m.jobId},${m.resourceId},${m.deal.price};`)
  return `${r.matches.length}:${h.digest('hex').slice(0, 32)}:${r.stateRoot}`
}

/** name → digest of each case, in a fixed order */
function cases (): Array<[string, () => string]> {
  const out: Array<[string, () => string]> = []
  const families: Family[] = ['het', 'advShapes', 'advCollateral', 'advJunk']
  for (const family of families) {
    for (const [n, seed] of [[300, 1], [300, 2], [1000, 3], [1000, 4], [2500, 5], [4000, 6]]) {
      out.push([`${family} ${n} seed ${seed}`, () => {
        const m = generateHet(n, seed, family)
        const first = step(initialState(), m, { opened: [], closed: [] }, EPOCH, BENCH_CONFIG)
        // the next epoch: the same offers, less the capacity this epoch reserved, and other jobs
        const fresh = generateHet(n, seed + 100, family).jobs
        const next = step(first.state, { jobs: fresh, resources: m.resources }, { opened: [], closed: [] }, EPOCH + 1n, BENCH_CONFIG)
        return digest(first) + ' ' + digest(next)
      }])
    }
  }
  // large enough that fit lists are extended through their parents and the tree in turn
  for (const [family, n, seed] of [['het', 20000, 7], ['advCollateral', 20000, 8]] as Array<[Family, number, number]>) {
    out.push([`${family} ${n} seed ${seed}`, () => digest(step(initialState(), generateHet(n, seed, family), { opened: [], closed: [] }, EPOCH, BENCH_CONFIG))])
  }
  for (const [n, seed] of [[500, 11], [2000, 12]]) {
    out.push([`generated ${n} seed ${seed}`, () => {
      const m = generate(n, n, seed)
      const first = step(initialState(), m, { opened: [], closed: [] }, EPOCH, BENCH_CONFIG)
      const fresh = generate(n, n, seed + 100).jobs
      return digest(first) + ' ' + digest(step(first.state, { jobs: fresh, resources: m.resources }, { opened: [], closed: [] }, EPOCH + 1n, BENCH_CONFIG))
    }])
  }
  const arbs: Array<[string, fc.Arbitrary<EpochInput>, number]> = [['wideInputArb', wideInputArb, 300], ['collateralHeavyInputArb', collateralHeavyInputArb, 300], ['inputArb', inputArb, 300]]
  for (const [name, arb, count] of arbs) {
    for (const seed of [1, 2]) {
      out.push([`${name} × ${count} seed ${seed}`, () => {
        const h = createHash('sha256')
        for (const input of fc.sample(arb, { seed, numRuns: count })) h.update(digest(step(initialState(), input, { opened: [], closed: [] }, 1n, CONFIG)) + '\n')
        return h.digest('hex')
      }])
    }
  }
  return out
}

describe('matching: the engine reproduces its recorded results (equivalence fixture)', function () {
  this.timeout(300_000)
  const all = cases()
  if (RECORD) {
    it('records the fixture', () => {
      const rec: Record<string, string> = {}
      for (const [name, run] of all) rec[name] = run()
      writeFileSync(FIXTURE, JSON.stringify(rec, null, 1) + '\n')
    })
    return
  }
  const want = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, string>
  it('covers every recorded case', () => assert.deepEqual(all.map(([n]) => n), Object.keys(want)))
  for (const [name, run] of all) {
    it(name, () => assert.equal(run(), want[name]))
  }
})

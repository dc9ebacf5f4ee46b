import { strict as assert } from 'node:assert'
import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import type { Hash } from '../../src/protocol/types.js'
import type { EpochInput, MatcherState } from '../../src/matching/index.js'
import { decodeState, encodeState, initialState, jobPrice, stateRoot, step } from '../../src/matching/index.js'
import { effectiveResources, slotKey } from '../../src/matching/offers.js'
import { CONFIG, collateralHeavyInputArb, image, inputArb, permute, referenceMatches, wideInputArb } from './fixtures.js'
import { runScenario, scenarioArb } from './scenario.js'

const RUNS = { numRuns: 1000 }

describe('matching: step properties (fast-check, 1000 cases each)', function () {
  this.timeout(120_000)

  it('matches exactly what the naive reference rule matches, from any reachable state', () => {
    fc.assert(fc.property(scenarioArb(false), (plans) => {
      for (const rec of runScenario(plans)) {
        const ref = referenceMatches(rec.prev, rec.input, rec.epoch, CONFIG)
        const got = rec.result.matches.map((m) => ({ jobId: m.jobId, resourceId: m.resourceId, price: m.deal.price }))
        assert.deepEqual(got, ref)
      }
    }), RUNS)
  })

  it('matches what the reference matches in wide markets, where the walk bounds (8 candidates, 64 visits) decide', () => {
    fc.assert(fc.property(wideInputArb, (input) => {
      const got = step(initialState(), input, { opened: [], closed: [] }, 1n, CONFIG).matches
      assert.deepEqual(got.map((m) => ({ jobId: m.jobId, resourceId: m.resourceId, price: m.deal.price })), referenceMatches(initialState(), input, 1n, CONFIG))
    }), { numRuns: 300 })
  })

  it('matches what the reference matches with a seed block mixed into the seed', () => {
    fc.assert(fc.property(wideInputArb, fc.uint8Array({ minLength: 32, maxLength: 32 }), (input, b) => {
      const seedBlock = ('0x' + Buffer.from(b).toString('hex')) as Hash
      const got = step(initialState(), input, { opened: [], closed: [], seedBlock }, 1n, CONFIG).matches
      assert.deepEqual(got.map((m) => ({ jobId: m.jobId, resourceId: m.resourceId, price: m.deal.price })), referenceMatches(initialState(), input, 1n, CONFIG, seedBlock))
    }), { numRuns: 200 })
  })

  it('matches what the reference matches in collateral-heavy markets (cheap offers without collateral)', () => {
    fc.assert(fc.property(collateralHeavyInputArb, (input) => {
      const got = step(initialState(), input, { opened: [], closed: [] }, 1n, CONFIG).matches
      assert.deepEqual(got.map((m) => ({ jobId: m.jobId, resourceId: m.resourceId, price: m.deal.price })), referenceMatches(initialState(), input, 1n, CONFIG))
    }), RUNS)
  })

  it('permuting and duplicating any input list gives byte-identical matches and root', () => {
    fc.assert(fc.property(scenarioArb(true), fc.array(fc.integer(), { minLength: 1, maxLength: 40 }), (plans, keys) => {
      const a = runScenario(plans)
      // same scenario, but every list the matcher sees is shuffled and partly repeated
      const b = a.map((rec) => {
        const input: EpochInput = {
          jobs: permute([...rec.input.jobs, ...rec.input.jobs.slice(0, 3)], keys),
          resources: permute([...rec.input.resources, ...rec.input.resources.slice(0, 2)], keys.slice().reverse())
        }
        const facts = { opened: permute([...rec.facts.opened, ...rec.facts.opened.slice(0, 1)], keys), closed: permute(rec.facts.closed, keys) }
        return step(rec.prev, input, facts, rec.epoch, CONFIG)
      })
      for (let i = 0; i < a.length; i++) {
        assert.equal(image(b[i].matches), image(a[i].result.matches))
        assert.equal(b[i].stateRoot, a[i].result.stateRoot)
        assert.deepEqual(encodeState(b[i].state), encodeState(a[i].result.state))
      }
    }), RUNS)
  })

  it('never over-allocates a provider offer, counting reservations and open deals across epochs', () => {
    fc.assert(fc.property(scenarioArb(true), (plans) => {
      for (const rec of runScenario(plans)) {
        const s = rec.result.state
        const held = new Map<string, number[]>()
        const add = (key: string, d: number[]): void => {
          const h = held.get(key) ?? [0, 0, 0, 0]
          held.set(key, h.map((x, i) => x + d[i]))
        }
        for (const r of s.reserved) add(slotKey(r.hold.provider, r.hold.nonce), [r.hold.cpu, r.hold.ram, r.hold.gpus, r.hold.disk])
        for (const d of s.open) if (d.hold !== null) add(slotKey(d.hold.provider, d.hold.nonce), [d.hold.cpu, d.hold.ram, d.hold.gpus, d.hold.disk])
        const effective = new Map(effectiveResources(rec.input.resources, rec.epoch).map((r) => [slotKey(r.offer.provider, r.offer.nonce), r.offer]))
        const newUse = new Map<string, number[]>()
        for (const m of rec.result.matches) {
          const job = rec.input.jobs.find((j) => j.id === m.jobId)?.offer
          const res = rec.input.resources.find((r) => r.id === m.resourceId)?.offer
          assert.ok(job !== undefined && res !== undefined)
          const key = slotKey(res.provider, res.nonce)
          assert.equal(effective.get(key), res, 'matched offer is the effective version of its slot')
          const u = newUse.get(key) ?? [0, 0, 0, 0]
          newUse.set(key, [u[0] + job.cpu, u[1] + job.ram, u[2] + job.gpus, u[3] + job.disk])
        }
        for (const [key, use] of newUse) {
          const cap = effective.get(key)
          assert.ok(cap !== undefined)
          const h = held.get(key) ?? [0, 0, 0, 0]
          const caps = [cap.cpu, cap.ram, cap.gpus, cap.disk]
          // a dimension this epoch's matches did not use may already be over-held by an older, larger version
          for (let i = 0; i < 4; i++) if (use[i] > 0) assert.ok(h[i] <= caps[i], `slot ${key} dimension ${i}: held ${h[i]} > capacity ${caps[i]}`)
        }
      }
    }), RUNS)
  })

  it('every match satisfies price, vram, module, collateral and no-self-deal, with the exact deal fields', () => {
    fc.assert(fc.property(scenarioArb(true), (plans) => {
      for (const rec of runScenario(plans)) {
        for (const m of rec.result.matches) {
          const job = rec.input.jobs.find((j) => j.id === m.jobId)?.offer
          const res = rec.input.resources.find((r) => r.id === m.resourceId)?.offer
          assert.ok(job !== undefined && res !== undefined)
          const ask = jobPrice(job, res)
          assert.ok(ask <= job.maxPrice)
          const price = ask + (job.maxPrice - ask) / 2n // the midpoint of ask and bid, rounded down
          assert.equal(m.deal.price, price)
          assert.ok(ask <= price && price <= job.maxPrice)
          assert.ok(res.modules.length === 0 || res.modules.includes(job.module))
          assert.ok(res.collateral >= job.collateral)
          assert.notEqual(res.provider.toLowerCase(), job.creator.toLowerCase())
          assert.ok(job.gpus === 0 || res.gpuVram >= job.gpuVram)
          assert.ok(job.epoch <= rec.epoch && rec.epoch <= job.expiryEpoch)
          assert.deepEqual(m.deal, {
            jobOfferHash: m.jobId, resourceOfferHash: m.resourceId, creator: job.creator, provider: res.provider, price,
            collateral: res.collateral, timeout: job.timeout, matchEpoch: rec.epoch, openBy: CONFIG.openBy(rec.epoch)
          })
        }
      }
    }), RUNS)
  })

  it('matches a job at most once while reserved or open, and never again once opened', () => {
    fc.assert(fc.property(scenarioArb(true), (plans) => {
      const everOpened = new Set<Hash>()
      for (const rec of runScenario(plans)) {
        for (const f of rec.facts.opened) everOpened.add(f.jobOfferHash)
        const k = BigInt(CONFIG.reserveEpochs)
        const stillReserved = new Set(rec.prev.reserved.filter((r) => r.matchEpoch + k >= rec.epoch).map((r) => r.jobId))
        const open = new Set(rec.prev.open.map((d) => d.jobId))
        const seen = new Set<Hash>()
        for (const m of rec.result.matches) {
          assert.ok(!seen.has(m.jobId), 'one match per job per epoch'); seen.add(m.jobId)
          assert.ok(!everOpened.has(m.jobId), 'an opened job is never matched again')
          assert.ok(!open.has(m.jobId), 'a job with an open deal is not matched')
          // a reservation that is being opened right now is consumed, one not opened still holds
          assert.ok(!stillReserved.has(m.jobId), 'a reserved job is not matched again within k epochs')
        }
      }
    }), RUNS)
  })

  it('replaying the same epochs gives the same roots, also from a decoded snapshot (late joiner)', () => {
    fc.assert(fc.property(scenarioArb(true), fc.nat(), (plans, at) => {
      const a = runScenario(plans).map((r) => r.result.stateRoot)
      const b = runScenario(plans).map((r) => r.result.stateRoot)
      assert.deepEqual(b, a)
      const cut = at % plans.length
      const c = runScenario(plans, CONFIG, (t, s) => t === cut ? decodeState(encodeState(s)) : s).map((r) => r.result.stateRoot)
      assert.deepEqual(c, a)
    }), RUNS)
  })

  it('encodeState/decodeState round-trips every reachable state to the same data and root', () => {
    fc.assert(fc.property(scenarioArb(true), (plans) => {
      for (const rec of runScenario(plans)) {
        const s: MatcherState = rec.result.state
        const back = decodeState(encodeState(s))
        assert.deepEqual(back, s)
        assert.equal(stateRoot(back), rec.result.stateRoot)
      }
    }), RUNS)
  })

  it('different inputs give different roots whenever the state differs', () => {
    fc.assert(fc.property(inputArb, inputArb, (x, y) => {
      const a = step(initialState(), x, { opened: [], closed: [] }, 3n, CONFIG)
      const b = step(initialState(), y, { opened: [], closed: [] }, 3n, CONFIG)
      assert.equal(a.stateRoot === b.stateRoot, image(a.state) === image(b.state))
    }), RUNS)
  })
})

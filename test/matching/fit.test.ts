import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MatchingError, effectiveJobs, ether, fitOffers, formatWei, humanWei, groupDigits, initialState, dealPrice, jobPrice, step, type FitJob } from '../../src/matching/index.js'
import type { JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { CONFIG, jobArb, MODULES, NO_FACTS, resourceArb } from './fixtures.js'

const fitJobOf = (o: JobOffer): FitJob => ({ module: o.module, cpu: o.cpu, ram: o.ram, gpus: o.gpus, gpuVram: o.gpuVram, disk: o.disk, timeout: o.timeout, maxPrice: o.maxPrice, collateral: o.collateral, creator: o.creator })

const OFFER: ResourceOffer = {
  provider: '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', nonce: 1n, version: 1, gpuModel: '', modules: [],
  cpu: 4000, ram: 8192, gpus: 0, gpuVram: 0, disk: 10_000,
  priceCpu: 1000n, priceRam: 100n, priceGpu: 1_000_000n, priceDisk: 0n, collateral: 10n ** 15n, epoch: 0n, expiryEpoch: 100n
}
const JOB: FitJob = { module: MODULES[0], cpu: 250, ram: 32, gpus: 0, gpuVram: 0, disk: 0, timeout: 60, maxPrice: 10n ** 15n, collateral: 10n ** 14n }
const ID = (n: number): `0x${string}` => `0x${n.toString(16).padStart(64, '0')}`

describe('matching/fit: which live offers a job fits, and why not', () => {
  it('prices a fitting offer with the formula spelled out', () => {
    const r = fitOffers(JOB, [{ id: ID(1), offer: OFFER }], 5n)
    assert.equal(r.verdict, null)
    assert.equal(r.fits.length, 1)
    const ask = (1000n * 250n + 100n * 32n) * 60n
    assert.equal(r.fits[0].ask, ask)
    assert.equal(r.fits[0].price, ask + (JOB.maxPrice - ask) / 2n, 'the deal price: the midpoint of the ask and maxPrice')
    assert.equal(r.fits[0].formula, 'ask (1000×250 + 100×32 + 1000000×0 + 0×0) × 60 = 15,192,000 wei; price 15,192,000 + ⌊(1,000,000,000,000,000 − 15,192,000) / 2⌋ = 500,000,007,596,000 wei')
    // a bid equal to the ask: the deal pays the ask
    const exact = fitOffers({ ...JOB, maxPrice: ask }, [{ id: ID(1), offer: OFFER }], 5n)
    assert.equal(exact.fits[0].price, ask)
  })

  it('refuses to estimate a job with timeout 0, which the matcher would never match', () => {
    const offers = [{ id: ID(1), offer: OFFER }]
    assert.throws(() => fitOffers({ ...JOB, timeout: 0 }, offers, 5n), (e: unknown) => e instanceof MatchingError && e.code === 'MATCHING_BAD_JOB' && /timeout/.test(e.message))
    // and the matcher agrees: the same job offer is never matched
    const job: JobOffer = { creator: '0x1111111111111111111111111111111111111111', nonce: 0n, module: JOB.module, inputsHash: ID(9), cpu: JOB.cpu, ram: JOB.ram, gpus: 0, gpuVram: 0, disk: 0, maxPrice: JOB.maxPrice, timeout: 0, collateral: JOB.collateral, epoch: 0n, expiryEpoch: 100n }
    assert.equal(step(initialState(), { jobs: [{ id: ID(2), offer: job }], resources: offers }, NO_FACTS, 5n, CONFIG).matches.length, 0)
    assert.equal(fitOffers({ ...JOB, timeout: 1 }, offers, 5n).fits.length, 1)
  })

  it('names each constraint that rules an offer out, and the verdict names the most common', () => {
    const offers = [
      { id: ID(1), offer: { ...OFFER, modules: [MODULES[1]] } },
      { id: ID(2), offer: { ...OFFER, provider: '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' as const, cpu: 100, ram: 16 } },
      { id: ID(3), offer: { ...OFFER, provider: '0xcccccccccccccccccccccccccccccccccccccccc' as const, collateral: 1n } },
      { id: ID(4), offer: { ...OFFER, provider: '0xdddddddddddddddddddddddddddddddddddddddd' as const, priceCpu: 10n ** 12n } }
    ]
    const r = fitOffers(JOB, offers, 5n)
    assert.equal(r.fits.length, 0)
    assert.deepEqual(r.misfits.map((m) => m.reasons.map((x) => x.constraint)), [['module'], ['resources'], ['collateral'], ['price']])
    assert.match(r.misfits[1].reasons[0].message, /250 millicores asked, 100 offered; 32 MiB of memory asked, 16 offered/)
    assert.match(String(r.verdict), /^no live offer fits the job: module: 1 of 4 does not accept the module; resources: 1 of 4 lacks the CPU, memory or disk asked for; price: 1 of 4 asks more than --max-price; collateral: 1 of 4 puts up less than --collateral; /)
    assert.match(String(r.verdict), /give --max-price 15000000000192000 or more/)
    const gpu = fitOffers({ ...JOB, gpus: 1, gpuVram: 8000 }, [{ id: ID(1), offer: OFFER }, { id: ID(2), offer: { ...OFFER, nonce: 2n, gpus: 2, gpuVram: 4000, gpuModel: 'T4' } }], 5n)
    assert.deepEqual(gpu.misfits.map((m) => m.reasons[0].message), ['the job asks for 1 GPU, the offer has 0', 'the job asks for 8000 MiB per GPU, the offer\'s T4 GPUs have 4000 MiB'])
    assert.match(String(gpu.verdict), /gpu: 2 of 2 lacks the GPUs or GPU memory asked for/)
    const self = fitOffers({ ...JOB, creator: OFFER.provider }, [{ id: ID(1), offer: OFFER }], 5n)
    assert.equal(self.misfits[0].reasons[0].constraint, 'self')
    assert.match(String(fitOffers(JOB, [], 5n).verdict), /no live resource offer on the network/)
  })

  it('counts only live offers: expired ones and superseded versions are left out', () => {
    const r = fitOffers(JOB, [
      { id: ID(1), offer: { ...OFFER, expiryEpoch: 4n } },
      { id: ID(2), offer: { ...OFFER, nonce: 2n, version: 1, priceCpu: 1n } },
      { id: ID(3), offer: { ...OFFER, nonce: 2n, version: 2, priceCpu: 2n } },
      { id: ID(4), offer: { ...OFFER, nonce: 3n, epoch: 6n } }
    ], 5n)
    assert.equal(r.considered, 1)
    assert.equal(r.fits[0].id, ID(3))
  })

  it('agrees with the matcher: a lone job is matched iff an offer fits, at the deal price of the cheapest fitting ask', () => {
    fc.assert(fc.property(jobArb, fc.array(resourceArb, { maxLength: 8 }), (job, resources) => {
      const epoch = 3n
      const live = effectiveJobs([job], epoch)
      fc.pre(live.length === 1)
      const r = fitOffers(fitJobOf(job.offer), resources, epoch)
      const m = step(initialState(), { jobs: [job], resources }, NO_FACTS, epoch, CONFIG).matches
      assert.equal(m.length, r.fits.length > 0 ? 1 : 0, `fits ${r.fits.length}, matches ${m.length}`)
      if (m.length === 1) {
        assert.equal(m[0].deal.price, r.fits[0].price)
        const matched = resources.find((x) => x.id === m[0].resourceId)
        assert.ok(matched !== undefined)
        assert.equal(jobPrice(job.offer, matched.offer), r.fits[0].ask)
        assert.equal(dealPrice(job.offer, matched.offer), m[0].deal.price)
      }
    }), { numRuns: 400 })
  })

  it('formats wei for people', () => {
    assert.equal(groupDigits(15192000n), '15,192,000')
    assert.equal(ether(1_500_000_000_000_000n), '0.0015')
    assert.equal(ether(2n * 10n ** 18n), '2')
    assert.equal(formatWei(15192000n), '15,192,000 wei (0.015192 gwei)')
    assert.equal(humanWei(3_600_000_000n), '3.6 gwei')
    assert.equal(humanWei(2n * 10n ** 18n), '2 ETH')
    assert.equal(humanWei(999n), '999 wei')
    assert.equal(humanWei(1_234_567_000_000_000_000n), '1.234567 ETH')
  })
})

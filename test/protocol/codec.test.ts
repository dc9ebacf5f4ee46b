import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import {
  MAX_ANY_MESSAGE_BYTES, MAX_MESSAGE_BYTES, WIRE_KINDS, decodeMessage, encodeMessage, structFromJson, structToJson,
  validateMessage, type WireMessage
} from '../../src/protocol/codec.js'
import { recoverAddress, signDigest } from '../../src/protocol/crypto.js'
import { DomainHasher } from '../../src/protocol/eip712.js'
import { ProtocolError, type ProtocolErrorCode } from '../../src/protocol/errors.js'
import { bytesToHex, hexToBytes } from '../../src/protocol/hex.js'
import { createIdentity, type Identity } from '../../src/protocol/identity.js'
import {
  checkMessageEpoch, declaredSigner, messageDigest, signDeal, signHeartbeat, signJobOffer, signResourceOffer,
  signResultAcceptance, verifyMessage
} from '../../src/protocol/message.js'
import { LIMITS, canonicalModules, checkEpochWindow, validateJobOffer } from '../../src/protocol/validate.js'
import type { Address, Deal, Heartbeat, JobOffer, ResourceOffer, ResultAcceptance } from '../../src/protocol/types.js'
import {
  TEST_DOMAIN, dealArb, heartbeatArb, jobOfferArb, maxJobOffer, maxResourceOffer, partyArb, resourceOfferArb, resultAcceptanceArb
} from './arbitraries.js'

const hasher = new DomainHasher(TEST_DOMAIN)
const alice = createIdentity()
const bob = createIdentity()
const mallory = createIdentity()
const enc = new TextEncoder()
const dec = new TextDecoder()

function expectCode (fn: () => unknown, code: ProtocolErrorCode, action: 'reject' | 'ignore' = 'reject'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError ${code}, got ${String(e)}`)
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`)
    assert.equal(e.action, action)
    return true
  })
}

const h = (b: string): `0x${string}` => `0x${b.repeat(32)}`

function job (over: Partial<JobOffer> = {}): JobOffer {
  return {
    creator: alice.address,
    nonce: 1n,
    module: h('11'),
    inputsHash: h('22'),
    cpu: 1000,
    ram: 512,
    gpus: 1,
    gpuVram: 8192,
    disk: 100,
    maxPrice: 10n ** 18n,
    timeout: 60,
    collateral: 0n,
    epoch: 10n,
    expiryEpoch: 20n,
    ...over
  }
}

function resource (over: Partial<ResourceOffer> = {}): ResourceOffer {
  return {
    provider: bob.address,
    nonce: 2n,
    version: 1,
    cpu: 8000,
    ram: 32_768,
    gpus: 2,
    gpuVram: 24_576,
    disk: 100_000,
    gpuModel: 'NVIDIA GeForce RTX 4090',
    priceCpu: 1n,
    priceRam: 2n,
    priceGpu: 3n,
    priceDisk: 4n,
    modules: canonicalModules([h('33'), h('11')]),
    collateral: 5n,
    epoch: 10n,
    expiryEpoch: 30n,
    ...over
  }
}

function deal (over: Partial<Deal> = {}): Deal {
  return {
    jobOfferHash: h('aa'),
    resourceOfferHash: h('bb'),
    creator: alice.address,
    provider: bob.address,
    price: 1000n,
    collateral: 5n,
    timeout: 60,
    matchEpoch: 12n,
    openBy: 1_900_000_000n,
    ...over
  }
}

const heartbeat = (over: Partial<Heartbeat> = {}): Heartbeat => ({ node: alice.address, epoch: 12n, offerDigest: h('cc'), stateRoot: h('dd'), ...over })
const acceptance = (over: Partial<ResultAcceptance> = {}): ResultAcceptance => ({ dealId: h('ee'), resultHash: h('ff'), ...over })

/** One signed message of every kind. */
function samples (): WireMessage[] {
  return [
    signJobOffer(hasher, alice.privateKey, job()),
    signResourceOffer(hasher, bob.privateKey, resource()),
    signDeal(hasher, alice.privateKey, deal(), 'creator'),
    signDeal(hasher, bob.privateKey, deal(), 'provider'),
    signResultAcceptance(hasher, alice.privateKey, acceptance()),
    signHeartbeat(hasher, alice.privateKey, heartbeat())
  ]
}

/** Decode + verify, as a gossip validator does (a result acceptance must be the creator's: alice's). */
function receive (bytes: Uint8Array): { id: string, signer: Address } {
  const m = decodeMessage(bytes)
  return verifyMessage(hasher, m, m.kind === 'result' ? alice.address : undefined)
}

describe('protocol/codec: round trips', () => {
  it('encodes, decodes and verifies one message of each kind', () => {
    for (const m of samples()) {
      const bytes = encodeMessage(m)
      assert.ok(bytes.length <= MAX_MESSAGE_BYTES[m.kind])
      const back = decodeMessage(bytes, m.kind)
      assert.deepEqual(back, m)
      const { id, signer } = verifyMessage(hasher, back, m.kind === 'result' ? alice.address : undefined)
      assert.equal(id, bytesToHex(messageDigest(hasher, m)))
      assert.equal(signer, declaredSigner(m) ?? alice.address)
      // one encoding per message
      assert.deepEqual(encodeMessage(back), bytes)
    }
  })

  const ids: Identity[] = [alice, bob, mallory]
  const signerArb = fc.constantFrom(...ids)
  const messageArb: fc.Arbitrary<WireMessage> = fc.oneof(
    signerArb.chain((id) => jobOfferArb(id.address).map((o) => signJobOffer(hasher, id.privateKey, o))),
    signerArb.chain((id) => resourceOfferArb(id.address).map((o) => signResourceOffer(hasher, id.privateKey, o))),
    fc.tuple(signerArb, signerArb, partyArb).filter(([a, b]) => a !== b).chain(([c, p, party]) =>
      dealArb(c.address, p.address).map((d) => signDeal(hasher, (party === 'creator' ? c : p).privateKey, d, party))),
    signerArb.chain((id) => resultAcceptanceArb.map((r) => signResultAcceptance(hasher, id.privateKey, r))),
    signerArb.chain((id) => heartbeatArb(id.address).map((hb) => signHeartbeat(hasher, id.privateKey, hb)))
  )

  it('round-trips random valid messages of every kind (fast-check)', () => {
    fc.assert(fc.property(messageArb, (m) => {
      const bytes = encodeMessage(m)
      assert.ok(bytes.length <= MAX_MESSAGE_BYTES[m.kind], `${m.kind} is ${bytes.length} bytes`)
      const back = decodeMessage(bytes, m.kind)
      assert.deepEqual(back, m)
      assert.deepEqual(encodeMessage(back), bytes)
      const v = verifyMessage(hasher, back)
      assert.equal(v.id, bytesToHex(messageDigest(hasher, m)))
      if (m.kind !== 'result') assert.equal(v.signer, declaredSigner(m))
    }), { numRuns: 500 })
  })

  it('round-trips structs through plain JSON', () => {
    const r = resource()
    const json = structToJson('ResourceOffer', r)
    assert.equal(json.nonce, '2')
    assert.deepEqual(structFromJson('ResourceOffer', json), r)
  })

  it('keeps the largest valid message of every kind under its cap', () => {
    const big: WireMessage[] = [
      signJobOffer(hasher, alice.privateKey, maxJobOffer(alice.address)),
      signResourceOffer(hasher, bob.privateKey, maxResourceOffer(bob.address)),
      signDeal(hasher, bob.privateKey, deal({ price: LIMITS.amount, collateral: LIMITS.amount, timeout: LIMITS.timeoutMax, matchEpoch: LIMITS.epoch, openBy: LIMITS.unixSeconds }), 'provider'),
      signResultAcceptance(hasher, alice.privateKey, acceptance()),
      signHeartbeat(hasher, alice.privateKey, heartbeat({ epoch: LIMITS.epoch }))
    ]
    for (const m of big) {
      const bytes = encodeMessage(m)
      assert.ok(bytes.length <= MAX_MESSAGE_BYTES[m.kind], `${m.kind}: ${bytes.length} > ${MAX_MESSAGE_BYTES[m.kind]}`)
      assert.deepEqual(decodeMessage(bytes), m)
    }
  })
})

describe('protocol/codec: size caps and framing', () => {
  it('checks the size cap before parsing', () => {
    // not UTF-8 and not JSON: only the cap can have refused it
    expectCode(() => decodeMessage(new Uint8Array(MAX_ANY_MESSAGE_BYTES + 1).fill(0xff)), 'PROTOCOL_TOO_LARGE')
    expectCode(() => decodeMessage(new Uint8Array(MAX_MESSAGE_BYTES.job + 1).fill(0xff), 'job'), 'PROTOCOL_TOO_LARGE')
    expectCode(() => decodeMessage(new Uint8Array(MAX_MESSAGE_BYTES.job).fill(0xff), 'job'), 'PROTOCOL_MALFORMED')
  })

  it('applies the per-kind cap once the kind is known', () => {
    const m = encodeMessage(signJobOffer(hasher, alice.privateKey, job()))
    const text = dec.decode(m)
    // pad inside the JSON with whitespace: valid JSON, too large for a job
    const padded = enc.encode(text.slice(0, -1) + ' '.repeat(MAX_MESSAGE_BYTES.job - m.length + 1) + '}')
    assert.ok(padded.length <= MAX_ANY_MESSAGE_BYTES)
    expectCode(() => decodeMessage(padded), 'PROTOCOL_TOO_LARGE')
  })

  it('refuses a kind other than the expected one', () => {
    const m = encodeMessage(signJobOffer(hasher, alice.privateKey, job()))
    expectCode(() => decodeMessage(m, 'resource'), 'PROTOCOL_UNKNOWN_KIND')
    expectCode(() => decodeMessage(enc.encode('{"kind":"offer"}')), 'PROTOCOL_UNKNOWN_KIND')
    expectCode(() => decodeMessage(enc.encode('{"kind":"__proto__"}')), 'PROTOCOL_UNKNOWN_KIND')
    expectCode(() => decodeMessage(enc.encode('{}')), 'PROTOCOL_UNKNOWN_KIND')
  })

  it('refuses bytes that are not UTF-8 JSON objects', () => {
    expectCode(() => decodeMessage(Uint8Array.from([0x7b, 0xc3, 0x28, 0x7d])), 'PROTOCOL_MALFORMED')
    expectCode(() => decodeMessage(enc.encode('[1,2]')), 'PROTOCOL_MALFORMED')
    expectCode(() => decodeMessage(enc.encode('null')), 'PROTOCOL_MALFORMED')
    expectCode(() => decodeMessage(enc.encode('{"kind":"job"')), 'PROTOCOL_MALFORMED')
  })
})

describe('protocol/codec: one encoding per message', () => {
  it('refuses every re-serialisation of a valid signed message', () => {
    const text = dec.decode(encodeMessage(signResourceOffer(hasher, bob.privateKey, resource({ cpu: 1000 }))))
    receive(enc.encode(text))
    const variants = [
      text.replace('"cpu":1000', '"cpu":1000.0'),
      text.replace('"cpu":1000', '"cpu":1e3'),
      text.replace('"cpu":1000', '"cpu": 1000'),
      text.replace('"version":1', '"version":1.00'),
      text.replace('NVIDIA', '\\u004eVIDIA'),
      text.replace('{"kind":"resource",', '{ "kind":"resource",'),
      JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(text) as object).reverse())),
      text + '\n'
    ]
    for (const v of variants) {
      assert.notEqual(v, text)
      assert.throws(() => receive(enc.encode(v)), (e: unknown) => e instanceof ProtocolError && e.action === 'reject', v)
    }
    expectCode(() => decodeMessage(enc.encode(variants[0])), 'PROTOCOL_MALFORMED')
    expectCode(() => decodeMessage(enc.encode(variants[4])), 'PROTOCOL_MALFORMED')
    expectCode(() => decodeMessage(enc.encode(variants[6])), 'PROTOCOL_MALFORMED')
  })
})

describe('protocol/codec: strict keys', () => {
  const base = (): Record<string, unknown> => JSON.parse(dec.decode(encodeMessage(signJobOffer(hasher, alice.privateKey, job())))) as Record<string, unknown>
  const bytes = (o: unknown): Uint8Array => enc.encode(JSON.stringify(o))

  it('refuses unknown fields at every level', () => {
    expectCode(() => decodeMessage(bytes({ ...base(), extra: 1 })), 'PROTOCOL_UNKNOWN_FIELD')
    const m = base()
    expectCode(() => decodeMessage(bytes({ ...m, offer: { ...(m.offer as object), price: '1' } })), 'PROTOCOL_UNKNOWN_FIELD')
    const proto = dec.decode(encodeMessage(signJobOffer(hasher, alice.privateKey, job()))).replace('{"creator"', '{"__proto__":{},"creator"')
    expectCode(() => decodeMessage(enc.encode(proto)), 'PROTOCOL_UNKNOWN_FIELD')
  })

  it('refuses missing fields at every level', () => {
    const { signature: _s, ...noSig } = base()
    expectCode(() => decodeMessage(bytes(noSig)), 'PROTOCOL_MISSING_FIELD')
    for (const field of Object.keys(job())) {
      const m = base()
      const offer = { ...(m.offer as Record<string, unknown>) }
      delete offer[field]
      expectCode(() => decodeMessage(bytes({ ...m, offer })), 'PROTOCOL_MISSING_FIELD')
    }
    const d = JSON.parse(dec.decode(encodeMessage(signDeal(hasher, alice.privateKey, deal(), 'creator')))) as Record<string, unknown>
    delete d.party
    expectCode(() => decodeMessage(bytes(d)), 'PROTOCOL_MISSING_FIELD')
  })

  it('refuses wrong JSON types', () => {
    const withField = (k: string, v: unknown): Uint8Array => {
      const m = base()
      return bytes({ ...m, offer: { ...(m.offer as object), [k]: v } })
    }
    expectCode(() => decodeMessage(withField('nonce', 1)), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('nonce', '01')), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('nonce', '-1')), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('nonce', '1e3')), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('nonce', '9'.repeat(100))), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('cpu', '1000')), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('cpu', 1.5)), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('creator', 5)), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(withField('module', null)), 'PROTOCOL_BAD_TYPE')
    expectCode(() => decodeMessage(bytes({ ...base(), offer: [] })), 'PROTOCOL_BAD_TYPE')
  })
})

describe('protocol/validate: bounds of every field', () => {
  type Case<T> = [field: keyof T & string, min: number | bigint, max: number | bigint]
  const signed = {
    job: (o: JobOffer) => encodeMessage(signJobOffer(hasher, alice.privateKey, o)),
    resource: (o: ResourceOffer) => encodeMessage(signResourceOffer(hasher, bob.privateKey, o)),
    deal: (d: Deal) => encodeMessage(signDeal(hasher, alice.privateKey, d, 'creator')),
    heartbeat: (hb: Heartbeat) => encodeMessage(signHeartbeat(hasher, alice.privateKey, hb))
  }

  /** A value one below/above a bound: numbers stay numbers, bigints bigints. */
  const step = (v: number | bigint, d: -1 | 1): number | bigint => typeof v === 'bigint' ? v + BigInt(d) : v + d

  function checkBounds<T> (name: string, make: (over: Partial<T>) => T, sign: (o: T) => Uint8Array, cases: Array<Case<T>>, fixup: (o: Partial<T>) => Partial<T> = (o) => o): void {
    for (const [field, min, max] of cases) {
      it(`${name}.${field}: ${min} and ${max} pass, one beyond each fails`, () => {
        for (const ok of [min, max]) {
          const o = make(fixup({ [field]: ok } as Partial<T>))
          assert.deepEqual(decodeMessage(sign(o)).kind.length > 0, true)
        }
        const below = step(min, -1)
        // a negative bigint cannot even be written as a wire decimal: the validator catches it when signing
        expectCode(() => sign(make(fixup({ [field]: below } as Partial<T>))), 'PROTOCOL_OUT_OF_BOUNDS')
        expectCode(() => sign(make(fixup({ [field]: step(max, 1) } as Partial<T>))), 'PROTOCOL_OUT_OF_BOUNDS')
      })
    }
  }

  // epochs at their top need expiryEpoch to follow
  const jobEpochs = (o: Partial<JobOffer>): Partial<JobOffer> => o.gpus === 0 ? { ...o, gpuVram: 0 } : o.epoch !== undefined ? { ...o, expiryEpoch: o.epoch } : o.expiryEpoch !== undefined ? { ...o, epoch: 0n > o.expiryEpoch ? 0n : o.expiryEpoch } : o
  checkBounds<JobOffer>('job', job, signed.job, [
    ['nonce', 0n, LIMITS.nonce],
    ['cpu', 1, LIMITS.cpu],
    ['ram', 1, LIMITS.ram],
    ['gpus', 0, LIMITS.gpus],
    ['gpuVram', 0, LIMITS.gpuVram],
    ['disk', 0, LIMITS.disk],
    ['maxPrice', 0n, LIMITS.amount],
    ['timeout', LIMITS.timeoutMin, LIMITS.timeoutMax],
    ['collateral', 0n, LIMITS.amount],
    ['epoch', 0n, LIMITS.epoch],
    ['expiryEpoch', 0n, LIMITS.epoch]
  ], jobEpochs)

  const resEpochs = (o: Partial<ResourceOffer>): Partial<ResourceOffer> => o.epoch !== undefined ? { ...o, expiryEpoch: o.epoch } : o.expiryEpoch !== undefined ? { ...o, epoch: o.expiryEpoch } : o
  checkBounds<ResourceOffer>('resource', resource, signed.resource, [
    ['nonce', 0n, LIMITS.nonce],
    ['version', 0, LIMITS.version],
    ['cpu', 1, LIMITS.cpu],
    ['ram', 1, LIMITS.ram],
    ['gpus', 1, LIMITS.gpus],
    ['gpuVram', 1, LIMITS.gpuVram],
    ['disk', 0, LIMITS.disk],
    ['priceCpu', 0n, LIMITS.amount],
    ['priceRam', 0n, LIMITS.amount],
    ['priceGpu', 0n, LIMITS.amount],
    ['priceDisk', 0n, LIMITS.amount],
    ['collateral', 0n, LIMITS.amount],
    ['epoch', 0n, LIMITS.epoch],
    ['expiryEpoch', 0n, LIMITS.epoch]
  ], resEpochs)

  checkBounds<Deal>('deal', deal, signed.deal, [
    ['price', 0n, LIMITS.amount],
    ['collateral', 0n, LIMITS.amount],
    ['timeout', LIMITS.timeoutMin, LIMITS.timeoutMax],
    ['matchEpoch', 0n, LIMITS.epoch],
    ['openBy', 1n, LIMITS.unixSeconds]
  ])

  checkBounds<Heartbeat>('heartbeat', heartbeat, signed.heartbeat, [['epoch', 0n, LIMITS.epoch]])

  it('bounds the offer lifetime (expiryEpoch ≥ epoch, at most the horizon)', () => {
    expectCode(() => signed.job(job({ epoch: 10n, expiryEpoch: 9n })), 'PROTOCOL_OUT_OF_BOUNDS')
    signed.job(job({ epoch: 10n, expiryEpoch: 10n + LIMITS.offerLifetimeEpochs }))
    expectCode(() => signed.job(job({ epoch: 10n, expiryEpoch: 11n + LIMITS.offerLifetimeEpochs })), 'PROTOCOL_OUT_OF_BOUNDS')
    // a profile's tighter horizon
    validateJobOffer(job({ epoch: 10n, expiryEpoch: 20n }), { maxLifetimeEpochs: 10n })
    expectCode(() => validateJobOffer(job({ epoch: 10n, expiryEpoch: 21n }), { maxLifetimeEpochs: 10n }), 'PROTOCOL_OUT_OF_BOUNDS')
    const wire = encodeMessage(signJobOffer(hasher, alice.privateKey, job({ epoch: 10n, expiryEpoch: 21n })))
    expectCode(() => decodeMessage(wire, 'job', { maxLifetimeEpochs: 10n }), 'PROTOCOL_OUT_OF_BOUNDS')
  })

  it('ties GPU fields together', () => {
    expectCode(() => signed.job(job({ gpus: 0, gpuVram: 1 })), 'PROTOCOL_OUT_OF_BOUNDS')
    signed.job(job({ gpus: 0, gpuVram: 0 }))
    expectCode(() => signed.resource(resource({ gpus: 0, gpuVram: 0 })), 'PROTOCOL_OUT_OF_BOUNDS') // model without GPUs
    signed.resource(resource({ gpus: 0, gpuVram: 0, gpuModel: '' }))
    expectCode(() => signed.resource(resource({ gpus: 1, gpuVram: 0 })), 'PROTOCOL_OUT_OF_BOUNDS')
  })

  it('bounds gpuModel: 64 printable ASCII characters', () => {
    signed.resource(resource({ gpuModel: 'x'.repeat(64) }))
    expectCode(() => signed.resource(resource({ gpuModel: 'x'.repeat(65) })), 'PROTOCOL_OUT_OF_BOUNDS')
    expectCode(() => signed.resource(resource({ gpuModel: 'H100\n' })), 'PROTOCOL_OUT_OF_BOUNDS')
    expectCode(() => signed.resource(resource({ gpuModel: 'H100 é' })), 'PROTOCOL_OUT_OF_BOUNDS')
  })

  it('bounds modules: at most 32, lower-case hashes, strictly ascending', () => {
    const mods = Array.from({ length: 33 }, (_, i) => `0x${i.toString(16).padStart(64, '0')}` as const)
    signed.resource(resource({ modules: mods.slice(0, 32) }))
    signed.resource(resource({ modules: [] }))
    expectCode(() => signed.resource(resource({ modules: mods })), 'PROTOCOL_OUT_OF_BOUNDS')
    expectCode(() => signed.resource(resource({ modules: [h('22'), h('11')] })), 'PROTOCOL_OUT_OF_BOUNDS')
    expectCode(() => signed.resource(resource({ modules: [h('11'), h('11')] })), 'PROTOCOL_OUT_OF_BOUNDS')
    expectCode(() => signed.resource(resource({ modules: [h('AB')] })), 'PROTOCOL_BAD_HEX')
    assert.deepEqual(canonicalModules([h('22'), h('AB'), h('22')]), [h('22'), h('ab')])
  })

  it('refuses malformed, upper-case and zero addresses and hashes', () => {
    expectCode(() => validateJobOffer(job({ creator: alice.address.toUpperCase().replace('0X', '0x') as Address })), 'PROTOCOL_BAD_HEX')
    expectCode(() => validateJobOffer(job({ creator: '0x1234' })), 'PROTOCOL_BAD_HEX')
    expectCode(() => validateJobOffer(job({ creator: `0x${'00'.repeat(20)}` })), 'PROTOCOL_OUT_OF_BOUNDS')
    expectCode(() => validateJobOffer(job({ module: h('1') })), 'PROTOCOL_BAD_HEX')
    expectCode(() => validateJobOffer(job({ inputsHash: `0x${'g'.repeat(64)}` })), 'PROTOCOL_BAD_HEX')
  })

  it('refuses a deal of a party with itself and unknown parties', () => {
    expectCode(() => signed.deal(deal({ provider: alice.address })), 'PROTOCOL_OUT_OF_BOUNDS')
    const m = JSON.parse(dec.decode(signed.deal(deal()))) as Record<string, unknown>
    expectCode(() => decodeMessage(enc.encode(JSON.stringify({ ...m, party: 'mediator' }))), 'PROTOCOL_OUT_OF_BOUNDS')
  })

  it('refuses malformed signatures while decoding', () => {
    const m = JSON.parse(dec.decode(signed.job(job()))) as Record<string, unknown>
    for (const sig of ['0x', `0x${'00'.repeat(64)}`, `0x${'AB'.repeat(65)}`, 12]) {
      const code = typeof sig === 'number' ? 'PROTOCOL_BAD_TYPE' : 'PROTOCOL_BAD_SIGNATURE'
      expectCode(() => decodeMessage(enc.encode(JSON.stringify({ ...m, signature: sig }))), code)
    }
  })

  it('validateMessage refuses unknown kinds', () => {
    expectCode(() => validateMessage({ kind: 'nope' } as unknown as WireMessage), 'PROTOCOL_UNKNOWN_KIND')
  })
})

describe('protocol/message: signatures', () => {
  it('rejects a tampered byte anywhere in every kind of message', function () {
    this.timeout(120_000)
    for (const m of samples()) {
      const bytes = encodeMessage(m)
      receive(bytes) // the original is accepted
      for (let i = 0; i < bytes.length; i++) {
        // +1 changes a digit or letter; ^0x20 flips hex case (hex must be lower-case)
        for (const t of [(b: number) => (b + 1) & 0xff, (b: number) => b ^ 0x20]) {
          const copy = Uint8Array.from(bytes)
          copy[i] = t(copy[i])
          assert.throws(() => receive(copy), (e: unknown) => e instanceof ProtocolError && e.action === 'reject',
            `${m.kind}: tampering byte ${i} (${dec.decode(bytes.subarray(i, i + 1))}) went through`)
        }
      }
    }
  })

  it('rejects a signature by the wrong key (PROTOCOL_WRONG_SIGNER)', () => {
    // mallory signs an offer that names alice
    const o = job()
    const forged: WireMessage = { kind: 'job', offer: o, signature: signDigest(hasher.digestBytes('JobOffer', o), mallory.privateKey) }
    expectCode(() => receive(encodeMessage(forged)), 'PROTOCOL_WRONG_SIGNER')
    // a deal signed by the creator but presented as the provider's acceptance
    const d = signDeal(hasher, alice.privateKey, deal(), 'creator')
    expectCode(() => verifyMessage(hasher, { ...d, party: 'provider' }), 'PROTOCOL_WRONG_SIGNER')
    // a result acceptance by someone other than the deal's creator
    const r = signResultAcceptance(hasher, mallory.privateKey, acceptance())
    expectCode(() => verifyMessage(hasher, r, alice.address), 'PROTOCOL_WRONG_SIGNER')
    // the gossip author differs from the signer
    expectCode(() => verifyMessage(hasher, signJobOffer(hasher, alice.privateKey, job()), bob.address), 'PROTOCOL_WRONG_SIGNER')
    // and nobody can sign in another's name
    expectCode(() => signJobOffer(hasher, mallory.privateKey, job()), 'PROTOCOL_WRONG_SIGNER')
  })

  it('rejects the high-s twin of a valid signature (PROTOCOL_HIGH_S)', () => {
    const m = signJobOffer(hasher, alice.privateKey, job())
    const sig = hexToBytes(m.signature, 65)
    const n = secp256k1.Point.CURVE().n
    const s = BigInt(bytesToHex(sig.subarray(32, 64)))
    const twin = Uint8Array.from(sig)
    twin.set(hexToBytes(`0x${(n - s).toString(16).padStart(64, '0')}`, 32), 32)
    twin[64] = sig[64] === 27 ? 28 : 27
    // the twin is a valid ECDSA signature by alice (noble accepts it when high s is allowed)...
    const digest = messageDigest(hasher, m)
    const rec = secp256k1.recoverPublicKey(Uint8Array.from([twin[64] - 27, ...twin.subarray(0, 64)]), digest, { prehash: false })
    assert.deepEqual(rec, secp256k1.getPublicKey(alice.privateKey, true))
    // ...which the protocol (and the contract) refuse
    const bad = { ...m, signature: bytesToHex(twin) }
    expectCode(() => verifyMessage(hasher, bad), 'PROTOCOL_HIGH_S')
    expectCode(() => receive(encodeMessage(bad)), 'PROTOCOL_HIGH_S')
  })

  it('rejects v outside {27, 28} and r or s out of range', () => {
    const m = signJobOffer(hasher, alice.privateKey, job())
    const digest = messageDigest(hasher, m)
    const sig = hexToBytes(m.signature, 65)
    const withByte = (i: number, v: number): string => { const c = Uint8Array.from(sig); c[i] = v; return bytesToHex(c) }
    expectCode(() => recoverAddress(digest, withByte(64, 0)), 'PROTOCOL_BAD_SIGNATURE')
    expectCode(() => recoverAddress(digest, withByte(64, 29)), 'PROTOCOL_BAD_SIGNATURE')
    expectCode(() => recoverAddress(digest, `0x${'00'.repeat(64)}1b`), 'PROTOCOL_BAD_SIGNATURE')
    expectCode(() => recoverAddress(digest, `0x${'ff'.repeat(64)}1b`), 'PROTOCOL_BAD_SIGNATURE')
  })
})

describe('protocol/message: epoch window', () => {
  it('ignores (not rejects) messages outside the window', () => {
    checkEpochWindow(10n, 20n, 12n, 2)
    checkEpochWindow(14n, 20n, 12n, 2) // 2 ahead: tolerated skew
    expectCode(() => checkEpochWindow(15n, 20n, 12n, 2), 'PROTOCOL_EPOCH_TOO_NEW', 'ignore')
    checkEpochWindow(1n, 10n, 12n, 2) // expired 2 epochs ago: tolerated
    expectCode(() => checkEpochWindow(1n, 9n, 12n, 2), 'PROTOCOL_EPOCH_TOO_OLD', 'ignore')
  })

  it('applies to every kind that carries an epoch', () => {
    const [j, r, d, , res, hb] = samples()
    checkMessageEpoch(j, 12n, 0)
    expectCode(() => checkMessageEpoch(j, 9n, 0), 'PROTOCOL_EPOCH_TOO_NEW', 'ignore')
    expectCode(() => checkMessageEpoch(r, 31n, 0), 'PROTOCOL_EPOCH_TOO_OLD', 'ignore')
    checkMessageEpoch(d, 13n, 1)
    expectCode(() => checkMessageEpoch(d, 14n, 1), 'PROTOCOL_EPOCH_TOO_OLD', 'ignore')
    expectCode(() => checkMessageEpoch(hb, 100n, 2), 'PROTOCOL_EPOCH_TOO_OLD', 'ignore')
    checkMessageEpoch(res, 1_000_000n, 0)
  })
})

describe('protocol/codec: fuzzing (only ProtocolError ever escapes)', () => {
  /** Decode and, when that succeeds, verify: nothing but a ProtocolError may come out. */
  function mustOnlyThrowProtocolErrors (bytes: Uint8Array): void {
    try {
      const m = decodeMessage(bytes)
      verifyMessage(hasher, m)
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw new Error(`non-protocol error for ${JSON.stringify(dec.decode(bytes).slice(0, 200))}: ${String(e)}`, { cause: e })
    }
  }

  it('10,000 random byte strings', function () {
    this.timeout(120_000)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 6000 }), (b) => { mustOnlyThrowProtocolErrors(b) }), { numRuns: 10_000 })
  })

  it('10,000 random JSON values', function () {
    this.timeout(120_000)
    fc.assert(fc.property(fc.jsonValue(), (v) => { mustOnlyThrowProtocolErrors(enc.encode(JSON.stringify(v))) }), { numRuns: 10_000 })
  })

  it('5,000 valid messages with one field replaced by a random value', function () {
    this.timeout(120_000)
    const objects = samples().map((m) => JSON.parse(dec.decode(encodeMessage(m))) as Record<string, Record<string, unknown>>)
    const valueArb = fc.oneof(fc.jsonValue(), fc.constantFrom('0x', '-1', '1e5', '00', 1e300, -0, 2 ** 53, '0x' + 'f'.repeat(64), '__proto__'))
    fc.assert(fc.property(fc.constantFrom(...objects), fc.nat(), fc.boolean(), valueArb, (o, pick, top, value) => {
      const bodyKey = Object.keys(o).find((k) => typeof o[k] === 'object') as string
      const copy: Record<string, unknown> = { ...o, [bodyKey]: { ...o[bodyKey] } }
      const target = top ? copy : copy[bodyKey] as Record<string, unknown>
      const keys = Object.keys(target)
      target[keys[pick % keys.length]] = value
      mustOnlyThrowProtocolErrors(enc.encode(JSON.stringify(copy)))
    }), { numRuns: 5_000 })
  })

  it('all kinds are covered by the fuzz objects', () => {
    assert.deepEqual([...new Set(samples().map((m) => m.kind))].sort(), [...WIRE_KINDS].sort())
  })
})

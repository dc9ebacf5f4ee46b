import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProtocolError } from '../../src/protocol/errors.js'
import {
  DEFAULT_EPOCH_MS,
  DEFAULT_LIMITS, domainOf, dhtProtocol, epochAt, epochEnd, epochMatchTime, epochStart, escrowStartBlock, loadProfile, parseProfile,
  parseTopic, profileHash, protocolId, serializeProfile, topicName, type Profile
} from '../../src/protocol/profile.js'

const VALID = {
  name: 'devnet',
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  escrow: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  epochMs: 2000,
  genesisMs: 1_700_000_000_000,
  bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/16Uiu2HAmKsv1gkDz5WfnSbR2P7uHVcRMxvog1qdGHKUu4DV3zNgG']
}

function badProfile (field: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ProtocolError, String(e))
    assert.equal(e.code, 'PROTOCOL_BAD_PROFILE')
    assert.ok(e.message.includes(`"${field}"`), `message should name ${field}: ${e.message}`)
    return true
  }
}

describe('protocol/profile', () => {
  it('parses a minimal profile and fills in the defaults', () => {
    const p = parseProfile(VALID)
    assert.equal(p.chainId, 31337n)
    assert.equal(p.escrow, '0x5fbdb2315678afecb367f032d93f642f64180aa3')
    assert.equal(p.token, null)
    assert.equal(p.graceMs, 500)
    assert.equal(p.reserveEpochs, 3)
    assert.deepEqual(p.limits, DEFAULT_LIMITS)
    assert.equal(p.challengeWindowS, undefined)
    assert.equal(p.escrowBlock, undefined)
    assert.equal(escrowStartBlock(p), 0n, 'without escrowBlock events are read from block 0')
  })

  it('takes every optional field', () => {
    const p = parseProfile({
      ...VALID,
      chainId: '42161',
      token: '0xaf88d065e77c8cC2239327C5EDb3A432268e5831',
      graceMs: 100,
      reserveEpochs: 5,
      challengeWindowS: 3600,
      escrowBlock: 123_456_789,
      limits: { maxEpochSkew: 4, maxMessageBytes: 8192 }
    })
    assert.equal(p.escrowBlock, 123_456_789)
    assert.equal(escrowStartBlock(p), 123_456_789n)
    assert.equal(p.chainId, 42161n)
    assert.equal(p.token, '0xaf88d065e77c8cc2239327c5edb3a432268e5831')
    assert.equal(p.challengeWindowS, 3600)
    assert.equal(p.limits.maxEpochSkew, 4)
    assert.equal(p.limits.maxOffersPerPeerPerEpoch, DEFAULT_LIMITS.maxOffersPerPeerPerEpoch)
  })

  it('refuses unknown fields, naming them', () => {
    assert.throws(() => parseProfile({ ...VALID, chainID: 1 }), badProfile('chainID'))
    assert.throws(() => parseProfile({ ...VALID, limits: { maxOffers: 1 } }), badProfile('limits.maxOffers'))
  })

  it('refuses missing and malformed fields, naming each', () => {
    for (const k of ['name', 'chainId', 'rpcUrl', 'escrow', 'genesisMs', 'bootstrap'] as const) {
      const { [k]: _gone, ...rest } = VALID
      assert.throws(() => parseProfile(rest), badProfile(k))
    }
    // left out, the epoch timing is the wide-area default (bench:wan), grace its quarter
    const { epochMs: _e, graceMs: _g, ...untimed } = VALID as Record<string, unknown>
    const wan = parseProfile(untimed)
    assert.equal(wan.epochMs, DEFAULT_EPOCH_MS)
    assert.equal(wan.epochMs, 12_000)
    assert.equal(wan.graceMs, 3000)
    const cases: Array<[string, Record<string, unknown>]> = [
      ['name', { name: 'Dev Net' }],
      ['name', { name: '' }],
      ['chainId', { chainId: 0 }],
      ['chainId', { chainId: '0x7a69' }],
      ['chainId', { chainId: (2n ** 64n).toString() }],
      ['chainId', { chainId: 1.5 }],
      ['rpcUrl', { rpcUrl: 'localhost:8545' }],
      ['escrow', { escrow: '0x1234' }],
      ['token', { token: 'usdc' }],
      ['epochMs', { epochMs: 99 }],
      ['epochMs', { epochMs: '2000' }],
      ['graceMs', { graceMs: -1 }],
      ['genesisMs', { genesisMs: 1e20 }],
      ['reserveEpochs', { reserveEpochs: 0 }],
      ['challengeWindowS', { challengeWindowS: 0 }],
      ['escrowBlock', { escrowBlock: -1 }],
      ['escrowBlock', { escrowBlock: '12' }],
      ['escrowBlock', { escrowBlock: 2 ** 53 }],
      ['bootstrap', { bootstrap: '/ip4/127.0.0.1/tcp/1' }],
      ['bootstrap[0]', { bootstrap: ['not a multiaddr'] }],
      ['bootstrap', { bootstrap: Array.from({ length: 65 }, () => '/ip4/127.0.0.1/tcp/1') }],
      ['limits', { limits: [] }],
      ['limits.maxEpochSkew', { limits: { maxEpochSkew: 1001 } }],
      ['limits.maxMessageBytes', { limits: { maxMessageBytes: 10 } }]
    ]
    for (const [field, over] of cases) assert.throws(() => parseProfile({ ...VALID, ...over }), badProfile(field))
    assert.throws(() => parseProfile([]), badProfile('(root)'))
  })

  it('serialises canonically and reads its own output back', () => {
    const p = parseProfile({ ...VALID, challengeWindowS: 60 })
    const text = serializeProfile(p)
    assert.ok(!/\s/.test(text.replace(/"[^"]*"/g, '')), 'no whitespace outside strings')
    assert.ok(text.includes('"chainId":"31337"'))
    const back = parseProfile(JSON.parse(text))
    assert.deepEqual(back, p)
    assert.equal(serializeProfile(back), text)
    // key order of the input does not matter
    const reordered = Object.fromEntries(Object.entries(VALID).reverse())
    assert.equal(profileHash(parseProfile(reordered)), profileHash(parseProfile(VALID)))
  })

  it('hashes every field into the profile hash, and so into topics and protocol ids', () => {
    const base = parseProfile(VALID)
    const variants: Profile[] = [
      parseProfile({ ...VALID, chainId: 1 }),
      parseProfile({ ...VALID, escrow: '0x' + '11'.repeat(20) }),
      parseProfile({ ...VALID, epochMs: 3000 }),
      parseProfile({ ...VALID, genesisMs: VALID.genesisMs + 1 }),
      parseProfile({ ...VALID, bootstrap: [] }),
      parseProfile({ ...VALID, escrowBlock: 7 }),
      parseProfile({ ...VALID, limits: { maxEpochSkew: 3 } })
    ]
    const hashes = new Set([base, ...variants].map(profileHash))
    assert.equal(hashes.size, variants.length + 1)
    for (const v of variants) {
      assert.notEqual(topicName(v, 'jobs'), topicName(base, 'jobs'))
      assert.notEqual(protocolId(v, 'sync'), protocolId(base, 'sync'))
    }
  })

  it('derives topics, protocol ids and the DHT protocol', () => {
    const p = parseProfile(VALID)
    const tag = profileHash(p).slice(2, 18)
    assert.equal(topicName(p, 'jobs'), `/lilynode/${tag}/jobs/1`)
    assert.equal(topicName(p, 'epochs'), `/lilynode/${tag}/epochs/1`)
    assert.equal(parseTopic(p, topicName(p, 'deals')), 'deals')
    assert.equal(parseTopic(p, `/lilynode/${tag}/other/1`), undefined)
    assert.equal(parseTopic(parseProfile({ ...VALID, chainId: 1 }), topicName(p, 'deals')), undefined)
    assert.equal(protocolId(p, 'sync'), `/lilynode/${tag}/sync/1.0.0`)
    assert.equal(protocolId(p, 'transfer', '2.1.0'), `/lilynode/${tag}/transfer/2.1.0`)
    assert.equal(dhtProtocol(p), `/lilynode/${tag}/kad/1.0.0`)
    assert.throws(() => protocolId(p, 'Bad Name'), RangeError)
    assert.throws(() => protocolId(p, 'sync', '1'), RangeError)
  })

  it('computes epochs from time and back', () => {
    const p = parseProfile(VALID)
    assert.equal(epochAt(p, p.genesisMs), 0n)
    assert.equal(epochAt(p, p.genesisMs + 1999), 0n)
    assert.equal(epochAt(p, p.genesisMs + 2000), 1n)
    assert.equal(epochAt(p, p.genesisMs - 1), -1n)
    assert.equal(epochStart(p, 5n), p.genesisMs + 10_000)
    assert.equal(epochEnd(p, 5n), p.genesisMs + 12_000)
    assert.equal(epochMatchTime(p, 5n), p.genesisMs + 12_000 + p.graceMs)
    for (const t of [p.genesisMs, p.genesisMs + 12_345, p.genesisMs + 10 ** 9]) {
      const e = epochAt(p, t)
      assert.ok(epochStart(p, e) <= t && t < epochEnd(p, e))
    }
  })

  it('builds the EIP-712 domain', () => {
    const p = parseProfile(VALID)
    assert.deepEqual(domainOf(p), { name: 'lilynode', version: '1', chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' })
  })

  describe('loadProfile', () => {
    let dir: string
    beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'lilynode-profile-')) })
    afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

    it('loads a file, and says which file is wrong', async () => {
      const path = join(dir, 'profile.json')
      await writeFile(path, JSON.stringify(VALID))
      assert.equal((await loadProfile(path)).name, 'devnet')
      await writeFile(path, '{"name":')
      await assert.rejects(loadProfile(path), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_BAD_PROFILE' && e.message.includes(path))
      await writeFile(path, JSON.stringify({ ...VALID, epochMs: 1 }))
      await assert.rejects(loadProfile(path), (e: unknown) => e instanceof ProtocolError && e.message.includes(path) && e.message.includes('epochMs'))
      await assert.rejects(loadProfile(join(dir, 'missing.json')), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_BAD_PROFILE')
    })
  })
})

/** Job offers of on-chain requests: signed by a relay node, accepted only for the profile's LilyRequests companion. */
import { strict as assert } from 'node:assert'
import { DomainHasher } from '../../src/protocol/eip712.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { createIdentity } from '../../src/protocol/identity.js'
import { isRelayedOffer, signJobOffer, signResourceOffer, verifyMessage } from '../../src/protocol/message.js'
import { parseProfile } from '../../src/protocol/profile.js'
import type { Address } from '../../src/protocol/types.js'
import { maxJobOffer, TEST_DOMAIN } from './arbitraries.js'

const hasher = new DomainHasher(TEST_DOMAIN)
const COMPANION = '0x00000000000000000000000000000000000c0ffe' as Address
const OTHER = '0x0000000000000000000000000000000000000bad' as Address

function wrongSigner (e: unknown): boolean {
  return e instanceof ProtocolError && e.code === 'PROTOCOL_WRONG_SIGNER'
}

describe('protocol: relayed job offers (on-chain requests)', () => {
  const relay = createIdentity()

  it('a relay signs an offer whose creator is the companion, and it verifies with the relay as signer', () => {
    const offer = maxJobOffer(COMPANION)
    const m = signJobOffer(hasher, relay.privateKey, offer, COMPANION)
    assert.ok(isRelayedOffer(m, COMPANION))
    const v = verifyMessage(hasher, m, undefined, COMPANION)
    assert.equal(v.signer, relay.address)
    assert.equal(v.id, hasher.digest('JobOffer', offer))
    // the gossip author check still binds it to the relay that published it
    assert.throws(() => verifyMessage(hasher, m, createIdentity().address, COMPANION), wrongSigner)
  })

  it('without the profile\'s companion, or for another contract, the signer must still be the creator', () => {
    const m = signJobOffer(hasher, relay.privateKey, maxJobOffer(COMPANION), COMPANION)
    assert.throws(() => verifyMessage(hasher, m), wrongSigner)
    assert.throws(() => verifyMessage(hasher, m, undefined, OTHER), wrongSigner)
    assert.throws(() => signJobOffer(hasher, relay.privateKey, maxJobOffer(OTHER), COMPANION), wrongSigner)
    assert.equal(isRelayedOffer(m, undefined), false)
  })

  it('only job offers are relayed: other kinds naming the companion keep their signer check', () => {
    const r = signResourceOffer(hasher, relay.privateKey, { ...maxResource(), provider: relay.address })
    assert.equal(isRelayedOffer(r, relay.address), false)
    assert.throws(() => signResourceOffer(hasher, relay.privateKey, { ...maxResource(), provider: COMPANION }), wrongSigner)
  })

  it('the profile validates its requests field', () => {
    const base = { name: 'devnet', chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', escrow: '0x5FbDB2315678afecb367f032d93F642f64180aa3', epochMs: 1000, genesisMs: 0, bootstrap: [] }
    assert.equal(parseProfile(base).requests, undefined)
    assert.equal(parseProfile({ ...base, requests: COMPANION.toUpperCase().replace('0X', '0x') }).requests, COMPANION)
    assert.throws(() => parseProfile({ ...base, requests: '0x1234' }), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_BAD_PROFILE')
    assert.throws(() => parseProfile({ ...base, requests: base.escrow }), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_BAD_PROFILE')
  })
})

function maxResource (): Parameters<typeof signResourceOffer>[2] {
  return {
    provider: COMPANION, nonce: 1n, version: 1, cpu: 1000, ram: 1024, gpus: 0, gpuVram: 0, disk: 0, gpuModel: '',
    priceCpu: 1n, priceRam: 1n, priceGpu: 1n, priceDisk: 0n, modules: [], collateral: 0n, epoch: 1n, expiryEpoch: 2n
  }
}

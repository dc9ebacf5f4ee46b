import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { createIdentity, type Identity } from '../../src/protocol/identity.js'
import { parseProfile, type Profile } from '../../src/protocol/profile.js'
import type { Address, Hash } from '../../src/protocol/types.js'
import { blobHash, fetchBlob, pushBlob, TransferError, TransferServer, type TransferService } from '../../src/p2p/reqresp/transfer.js'
import { peerIdFromSignature } from '../../src/p2p/peers.js'
import { signDigest } from '../../src/protocol/crypto.js'
import { keccak } from '../../src/protocol/eip712.js'

const profile: Profile = parseProfile({
  name: 'transfer-test', chainId: 31337, rpcUrl: 'http://127.0.0.1:1', escrow: '0x' + '11'.repeat(20), epochMs: 1000, genesisMs: 0, bootstrap: []
})

async function node (id: Identity): Promise<Libp2p> {
  return await createLibp2p({
    privateKey: id.libp2pKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

const DEAL = ('0x' + 'ab'.repeat(32)) as Hash

describe('p2p/transfer', function () {
  this.timeout(60_000)
  const creatorId = createIdentity()
  const providerId = createIdentity()
  const strangerId = createIdentity()
  let creator: Libp2p, provider: Libp2p, stranger: Libp2p, server: TransferServer
  const blobs = new Map<string, Uint8Array>()
  const pushed: Array<{ remote: Address, data: Uint8Array }> = []
  const MAX = 1024 * 1024

  before(async () => {
    [creator, provider, stranger] = await Promise.all([node(creatorId), node(providerId), node(strangerId)])
    const service: TransferService = {
      authorize: async (dealId, remote, op, kind) => dealId === DEAL && remote === providerId.address && (op === 'get' ? kind !== 'bundle' : kind === 'bundle'),
      get: async (_d, kind) => blobs.get(kind),
      put: async (_d, _k, data, remote) => { pushed.push({ remote, data }) }
    }
    server = new TransferServer(creator, profile, service, { maxBytes: MAX })
    await server.start()
  })
  after(async () => {
    await server.stop()
    await Promise.all([creator.stop(), provider.stop(), stranger.stop()])
  })

  it('serves a multi-chunk blob to a party, hash-checked', async () => {
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) % 251)
    blobs.set('inputs', data)
    const got = await fetchBlob(provider, profile, creator.getMultiaddrs(), DEAL, 'inputs', { maxBytes: MAX, expectHash: blobHash(data) })
    assert.deepEqual(got, data)
  })

  it('refuses a blob whose hash is not the expected one', async () => {
    blobs.set('module', new TextEncoder().encode('{"name":"x"}'))
    await assert.rejects(fetchBlob(provider, profile, creator.getMultiaddrs(), DEAL, 'module', { maxBytes: MAX, expectHash: ('0x' + '00'.repeat(32)) as Hash }),
      (e: unknown) => e instanceof TransferError && e.code === 'TRANSFER_HASH_MISMATCH')
  })

  it('refuses a peer that is not a party of the deal', async () => {
    await assert.rejects(fetchBlob(stranger, profile, creator.getMultiaddrs(), DEAL, 'inputs', { maxBytes: MAX }),
      (e: unknown) => e instanceof TransferError && e.code === 'TRANSFER_FORBIDDEN')
  })

  it('refuses a blob over the cap, on either side', async () => {
    blobs.set('inputs', new Uint8Array(MAX + 1))
    await assert.rejects(fetchBlob(provider, profile, creator.getMultiaddrs(), DEAL, 'inputs', { maxBytes: MAX }),
      (e: unknown) => e instanceof TransferError && e.code === 'TRANSFER_TOO_LARGE')
    await assert.rejects(fetchBlob(provider, profile, creator.getMultiaddrs(), DEAL, 'inputs', { maxBytes: 1000 }),
      (e: unknown) => e instanceof TransferError && e.code === 'TRANSFER_TOO_LARGE')
  })

  it('takes a pushed result bundle from the provider and names the pusher', async () => {
    const bundle = new Uint8Array(70_000).fill(3)
    await pushBlob(provider, profile, creator.getMultiaddrs(), DEAL, 'bundle', bundle, { maxBytes: MAX })
    assert.equal(pushed.length, 1)
    assert.equal(pushed[0].remote, providerId.address)
    assert.deepEqual(pushed[0].data, bundle)
    await assert.rejects(pushBlob(stranger, profile, creator.getMultiaddrs(), DEAL, 'bundle', bundle, { maxBytes: MAX }),
      (e: unknown) => e instanceof TransferError && e.code === 'TRANSFER_FORBIDDEN')
  })

  it('derives the signer\'s peer ID from a signature', () => {
    const digest = keccak(new TextEncoder().encode('deal'))
    const sig = signDigest(digest, creatorId.privateKey)
    assert.equal(peerIdFromSignature(digest, sig).toString(), creatorId.peerId.toString())
  })
})

import { strict as assert } from 'node:assert'
import { chmod, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { decodeMessage, encodeMessage } from '../../src/protocol/codec.js'
import { DomainHasher } from '../../src/protocol/eip712.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { bytesToHex } from '../../src/protocol/hex.js'
import {
  KEY_FILE, addressOf, createIdentity, identityFromPrivateKey, loadIdentity, loadOrCreateIdentity, peerIdToAddress
} from '../../src/protocol/identity.js'
import { signJobOffer, verifyMessage } from '../../src/protocol/message.js'
import { TEST_DOMAIN } from './arbitraries.js'

const isBadKey = (fragment?: string) => (e: unknown): boolean => {
  assert.ok(e instanceof ProtocolError, String(e))
  assert.equal(e.code, 'PROTOCOL_BAD_KEY')
  if (fragment !== undefined) assert.ok(e.message.includes(fragment), e.message)
  return true
}

describe('protocol/identity', function () {
  this.timeout(60_000)
  let dir: string
  const savedPassword = process.env.LILYNODE_KEY_PASSWORD

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lilynode-identity-'))
    delete process.env.LILYNODE_KEY_PASSWORD
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
    if (savedPassword === undefined) delete process.env.LILYNODE_KEY_PASSWORD
    else process.env.LILYNODE_KEY_PASSWORD = savedPassword
  })

  it('makes one key the peer ID and the address', () => {
    const id = createIdentity()
    assert.equal(id.peerId.type, 'secp256k1')
    assert.equal(peerIdToAddress(id.peerId), id.address)
    assert.equal(peerIdToAddress(id.peerId.toString()), id.address)
    assert.deepEqual(id.libp2pKey.raw, id.privateKey)
    assert.ok(peerIdFromPrivateKey(id.libp2pKey).equals(id.peerId))
  })

  it('derives the known address of a known key (anvil account 0)', () => {
    const id = identityFromPrivateKey(Buffer.from('ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', 'hex'))
    assert.equal(id.address, '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
  })

  it('gives, from a remote peer ID alone, the address that signed its offers', () => {
    const hasher = new DomainHasher(TEST_DOMAIN)
    const remote = createIdentity()
    const wire = encodeMessage(signJobOffer(hasher, remote.privateKey, {
      creator: remote.address, nonce: 1n, module: `0x${'11'.repeat(32)}`, inputsHash: `0x${'22'.repeat(32)}`,
      cpu: 1000, ram: 256, gpus: 0, gpuVram: 0, disk: 0, maxPrice: 1n, timeout: 10, collateral: 0n, epoch: 1n, expiryEpoch: 2n
    }))
    // what the receiver knows: the bytes and the sender's peer ID as a string
    const fromPeer = peerIdToAddress(peerIdFromString(remote.peerId.toString()))
    const { signer } = verifyMessage(hasher, decodeMessage(wire), fromPeer)
    assert.equal(signer, fromPeer)
  })

  it('computes addresses from compressed, uncompressed and libp2p public keys alike', () => {
    const id = createIdentity()
    const pub = id.peerId.publicKey
    assert.ok(pub !== undefined)
    assert.equal(addressOf(pub), id.address)
    assert.equal(addressOf(pub.raw), id.address)
    assert.throws(() => addressOf(new Uint8Array(33)), isBadKey())
  })

  it('refuses peer IDs that are not secp256k1', async () => {
    const ed = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    assert.throws(() => peerIdToAddress(ed), isBadKey('secp256k1'))
    assert.throws(() => peerIdToAddress(ed.toString()), isBadKey('secp256k1'))
    assert.throws(() => peerIdToAddress('not-a-peer-id'), isBadKey())
  })

  it('refuses invalid private keys', () => {
    assert.throws(() => identityFromPrivateKey(new Uint8Array(32)), isBadKey())
    assert.throws(() => identityFromPrivateKey(new Uint8Array(31).fill(1)), isBadKey())
    assert.throws(() => identityFromPrivateKey(new Uint8Array(32).fill(0xff)), isBadKey())
  })

  it('creates the key file with mode 0600 and loads the same key again', async () => {
    const dataDir = join(dir, 'node')
    const a = await loadOrCreateIdentity(dataDir)
    const path = join(dataDir, KEY_FILE)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700)
    const b = await loadOrCreateIdentity(dataDir)
    assert.equal(b.address, a.address)
    assert.ok(b.peerId.equals(a.peerId))
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
    assert.equal(file.version, 1)
    assert.equal(file.address, a.address)
    // no temp files left behind
    const { readdir } = await import('node:fs/promises')
    assert.deepEqual(await readdir(dataDir), [KEY_FILE])
  })

  it('refuses a group- or world-readable key file and says how to fix it', async () => {
    await loadOrCreateIdentity(dir)
    const path = join(dir, KEY_FILE)
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      await chmod(path, mode)
      await assert.rejects(loadOrCreateIdentity(dir), isBadKey(`chmod 600 ${path}`))
    }
    await chmod(path, 0o600)
    await loadOrCreateIdentity(dir)
  })

  it('refuses a 0600 key file in a folder others may write (they could swap the key), at any level above it, unless sticky', async () => {
    const outer = join(dir, 'shared')
    const dataDir = join(outer, 'node')
    await loadOrCreateIdentity(dataDir)
    const path = join(dataDir, KEY_FILE)
    for (const [target, mode] of [[dataDir, 0o777], [dataDir, 0o770], [outer, 0o757]] as const) {
      await chmod(target, mode)
      await assert.rejects(loadOrCreateIdentity(dataDir), isBadKey(`chmod go-w ${target}`))
      await chmod(target, 0o700)
    }
    await chmod(outer, 0o1777) // like /tmp: others can write, but cannot replace our file
    await loadOrCreateIdentity(dataDir)
    await chmod(outer, 0o700)
    await chmod(path, 0o600)
  })

  it('refuses a key file owned by another user', async function () {
    if (process.getuid?.() !== 0) this.skip() // only root can give a file away
    await loadOrCreateIdentity(dir)
    const path = join(dir, KEY_FILE)
    await chown(path, 4242, 4242)
    await assert.rejects(loadOrCreateIdentity(dir), isBadKey('belongs to user 4242'))
    await chown(path, 0, 0)
  })

  it('does not create a key when told not to', async () => {
    await assert.rejects(loadOrCreateIdentity(dir, { create: false }), isBadKey('no key file'))
  })

  it('gives concurrent creators the same key', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, async () => await loadOrCreateIdentity(dir)))
    assert.equal(new Set(ids.map((i) => i.address)).size, 1)
  })

  it('refuses corrupt key files', async () => {
    const path = join(dir, KEY_FILE)
    const write = async (text: string): Promise<void> => { await writeFile(path, text, { mode: 0o600 }); await chmod(path, 0o600) }
    await write('{not json')
    await assert.rejects(loadIdentity(path), isBadKey('not valid JSON'))
    await write('{"version":9}')
    await assert.rejects(loadIdentity(path), isBadKey('unknown key file format'))
    const id = createIdentity()
    await write(JSON.stringify({ version: 1, kind: 'lilynode-key', address: createIdentity().address, privateKey: bytesToHex(id.privateKey) }))
    await assert.rejects(loadIdentity(path), isBadKey('does not match'))
  })

  it('encrypts the key as a V3 keystore when LILYNODE_KEY_PASSWORD is set', async () => {
    process.env.LILYNODE_KEY_PASSWORD = 'correct horse'
    const a = await loadOrCreateIdentity(dir)
    const path = join(dir, KEY_FILE)
    const text = await readFile(path, 'utf8')
    assert.ok(!text.includes(bytesToHex(a.privateKey).slice(2)), 'the raw key must not be in an encrypted key file')
    const ks = JSON.parse(text) as { version: number, crypto: { kdf: string, cipher: string } }
    assert.equal(ks.version, 3)
    assert.equal(ks.crypto.kdf, 'scrypt')
    assert.equal(ks.crypto.cipher, 'aes-128-ctr')
    assert.equal((await loadOrCreateIdentity(dir)).address, a.address)
    await assert.rejects(loadOrCreateIdentity(dir, { password: 'wrong' }), isBadKey('wrong password'))
    delete process.env.LILYNODE_KEY_PASSWORD
    await assert.rejects(loadOrCreateIdentity(dir), isBadKey('LILYNODE_KEY_PASSWORD'))
  })

  it('opens a standard V3 keystore (the Web3 Secret Storage test vector)', async () => {
    // the scrypt test vector of the Web3 Secret Storage definition (also go-ethereum's accounts/testdata/v3_test_vector.json)
    const path = join(dir, KEY_FILE)
    await writeFile(path, JSON.stringify({
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
        ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: 262144, r: 1, p: 8, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
        mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097'
      },
      id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
      version: 3
    }), { mode: 0o600 })
    await chmod(path, 0o600)
    const id = await loadIdentity(path, 'testpassword')
    assert.equal(bytesToHex(id.privateKey), '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d')
  })
})

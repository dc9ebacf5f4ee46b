import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { hashDomain, hashStruct, hashTypedData } from 'viem'
import {
  DomainHasher, EIP712_TYPES, TYPE_HASHES, domainSeparator, keccak, structHash, typeString, typedDigest,
  type PrimaryType, type TypedMessages
} from '../../src/protocol/eip712.js'
import { privateKeyToAddress, recoverAddress, signDigest } from '../../src/protocol/crypto.js'
import { bytesToHex, hexToBytes } from '../../src/protocol/hex.js'
import { structFromJson } from '../../src/protocol/codec.js'
import type { Address, Domain, Hash } from '../../src/protocol/types.js'
import { TEST_DOMAIN, addressArb, hashArb } from './arbitraries.js'
import { buildVectors } from '../../scripts/protocolVectors.js'

const here = dirname(fileURLToPath(import.meta.url))
// tests run from dist/test/protocol; the vectors are read from the source tree
const vectorsPath = join(here, '..', '..', '..', 'test', 'protocol', 'vectors.json')

interface VectorFile {
  domain: { name: string, version: string, chainId: string, verifyingContract: Address }
  domainTypeString: string
  domainTypeHash: Hash
  domainSeparator: Hash
  keys: Array<{ name: string, privateKey: Hash, address: Address }>
  types: Record<PrimaryType, { typeString: string, typeHash: Hash }>
  vectors: Array<{
    name: string
    primaryType: PrimaryType
    typeString: string
    typeHash: Hash
    message: Record<string, unknown>
    structHash: Hash
    domainSeparator: Hash
    digest: Hash
    signer: Address
    signature: Hash
  }>
}

const file = JSON.parse(readFileSync(vectorsPath, 'utf8')) as VectorFile
const VIEM_TYPES = {
  EIP712Domain: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'uint256' },
    { name: 'verifyingContract', type: 'address' }
  ],
  ...EIP712_TYPES
} as const

/** viem's generic hashers, typed loosely so any of our primary types can be passed. */
const viemStruct = hashStruct as (p: { types: unknown, primaryType: string, data: unknown }) => Hash
const viemDigest = hashTypedData as (p: { domain: Domain, types: unknown, primaryType: string, message: unknown }) => Hash

/** Reads a vector's message back with bigints, without our bounds (the max-values vector is outside them). */
function messageOf (primaryType: PrimaryType, json: Record<string, unknown>): TypedMessages[PrimaryType] {
  const out: Record<string, unknown> = {}
  for (const f of EIP712_TYPES[primaryType]) {
    const v = json[f.name]
    out[f.name] = f.type === 'uint64' || f.type === 'uint256' ? BigInt(v as string) : v
  }
  return out as unknown as TypedMessages[PrimaryType]
}

describe('protocol/eip712: test vectors', () => {
  const domain: Domain = { ...file.domain, chainId: BigInt(file.domain.chainId) }
  const hasher = new DomainHasher(domain)

  it('has the domain type hash and separator', () => {
    assert.equal(bytesToHex(keccak_256(new TextEncoder().encode(file.domainTypeString))), file.domainTypeHash)
    assert.equal(bytesToHex(domainSeparator(domain)), file.domainSeparator)
    assert.equal(bytesToHex(hasher.separator), file.domainSeparator)
  })

  it('has the type strings and type hashes', () => {
    for (const t of Object.keys(EIP712_TYPES) as PrimaryType[]) {
      assert.equal(typeString(t), file.types[t].typeString)
      assert.equal(bytesToHex(TYPE_HASHES[t]), file.types[t].typeHash)
    }
    // the strings the escrow contract hashes: any change here breaks on-chain verification
    assert.equal(file.types.Deal.typeString, 'Deal(bytes32 jobOfferHash,bytes32 resourceOfferHash,address creator,address provider,uint256 price,uint256 collateral,uint32 timeout,uint64 matchEpoch,uint64 openBy)')
    assert.equal(file.types.ResultAcceptance.typeString, 'ResultAcceptance(bytes32 dealId,bytes32 resultHash)')
  })

  it('covers every primary type, both keys, non-empty modules and gpu model', () => {
    const types = new Set(file.vectors.map((v) => v.primaryType))
    assert.deepEqual([...types].sort(), Object.keys(EIP712_TYPES).sort())
    const signers = new Set(file.vectors.map((v) => v.signer))
    assert.deepEqual([...signers].sort(), file.keys.map((k) => k.address).sort())
    assert.ok(file.vectors.some((v) => v.primaryType === 'ResourceOffer' && (v.message.modules as string[]).length > 0 && v.message.gpuModel !== ''))
  })

  for (const v of file.vectors) {
    it(`reproduces ${v.name}`, () => {
      const message = messageOf(v.primaryType, v.message)
      assert.equal(v.typeString, typeString(v.primaryType))
      assert.equal(v.typeHash, bytesToHex(TYPE_HASHES[v.primaryType]))
      assert.equal(structHash(v.primaryType, message), v.structHash)
      assert.equal(v.domainSeparator, file.domainSeparator)
      assert.equal(hasher.digest(v.primaryType, message), v.digest)
      assert.equal(typedDigest(domain, v.primaryType, message), v.digest)
      // independent implementation
      assert.equal(viemStruct({ types: VIEM_TYPES, primaryType: v.primaryType, data: message }), v.structHash)
      assert.equal(viemDigest({ domain, types: VIEM_TYPES, primaryType: v.primaryType, message }), v.digest)
      const key = file.keys.find((k) => k.address === v.signer)
      assert.ok(key !== undefined)
      const priv = hexToBytes(key.privateKey, 32)
      assert.equal(privateKeyToAddress(priv), v.signer)
      // RFC 6979: signing is deterministic, with either backend
      assert.equal(signDigest(hexToBytes(v.digest, 32), priv), v.signature)
      const noble = secp256k1.sign(hexToBytes(v.digest, 32), priv, { prehash: false, lowS: true, format: 'recovered' })
      assert.equal(v.signature, bytesToHex(Uint8Array.from([...noble.subarray(1), 27 + noble[0]])))
      assert.equal(recoverAddress(hexToBytes(v.digest, 32), v.signature), v.signer)
    })
  }

  it('is what scripts/protocolVectors.ts generates today (regenerate the file when this fails)', async () => {
    assert.deepEqual(await buildVectors(), file)
  })

  it('gives the same vectors with the pure-JS fallbacks (no libsecp256k1, no WASM keccak)', async function () {
    this.timeout(60_000)
    const script = join(here, '..', '..', 'scripts', 'protocolVectors.js')
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--check'], {
      env: { ...process.env, LILYNODE_PURE_JS_CRYPTO: '1' }
    })
    assert.match(stdout, /up to date/)
  })

  it('reads every in-bounds vector message through the wire codec unchanged', () => {
    for (const v of file.vectors.filter((x) => !x.name.includes('max-values'))) {
      const m = structFromJson(v.primaryType, v.message)
      assert.equal(hasher.digest(v.primaryType, m), v.digest)
    }
  })
})

describe('protocol/eip712: equals viem on random messages', () => {
  // Solidity-type bounds, wider than the protocol's: this tests the encoding, not validation
  const u = (bits: number): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })
  const u32 = fc.integer({ min: 0, max: 0xffffffff })
  const fieldArb = (type: string): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'address': return addressArb
      case 'bytes32': return hashArb
      case 'uint32': return u32
      case 'uint64': return u(64)
      case 'uint256': return u(256)
      case 'string': return fc.string({ unit: 'grapheme', maxLength: 80 })
      case 'bytes32[]': return fc.array(hashArb, { maxLength: 40 })
      default: throw new Error(type)
    }
  }
  const messageArb = (t: PrimaryType): fc.Arbitrary<Record<string, unknown>> =>
    fc.record(Object.fromEntries(EIP712_TYPES[t].map((f) => [f.name, fieldArb(f.type)])))
  const domainArb: fc.Arbitrary<Domain> = fc.record({
    name: fc.string({ maxLength: 20 }),
    version: fc.string({ maxLength: 5 }),
    chainId: u(64),
    verifyingContract: addressArb
  })

  for (const t of Object.keys(EIP712_TYPES) as PrimaryType[]) {
    it(`${t}: structHash and digest`, () => {
      fc.assert(fc.property(domainArb, messageArb(t), (domain, message) => {
        const m = message as unknown as TypedMessages[PrimaryType]
        assert.equal(structHash(t, m), viemStruct({ types: VIEM_TYPES, primaryType: t, data: m }))
        assert.equal(new DomainHasher(domain).digest(t, m), viemDigest({ domain, types: VIEM_TYPES, primaryType: t, message: m }))
        assert.equal(bytesToHex(domainSeparator(domain)), hashDomain({ domain, types: VIEM_TYPES }))
      }), { numRuns: 150 })
    })
  }

  it('keccak equals the pure-JS keccak on random inputs', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
      assert.deepEqual(keccak(b), keccak_256(b))
    }), { numRuns: 300 })
  })
})

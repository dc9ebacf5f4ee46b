/**
 * Writes test/protocol/vectors.json: EIP-712 test vectors for every primary type, for two
 * fixed keys and a fixed domain. The node's tests check that src/protocol reproduces them,
 * and the contract tests check that LilyEscrow hashes the same bytes.
 *
 * Every value is cross-checked against viem's generic EIP-712 implementation before it is
 * written, so the file cannot record a bug of our fast hasher.
 *
 *   npx tsc -p . && npx node dist/scripts/protocolVectors.js [--check]
 *
 * With --check it writes nothing and exits 1 if the committed file differs. With --doc it prints
 * the vector blocks of PROTOCOL.md (scripts/protocolDocVectors.ts) instead, and with
 * --doc-update rewrites them in PROTOCOL.md.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hashDomain, hashStruct, hashTypedData, recoverTypedDataAddress } from 'viem'
import { DomainHasher, EIP712_TYPES, TYPE_HASHES, keccakText, structHash, typeString, type PrimaryType, type TypedMessages } from '../src/protocol/eip712.js'
import { privateKeyToAddress, recoverAddress, signDigest } from '../src/protocol/crypto.js'
import { bytesToHex, hexToBytes } from '../src/protocol/hex.js'
import type { Address, Deal, Domain, Heartbeat, Hash, JobOffer, ResourceOffer, ResultAcceptance } from '../src/protocol/types.js'
import { docBlock, docVectors, updateDocBlocks } from './protocolDocVectors.js'

const KEYS: Array<{ name: string, privateKey: Hash }> = [
  { name: 'one', privateKey: '0x0000000000000000000000000000000000000000000000000000000000000001' },
  { name: 'anvil0', privateKey: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' }
]

export const VECTOR_DOMAIN: Domain = {
  name: 'lilynode',
  version: '1',
  chainId: 31337n,
  // the address anvil gives the first contract deployed by its first account
  verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3'
}

const EIP712_DOMAIN_TYPE = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' }
] as const

const DOMAIN_TYPE_STRING = 'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'

const h = (byte: string): Hash => `0x${byte.repeat(32)}` as Hash

/** JSON with bigints as decimal strings (the wire convention). */
function toJson (v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString(10) : x))
}

function jobOffer (creator: Address): JobOffer {
  return {
    creator,
    nonce: 7n,
    module: h('11'),
    inputsHash: h('22'),
    cpu: 2000,
    ram: 4096,
    gpus: 1,
    gpuVram: 24_576,
    disk: 10_240,
    maxPrice: 1_000_000_000_000_000_000n,
    timeout: 3600,
    collateral: 50_000_000_000_000_000n,
    epoch: 100n,
    expiryEpoch: 110n
  }
}

function resourceOffer (provider: Address): ResourceOffer {
  return {
    provider,
    nonce: 3n,
    version: 2,
    cpu: 64_000,
    ram: 262_144,
    gpus: 8,
    gpuVram: 81_559,
    disk: 2_000_000,
    gpuModel: 'NVIDIA H100 80GB HBM3',
    priceCpu: 1_000n,
    priceRam: 10n,
    priceGpu: 1_000_000_000_000n,
    priceDisk: 1n,
    modules: [h('11'), h('33')],
    collateral: 100_000_000_000_000_000n,
    epoch: 99n,
    expiryEpoch: 1099n
  }
}

function cpuOnlyOffer (provider: Address): ResourceOffer {
  return { ...resourceOffer(provider), nonce: 4n, version: 0, gpus: 0, gpuVram: 0, gpuModel: '', modules: [] }
}

/** Largest value of every field: checks that no encoder truncates. */
function maxJobOffer (creator: Address): JobOffer {
  const u = (bits: number): bigint => (1n << BigInt(bits)) - 1n
  return {
    ...jobOffer(creator),
    nonce: u(64),
    cpu: 0xffffffff,
    ram: 0xffffffff,
    gpus: 0xffffffff,
    gpuVram: 0xffffffff,
    disk: 0xffffffff,
    maxPrice: u(256),
    timeout: 0xffffffff,
    collateral: u(256),
    epoch: u(64),
    expiryEpoch: u(64)
  }
}

/** The typed messages behind `vectors`, same order (bigints intact). */
const originals: unknown[] = []

interface Vector {
  name: string
  primaryType: PrimaryType
  typeString: string
  typeHash: Hash
  message: unknown
  structHash: Hash
  domainSeparator: Hash
  digest: Hash
  signer: Address
  signature: Hash
}

function vector<K extends PrimaryType> (name: string, primaryType: K, message: TypedMessages[K], key: Hash): Vector {
  const hasher = new DomainHasher(VECTOR_DOMAIN)
  const priv = hexToBytes(key, 32)
  const digestBytes = hasher.digestBytes(primaryType, message)
  const digest = bytesToHex(digestBytes)
  const types = { EIP712Domain: EIP712_DOMAIN_TYPE, ...EIP712_TYPES }
  const viemStruct = hashStruct({ types, primaryType, data: message as never })
  const viemDigest = (hashTypedData as (p: { domain: Domain, types: unknown, primaryType: string, message: unknown }) => Hash)({ domain: VECTOR_DOMAIN, types, primaryType, message: message as never })
  const ours = structHash(primaryType, message)
  if (viemStruct !== ours || viemDigest !== digest || hashDomain({ domain: VECTOR_DOMAIN, types }) !== bytesToHex(hasher.separator)) {
    throw new Error(`${name}: our hash differs from viem's (struct ${ours} vs ${viemStruct}, digest ${digest} vs ${viemDigest})`)
  }
  originals.push(message)
  const signature = signDigest(digestBytes, priv)
  const signer = privateKeyToAddress(priv)
  if (recoverAddress(digestBytes, signature) !== signer) throw new Error(`${name}: signature does not recover to ${signer}`)
  return {
    name,
    primaryType,
    typeString: typeString(primaryType),
    typeHash: bytesToHex(TYPE_HASHES[primaryType]),
    message: toJson(message),
    structHash: ours,
    domainSeparator: bytesToHex(hasher.separator),
    digest,
    signer,
    signature
  }
}

export async function buildVectors (): Promise<unknown> {
  const [k0, k1] = KEYS
  const a0 = privateKeyToAddress(hexToBytes(k0.privateKey, 32))
  const a1 = privateKeyToAddress(hexToBytes(k1.privateKey, 32))
  const hasher = new DomainHasher(VECTOR_DOMAIN)
  const vectors: Vector[] = []
  for (const [k, a] of [[k0, a0], [k1, a1]] as const) {
    vectors.push(vector(`JobOffer/${k.name}`, 'JobOffer', jobOffer(a), k.privateKey))
    vectors.push(vector(`ResourceOffer/${k.name}`, 'ResourceOffer', resourceOffer(a), k.privateKey))
    vectors.push(vector(`ResourceOffer/cpu-only/${k.name}`, 'ResourceOffer', cpuOnlyOffer(a), k.privateKey))
    vectors.push(vector(`Heartbeat/${k.name}`, 'Heartbeat', { node: a, epoch: 101n, offerDigest: h('44'), stateRoot: h('55') } satisfies Heartbeat, k.privateKey))
  }
  vectors.push(vector('JobOffer/max-values/one', 'JobOffer', maxJobOffer(a0), k0.privateKey))
  // a deal between the two keys' offers: key "one" creates, anvil0 provides; both sign it
  const deal: Deal = {
    jobOfferHash: hasher.digest('JobOffer', jobOffer(a0)),
    resourceOfferHash: hasher.digest('ResourceOffer', resourceOffer(a1)),
    creator: a0,
    provider: a1,
    price: 7_200_000_000_000_000n,
    collateral: 100_000_000_000_000_000n,
    timeout: 3600,
    matchEpoch: 100n,
    openBy: 1_900_000_000n
  }
  vectors.push(vector('Deal/creator', 'Deal', deal, k0.privateKey))
  vectors.push(vector('Deal/provider', 'Deal', deal, k1.privateKey))
  const acceptance: ResultAcceptance = { dealId: hasher.digest('Deal', deal), resultHash: h('66') }
  vectors.push(vector('ResultAcceptance/creator', 'ResultAcceptance', acceptance, k0.privateKey))
  vectors.push(vector('ResultAcceptance/anvil0', 'ResultAcceptance', { dealId: h('77'), resultHash: h('88') }, k1.privateKey))

  // one more independent check: viem recovers the same signer from the typed data
  for (const [i, v] of vectors.entries()) {
    const types = { EIP712Domain: EIP712_DOMAIN_TYPE, ...EIP712_TYPES }
    const got = await recoverTypedDataAddress({
      domain: VECTOR_DOMAIN,
      types,
      primaryType: v.primaryType,
      message: originals[i] as never,
      signature: v.signature
    })
    if (got.toLowerCase() !== v.signer) throw new Error(`${v.name}: viem recovers ${got}, expected ${v.signer}`)
  }

  return {
    description: 'lilynode EIP-712 test vectors, generated by scripts/protocolVectors.ts; integers above 2^53 (uint64/uint256) are decimal strings, small ones JSON numbers',
    domain: toJson(VECTOR_DOMAIN),
    domainTypeString: DOMAIN_TYPE_STRING,
    domainTypeHash: keccakText(DOMAIN_TYPE_STRING),
    domainSeparator: bytesToHex(hasher.separator),
    keys: KEYS.map((k) => ({ name: k.name, privateKey: k.privateKey, address: privateKeyToAddress(hexToBytes(k.privateKey, 32)) })),
    types: Object.fromEntries((Object.keys(EIP712_TYPES) as PrimaryType[]).map((t) => [t, { typeString: typeString(t), typeHash: bytesToHex(TYPE_HASHES[t]) }])),
    vectors
  }
}

const here = dirname(fileURLToPath(import.meta.url))
/** The script runs from dist/scripts; the vectors live in the source tree. */
export const VECTORS_PATH = join(here, '..', '..', 'test', 'protocol', 'vectors.json')

/** PROTOCOL.md, in the source tree. */
export const PROTOCOL_MD_PATH = join(here, '..', '..', 'PROTOCOL.md')

async function main (): Promise<void> {
  if (process.argv.includes('--doc') || process.argv.includes('--doc-update')) {
    const vectors = docVectors()
    if (process.argv.includes('--doc-update')) {
      writeFileSync(PROTOCOL_MD_PATH, updateDocBlocks(readFileSync(PROTOCOL_MD_PATH, 'utf8'), vectors))
      console.log(`rewrote the vector blocks of ${PROTOCOL_MD_PATH}`)
    } else {
      for (const [name, v] of Object.entries(vectors)) console.log(`${docBlock(name, v)}\n`)
    }
    return
  }
  const text = JSON.stringify(await buildVectors(), null, 2) + '\n'
  if (process.argv.includes('--check')) {
    const old = readFileSync(VECTORS_PATH, 'utf8')
    if (old !== text) {
      console.error(`${VECTORS_PATH} is out of date; regenerate it with: npx node dist/scripts/protocolVectors.js`)
      process.exit(1)
    }
    console.log(`${VECTORS_PATH} is up to date`)
    return
  }
  writeFileSync(VECTORS_PATH, text)
  console.log(`wrote ${VECTORS_PATH}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => { console.error(e); process.exit(1) })
}

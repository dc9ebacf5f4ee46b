/**
 * The test vectors of PROTOCOL.md, computed by src: profile hash, topic and protocol ids,
 * EIP-712 type hashes and digests, canonical wire bytes, signatures, gossip message ids,
 * request/response frames, the outcome digest, the scoring parameters and the bounds.
 *
 * PROTOCOL.md holds each vector in a fenced block opened by ```json vector:<name>;
 * test/protocol/vectors.test.ts checks that every block still equals what this computes, so
 * the document cannot drift from the code. `node dist/scripts/protocolVectors.js --doc` prints
 * the blocks, `--doc-update` rewrites them in PROTOCOL.md.
 */
import * as lp from 'it-length-prefixed'
import { sha256 } from '@noble/hashes/sha2.js'
import { DomainHasher, EIP712_TYPES, TYPE_HASHES, structHash, typeString, type PrimaryType } from '../src/protocol/eip712.js'
import { encodeMessage, MAX_MESSAGE_BYTES } from '../src/protocol/codec.js'
import { signMessage } from '../src/protocol/message.js'
import { identityFromPrivateKey } from '../src/protocol/identity.js'
import { bytesToHex, hexToBytes } from '../src/protocol/hex.js'
import { toJson } from '../src/protocol/json.js'
import { LIMITS } from '../src/protocol/validate.js'
import { MAX_QUERY_LIMIT, QUERY_KINDS } from '../src/protocol/constants.js'
import { DEFAULT_LIMITS, dhtProtocol, domainOf, networkTag, parseProfile, profileHash, protocolId, serializeProfile, topicName, TOPIC_KINDS } from '../src/protocol/profile.js'
import type { Deal, Hash, Heartbeat, JobOffer, ResourceOffer } from '../src/protocol/types.js'
import type { WireMessage } from '../src/protocol/codec.js'
import { DEFAULT_GOSSIP_TUNING, DISCONNECT_SCORE, PEER_SCORE_PARAMS, SCORE_THRESHOLDS, msgIdFn, topicParams } from '../src/p2p/libp2p.js'
import { outcomeDigest } from '../src/p2p/reqresp/outcome.js'
import { DEFAULT_RPC_LIMITS } from '../src/p2p/reqresp/rpc.js'
import { CHUNK_BYTES } from '../src/p2p/reqresp/transfer.js'
import type { Message } from '@libp2p/gossipsub'

const KEY_ONE = '0x0000000000000000000000000000000000000000000000000000000000000001'
const KEY_ANVIL0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const h = (byte: string): Hash => `0x${byte.repeat(32)}` as Hash
const text = new TextDecoder()

/** Plain JSON of a value: bigints as decimal strings, bytes as hex. */
function plain (v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString(10) : x instanceof Uint8Array ? bytesToHex(x) : x))
}

/** Every vector of PROTOCOL.md by name, as plain JSON. */
export function docVectors (): Record<string, unknown> {
  const one = identityFromPrivateKey(hexToBytes(KEY_ONE, 32))
  const anvil0 = identityFromPrivateKey(hexToBytes(KEY_ANVIL0, 32))

  // ---- profile (§3)
  const profileFile = {
    name: 'example',
    chainId: 31337,
    rpcUrl: 'http://127.0.0.1:8545',
    escrow: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    epochMs: 12000,
    genesisMs: 1767225600000,
    bootstrap: [`/ip4/127.0.0.1/tcp/4001/p2p/${one.peerId.toString()}`]
  }
  const profile = parseProfile(profileFile)
  const names = ['sync', 'query', 'transfer', 'outcome', 'logs'] as const
  const profileVector = {
    file: profileFile,
    canonical: serializeProfile(profile),
    hash: profileHash(profile),
    tag: networkTag(profile),
    topics: Object.fromEntries(TOPIC_KINDS.map((k) => [k, topicName(profile, k)])),
    protocols: { ...Object.fromEntries(names.map((n) => [n, protocolId(profile, n)])), kad: dhtProtocol(profile) }
  }

  // ---- EIP-712 (§4)
  const hasher = new DomainHasher(domainOf(profile))
  const eip712 = {
    domain: plain(domainOf(profile)),
    domainTypeString: 'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)',
    domainSeparator: bytesToHex(hasher.separator),
    types: Object.fromEntries((Object.keys(EIP712_TYPES) as PrimaryType[]).map((t) => [t, { typeString: typeString(t), typeHash: bytesToHex(TYPE_HASHES[t]) }]))
  }

  // ---- messages (§5, §6)
  const epoch = 147_000n
  const job: JobOffer = {
    creator: one.address,
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
    epoch,
    expiryEpoch: epoch + 10n
  }
  const resource: ResourceOffer = {
    provider: anvil0.address,
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
    epoch: epoch - 1n,
    expiryEpoch: epoch + 999n
  }
  const deal: Deal = {
    jobOfferHash: hasher.digest('JobOffer', job),
    resourceOfferHash: hasher.digest('ResourceOffer', resource),
    creator: one.address,
    provider: anvil0.address,
    price: 7_200_000_000_000_000n,
    collateral: 100_000_000_000_000_000n,
    timeout: 3600,
    matchEpoch: epoch,
    openBy: 1_767_229_400n
  }
  const heartbeat: Heartbeat = { node: anvil0.address, epoch, offerDigest: h('44'), stateRoot: h('55') }
  const message = (id: typeof one, m: WireMessage, primaryType: PrimaryType, body: unknown): unknown => {
    const wire = encodeMessage(m)
    const gossip = { type: 'signed', from: id.peerId, data: wire } as unknown as Message
    return {
      signerKey: bytesToHex(id.privateKey),
      signer: id.address,
      signerPeerId: id.peerId.toString(),
      primaryType,
      body: plain(body),
      structHash: structHash(primaryType, body as never),
      digest: bytesToHex(hasher.digestBytes(primaryType, body as never)),
      signature: m.signature,
      wire: text.decode(wire),
      gossipFrom: bytesToHex(id.peerId.toMultihash().bytes),
      gossipMessageId: bytesToHex(msgIdFn(gossip))
    }
  }
  const signed = (id: typeof one, m: unknown): WireMessage => signMessage(hasher, id.privateKey, m as never)

  // ---- frames (§7)
  const frame = (v: unknown): { json: string, bytes: string } => {
    const json = toJson(v)
    return { json, bytes: bytesToHex(lp.encode.single(new TextEncoder().encode(json)).subarray()) }
  }
  const report = { dealId: hasher.digest('Deal', deal), kind: 'failed' as const, message: 'exit code 2', exitCode: 2, stderrTail: 'error: no such file\n', at: 1_767_229_000_000 }

  return {
    profile: profileVector,
    eip712,
    'job-offer': message(one, signed(one, { kind: 'job', offer: job }), 'JobOffer', job),
    'resource-offer': message(anvil0, signed(anvil0, { kind: 'resource', offer: resource }), 'ResourceOffer', resource),
    'deal-acceptance': message(anvil0, signed(anvil0, { kind: 'acceptance', deal, party: 'provider' }), 'Deal', deal),
    heartbeat: message(anvil0, signed(anvil0, { kind: 'heartbeat', heartbeat }), 'Heartbeat', heartbeat),
    frames: {
      queryRequest: frame({ m: 'jobs', a: { page: 0, limit: 20 } }),
      syncRequest: frame({ m: 'digest', a: { epoch, acc: [epoch - 1n, epoch - 2n] } }),
      answer: frame({ ok: true, r: { epoch, root: h('55') } }),
      refusal: frame({ ok: false, code: 'P2P_RPC_BAD_REQUEST', message: 'unknown method; known: offers, jobs, deals, peers, epoch' }),
      transferGet: frame({ v: 1, op: 'get', dealId: report.dealId, kind: 'inputs' })
    },
    outcome: { report, networkTag: networkTag(profile), digest: bytesToHex(outcomeDigest(profile, report)) },
    scoring: {
      thresholds: SCORE_THRESHOLDS,
      disconnectScore: DISCONNECT_SCORE,
      peer: PEER_SCORE_PARAMS,
      topic: topicParams(),
      mesh: DEFAULT_GOSSIP_TUNING
    },
    bounds: {
      fields: plain(LIMITS),
      messageBytes: MAX_MESSAGE_BYTES,
      profileLimitDefaults: DEFAULT_LIMITS,
      queryKinds: QUERY_KINDS,
      maxQueryLimit: MAX_QUERY_LIMIT,
      rpc: DEFAULT_RPC_LIMITS,
      transferChunkBytes: CHUNK_BYTES
    }
  }
}

/** The fenced block of one vector, as PROTOCOL.md holds it. */
export function docBlock (name: string, value: unknown): string {
  return '```json vector:' + name + '\n' + JSON.stringify(value, null, 2) + '\n```'
}

const BLOCK_RE = /```json vector:([a-z0-9-]+)\n([\s\S]*?)\n```/g

/** The vectors a Markdown text holds, by name. */
export function parseDocBlocks (md: string): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const m of md.matchAll(BLOCK_RE)) {
    if (out.has(m[1])) throw new Error(`vector ${m[1]} appears twice`)
    out.set(m[1], JSON.parse(m[2]))
  }
  return out
}

/** `md` with every vector block rewritten to what src computes now. */
export function updateDocBlocks (md: string, vectors: Record<string, unknown>): string {
  return md.replace(BLOCK_RE, (_all, name: string) => {
    if (!(name in vectors)) throw new Error(`PROTOCOL.md has a block for unknown vector ${name}`)
    return docBlock(name, vectors[name])
  })
}

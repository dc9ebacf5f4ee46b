/** Shared helpers of the node suites: profiles with short epochs, identities, offers, clean-up. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { parseProfile, type Profile } from '../../src/protocol/profile.js'
import { createIdentity, type Identity } from '../../src/protocol/identity.js'
import { bytesToHex } from '../../src/protocol/hex.js'
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { LilyNode, type LilyNodeOptions } from '../../src/node/network.js'
import { createLogger } from '../../src/protocol/logger.js'

export const ESCROW: Address = '0x5fbdb2315678afecb367f032d93f642f64180aa3'

export function testProfile (opts: { epochMs?: number, graceMs?: number, bootstrap?: string[], genesisMs?: number, limits?: Record<string, number> } = {}): Profile {
  const epochMs = opts.epochMs ?? 1000
  return parseProfile({
    name: 'nodetest',
    chainId: 31337,
    rpcUrl: 'http://127.0.0.1:8545',
    escrow: ESCROW,
    epochMs,
    graceMs: opts.graceMs ?? 300,
    genesisMs: opts.genesisMs ?? Math.floor(Date.now() / epochMs) * epochMs - 100 * epochMs,
    reserveEpochs: 3,
    bootstrap: opts.bootstrap ?? [],
    ...(opts.limits !== undefined ? { limits: opts.limits } : {})
  })
}

export function hashOf (s: string): Hash {
  return bytesToHex(keccak_256(new TextEncoder().encode(s)))
}

export const MODULE = hashOf('module:cowsay')

export function jobOffer (creator: Address, nonce: bigint, epoch: bigint, i = 0): JobOffer {
  return {
    creator,
    nonce,
    module: MODULE,
    inputsHash: hashOf(`inputs:${creator}:${nonce}`),
    cpu: 500 + (i % 4) * 250,
    ram: 256 + (i % 3) * 128,
    gpus: 0,
    gpuVram: 0,
    disk: 10,
    maxPrice: 10n ** 15n + BigInt(i % 7) * 10n ** 13n,
    timeout: 60,
    collateral: 0n,
    epoch,
    // a job lives one epoch past its first, shorter than the reservation, so a released job never re-matches
    expiryEpoch: epoch + 1n
  }
}

export function resourceOffer (provider: Address, nonce: bigint, epoch: bigint, i = 0): ResourceOffer {
  return {
    provider,
    nonce,
    version: 1,
    cpu: 4000,
    ram: 4096,
    gpus: 0,
    gpuVram: 0,
    disk: 1000,
    gpuModel: '',
    priceCpu: 10n + BigInt(i % 5),
    priceRam: 1n,
    priceGpu: 0n,
    priceDisk: 0n,
    modules: [],
    collateral: 10n ** 15n,
    epoch,
    expiryEpoch: epoch + 3n
  }
}

/** An after-each stack: everything pushed is undone in reverse order. */
export class Cleanup {
  private readonly fns: Array<() => Promise<void>> = []
  push (fn: () => Promise<void>): void { this.fns.push(fn) }
  async run (): Promise<void> {
    while (this.fns.length > 0) {
      const fn = this.fns.pop() as () => Promise<void>
      await fn().catch(() => {})
    }
  }
}

export async function tempDir (cleanup: Cleanup, prefix = 'lilynode-test-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  cleanup.push(async () => { await rm(d, { recursive: true, force: true }) })
  return d
}

export async function startNode (cleanup: Cleanup, profile: Profile, extra: Partial<LilyNodeOptions> & { identity?: Identity, name?: string } = {}): Promise<LilyNode> {
  const dataDir = extra.dataDir ?? await tempDir(cleanup)
  const identity = extra.identity ?? createIdentity()
  const node = new LilyNode({
    profile,
    identity,
    dataDir,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    logger: createLogger(extra.name ?? `t:${identity.address.slice(2, 8)}`),
    ...extra
  })
  await node.start()
  cleanup.push(async () => { await node.stop() })
  return node
}

export function addrOf (node: LilyNode): string {
  const a = node.libp2p.getMultiaddrs().find((m) => m.toString().includes('127.0.0.1'))
  if (a === undefined) throw new Error('node has no loopback address')
  return a.toString()
}

export async function waitFor (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

export async function sleepMs (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Free TCP ports on 127.0.0.1 (bound then released). */
export async function freePorts (n: number): Promise<number[]> {
  const { createServer } = await import('node:net')
  const servers = await Promise.all(Array.from({ length: n }, async () => await new Promise<import('node:net').Server>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { resolve(s) })
  })))
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port)
  await Promise.all(servers.map(async (s) => { await new Promise((resolve) => s.close(resolve)) }))
  return ports
}

export interface TestNetwork {
  profile: Profile
  bootstrapIds: Identity[]
  bootstrapAddrs: string[]
  bootstrapPorts: number[]
}

/** A profile whose bootstrap list names fixed keys on fixed loopback ports. */
export async function planNetwork (bootstraps: number, opts: { epochMs?: number, graceMs?: number, limits?: Record<string, number> } = {}): Promise<TestNetwork> {
  const bootstrapIds = Array.from({ length: bootstraps }, () => createIdentity())
  const bootstrapPorts = await freePorts(bootstraps)
  const bootstrapAddrs = bootstrapIds.map((id, i) => `/ip4/127.0.0.1/tcp/${bootstrapPorts[i]}/p2p/${id.peerId.toString()}`)
  return { profile: testProfile({ ...opts, bootstrap: bootstrapAddrs }), bootstrapIds, bootstrapAddrs, bootstrapPorts }
}

/** Roots per epoch of every node must agree: returns [agreeing node-epochs, total node-epochs, epochs fully agreed]. */
export function agreement (nodes: LilyNode[], from: bigint, to: bigint): { agree: number, total: number, fullEpochs: number, missing: number } {
  let agree = 0
  let total = 0
  let fullEpochs = 0
  let missing = 0
  for (let e = from; e <= to; e++) {
    const counts = new Map<string, number>()
    for (const n of nodes) {
      const r = n.roots.get(e)
      if (r === undefined) { missing++; continue }
      counts.set(r, (counts.get(r) ?? 0) + 1)
    }
    const best = Math.max(0, ...counts.values())
    agree += best
    total += nodes.length
    if (best === nodes.length) fullEpochs++
  }
  return { agree, total, fullEpochs, missing }
}

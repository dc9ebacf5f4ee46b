/**
 * The `logs` protocol with the provider's log source over a real deal store (LevelDB) and real
 * libp2p nodes: a deal's logs go to its creator only (LOGS_FORBIDDEN otherwise), a follower waits
 * for the job and gets its logs when they come, and every bound holds — bytes per stream,
 * streams per peer, time per stream.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { createIdentity, type Identity } from '../../src/protocol/identity.js'
import { parseProfile, type Profile } from '../../src/protocol/profile.js'
import type { Hash } from '../../src/protocol/types.js'
import { openLogs, serveLogs, LogsRefusal, type LogChunk, type ServeLogsOptions } from '../../src/p2p/reqresp/logs.js'
import { providerLogSource } from '../../src/node/jobs/logs.js'
import { DealStore } from '../../src/node/roles/deals.js'
import { NodeStore } from '../../src/node/store.js'
import { encodeBundle } from '../../src/executor/bundle.js'

const profile: Profile = parseProfile({
  name: 'logs-test', chainId: 31337, rpcUrl: 'http://127.0.0.1:1', escrow: '0x' + '11'.repeat(20), epochMs: 1000, genesisMs: 0, bootstrap: []
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

const dealId = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}` as Hash
const text = (cs: LogChunk[], s: 'stdout' | 'stderr'): string => cs.filter((c) => c.stream === s).map((c) => Buffer.from(c.data).toString('utf8')).join('')

async function readAll (it: AsyncIterable<LogChunk>): Promise<LogChunk[]> {
  const out: LogChunk[] = []
  for await (const c of it) out.push(c)
  return out
}

describe('p2p/logs: a deal\'s logs to its creator only, bounded', function () {
  this.timeout(60_000)
  const creatorId = createIdentity()
  const providerId = createIdentity()
  const strangerId = createIdentity()
  let creator: Libp2p, provider: Libp2p, stranger: Libp2p
  let dir: string
  let db: NodeStore
  let deals: DealStore
  const stops: AbortController[] = []

  /** Serves the provider's log source on a protocol of its own profile (one per test, so bounds differ). */
  async function serve (name: string, o: ServeLogsOptions): Promise<Profile> {
    const p = { ...profile, name }
    const stop = new AbortController()
    stops.push(stop)
    await serveLogs(provider, p, providerLogSource({ store: deals, executor: {}, pollMs: 50 }), stop.signal, o)
    return p
  }

  async function addDeal (n: number, state: 'opened' | 'running' | 'result', bundle?: { stdout: string, stderr: string }): Promise<Hash> {
    const id = dealId(n)
    await deals.create({
      dealId: id,
      role: 'provider',
      state,
      deal: { jobOfferHash: dealId(1000 + n), resourceOfferHash: dealId(2000 + n), creator: creatorId.address, provider: providerId.address, price: 1n, collateral: 1n, timeout: 30, matchEpoch: 1n, openBy: 1n }
    })
    if (bundle !== undefined) await deals.putBlob(id, 'bundle', encodeBundle({ exitCode: 0, stdout: Buffer.from(bundle.stdout), stderr: Buffer.from(bundle.stderr), outputTar: new Uint8Array() }))
    return id
  }

  before(async () => {
    [creator, provider, stranger] = await Promise.all([node(creatorId), node(providerId), node(strangerId)])
    for (const n of [creator, stranger]) await n.dial(provider.getMultiaddrs())
    dir = await mkdtemp(join(tmpdir(), 'lily-logs-'))
    db = await NodeStore.open(join(dir, 'db'))
    deals = new DealStore(db.sublevel('deals'), join(dir, 'blobs'))
  })
  after(async () => {
    for (const s of stops) s.abort()
    await Promise.all([creator.stop(), provider.stop(), stranger.stop()])
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('hands a finished job\'s stdout and stderr to the deal\'s creator; a stranger gets LOGS_FORBIDDEN, an unknown deal LOGS_UNKNOWN_DEAL', async () => {
    const p = await serve('logs-a', {})
    const id = await addDeal(1, 'result', { stdout: 'hello\n', stderr: 'oops\n' })
    const opened = await openLogs(creator, p, provider.peerId, id, { follow: false })
    const got = await readAll(opened.chunks)
    assert.equal(text(got, 'stdout'), 'hello\n')
    assert.equal(text(got, 'stderr'), 'oops\n')
    assert.equal(opened.ended.why, undefined)
    await assert.rejects(openLogs(stranger, p, provider.peerId, id, { follow: false }), (e: unknown) => e instanceof LogsRefusal && e.code === 'LOGS_FORBIDDEN')
    await assert.rejects(openLogs(creator, p, provider.peerId, dealId(99), { follow: false }), (e: unknown) => e instanceof LogsRefusal && e.code === 'LOGS_UNKNOWN_DEAL')
  })

  it('without follow, a job that has not started is LOGS_UNAVAILABLE; with follow, the reader waits and gets the logs once they exist', async () => {
    const p = await serve('logs-b', {})
    const id = await addDeal(2, 'opened')
    await assert.rejects(openLogs(creator, p, provider.peerId, id, { follow: false }), (e: unknown) => e instanceof LogsRefusal && e.code === 'LOGS_UNAVAILABLE' && /has not started/.test(e.message))
    const opened = await openLogs(creator, p, provider.peerId, id, { follow: true })
    const reading = readAll(opened.chunks)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await deals.putBlob(id, 'bundle', encodeBundle({ exitCode: 0, stdout: Buffer.from('late\n'), stderr: new Uint8Array(), outputTar: new Uint8Array() }))
    assert.equal(text(await reading, 'stdout'), 'late\n')
  })

  it('a stream carries at most maxBytes of log, then ends saying why', async () => {
    const p = await serve('logs-c', { maxBytes: 1000 })
    const id = await addDeal(3, 'result', { stdout: 'x'.repeat(5000), stderr: 'y'.repeat(100) })
    const opened = await openLogs(creator, p, provider.peerId, id, { follow: false })
    const got = await readAll(opened.chunks)
    assert.equal(got.reduce((n, c) => n + c.data.length, 0), 1000)
    assert.match(String(opened.ended.why), /stops at 1000 bytes/)
  })

  it('one peer has at most maxStreamsPerPeer streams open (LOGS_BUSY beyond); another peer is not counted against it', async () => {
    const p = await serve('logs-d', { maxStreamsPerPeer: 1 })
    const id = await addDeal(4, 'opened')
    const first = new AbortController()
    const opened = await openLogs(creator, p, provider.peerId, id, { follow: true, signal: first.signal })
    const reading = readAll(opened.chunks).catch(() => [])
    await assert.rejects(openLogs(creator, p, provider.peerId, id, { follow: true }), (e: unknown) => e instanceof LogsRefusal && e.code === 'LOGS_BUSY')
    // the stranger is refused for what it is, not for the creator's count
    await assert.rejects(openLogs(stranger, p, provider.peerId, id, { follow: true }), (e: unknown) => e instanceof LogsRefusal && e.code === 'LOGS_FORBIDDEN')
    first.abort()
    await reading
    let again: Awaited<ReturnType<typeof openLogs>> | undefined
    for (let i = 0; i < 40 && again === undefined; i++) {
      again = await openLogs(creator, p, provider.peerId, id, { follow: false }).catch(async (e: unknown) => {
        if (e instanceof LogsRefusal && e.code === 'LOGS_BUSY') { await new Promise((resolve) => setTimeout(resolve, 50)); return undefined }
        if (e instanceof LogsRefusal && e.code === 'LOGS_UNAVAILABLE') return 'freed' as never
        throw e
      })
    }
    assert.ok(again !== undefined, 'the slot is free again once the first stream closed')
  })

  it('a followed stream stays open at most maxMs, then ends saying why', async () => {
    const p = await serve('logs-e', { maxMs: 600 })
    const id = await addDeal(5, 'opened')
    const t0 = Date.now()
    const opened = await openLogs(creator, p, provider.peerId, id, { follow: true })
    assert.deepEqual(await readAll(opened.chunks), [])
    assert.ok(Date.now() - t0 < 10_000)
    assert.match(String(opened.ended.why), /stops after 600 ms/)
  })
})

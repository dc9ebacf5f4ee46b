/** The node database: locked by one process at a time, close twice, bigints round-trip, atomic batches. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { NodeStore, Bucket, fromJson, toJson } from '../../src/node/store.js'
import { PeerPolicing, toValidatorResult, actionOf } from '../../src/p2p/gossip/policing.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { GossipRefusal } from '../../src/p2p/errors.js'
import { Cleanup, tempDir } from './helpers.js'

describe('node: store and gossip policing', function () {
  this.timeout(30_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('refuses a database held by another process with NODE_DB_LOCKED, and closes twice', async () => {
    const dir = await tempDir(cleanup)
    // another OS process holds the LevelDB lock
    const holder = spawn(process.execPath, ['--input-type=module', '-e',
      `import { Level } from 'level'; const db = new Level(${JSON.stringify(dir)}); await db.open(); console.log('open'); setInterval(() => {}, 1000)`],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] })
    cleanup.push(async () => { holder.kill('SIGKILL') })
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => { if (d.toString().includes('open')) resolve() })
      holder.once('exit', () => { reject(new Error('holder exited')) })
    })
    await assert.rejects(NodeStore.open(dir), (e: Error & { code?: string }) => e.code === 'NODE_DB_LOCKED' && /another process/.test(e.message))
    holder.kill('SIGKILL')
    await new Promise((resolve) => holder.once('exit', resolve))
    const s = await NodeStore.open(dir)
    await s.close()
    await s.close()
    await assert.rejects(s.get(Bucket.meta, 'x'), (e: Error & { code?: string }) => e.code === 'NODE_DB_CLOSED')
  })

  it('keeps bigints, applies batches across buckets, and reopens with the same data', async () => {
    const dir = await tempDir(cleanup)
    const s = await NodeStore.open(dir)
    await s.batch([
      { type: 'put', bucket: Bucket.meta, key: 'head', value: 2n ** 70n },
      { type: 'put', bucket: Bucket.deals, key: 'd', value: { price: 5n, n: 1, s: 'x' } }
    ])
    await s.close()
    const t = await NodeStore.open(dir)
    assert.equal(await t.get<bigint>(Bucket.meta, 'head'), 2n ** 70n)
    assert.deepEqual(await t.get(Bucket.deals, 'd'), { price: 5n, n: 1, s: 'x' })
    const other = t.sublevel('lifecycle')
    await other.put('k', 'v')
    assert.equal(await t.get(Bucket.meta, 'k'), undefined, 'sublevels are apart from buckets')
    assert.throws(() => t.sublevel('Bad Name'), RangeError)
    await t.close()
    assert.deepEqual(fromJson(toJson({ a: [1n, { b: -3n }] })), { a: [1n, { b: -3n }] })
  })

  it('maps error actions to validator results in one place and bans repeat offenders', () => {
    assert.equal(toValidatorResult('reject'), 'reject')
    assert.equal(toValidatorResult('ignore'), 'ignore')
    assert.equal(toValidatorResult('accept'), 'accept')
    assert.deepEqual(actionOf(new ProtocolError('PROTOCOL_MALFORMED', 'reject', 'x')), { action: 'reject', code: 'PROTOCOL_MALFORMED' })
    assert.deepEqual(actionOf(new GossipRefusal('PROTOCOL_DUPLICATE', 'ignore', 'x')), { action: 'ignore', code: 'PROTOCOL_DUPLICATE' })
    assert.deepEqual(actionOf(new Error('bug')), { action: 'ignore', code: 'NODE_INTERNAL' })
    let now = 0
    const p = new PeerPolicing({ ratePerSec: 10, burst: 5, banThreshold: 3, banMs: 1000 }, () => now)
    for (let i = 0; i < 5; i++) assert.ok(p.take('a'))
    assert.equal(p.take('a'), false, 'burst spent')
    now += 200
    assert.ok(p.take('a'), 'refilled at 10/s')
    assert.equal(p.reject('b'), false)
    assert.equal(p.reject('b'), false)
    assert.equal(p.reject('b'), true, 'third reject bans')
    assert.ok(p.isBanned('b'))
    assert.ok(p.appScore('b') < 0)
    now += 1001
    assert.equal(p.isBanned('b'), false, 'bans expire')
  })
})

/**
 * A DHT-server node (a bootstrap) restarted with a stored head too old to replay and no peer to
 * ask: it must go on matching from its head's state, not spin between rejoining and starting.
 */
import assert from 'node:assert/strict'
import { createIdentity } from '../../src/protocol/identity.js'
import { Cleanup, sleepMs, startNode, tempDir, testProfile, waitFor } from './helpers.js'

describe('node: restart with a stale head and no peers', function () {
  this.timeout(60_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('goes on matching from the next epoch and keeps its event loop free', async () => {
    // a bootstrap address nobody listens on: the node has peers configured but none reachable
    const ghost = createIdentity()
    const profile = testProfile({ epochMs: 500, graceMs: 100, bootstrap: [`/ip4/127.0.0.1/tcp/9/p2p/${ghost.peerId.toString()}`] })
    const dataDir = await tempDir(cleanup)
    const identity = createIdentity()
    const opts = { identity, dataDir, dhtServer: true, keepEpochs: 4, name: 'stale' }
    const first = await startNode(cleanup, profile, opts)
    await waitFor(() => first.headEpoch !== undefined, 15_000, 'a first matched epoch')
    const before = first.headEpoch as bigint
    await first.stop()
    // more than keepEpochs / 2 epochs pass: the stored head can no longer be replayed
    await sleepMs(5 * profile.epochMs)
    const second = await startNode(cleanup, profile, opts)
    let ticks = 0
    const timer = setInterval(() => { ticks++ }, 50)
    try {
      await waitFor(() => second.headEpoch !== undefined && (second.headEpoch) > before + 3n, 15_000, 'matching after the restart')
    } finally {
      clearInterval(timer)
    }
    assert.ok(second.isParticipating)
    assert.ok(ticks > 5, `the event loop ran timers while the node restarted (${ticks} ticks)`)
  })
})

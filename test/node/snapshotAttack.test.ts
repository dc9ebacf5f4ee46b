/**
 * The relabelled-old-snapshot attack (issue: a one-node network, two throwaway identities serve
 * the node its own genuine old snapshot relabelled with another epoch, and the node's head jumped
 * from epoch 8 to 1,000,010). The node must check a snapshot against the epoch it asked for, the
 * state's own epoch and its clock, and so never adopt it.
 */
import assert from 'node:assert/strict'
import { checkSnapshot, type SnapshotAnswer } from '../../src/node/snapshots.js'
import { NodeError } from '../../src/node/errors.js'
import { encodeMessage, signHeartbeat } from '../../src/p2p/wire.js'
import type { Hash } from '../../src/protocol/types.js'
import { startAttacker } from './attacker.js'
import { addrOf, Cleanup, sleepMs, startNode, testProfile, waitFor } from './helpers.js'

const FAR = 1_000_010n

describe('node: relabelled snapshots', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('checkSnapshot refuses a label other than the epoch asked, a state of another epoch, a future epoch and a wrong root', async () => {
    const p = testProfile({ epochMs: 1000, graceMs: 200 })
    const node = await startNode(cleanup, p, { name: 'solo', dhtServer: true })
    await waitFor(() => node.roots.size >= 2, 20_000, 'two epochs matched')
    const head = node.headEpoch as bigint
    const rec = await node.epochRecord(head)
    assert.ok(rec !== undefined)
    const snap: SnapshotAnswer = { epoch: rec.epoch, state: rec.state, root: rec.root, digest: rec.digest, inputIds: rec.inputIds }
    const closed = node.lastClosedEpoch()
    assert.equal(checkSnapshot(snap, { epoch: head, root: rec.root, lastClosed: closed }).epoch, head)
    const refused = (s: SnapshotAnswer, epoch: bigint, root: Hash, lastClosed: bigint, re: RegExp): void => {
      assert.throws(() => checkSnapshot(s, { epoch, root, lastClosed }), (e: unknown) => e instanceof NodeError && e.code === 'NODE_SNAPSHOT_UNVERIFIED' && re.test(e.message))
    }
    refused({ ...snap, epoch: FAR }, head, rec.root, closed, /labelled 1000010/)
    refused({ ...snap, epoch: FAR }, FAR, rec.root, FAR + 5n, /holds the state of epoch/)
    refused({ ...snap, epoch: head + 1n }, head + 1n, rec.root, closed, /holds the state of epoch|beyond the last closed/)
    refused(snap, head, rec.root, head - 1n, /beyond the last closed epoch/)
    refused(snap, head, `0x${'11'.repeat(32)}` as Hash, closed, /names root/)
  })

  it('a one-node network outvoted by two strangers serving its own old snapshot relabelled keeps its head within the current epoch', async () => {
    const p = testProfile({ epochMs: 1000, graceMs: 200 })
    const node = await startNode(cleanup, p, { name: 'victim', dhtServer: true })
    await waitFor(() => node.roots.size >= 3, 20_000, 'three epochs matched')
    const old = await node.epochRecord([...node.roots.keys()].sort((a, b) => a < b ? -1 : 1)[0]) as NonNullable<Awaited<ReturnType<typeof node.epochRecord>>>
    // a genuine old state, with a root that differs from the current ones (its epoch is inside the state)
    const served = (): SnapshotAnswer => ({ epoch: FAR, state: old.state, root: old.root, digest: old.digest, inputIds: [] })
    let snapshotsServed = 0
    const handlers = {
      head: async () => ({ epoch: FAR, root: old.root }),
      root: async () => ({ root: old.root }),
      digest: async (a: unknown) => ({ digest: old.digest, count: 0, frozen: false, acc: [], epoch: (a as { epoch: bigint }).epoch }),
      ids: async () => ({ ids: [], total: 0 }),
      offers: async () => ({ offers: [] }),
      snapshot: async () => { snapshotsServed++; return served() },
      accIds: async () => ({ keys: [] }),
      accGet: async () => ({ wires: [] }),
      peers: async () => ({ peers: [] })
    }
    const attackers = [await startAttacker(cleanup, p, addrOf(node), handlers), await startAttacker(cleanup, p, addrOf(node), handlers)]
    const resyncs: bigint[] = []
    node.on('resync', (r) => { resyncs.push(r.epoch) })
    const until = Date.now() + 6 * p.epochMs
    let maxHead = 0n
    while (Date.now() < until) {
      const e = node.headEpoch ?? 0n
      for (const a of attackers) {
        for (const epoch of [e, e + 1n]) {
          await a.publish('epochs', encodeMessage(signHeartbeat(node.hasher, a.identity.privateKey, { node: a.identity.address, epoch, offerDigest: old.digest, stateRoot: old.root })))
        }
      }
      const h = node.headEpoch ?? 0n
      if (h > maxHead) maxHead = h
      assert.ok(h <= node.currentEpoch(), `head ${h} beyond the current epoch ${node.currentEpoch()}`)
      await sleepMs(150)
    }
    // the strangers were listened to (two keys outvote one on a chainless network) and served their snapshot...
    assert.ok(snapshotsServed > 0, 'the node asked the strangers for a snapshot')
    // ...which was refused every time: no adoption, the head kept following the clock
    assert.deepEqual(resyncs, [])
    assert.ok(maxHead < FAR && maxHead + 3n >= node.currentEpoch(), `head ${maxHead} follows the clock (epoch ${node.currentEpoch()})`)
  })
})

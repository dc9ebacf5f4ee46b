import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { canMove, DealStore, DealStoreError } from '../../../src/node/roles/deals.js'
import type { Deal, Hash } from '../../../src/protocol/types.js'

const deal: Deal = {
  jobOfferHash: ('0x' + '01'.repeat(32)) as Hash,
  resourceOfferHash: ('0x' + '02'.repeat(32)) as Hash,
  creator: ('0x' + '03'.repeat(20)) as Hash,
  provider: ('0x' + '04'.repeat(20)) as Hash,
  price: 10n ** 20n + 7n,
  collateral: 5n,
  timeout: 60,
  matchEpoch: 12n,
  openBy: 1_800_000_000n
}
const ID = ('0x' + 'cd'.repeat(32)) as Hash

describe('node/roles/deals', function () {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'lily-deals-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  async function withStore<T> (fn: (s: DealStore) => Promise<T>): Promise<T> {
    const db = new Level<string, string>(join(dir, 'db'))
    await db.open()
    try {
      return await fn(new DealStore(db.sublevel<string, string>('deals', { valueEncoding: 'utf8' }), join(dir, 'blobs')))
    } finally {
      await db.close()
    }
  }

  it('keeps a deal, its bigints and its history across a reopen', async () => {
    await withStore(async (s) => {
      const { created } = await s.create({ dealId: ID, role: 'provider', state: 'agreed', deal })
      assert.equal(created, true)
      assert.equal((await s.create({ dealId: ID, role: 'provider', state: 'matched', deal })).created, false)
      await s.move(ID, 'opened', { openTx: ('0x' + 'ee'.repeat(32)) as Hash })
      await s.move(ID, 'fetching')
      await s.putBlob(ID, 'inputs', new Uint8Array([1, 2, 3]))
    })
    await withStore(async (s) => {
      const r = await s.require(ID)
      assert.equal(r.state, 'fetching')
      assert.equal(r.deal.price, deal.price)
      assert.deepEqual(r.history.map((h) => h.state), ['agreed', 'opened', 'fetching'])
      assert.deepEqual(await s.getBlob(ID, 'inputs'), new Uint8Array([1, 2, 3]))
      assert.equal(await s.getBlob(ID, 'bundle'), undefined)
      assert.equal((await s.active('provider')).length, 1)
    })
  })

  it('refuses moves the lifecycle does not allow, and anything after a terminal state', async () => {
    await withStore(async (s) => {
      await s.create({ dealId: ID, role: 'creator', state: 'agreed', deal })
      await assert.rejects(s.move(ID, 'delivered'), (e: unknown) => e instanceof DealStoreError && e.code === 'LIFECYCLE_BAD_TRANSITION')
      await s.move(ID, 'completed')
      await assert.rejects(s.move(ID, 'opened'), (e: unknown) => e instanceof DealStoreError)
      assert.equal((await s.active()).length, 0)
    })
    assert.equal(canMove('running', 'timed-out'), true)
    assert.equal(canMove('expired', 'opened'), false)
  })

  it('serialises concurrent moves of one deal', async () => {
    await withStore(async (s) => {
      await s.create({ dealId: ID, role: 'provider', state: 'opened', deal })
      const results = await Promise.allSettled([s.move(ID, 'fetching'), s.move(ID, 'running'), s.move(ID, 'result')])
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3)
      assert.equal((await s.require(ID)).state, 'result')
    })
  })
})

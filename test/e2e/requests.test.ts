/**
 * On-chain job requests end to end (issue 7): consumer contracts request jobs on a real anvil,
 * a `lilynode creator` relay turns them into offers on the real libp2p network, a provider
 * process runs them in Docker and fulfils through LilyRequests. One network serves every case;
 * all requests are made up front so the cases overlap in time.
 */
import assert from 'node:assert/strict'
import { hexToString, type Hex } from 'viem'
import { lilyEscrowAbi, lilyRequestsAbi } from '../../src/chain/artifacts.js'
import { getRequestCredit } from '../../src/chain/requests/getRequest.js'
import { resolveModule } from '../../src/node/roles/roles.js'
import { deployConsumer, fulfilmentOf, requestFrom, requestParams, waitForRequest, type Consumer } from '../../src/devnet/requests.js'
import type { Address } from '../../src/protocol/types.js'
import { byName, closedBy, requireDocker, startNet, stopNet, type TestNet } from './helpers.js'

describe('e2e (requests): on-chain job requests served by a relay and a provider', function () {
  this.timeout(240_000)
  let t: TestNet | undefined
  let example: Consumer
  let reverting: Consumer
  let burner: Consumer
  let unserved: Consumer
  const ids: Record<'example' | 'reverting' | 'burner' | 'unserved', bigint> = { example: 0n, reverting: 0n, burner: 0n, unserved: 0n }
  const maxPrice = 10n ** 15n
  let providerStart = 0n

  before(async function () {
    requireDocker(this)
    t = await startNet({ providers: 1, mediators: 0, creators: 0, relays: 1 })
    const net = t.net
    providerStart = byName(await net.balances(), 'provider-1').escrow
    const spec = await resolveModule('cowsay:v0.0.4')
    ;[example, reverting, burner, unserved] = [
      await deployConsumer(net, 'ExampleConsumer'),
      await deployConsumer(net, 'RevertingConsumer'),
      await deployConsumer(net, 'GasBurnerConsumer'),
      await deployConsumer(net, 'ExampleConsumer')
    ]
    const now = Number((await net.chain.public.getBlock()).timestamp)
    ids.example = await requestFrom(net, example, requestParams(spec, { maxPrice }, now))
    ids.reverting = await requestFrom(net, reverting, requestParams(spec, { maxPrice }, now))
    ids.burner = await requestFrom(net, burner, requestParams(spec, { maxPrice, callbackGasLimit: 500_000 }, now))
    // no machine offers 64 GPUs and 4 TiB of RAM: the request cannot match and is refunded after its deadline
    const later = Number((await net.chain.public.getBlock()).timestamp)
    ids.unserved = await requestFrom(net, unserved, { ...requestParams(spec, { maxPrice, deadlineInS: 12 }, later), gpus: 64, gpuVram: 1024, ram: 4_194_304 })
  })
  after(async () => { await stopNet(t) })

  it('(a) ExampleConsumer: the provider runs the job, onLilyResult gets the result hash and stdout, the provider is paid', async () => {
    const net = (t as TestNet).net
    await waitForRequest(net, ids.example, ['Fulfilled'], 150_000)
    const f = await fulfilmentOf(net, ids.example)
    assert.equal(f.callbackOk, true, 'the final callback succeeded')
    assert.equal(f.provisionalOk, true, 'the provisional callback succeeded')
    assert.equal(f.provider, byName(await net.balances(), 'provider-1').address)
    assert.match(hexToString(f.data), /moo/, 'the data is the start of the cow\'s stdout')
    assert.ok((f.data.length - 2) / 2 <= 512)
    const read = async (fn: 'lastRequestId' | 'lastResultHash' | 'lastData' | 'lastFinal'): Promise<unknown> => await net.chain.public.readContract({ abi: example.abi, address: example.address, functionName: fn })
    assert.equal(await read('lastRequestId'), ids.example)
    assert.equal(await read('lastResultHash'), f.resultHash)
    assert.equal(await read('lastData'), f.data)
    assert.equal(await read('lastFinal'), true, 'the last callback says the result is final')
    assert.equal(await closedBy(net, f.dealId), 'DealClaimed', 'paid only after the challenge window')
    const relay = net.procs.get('relay-1')
    await relay?.waitFor((e) => e.event === 'request' && e.requestId === ids.example.toString() && e.state === 'fulfilled', 30_000, 'relay saw the fulfilment')
  })

  it('(b) a consumer whose callback reverts, and one that burns all its gas, still pay the provider', async () => {
    const net = (t as TestNet).net
    for (const id of [ids.reverting, ids.burner]) {
      await waitForRequest(net, id, ['Fulfilled'], 150_000)
      const f = await fulfilmentOf(net, id)
      assert.equal(f.callbackOk, false, `request ${id}: the callback must have failed`)
      assert.equal(await closedBy(net, f.dealId), 'DealClaimed', `request ${id}: the deal was claimed anyway`)
    }
    const spins = await net.chain.public.readContract({ abi: burner.abi, address: burner.address, functionName: 'spins' })
    assert.equal(spins, 0n, 'the burner\'s state change was undone with its failed callback')
    // every fulfilled request paid its price to the provider (collateral back)
    let paid = 0n
    for (const id of [ids.example, ids.reverting, ids.burner]) {
      await waitForRequest(net, id, ['Fulfilled'], 150_000)
      const [o] = await net.chain.public.getContractEvents({ abi: lilyRequestsAbi, address: net.profile.requests as Address, eventName: 'RequestOpened', args: { requestId: id }, fromBlock: 0n, strict: true })
      paid += o.args.price
    }
    assert.ok(paid > 0n)
    assert.equal(byName(await net.balances(), 'provider-1').escrow, providerStart + paid, 'provider escrow balance grew by exactly the three prices')
  })

  it('(c) an unserved request is refunded by the relay after its deadline, and the consumer withdraws', async () => {
    const net = (t as TestNet).net
    await waitForRequest(net, ids.unserved, ['Refunded'], 90_000)
    const [ev] = await net.chain.public.getContractEvents({ abi: lilyRequestsAbi, address: net.profile.requests as Address, eventName: 'RequestRefunded', args: { requestId: ids.unserved }, fromBlock: 0n, strict: true })
    assert.equal(ev.args.amount, maxPrice)
    const relay = net.procs.get('relay-1')
    await relay?.waitFor((e) => e.event === 'request' && e.requestId === ids.unserved.toString() && e.state === 'refunded', 30_000, 'relay refunded it')
    const requests = net.profile.requests as Address
    assert.equal(await getRequestCredit(net.chain, { requests, account: unserved.address }), maxPrice)
    const owner = unserved.client.account?.address as Address
    const before = await net.chain.public.getBalance({ address: owner })
    const { wallet, account, chain } = unserved.client
    const hash = await wallet?.writeContract({ abi: unserved.abi, address: unserved.address, functionName: 'withdraw', args: [], account: account ?? null, chain }) as Hex
    const receipt = await net.chain.public.waitForTransactionReceipt({ hash })
    assert.equal(receipt.status, 'success')
    assert.equal(await getRequestCredit(net.chain, { requests, account: unserved.address }), 0n)
    const after = await net.chain.public.getBalance({ address: owner })
    assert.equal(after - before, maxPrice - receipt.gasUsed * receipt.effectiveGasPrice, 'the owner got the whole maxPrice back (less its gas)')
    // the companion stays solvent: its free escrow balance is exactly what it owes consumers
    const owed = await net.chain.public.readContract({ abi: lilyRequestsAbi, address: requests, functionName: 'owed' })
    const held = await net.chain.public.readContract({ abi: lilyEscrowAbi, address: net.profile.escrow, functionName: 'balanceOf', args: [requests] })
    assert.equal(held, owed)
  })

  it('(d) a restarted relay resumes from its stored cursor: old requests are not served twice, a new one is', async () => {
    const net = (t as TestNet).net
    await net.procs.get('relay-1')?.stop('SIGTERM')
    const relay = await net.startRelay('relay-1')
    const spec = await resolveModule('cowsay:v0.0.4')
    const now = Number((await net.chain.public.getBlock()).timestamp)
    const id = await requestFrom(net, example, requestParams(spec, { maxPrice, inputs: { Message: 'moo' } }, now))
    await waitForRequest(net, id, ['Fulfilled'], 150_000)
    await relay.waitFor((e) => e.event === 'request' && e.requestId === id.toString() && e.state === 'fulfilled', 30_000, 'the new request fulfilled')
    const old = new Set(Object.values(ids).map((x) => x.toString()))
    const replayed = relay.events.filter((e) => e.event === 'request' && old.has(String(e.requestId)))
    assert.deepEqual(replayed, [], 'the restarted relay touched no request it had finished')
    assert.equal((await fulfilmentOf(net, id)).callbackOk, true)
  })
})

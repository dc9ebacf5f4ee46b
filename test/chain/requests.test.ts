/**
 * LilyRequests against a real anvil: a consumer contract's request, the JobOffer a node builds
 * for it (hashed with src/protocol, equal to the on-chain digest), deals refused unless bound to
 * the request's terms, opening, fulfilling with a callback (ok, reverting, out of gas, starved),
 * refunds after the deadline, settlement after a timeout, ERC-20 mode. After every test the escrow
 * holds exactly what it owes, and the companion's escrow balance equals what it owes consumers.
 */
import assert from 'node:assert/strict'
import { erc20Abi, keccak256, parseEventLogs, toHex, type Abi, type Address, type Hex } from 'viem'
import { lilyRequestsAbi } from '../../src/chain/artifacts.js'
import { getDealState } from '../../src/chain/dealState.js'
import { timeoutDeal } from '../../src/chain/timeout.js'
import { requireWallet, sendEscrow } from '../../src/chain/tx.js'
import { submitResult } from '../../src/chain/submitResult.js'
import { approveDeal } from '../../src/chain/approveDeal.js'
import { openDeal } from '../../src/chain/openDeal.js'
import { drawMediator } from '../../src/chain/draw.js'
import { signDeal } from '../../src/chain/signing.js'
import {
  challengeRequest, revealRequest, deployRequests, fulfillRequest, getRequest, getRequestCredit, getRequestJobOfferHash, jobOfferForRequest, openRequestDeal,
  refundRequest, requestJob, sendRequests, settleRequest, withdrawCredit, MAX_RESULT_DATA, type RequestParams
} from '../../src/chain/requests/index.js'
import type { Deal } from '../../src/protocol/types.js'
import { exampleConsumerAbi, exampleConsumerBytecode, gasBurnerConsumerAbi, gasBurnerConsumerBytecode, revertingConsumerAbi, revertingConsumerBytecode } from './artifacts.js'
import { CHALLENGE_WINDOW, COLLATERAL, DEAL_TIMEOUT, FEE, MEDIATOR_TIMEOUT, PRICE, START_DEPOSIT, rejects, setup, type Actor, type Fixture, type Mode } from './helpers.js'

const COWSAY: Hex = keccak256(toHex('cowsay module spec'))
const RESULT: Hex = keccak256(toHex('result bundle'))
const EPOCH = 5n
const EXPIRY = 9n

for (const mode of ['eth', 'erc20'] as Mode[]) {
  describe(`chain: LilyRequests (${mode})`, function () {
    this.timeout(180_000)
    let fx: Fixture
    let requests: Address

    before(async () => {
      fx = await setup(mode)
      await fx.fund(fx.provider, 10n * START_DEPOSIT)
      requests = (await deployRequests(fx.admin.client, { escrow: fx.escrow })).address
      fx.extra.add(requests.toLowerCase() as Address)
    })
    after(async () => { await fx?.stop() })
    afterEach(async () => {
      await fx.checkSolvency()
      // the companion's free balance in the escrow is exactly what it owes consumers (every
      // closed deal is settled by the tests), and `owed` is pending maxPrices + credits
      const count = await fx.admin.client.public.readContract({ abi: lilyRequestsAbi, address: requests, functionName: 'requestCount' })
      let pending = 0n
      const consumers = new Set<Address>()
      for (let id = 1n; id <= count; id++) {
        const r = await getRequest(fx.admin.client, { requests, requestId: id })
        consumers.add(r.consumer)
        if (r.status === 'Pending') pending += r.params.maxPrice
      }
      let credits = 0n
      for (const c of consumers) credits += await getRequestCredit(fx.admin.client, { requests, account: c })
      const owed = await fx.admin.client.public.readContract({ abi: lilyRequestsAbi, address: requests, functionName: 'owed' })
      assert.equal(owed, pending + credits, 'owed = pending maxPrices + credits')
      assert.equal(await fx.freeBalance(requests), owed, 'the companion\'s escrow balance = what it owes')
    })

    const now = async (): Promise<bigint> => (await fx.admin.client.public.getBlock()).timestamp
    const params = async (over: Partial<RequestParams> = {}): Promise<RequestParams> => ({
      module: COWSAY,
      inputsHash: keccak256(toHex('{"Message":"moo"}')),
      cpu: 1000,
      ram: 512,
      gpus: 0,
      gpuVram: 0,
      disk: 1024,
      maxPrice: 2n * PRICE,
      collateral: COLLATERAL,
      timeout: DEAL_TIMEOUT,
      deadline: (await now()) + 3600n,
      callbackGasLimit: 200_000,
      agent: fx.spare[2].address.toLowerCase() as Address,
      ...over
    })
    /** The Deal the matcher would give for the node-built JobOffer of the request. */
    const dealFor = (requestId: bigint, p: RequestParams, over: Partial<Deal> = {}): Deal => {
      const offer = jobOfferForRequest({ requests, requestId, params: p, epoch: EPOCH, expiryEpoch: EXPIRY })
      return fx.makeDeal({ jobOfferHash: fx.hasher.digest('JobOffer', offer), creator: requests, provider: fx.provider.address, price: PRICE, collateral: COLLATERAL, timeout: p.timeout, ...over })
    }
    /** Opens the request's deal as its agent (the relay). */
    const open = async (requestId: bigint, deal: Deal, by: Actor = fx.spare[2]): Promise<Hex> =>
      (await openRequestDeal(by.client, { requests, requestId, deal, epoch: EPOCH, expiryEpoch: EXPIRY, sigProvider: signDeal(fx.hasher, deal, fx.provider.key) })).dealId
    const deployContract = async (abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> => {
      const { wallet, account } = requireWallet(fx.creator.client, 'deploy')
      const hash = await wallet.deployContract({ abi, bytecode, account, chain: fx.creator.client.chain, args })
      const r = await fx.creator.client.public.waitForTransactionReceipt({ hash })
      assert.ok(r.contractAddress != null)
      return r.contractAddress
    }
    /** A consumer contract calls request(); returns the request id. */
    const requestFrom = async (consumer: Address, abi: Abi, p: RequestParams): Promise<bigint> => {
      const { wallet, account } = requireWallet(fx.creator.client, 'run')
      const args = abi === exampleConsumerAbi ? [p] : [requests, p]
      const hash = await wallet.writeContract({ abi, address: consumer, functionName: 'run', args, value: p.maxPrice, account, chain: fx.creator.client.chain })
      const receipt = await fx.creator.client.public.waitForTransactionReceipt({ hash })
      assert.equal(receipt.status, 'success')
      const ev = parseEventLogs({ abi: lilyRequestsAbi, eventName: 'JobRequested', logs: receipt.logs })
      assert.equal(ev.length, 1)
      assert.equal(ev[0].args.consumer.toLowerCase(), consumer.toLowerCase())
      return ev[0].args.requestId
    }

    if (mode === 'eth') {
      it('request → bound JobOffer → only a matching deal opens → fulfill pays the provider and calls the consumer back', async () => {
        const consumer = await deployContract(exampleConsumerAbi, exampleConsumerBytecode, [requests])
        const p = await params()
        const id = await requestFrom(consumer, exampleConsumerAbi, p)
        const r = await getRequest(fx.admin.client, { requests, requestId: id })
        assert.equal(r.status, 'Pending')
        assert.deepEqual(r.params, p)
        // the node-built JobOffer hashes (src/protocol) to what the contract computes
        const offer = jobOfferForRequest({ requests, requestId: id, params: r.params, epoch: EPOCH, expiryEpoch: EXPIRY })
        assert.equal(await getRequestJobOfferHash(fx.admin.client, { requests, requestId: id, epoch: EPOCH, expiryEpoch: EXPIRY }), fx.hasher.digest('JobOffer', offer))

        // deals that do not match the request's terms are refused
        await rejects(open(id, dealFor(id, p, { price: p.maxPrice + 1n })), { errorName: 'TermsMismatch' })
        await rejects(open(id, dealFor(id, { ...p, module: keccak256(toHex('other module')) })), { errorName: 'TermsMismatch' })
        await rejects(open(id, dealFor(id, { ...p, maxPrice: 3n * PRICE })), { errorName: 'TermsMismatch' })
        await rejects(open(id, dealFor(id, p, { collateral: COLLATERAL - 1n })), { errorName: 'TermsMismatch' })
        await rejects(open(id, dealFor(id, p, { timeout: DEAL_TIMEOUT + 1 })), { errorName: 'TermsMismatch' })
        await rejects(open(id, dealFor(id, p, { provider: consumer })), { errorName: 'TermsMismatch' })
        await rejects(open(id, dealFor(id, p, { creator: fx.creator.address })), { code: 'CHAIN_BAD_PARAMS' })
        // a wrong provider signature: the escrow refuses
        const good = dealFor(id, p)
        await rejects(openRequestDeal(fx.spare[2].client, { requests, requestId: id, deal: good, epoch: EPOCH, expiryEpoch: EXPIRY, sigProvider: signDeal(fx.hasher, good, fx.outsider.key) }), { errorName: 'InvalidSignature' })
        // only the agent opens it, not even the provider with a valid signature
        await rejects(open(id, good, fx.provider), { errorName: 'Unauthorized' })

        const providerBefore = await fx.freeBalance(fx.provider.address)
        const dealId = await open(id, good)
        assert.equal(dealId, fx.dealId(good))
        assert.equal((await getDealState(fx.admin.client, { escrow: fx.escrow, deal: good })).status, 'Open')
        assert.equal((await getRequest(fx.admin.client, { requests, requestId: id })).status, 'Open')
        assert.equal(await getRequestCredit(fx.admin.client, { requests, account: consumer }), p.maxPrice - PRICE, 'unused funds credited when the deal opens')
        await rejects(open(id, dealFor(id, p, { matchEpoch: 43n })), { errorName: 'WrongRequestStatus' })

        // only the provider fulfills, with bounded data
        await rejects(fulfillRequest(fx.outsider.client, { requests, requestId: id, deal: good, resultHash: RESULT, data: '0x01' }), { errorName: 'Unauthorized' })
        await submitResult(fx.provider.client, { escrow: fx.escrow, deal: good, resultHash: RESULT })
        await rejects(sendRequests(fx.provider.client, 'fulfill', requests, 'fulfill', [id, good, toHex(new Uint8Array(MAX_RESULT_DATA + 1))]), { errorName: 'DataTooLong' })
        const data = toHex(' _____\n< moo >\n -----')
        const f = await fulfillRequest(fx.provider.client, { requests, requestId: id, deal: good, resultHash: RESULT, data })
        assert.equal(f.callbackOk, true)
        const fulfilled = f.events.find((e) => e.eventName === 'RequestFulfilled')
        assert.ok(fulfilled !== undefined && fulfilled.eventName === 'RequestFulfilled')
        assert.equal(fulfilled.args.resultHash, RESULT)
        assert.equal(fulfilled.args.data, data)
        const read = async (functionName: 'lastRequestId' | 'lastResultHash' | 'lastData' | 'lastFinal'): Promise<unknown> =>
          await fx.admin.client.public.readContract({ abi: exampleConsumerAbi, address: consumer, functionName })
        assert.equal(await read('lastData'), data)
        assert.equal(await read('lastFinal'), false, 'the first callback is provisional')
        // not paid before the challenge window has passed
        assert.equal(await fx.freeBalance(fx.provider.address), providerBefore - COLLATERAL)
        assert.equal((await getRequest(fx.admin.client, { requests, requestId: id })).status, 'Delivered')
        await rejects(settleRequest(fx.outsider.client, { requests, requestId: id, deal: good, data }), { errorName: 'TooEarly' })
        await fx.increaseTime(CHALLENGE_WINDOW + 1n)
        await rejects(settleRequest(fx.outsider.client, { requests, requestId: id, deal: good, data: '0x00' }), { errorName: 'TermsMismatch' })
        const s = await settleRequest(fx.outsider.client, { requests, requestId: id, deal: good, data })
        assert.equal(s.finalized, true)
        assert.equal(s.callbackOk, true)
        assert.equal(await fx.freeBalance(fx.provider.address), providerBefore + PRICE, 'provider paid price, collateral back')
        assert.equal((await getDealState(fx.admin.client, { escrow: fx.escrow, deal: good })).status, 'Claimed')
        assert.equal(await read('lastRequestId'), id)
        assert.equal(await read('lastResultHash'), RESULT)
        assert.equal(await read('lastData'), data)
        assert.equal(await read('lastFinal'), true, 'the second callback is final')
        assert.equal((await getRequest(fx.admin.client, { requests, requestId: id })).status, 'Fulfilled')
        await rejects(fulfillRequest(fx.provider.client, { requests, requestId: id, deal: good, resultHash: RESULT, data }), { errorName: 'WrongRequestStatus' })

        // the consumer's owner takes the unused funds back
        const { wallet, account } = requireWallet(fx.creator.client, 'withdraw')
        const hash = await wallet.writeContract({ abi: exampleConsumerAbi, address: consumer, functionName: 'withdraw', account, chain: fx.creator.client.chain })
        const receipt = await fx.creator.client.public.waitForTransactionReceipt({ hash })
        assert.equal(receipt.status, 'success')
        const w = parseEventLogs({ abi: lilyRequestsAbi, eventName: 'CreditWithdrawn', logs: receipt.logs })
        assert.equal(w[0].args.amount, p.maxPrice - PRICE)
        assert.equal(await fx.admin.client.public.getBalance({ address: consumer }), 0n, 'all forwarded to the owner')
        assert.equal(await getRequestCredit(fx.admin.client, { requests, account: consumer }), 0n)
      })

      it('only LilyRequests can call the consumer back', async () => {
        const consumer = await deployContract(exampleConsumerAbi, exampleConsumerBytecode, [requests])
        const { wallet, account } = requireWallet(fx.outsider.client, 'spoof')
        await assert.rejects(async () => await wallet.writeContract({
          abi: exampleConsumerAbi, address: consumer, functionName: 'onLilyResult', args: [1n, RESULT, '0x', true], account, chain: fx.outsider.client.chain
        }), /OnlyRequests/)
        assert.equal(await fx.admin.client.public.readContract({ abi: exampleConsumerAbi, address: consumer, functionName: 'lastResultHash' }), `0x${'0'.repeat(64)}`)
      })

      it('a callback that reverts still pays the provider', async () => {
        const consumer = await deployContract(revertingConsumerAbi, revertingConsumerBytecode, [])
        const p = await params()
        const id = await requestFrom(consumer, revertingConsumerAbi, p)
        const deal = dealFor(id, p)
        await open(id, deal)
        const before = await fx.freeBalance(fx.provider.address)
        const f = await fulfillRequest(fx.provider.client, { requests, requestId: id, deal, resultHash: RESULT, data: '0xbeef' })
        assert.equal(f.callbackOk, false)
        await fx.increaseTime(CHALLENGE_WINDOW + 1n)
        const s = await settleRequest(fx.outsider.client, { requests, requestId: id, deal, data: '0xbeef' })
        assert.equal(s.callbackOk, false)
        assert.equal(await fx.freeBalance(fx.provider.address), before + PRICE + COLLATERAL)
        assert.equal((await getRequest(fx.admin.client, { requests, requestId: id })).status, 'Fulfilled')
      })

      it('a callback that runs out of gas still pays the provider, and a caller cannot starve it (63/64 rule)', async () => {
        const consumer = await deployContract(gasBurnerConsumerAbi, gasBurnerConsumerBytecode, [])
        const limit = 1_000_000
        const p = await params({ callbackGasLimit: limit })
        const id = await requestFrom(consumer, gasBurnerConsumerAbi, p)
        const deal = dealFor(id, p)
        await open(id, deal)
        // too little gas for the callback's full limit: the whole transaction reverts (InsufficientGas)
        await submitResult(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT })
        const { wallet, account } = requireWallet(fx.provider.client, 'starve')
        const hash = await wallet.writeContract({ abi: lilyRequestsAbi, address: requests, functionName: 'fulfill', args: [id, deal, '0x'], account, chain: fx.provider.client.chain, gas: 400_000n })
        const starved = await fx.provider.client.public.waitForTransactionReceipt({ hash })
        assert.equal(starved.status, 'reverted')
        assert.equal((await getRequest(fx.admin.client, { requests, requestId: id })).status, 'Open')

        const before = await fx.freeBalance(fx.provider.address)
        const f = await fulfillRequest(fx.provider.client, { requests, requestId: id, deal, resultHash: RESULT, data: '0x' })
        assert.equal(f.callbackOk, false)
        assert.ok(f.gasUsed > BigInt(limit), `the callback burnt its whole limit (gasUsed ${f.gasUsed})`)
        await fx.increaseTime(CHALLENGE_WINDOW + 1n)
        await settleRequest(fx.outsider.client, { requests, requestId: id, deal, data: '0x' })
        assert.equal(await fx.freeBalance(fx.provider.address), before + PRICE + COLLATERAL)
      })

      it('an unserved request is refundable after its deadline, not before', async () => {
        const consumer = await deployContract(exampleConsumerAbi, exampleConsumerBytecode, [requests])
        const p = await params({ deadline: (await now()) + 300n })
        const id = await requestFrom(consumer, exampleConsumerAbi, p)
        await rejects(refundRequest(fx.outsider.client, { requests, requestId: id }), { errorName: 'TooEarly' })
        await fx.increaseTime(301)
        await rejects(open(id, dealFor(id, p)), { errorName: 'TooLate' })
        const r = await refundRequest(fx.outsider.client, { requests, requestId: id })
        assert.ok(r.events.some((e) => e.eventName === 'RequestRefunded' && e.args.amount === p.maxPrice))
        assert.equal(await getRequestCredit(fx.admin.client, { requests, account: consumer }), p.maxPrice)
        assert.equal((await getRequest(fx.admin.client, { requests, requestId: id })).status, 'Refunded')
        await rejects(refundRequest(fx.outsider.client, { requests, requestId: id }), { errorName: 'WrongRequestStatus' })
        const { wallet, account } = requireWallet(fx.creator.client, 'withdraw')
        const ownerBefore = await fx.admin.client.public.getBalance({ address: fx.creator.address })
        const hash = await wallet.writeContract({ abi: exampleConsumerAbi, address: consumer, functionName: 'withdraw', account, chain: fx.creator.client.chain })
        const receipt = await fx.creator.client.public.waitForTransactionReceipt({ hash })
        const ownerAfter = await fx.admin.client.public.getBalance({ address: fx.creator.address })
        assert.equal(ownerAfter, ownerBefore + p.maxPrice - receipt.gasUsed * receipt.effectiveGasPrice)
      })

      it('a deal that times out is settled to the consumer (price + collateral), not before it closes', async () => {
        const consumer = await deployContract(exampleConsumerAbi, exampleConsumerBytecode, [requests])
        const p = await params()
        const id = await requestFrom(consumer, exampleConsumerAbi, p)
        const deal = dealFor(id, p)
        await open(id, deal)
        await rejects(settleRequest(fx.outsider.client, { requests, requestId: id, deal }), { errorName: 'DealNotClosed' })
        await fx.increaseTime(DEAL_TIMEOUT + 1)
        await timeoutDeal(fx.outsider.client, { escrow: fx.escrow, deal })
        const s = await settleRequest(fx.outsider.client, { requests, requestId: id, deal })
        const ev = s.events.find((e) => e.eventName === 'RequestSettled')
        assert.ok(ev !== undefined && ev.eventName === 'RequestSettled')
        assert.equal(ev.args.credited, PRICE + COLLATERAL)
        assert.equal(await getRequestCredit(fx.admin.client, { requests, account: consumer }), p.maxPrice + COLLATERAL)
        await rejects(sendRequests(fx.provider.client, 'fulfill', requests, 'fulfill', [id, deal, '0x']), { errorName: 'WrongRequestStatus' })
      })

      it('a stranger cannot open a request\'s deal and take its budget (approveDeal + openRequestDeal, or the escrow directly)', async () => {
        const consumer = await deployContract(exampleConsumerAbi, exampleConsumerBytecode, [requests])
        const p = await params()
        const id = await requestFrom(consumer, exampleConsumerAbi, p)
        await fx.fund(fx.outsider, 2n * COLLATERAL)
        // the attacker's own deal at maxPrice, approved on-chain by itself as the provider
        const made = dealFor(id, p, { provider: fx.outsider.address, price: p.maxPrice })
        await approveDeal(fx.outsider.client, { escrow: fx.escrow, dealId: fx.dealId(made) })
        await rejects(openRequestDeal(fx.outsider.client, { requests, requestId: id, deal: made, epoch: EPOCH, expiryEpoch: EXPIRY, sigProvider: '0x' }), { errorName: 'Unauthorized' })
        await rejects(openDeal(fx.outsider.client, { escrow: fx.escrow, deal: made, sigCreator: '0x', sigProvider: '0x' }), { errorName: 'InvalidSignature' })
        assert.equal((await getRequest(fx.admin.client, { requests, requestId: id })).status, 'Pending')
        // and even an opened deal pays nothing before the window: fulfill needs a submitted result
        const deal = dealFor(id, p)
        await open(id, deal)
        await rejects(sendRequests(fx.provider.client, 'fulfill', requests, 'fulfill', [id, deal, '0x01']), { errorName: 'DealNotClosed' })
        await rejects(settleRequest(fx.outsider.client, { requests, requestId: id, deal }), { errorName: 'DealNotClosed' })
        await fx.increaseTime(DEAL_TIMEOUT + 1)
        await timeoutDeal(fx.outsider.client, { escrow: fx.escrow, deal })
        await settleRequest(fx.outsider.client, { requests, requestId: id, deal })
      })

      it('the agent challenges a wrong result on the consumer\'s behalf; an unruled dispute expires: fee back to the challenger, price to the consumer', async () => {
        const consumer = await deployContract(exampleConsumerAbi, exampleConsumerBytecode, [requests])
        const p = await params()
        const id = await requestFrom(consumer, exampleConsumerAbi, p)
        const deal = dealFor(id, p)
        await open(id, deal)
        await fulfillRequest(fx.provider.client, { requests, requestId: id, deal, resultHash: RESULT, data: '0x66616b65' })
        const secret = keccak256(toHex('the agent\'s draw secret'))
        await rejects(challengeRequest(fx.outsider.client, { requests, requestId: id, deal, secret }), { errorName: 'Unauthorized' })
        const c = await challengeRequest(fx.spare[2].client, { requests, requestId: id, deal, secret })
        assert.ok(c.events.some((e) => e.eventName === 'RequestChallenged'))
        assert.equal((await getDealState(fx.admin.client, { escrow: fx.escrow, deal })).status, 'Challenged')
        // both sides reveal (the agent through the companion); no mediator is staked, so none is drawn
        await rejects(revealRequest(fx.outsider.client, { requests, requestId: id, deal, secret }), { errorName: 'Unauthorized' })
        await revealRequest(fx.spare[2].client, { requests, requestId: id, deal, secret })
        const d = await drawMediator(fx.provider.client, { escrow: fx.escrow, deal })
        assert.equal(d.mediator, null)
        await fx.increaseTime(CHALLENGE_WINDOW + 1n)
        await rejects(settleRequest(fx.outsider.client, { requests, requestId: id, deal, data: '0x66616b65' }), { errorName: 'DealNotClosed' })
        await fx.increaseTime(4n * MEDIATOR_TIMEOUT + 1n)
        await sendEscrow(fx.outsider.client, 'expireDispute', fx.escrow, 'expireDispute', [deal])
        const creditBefore = await getRequestCredit(fx.admin.client, { requests, account: consumer })
        const s = await settleRequest(fx.outsider.client, { requests, requestId: id, deal, data: '0x66616b65' })
        assert.equal(s.finalized, false)
        assert.equal(await getRequestCredit(fx.admin.client, { requests, account: fx.spare[2].address }), FEE, 'the challenger gets its fee back')
        assert.equal(await getRequestCredit(fx.admin.client, { requests, account: consumer }), creditBefore + PRICE, 'the consumer its price')
        await withdrawCredit(fx.spare[2].client, { requests })
      })

      it('refuses bad request parameters and wrong payments', async () => {
        const p = await params()
        await rejects(sendRequests(fx.creator.client, 'request', requests, 'request', [p], p.maxPrice - 1n), { errorName: 'WrongValue' })
        await rejects(sendRequests(fx.creator.client, 'request', requests, 'request', [{ ...p, deadline: 1n }], p.maxPrice), { errorName: 'BadParams' })
        await rejects(sendRequests(fx.creator.client, 'request', requests, 'request', [{ ...p, callbackGasLimit: 2_000_001 }], p.maxPrice), { errorName: 'BadParams' })
        await rejects(sendRequests(fx.creator.client, 'request', requests, 'request', [{ ...p, agent: '0x0000000000000000000000000000000000000000' }], p.maxPrice), { errorName: 'BadParams' })
        await rejects(requestJob(fx.creator.client, { requests, params: { ...p, callbackGasLimit: 2_000_001 } }), { code: 'CHAIN_BAD_PARAMS' })
      })
    }

    it('an account requests with requestJob, the deal opens and is fulfilled, credits are withdrawn', async () => {
      const p = await params({ callbackGasLimit: 0 })
      const consumer = fx.spare[0]
      const walletBefore = mode === 'eth' ? null : await fx.admin.client.public.readContract({ abi: erc20Abi, address: fx.token as Address, functionName: 'balanceOf', args: [consumer.address] })
      const { requestId: id } = await requestJob(consumer.client, { requests, params: p })
      const deal = dealFor(id, p)
      await open(id, deal)
      const before = await fx.freeBalance(fx.provider.address)
      const f = await fulfillRequest(fx.provider.client, { requests, requestId: id, deal, resultHash: RESULT, data: '0x' })
      assert.equal(f.callbackOk, false, 'no callback with a zero gas limit')
      const logs = f.events.filter((e) => e.eventName === 'CallbackResult')
      assert.equal(logs.length, 1)
      await fx.increaseTime(CHALLENGE_WINDOW + 1n)
      await settleRequest(fx.outsider.client, { requests, requestId: id, deal, data: '0x' })
      assert.equal(await fx.freeBalance(fx.provider.address), before + PRICE + COLLATERAL)
      const w = await withdrawCredit(consumer.client, { requests })
      const ev = w.events.find((e) => e.eventName === 'CreditWithdrawn')
      assert.ok(ev !== undefined && ev.eventName === 'CreditWithdrawn')
      assert.equal(ev.args.amount, p.maxPrice - PRICE)
      if (walletBefore !== null) {
        const after = await fx.admin.client.public.readContract({ abi: erc20Abi, address: fx.token as Address, functionName: 'balanceOf', args: [consumer.address] })
        assert.equal(after, walletBefore - PRICE, 'the consumer paid exactly the price in tokens')
      }
      await rejects(withdrawCredit(consumer.client, { requests }), { errorName: 'ZeroAmount' })
    })

    it('an account\'s unserved request is refunded after the deadline', async () => {
      const p = await params({ deadline: (await now()) + 120n })
      const consumer = fx.spare[1]
      const { requestId: id, events } = await requestJob(consumer.client, { requests, params: p })
      const ev = events.find((e) => e.eventName === 'JobRequested')
      assert.ok(ev !== undefined && ev.eventName === 'JobRequested')
      assert.deepEqual({ ...ev.args.params, agent: ev.args.params.agent.toLowerCase() }, p)
      await rejects(refundRequest(consumer.client, { requests, requestId: id }), { errorName: 'TooEarly' })
      await fx.increaseTime(121)
      await refundRequest(consumer.client, { requests, requestId: id })
      assert.equal(await getRequestCredit(fx.admin.client, { requests, account: consumer.address }), p.maxPrice)
      await withdrawCredit(consumer.client, { requests })
    })
  })
}

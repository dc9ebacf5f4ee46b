/**
 * Every path of LilyEscrow through the src/chain actions, against a real anvil, in ETH and in
 * ERC-20 mode. After every test the escrow must hold exactly what it owes.
 */
import assert from 'node:assert/strict'
import { decodeFunctionData, encodeFunctionData, keccak256, toHex, type Address, type Hex } from 'viem'
import { lilyEscrowAbi } from '../../src/chain/artifacts.js'
import { getBalances } from '../../src/chain/balance.js'
import { deposit } from '../../src/chain/deposit.js'
import { withdraw } from '../../src/chain/withdraw.js'
import { openDeal } from '../../src/chain/openDeal.js'
import { openDeals } from '../../src/chain/openDeals.js'
import { completeDeal } from '../../src/chain/complete.js'
import { submitResult } from '../../src/chain/submitResult.js'
import { claim } from '../../src/chain/claim.js'
import { challenge } from '../../src/chain/challenge.js'
import { drawMediator, getDispute } from '../../src/chain/draw.js'
import { resolve } from '../../src/chain/resolve.js'
import { redraw } from '../../src/chain/redraw.js'
import { timeoutDeal } from '../../src/chain/timeout.js'
import { getMediator, registerMediator, unregisterMediator, withdrawStake } from '../../src/chain/registerMediator.js'
import { getDealState } from '../../src/chain/dealState.js'
import { requireWallet, sendEscrow } from '../../src/chain/tx.js'
import { signDeal, signResultAcceptance } from '../../src/chain/signing.js'
import { decodeOpenDealPacked, fromCompact, toCompact, type OpenDealPackedArgs } from '../../src/chain/packed.js'
import type { Deal } from '../../src/protocol/types.js'
import { contractCreatorAbi, contractCreatorBytecode } from './artifacts.js'
import {
  CHALLENGE_WINDOW, COLLATERAL, DEAL_TIMEOUT, FEE, MEDIATOR_TIMEOUT, MIN_STAKE, PRICE, START_DEPOSIT, UNSTAKE_DELAY,
  rejects, setup, type Actor, type Fixture, type Mode
} from './helpers.js'

const RESULT: Hex = keccak256(toHex('result bundle'))

for (const mode of ['eth', 'erc20'] as Mode[]) {
  describe(`chain: LilyEscrow paths (${mode})`, function () {
    this.timeout(120_000)
    let fx: Fixture

    before(async () => {
      fx = await setup(mode)
      await fx.fund(fx.creator, 10n * START_DEPOSIT)
      await fx.fund(fx.provider, 10n * START_DEPOSIT)
      for (const m of fx.mediators) await registerMediator(m.client, { escrow: fx.escrow, amount: MIN_STAKE })
    })
    after(async () => { await fx?.stop() })
    afterEach(async () => { await fx.checkSolvency() })

    const sigC = (deal: Deal): Hex => signDeal(fx.hasher, deal, fx.creator.key)
    const sigP = (deal: Deal): Hex => signDeal(fx.hasher, deal, fx.provider.key)
    const accept = (deal: Deal, result = RESULT): Hex => signResultAcceptance(fx.hasher, fx.dealId(deal), result, fx.creator.key)
    const open = async (deal: Deal): Promise<void> => {
      const r = await openDeal(fx.provider.client, { escrow: fx.escrow, deal, sigCreator: sigC(deal) })
      assert.equal(r.status, 'Open')
    }
    const bal = async (a: Actor | Address): Promise<bigint> => await fx.freeBalance(typeof a === 'string' ? a : a.address)
    const input = async (hash: Hex | undefined): Promise<Hex> => {
      assert.ok(hash !== undefined, 'a transaction was sent')
      return (await fx.admin.client.public.getTransaction({ hash })).input
    }
    const OPEN_PACKED = '0x0000f875' // openDealPacked_XMg
    const COMPLETE_PACKED = '0x000086a8' // completePacked_TWd

    it('deposit, balance and withdraw move exactly the amount', async () => {
      const a = fx.spare[0]
      const before = await getBalances(a.client, { escrow: fx.escrow })
      assert.equal(before.token?.toLowerCase() ?? null, fx.token?.toLowerCase() ?? null)
      const d = await deposit(a.client, { escrow: fx.escrow, amount: 12345n })
      assert.ok(d.events.some((e) => e.eventName === 'Deposited' && e.args.amount === 12345n))
      if (mode === 'erc20') assert.ok(d.approveHash !== undefined, 'an ERC-20 deposit approves first')
      const mid = await getBalances(a.client, { escrow: fx.escrow })
      assert.equal(mid.escrow - before.escrow, 12345n)
      if (mode === 'erc20') assert.equal(before.wallet - mid.wallet, 12345n)
      const w = await withdraw(a.client, { escrow: fx.escrow, amount: 345n })
      assert.ok(w.events.some((e) => e.eventName === 'Withdrawn' && e.args.amount === 345n))
      assert.equal(await bal(a), before.escrow + 12000n)
      const all = await withdraw(a.client, { escrow: fx.escrow })
      assert.equal(all.amount, before.escrow + 12000n)
      assert.equal(await bal(a), 0n)
    })

    it('happy path: the provider opens with the creator\'s signature and completes with its acceptance', async () => {
      const deal = fx.makeDeal()
      const [c0, p0] = [await bal(fx.creator), await bal(fx.provider)]
      const opened = await openDeal(fx.provider.client, { escrow: fx.escrow, deal, sigCreator: sigC(deal) })
      assert.equal(opened.dealId, fx.dealId(deal))
      assert.equal(opened.alreadyDone, false)
      assert.ok(opened.tx?.events.some((e) => e.eventName === 'DealOpened' && e.args.jobOfferHash === deal.jobOfferHash && e.args.resourceOfferHash === deal.resourceOfferHash))
      assert.equal(await bal(fx.creator), c0 - PRICE)
      assert.equal(await bal(fx.provider), p0 - COLLATERAL)
      const st = await getDealState(fx.admin.client, { escrow: fx.escrow, deal })
      const block = await fx.admin.client.public.getBlock({ blockNumber: opened.tx?.blockNumber })
      assert.equal(st.deadline, block.timestamp + BigInt(DEAL_TIMEOUT))
      const again = await openDeal(fx.creator.client, { escrow: fx.escrow, deal, sigProvider: sigP(deal) })
      assert.deepEqual([again.alreadyDone, again.status, again.tx], [true, 'Open', undefined])
      const done = await completeDeal(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT, sigCreator: accept(deal) })
      assert.equal(done.status, 'Completed')
      assert.ok(done.tx?.events.some((e) => e.eventName === 'DealCompleted' && e.args.dealId === fx.dealId(deal)))
      // a party with the other's ECDSA signature goes through the compact calls
      assert.equal((await input(opened.tx?.hash)).slice(0, 10), OPEN_PACKED)
      assert.equal((await input(done.tx?.hash)).slice(0, 10), COMPLETE_PACKED)
      assert.equal(await bal(fx.creator), c0 - PRICE)
      assert.equal(await bal(fx.provider), p0 + PRICE)
      const twice = await completeDeal(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT, sigCreator: accept(deal) })
      assert.equal(twice.alreadyDone, true)
      const st2 = await getDealState(fx.admin.client, { escrow: fx.escrow, deal })
      assert.equal(st2.jobOfferUsed, true)
    })

    it('the compact calls: the Deal and the signatures read back from the calldata; the full ABI on request; a wrong payout or sender finds no deal', async () => {
      // the creator opens with the provider's signature (role bit set)
      const deal = fx.makeDeal()
      const opened = await openDeal(fx.creator.client, { escrow: fx.escrow, deal, sigProvider: sigP(deal) })
      assert.equal(opened.status, 'Open')
      const tx = await fx.admin.client.public.getTransaction({ hash: opened.tx?.hash ?? '0x' })
      const call = decodeFunctionData({ abi: lilyEscrowAbi, data: tx.input })
      assert.equal(call.functionName, 'openDealPacked_XMg')
      const back = decodeOpenDealPacked(tx.from, call.args as OpenDealPackedArgs)
      assert.equal(fx.dealId(back.deal), fx.dealId(deal))
      assert.deepEqual([back.sigCreator, back.sigProvider], ['0x', sigP(deal)])
      assert.equal(fromCompact(toCompact(sigP(deal)).r, toCompact(sigP(deal)).vs), sigP(deal))
      // completePacked by someone else than the provider, or with a wrong payout: UnknownDeal
      const { r, vs } = toCompact(accept(deal))
      const id = fx.dealId(deal)
      await rejects(sendEscrow(fx.outsider.client, 'complete', fx.escrow, 'completePacked_TWd', [deal.jobOfferHash, id, PRICE + COLLATERAL, RESULT, r, vs]), { errorName: 'UnknownDeal' })
      await rejects(sendEscrow(fx.provider.client, 'complete', fx.escrow, 'completePacked_TWd', [deal.jobOfferHash, id, PRICE + COLLATERAL + 1n, RESULT, r, vs]), { errorName: 'UnknownDeal' })
      await rejects(sendEscrow(fx.provider.client, 'complete', fx.escrow, 'completePacked_TWd', [deal.jobOfferHash, id, PRICE + COLLATERAL, keccak256(toHex('other result')), r, vs]), { errorName: 'UnknownDeal' })
      const p0 = await bal(fx.provider)
      const done = await completeDeal(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT, sigCreator: accept(deal) })
      assert.equal(done.status, 'Completed')
      assert.equal(await bal(fx.provider), p0 + PRICE + COLLATERAL)
      // packed: false sends the full ABI; both paths reach the same state
      const full = fx.makeDeal()
      const o2 = await openDeal(fx.provider.client, { escrow: fx.escrow, deal: full, sigCreator: sigC(full), packed: false })
      assert.equal((await input(o2.tx?.hash)).slice(0, 10), encodeFunctionData({ abi: lilyEscrowAbi, functionName: 'openDeal', args: [full, '0x', '0x'] }).slice(0, 10))
      const d2 = await completeDeal(fx.provider.client, { escrow: fx.escrow, deal: full, resultHash: RESULT, sigCreator: accept(full), packed: false })
      assert.equal(d2.status, 'Completed')
      assert.equal((await input(d2.tx?.hash)).slice(0, 10), encodeFunctionData({ abi: lilyEscrowAbi, functionName: 'complete', args: [full, RESULT, '0x'] }).slice(0, 10))
      // a price beyond 96 bits cannot be packed: openDeal is sent (and refused here for the balance)
      const big = fx.makeDeal({ price: 1n << 100n })
      await rejects(openDeal(fx.provider.client, { escrow: fx.escrow, deal: big, sigCreator: sigC(big) }), { errorName: 'InsufficientBalance' })
    })

    it('a relayer opens with both signatures; the creator completes without a signature', async () => {
      const deal = fx.makeDeal()
      const r = await openDeal(fx.outsider.client, { escrow: fx.escrow, deal, sigCreator: sigC(deal), sigProvider: sigP(deal) })
      assert.equal(r.status, 'Open')
      const p0 = await bal(fx.provider)
      const done = await completeDeal(fx.creator.client, { escrow: fx.escrow, deal, resultHash: RESULT })
      assert.equal(done.status, 'Completed')
      assert.equal(await bal(fx.provider), p0 + PRICE + COLLATERAL)
    })

    it('openDeals opens a batch; re-sending it skips the open deals; a used job offer is skipped, not the batch', async () => {
      const deals = Array.from({ length: 5 }, () => fx.makeDeal())
      const items = deals.map((deal) => ({ deal, sigCreator: sigC(deal), sigProvider: sigP(deal) }))
      const [c0, p0] = [await bal(fx.creator), await bal(fx.provider)]
      const first = await openDeals(fx.outsider.client, { escrow: fx.escrow, deals: items })
      assert.deepEqual(first.opened, deals.map(fx.dealId))
      assert.equal(await bal(fx.creator), c0 - 5n * PRICE)
      assert.equal(await bal(fx.provider), p0 - 5n * COLLATERAL)
      const again = await openDeals(fx.outsider.client, { escrow: fx.escrow, deals: items })
      assert.deepEqual(again.opened, [])
      const reuse = fx.makeDeal({ jobOfferHash: deals[2].jobOfferHash, price: PRICE + 1n })
      const fresh = fx.makeDeal()
      const mixed = await openDeals(fx.outsider.client, {
        escrow: fx.escrow,
        deals: [fresh, reuse].map((deal) => ({ deal, sigCreator: sigC(deal), sigProvider: sigP(deal) }))
      })
      assert.deepEqual(mixed.opened, [fx.dealId(fresh)], 'the used job offer is skipped, the fresh deal opens')
      assert.equal((await getDealState(fx.admin.client, { escrow: fx.escrow, deal: reuse })).status, 'None')
      await rejects(openDeal(fx.outsider.client, { escrow: fx.escrow, deal: reuse, sigCreator: sigC(reuse), sigProvider: sigP(reuse) }), { errorName: 'JobOfferUsed' })
      for (const deal of [...deals, fresh]) await completeDeal(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT, sigCreator: accept(deal) })
    })

    it('submitResult starts the window; claim is refused inside it and pays the provider after it', async () => {
      const deal = fx.makeDeal()
      await open(deal)
      await rejects(submitResult(fx.creator.client, { escrow: fx.escrow, deal, resultHash: RESULT }), { errorName: 'Unauthorized' })
      const s = await submitResult(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT })
      assert.equal(s.status, 'Submitted')
      assert.ok(s.tx?.events.some((e) => e.eventName === 'ResultSubmitted' && e.args.resultHash === RESULT))
      assert.equal(await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'resultOf', args: [fx.dealId(deal)] }), RESULT)
      await rejects(claim(fx.outsider.client, { escrow: fx.escrow, deal }), { errorName: 'TooEarly' })
      await fx.increaseTime(CHALLENGE_WINDOW + 1n)
      await rejects(challenge(fx.creator.client, { escrow: fx.escrow, deal }), { errorName: 'TooLate' })
      const p0 = await bal(fx.provider)
      const c = await claim(fx.outsider.client, { escrow: fx.escrow, deal })
      assert.equal(c.status, 'Claimed')
      assert.equal(await bal(fx.provider), p0 + PRICE + COLLATERAL)
      assert.equal(await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'resultOf', args: [fx.dealId(deal)] }), `0x${'0'.repeat(64)}`)
      assert.equal((await claim(fx.outsider.client, { escrow: fx.escrow, deal })).alreadyDone, true)
    })

    it('the creator may still accept a submitted result with complete', async () => {
      const deal = fx.makeDeal()
      await open(deal)
      await submitResult(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT })
      const done = await completeDeal(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT, sigCreator: accept(deal) })
      assert.equal(done.status, 'Completed')
    })

    async function challenged (): Promise<{ deal: Deal, block: bigint }> {
      const deal = fx.makeDeal()
      await open(deal)
      await submitResult(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT })
      await rejects(challenge(fx.provider.client, { escrow: fx.escrow, deal }), { errorName: 'Unauthorized' })
      const c0 = await bal(fx.creator)
      const ch = await challenge(fx.creator.client, { escrow: fx.escrow, deal })
      assert.equal(ch.status, 'Challenged')
      assert.equal(await bal(fx.creator), c0 - FEE, 'the challenger pays the mediation fee')
      return { deal, block: ch.tx?.blockNumber ?? 0n }
    }

    /** Both parties reveal their draw secrets; the second reveal draws the mediator. */
    async function drawn (deal: Deal): Promise<Actor> {
      await drawMediator(fx.creator.client, { escrow: fx.escrow, deal })
      const r = await drawMediator(fx.provider.client, { escrow: fx.escrow, deal })
      const m = fx.mediators.find((x) => x.address.toLowerCase() === r.mediator?.toLowerCase())
      assert.ok(m !== undefined, `drew ${String(r.mediator)}, not a registered mediator`)
      return m
    }

    it('challenge → draw → resolve for the provider: provider gets price + collateral, mediator the fee', async () => {
      const { deal } = await challenged()
      const idle = await drawMediator(fx.outsider.client, { escrow: fx.escrow, deal })
      assert.deepEqual([idle.alreadyDone, idle.mediator], [true, null], 'a third party has nothing to reveal')
      const m = await drawn(deal)
      const again = await drawMediator(fx.outsider.client, { escrow: fx.escrow, deal })
      assert.equal(again.alreadyDone, true)
      assert.equal((await getMediator(fx.admin.client, { escrow: fx.escrow, mediator: m.address })).assigned, 1n)
      const [c0, p0, m0] = [await bal(fx.creator), await bal(fx.provider), await bal(m)]
      const r = await resolve(m.client, { escrow: fx.escrow, deal, providerWins: true })
      assert.equal(r.status, 'ProviderWon')
      assert.equal(await bal(fx.creator), c0)
      assert.equal(await bal(fx.provider), p0 + PRICE + COLLATERAL)
      assert.equal(await bal(m), m0 + FEE)
      assert.equal((await getMediator(fx.admin.client, { escrow: fx.escrow, mediator: m.address })).assigned, 0n)
      assert.equal((await getDispute(fx.admin.client, { escrow: fx.escrow, dealId: fx.dealId(deal) })).mediator, null, 'dispute slot cleared')
    })

    it('challenge → draw → resolve for the creator: creator gets price + collateral, mediator the fee', async () => {
      const { deal } = await challenged()
      await fx.mine(1)
      const m = await drawn(deal)
      const [c0, p0, m0] = [await bal(fx.creator), await bal(fx.provider), await bal(m)]
      const r = await resolve(m.client, { escrow: fx.escrow, deal, providerWins: false })
      assert.equal(r.status, 'CreatorWon')
      assert.equal(await bal(fx.creator), c0 + PRICE + COLLATERAL)
      assert.equal(await bal(fx.provider), p0)
      assert.equal(await bal(m), m0 + FEE)
    })

    it('a late mediator is slashed and replaced by redraw; the new one resolves', async () => {
      const { deal } = await challenged()
      await fx.mine(1)
      const late = await drawn(deal)
      await rejects(redraw(fx.outsider.client, { escrow: fx.escrow, deal }), { errorName: 'TooEarly' })
      await fx.increaseTime(MEDIATOR_TIMEOUT + 1n)
      await rejects(resolve(late.client, { escrow: fx.escrow, deal, providerWins: true }), { errorName: 'TooLate' })
      const [c0, p0] = [await bal(fx.creator), await bal(fx.provider)]
      const stake = (await getMediator(fx.admin.client, { escrow: fx.escrow, mediator: late.address })).stake
      const r = await redraw(fx.outsider.client, { escrow: fx.escrow, deal })
      assert.equal(r.slashed.amount, stake)
      assert.equal(r.slashed.mediator.toLowerCase(), late.address.toLowerCase())
      assert.equal(await bal(fx.provider), p0 + stake / 2n)
      assert.equal(await bal(fx.creator), c0 + stake - stake / 2n)
      const info = await getMediator(fx.admin.client, { escrow: fx.escrow, mediator: late.address })
      assert.deepEqual([info.stake, info.listed, info.assigned], [0n, false, 0n])
      await fx.mine(1)
      const next = await drawn(deal)
      assert.notEqual(next.address, late.address)
      assert.equal((await resolve(next.client, { escrow: fx.escrow, deal, providerWins: true })).status, 'ProviderWon')
      // a slashed mediator is out of the set; it leaves the registry (nothing to withdraw) and may stake again
      await rejects(registerMediator(late.client, { escrow: fx.escrow, amount: MIN_STAKE }), { errorName: 'AlreadyRegistered' })
      await fx.increaseTime(UNSTAKE_DELAY)
      await withdrawStake(late.client, { escrow: fx.escrow })
      await registerMediator(late.client, { escrow: fx.escrow, amount: MIN_STAKE })
    })

    it('a party that does not reveal its draw secret in time forfeits the dispute', async () => {
      const { deal } = await challenged()
      await drawMediator(fx.creator.client, { escrow: fx.escrow, deal })
      const d = await getDispute(fx.admin.client, { escrow: fx.escrow, dealId: fx.dealId(deal) })
      assert.deepEqual([d.creatorRevealed, d.providerRevealed, d.mediator], [true, false, null])
      await rejects(sendEscrow(fx.outsider.client, 'forfeit', fx.escrow, 'forfeit', [deal]), { errorName: 'TooEarly' })
      await fx.increaseTime(MEDIATOR_TIMEOUT + 1n)
      const c0 = await bal(fx.creator)
      // past the deadline, advancing the draw closes it: the provider did not reveal
      await drawMediator(fx.provider.client, { escrow: fx.escrow, deal })
      await rejects(sendEscrow(fx.provider.client, 'reveal', fx.escrow, 'reveal', [deal, RESULT]), { errorName: 'WrongStatus' })
      assert.equal((await getDealState(fx.admin.client, { escrow: fx.escrow, deal })).status, 'ProviderForfeited')
      assert.equal(await bal(fx.creator), c0 + PRICE + COLLATERAL + FEE, 'the creator wins price, collateral and its fee back')
    })

    it('timeout: refused before the deadline; after it the creator gets price + collateral', async () => {
      const deal = fx.makeDeal()
      await open(deal)
      await rejects(timeoutDeal(fx.outsider.client, { escrow: fx.escrow, deal }), { errorName: 'TooEarly' })
      await fx.increaseTime(DEAL_TIMEOUT + 1)
      await rejects(submitResult(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT }), { errorName: 'TooLate' })
      const [c0, p0] = [await bal(fx.creator), await bal(fx.provider)]
      const r = await timeoutDeal(fx.outsider.client, { escrow: fx.escrow, deal })
      assert.equal(r.status, 'TimedOut')
      assert.equal(await bal(fx.creator), c0 + PRICE + COLLATERAL)
      assert.equal(await bal(fx.provider), p0)
      await rejects(completeDeal(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT, sigCreator: accept(deal) }), { errorName: 'WrongStatus' })
    })

    it('a deal past openBy cannot be opened', async () => {
      const now = (await fx.admin.client.public.getBlock()).timestamp
      const deal = fx.makeDeal({ openBy: now - 1n })
      await rejects(openDeal(fx.provider.client, { escrow: fx.escrow, deal, sigCreator: sigC(deal) }), { errorName: 'DealExpired' })
    })

    it('mediator registry: stake, unregister, wait the delay, withdraw the stake', async () => {
      const m = fx.spare[1]
      await rejects(registerMediator(m.client, { escrow: fx.escrow, amount: MIN_STAKE - 1n }), { code: 'CHAIN_BAD_PARAMS' })
      const reg = await registerMediator(m.client, { escrow: fx.escrow, amount: MIN_STAKE })
      assert.deepEqual([reg.mediator.stake, reg.mediator.listed], [MIN_STAKE, true])
      const list = await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'mediators' })
      assert.ok(list.map((a) => a.toLowerCase()).includes(m.address.toLowerCase()))
      await rejects(withdrawStake(m.client, { escrow: fx.escrow }), { errorName: 'StakeLocked' })
      await unregisterMediator(m.client, { escrow: fx.escrow })
      const info = await getMediator(fx.admin.client, { escrow: fx.escrow, mediator: m.address })
      assert.equal(info.listed, false)
      assert.ok(info.unlockAt > 0n)
      await rejects(withdrawStake(m.client, { escrow: fx.escrow }), { errorName: 'StakeLocked' })
      await fx.increaseTime(UNSTAKE_DELAY)
      const before = await getBalances(m.client, { escrow: fx.escrow })
      const w = await withdrawStake(m.client, { escrow: fx.escrow })
      assert.ok(w.events.some((e) => e.eventName === 'StakeWithdrawn' && e.args.amount === MIN_STAKE))
      const after = await getBalances(m.client, { escrow: fx.escrow })
      if (mode === 'erc20') assert.equal(after.wallet - before.wallet, MIN_STAKE)
      assert.equal((await getMediator(fx.admin.client, { escrow: fx.escrow, mediator: m.address })).stake, 0n)
    })

    it('a contract creator approves by EIP-1271 or on-chain with approveDeal', async () => {
      const { wallet, account } = requireWallet(fx.creator.client, 'test')
      const hash = await wallet.deployContract({ abi: contractCreatorAbi, bytecode: contractCreatorBytecode, args: [fx.creator.address], account, chain: fx.creator.client.chain })
      const cc = (await fx.creator.client.public.waitForTransactionReceipt({ hash })).contractAddress as Address
      fx.extra.add(cc.toLowerCase() as Address)
      await deposit(fx.admin.client, { escrow: fx.escrow, amount: 3n * PRICE, for: cc })
      // EIP-1271: the owner's signature, checked by the contract
      const d1 = fx.makeDeal({ creator: cc })
      const r1 = await openDeal(fx.provider.client, { escrow: fx.escrow, deal: d1, sigCreator: signDeal(fx.hasher, d1, fx.creator.key) })
      assert.equal(r1.status, 'Open')
      await rejects(openDeal(fx.provider.client, { escrow: fx.escrow, deal: fx.makeDeal({ creator: cc }), sigCreator: signDeal(fx.hasher, d1, fx.outsider.key) }), { errorName: 'InvalidSignature' })
      const done = await completeDeal(fx.provider.client, { escrow: fx.escrow, deal: d1, resultHash: RESULT, sigCreator: signResultAcceptance(fx.hasher, fx.dealId(d1), RESULT, fx.creator.key) })
      assert.equal(done.status, 'Completed')
      // on-chain approval, consumed by openDeal
      const d2 = fx.makeDeal({ creator: cc })
      await rejects(openDeal(fx.provider.client, { escrow: fx.escrow, deal: d2 }), { errorName: 'InvalidSignature' })
      const data = encodeFunctionData({ abi: lilyEscrowAbi, functionName: 'approveDeal', args: [fx.dealId(d2)] })
      await fx.creator.client.public.waitForTransactionReceipt({ hash: await wallet.writeContract({ abi: contractCreatorAbi, address: cc, functionName: 'exec', args: [fx.escrow, data], account, chain: fx.creator.client.chain }) })
      assert.equal(await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'approved', args: [fx.dealId(d2), cc] }), true)
      const r2 = await openDeal(fx.provider.client, { escrow: fx.escrow, deal: d2 })
      assert.equal(r2.status, 'Open')
      assert.equal(await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'approved', args: [fx.dealId(d2), cc] }), false, 'approval consumed')
      await fx.increaseTime(DEAL_TIMEOUT + 1)
      await timeoutDeal(fx.outsider.client, { escrow: fx.escrow, deal: d2 })
      assert.equal(await fx.freeBalance(cc), 2n * PRICE + COLLATERAL)
    })

    it('views: domain separator and dealId match the TypeScript encoding', async () => {
      const deal = fx.makeDeal()
      const sep = await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'domainSeparator' })
      assert.equal(sep, `0x${Buffer.from(fx.hasher.separator).toString('hex')}`)
      const id = await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'dealId', args: [deal] })
      assert.equal(id, fx.dealId(deal))
      const acc = await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'hashResultAcceptance', args: [id, RESULT] })
      assert.equal(acc, fx.hasher.digest('ResultAcceptance', { dealId: id, resultHash: RESULT }))
      await rejects(sendEscrow(fx.outsider.client, 'complete', fx.escrow, 'complete', [deal, RESULT, '0x']), { errorName: 'UnknownDeal' })
    })
  })
}

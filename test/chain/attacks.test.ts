/**
 * Attacks on LilyEscrow, each a test, against a real anvil. After every test the escrow must
 * still hold exactly what it owes.
 */
import assert from 'node:assert/strict'
import { encodeAbiParameters, encodeFunctionData, keccak256, toFunctionSelector, toHex, type Address, type Hex } from 'viem'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { DomainHasher } from '../../src/protocol/eip712.js'
import { bytesToHex, hexToBytes } from '../../src/protocol/hex.js'
import type { Deal } from '../../src/protocol/types.js'
import { lilyEscrowAbi } from '../../src/chain/artifacts.js'
import { deploy } from '../../src/chain/deploy.js'
import { deposit } from '../../src/chain/deposit.js'
import { withdraw } from '../../src/chain/withdraw.js'
import { openDeal } from '../../src/chain/openDeal.js'
import { completeDeal } from '../../src/chain/complete.js'
import { submitResult } from '../../src/chain/submitResult.js'
import { challenge } from '../../src/chain/challenge.js'
import { drawMediator } from '../../src/chain/draw.js'
import { drawSecret } from '../../src/chain/drawSecret.js'
import { resolve } from '../../src/chain/resolve.js'
import { registerMediator } from '../../src/chain/registerMediator.js'
import { requireWallet, sendEscrow } from '../../src/chain/tx.js'
import { escrowDomain, signDeal, signResultAcceptance } from '../../src/chain/signing.js'
import { reentrantReceiverAbi, reentrantReceiverBytecode, reentrantTokenAbi } from './artifacts.js'
import { COLLATERAL, MIN_STAKE, PRICE, START_DEPOSIT, rejects, setup, type Fixture } from './helpers.js'

const RESULT: Hex = keccak256(toHex('result'))
const REENTRANCY = toFunctionSelector('Reentrancy()')

describe('chain: attacks on LilyEscrow (eth)', function () {
  this.timeout(120_000)
  let fx: Fixture

  before(async () => {
    fx = await setup('eth')
    await fx.fund(fx.creator, 10n * START_DEPOSIT)
    await fx.fund(fx.provider, 10n * START_DEPOSIT)
    for (const m of fx.mediators) await registerMediator(m.client, { escrow: fx.escrow, amount: MIN_STAKE })
  })
  after(async () => { await fx?.stop() })
  afterEach(async () => { await fx.checkSolvency() })

  const sigC = (deal: Deal, h = fx.hasher): Hex => signDeal(h, deal, fx.creator.key)
  const sigP = (deal: Deal, h = fx.hasher): Hex => signDeal(h, deal, fx.provider.key)
  const rawOpen = async (deal: Deal, c: Hex, p: Hex, sender = fx.outsider): Promise<unknown> =>
    await sendEscrow(sender.client, 'openDeal', fx.escrow, 'openDeal', [deal, c, p])

  async function submitted (): Promise<Deal> {
    const deal = fx.makeDeal()
    await openDeal(fx.provider.client, { escrow: fx.escrow, deal, sigCreator: sigC(deal) })
    await submitResult(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT })
    return deal
  }

  it('replayed signatures: a deal opens once, and an acceptance is bound to its deal', async () => {
    const deal = fx.makeDeal()
    const [c, p] = [sigC(deal), sigP(deal)]
    await rawOpen(deal, c, p)
    await rejects(rawOpen(deal, c, p), { errorName: 'DealAlreadyOpened' })
    const acceptance = signResultAcceptance(fx.hasher, fx.dealId(deal), RESULT, fx.creator.key)
    await completeDeal(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT, sigCreator: acceptance })
    await rejects(rawOpen(deal, c, p), { errorName: 'DealAlreadyOpened' })
    // the creator's signature of one deal does not open a variant of it
    const other = fx.makeDeal({ price: PRICE * 2n })
    await rejects(rawOpen(other, c, sigP(other)), { errorName: 'InvalidSignature' })
    // the acceptance of one deal does not complete another
    const second = fx.makeDeal()
    await rawOpen(second, sigC(second), sigP(second))
    await rejects(sendEscrow(fx.provider.client, 'complete', fx.escrow, 'complete', [second, RESULT, acceptance]), { errorName: 'InvalidSignature' })
    await completeDeal(fx.creator.client, { escrow: fx.escrow, deal: second, resultHash: RESULT })
  })

  it('signatures for another chain or another escrow are refused', async () => {
    const deal = fx.makeDeal()
    const otherChain = new DomainHasher(escrowDomain(1, fx.escrow))
    await rejects(rawOpen(deal, sigC(deal, otherChain), sigP(deal)), { errorName: 'InvalidSignature' })
    const { address: escrow2 } = await deploy(fx.admin.client, { minStake: MIN_STAKE })
    const otherEscrow = new DomainHasher(escrowDomain(fx.anvil.chainId, escrow2))
    await rejects(rawOpen(deal, sigC(deal), sigP(deal, otherEscrow)), { errorName: 'InvalidSignature' })
    await rejects(rawOpen(deal, sigC(deal, otherEscrow), sigP(deal, otherEscrow)), { errorName: 'InvalidSignature' })
    // and the same signatures are good at the escrow they were made for
    await deposit(fx.admin.client, { escrow: escrow2, amount: PRICE, for: fx.creator.address })
    await deposit(fx.admin.client, { escrow: escrow2, amount: COLLATERAL, for: fx.provider.address })
    const r = await openDeal(fx.outsider.client, { escrow: escrow2, deal, sigCreator: sigC(deal, otherEscrow), sigProvider: sigP(deal, otherEscrow) })
    assert.equal(r.status, 'Open')
    fx.deals.delete(fx.dealId(deal))
  })

  it('the domain separator follows a chain id change (fork), so old-chain signatures die', async () => {
    const rpc = async (method: string, params: unknown[]): Promise<void> => {
      const res = await fetch(fx.anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
      const body = await res.json() as { error?: { message: string } }
      assert.equal(body.error, undefined)
    }
    const deal = fx.makeDeal()
    await rpc('anvil_setChainId', [4242])
    try {
      const sep = await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'domainSeparator' })
      assert.equal(sep, bytesToHex(new DomainHasher(escrowDomain(4242, fx.escrow)).separator))
      const id = await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'dealId', args: [deal] })
      assert.notEqual(id, fx.dealId(deal))
    } finally {
      await rpc('anvil_setChainId', [fx.anvil.chainId])
    }
  })

  it('a high-s (malleable) signature is refused', async () => {
    const deal = fx.makeDeal()
    const good = hexToBytes(sigC(deal), 65)
    const n = secp256k1.Point.CURVE().n
    const s = BigInt(bytesToHex(good.subarray(32, 64)))
    const high = new Uint8Array(65)
    high.set(good.subarray(0, 32), 0)
    high.set(hexToBytes(`0x${(n - s).toString(16).padStart(64, '0')}`, 32), 32)
    high[64] = good[64] === 27 ? 28 : 27
    await rejects(rawOpen(deal, bytesToHex(high), sigP(deal)), { errorName: 'SignatureHighS' })
    // a signature of the wrong length or with a bad v is refused too
    await rejects(rawOpen(deal, bytesToHex(good.subarray(0, 64)), sigP(deal)), { errorName: 'InvalidSignature' })
    const badV = Uint8Array.from(good)
    badV[64] = 29
    await rejects(rawOpen(deal, bytesToHex(badV), sigP(deal)), { errorName: 'InvalidSignature' })
  })

  it('a job offer is used once, even by a different deal and after the first one closed', async () => {
    const a = fx.makeDeal()
    await rawOpen(a, sigC(a), sigP(a))
    const b = fx.makeDeal({ jobOfferHash: a.jobOfferHash, resourceOfferHash: keccak256(toHex('another provider offer')), provider: fx.spare[0].address })
    await fx.fund(fx.spare[0], COLLATERAL)
    await rejects(rawOpen(b, sigC(b), signDeal(fx.hasher, b, fx.spare[0].key)), { errorName: 'JobOfferUsed' })
    await completeDeal(fx.creator.client, { escrow: fx.escrow, deal: a, resultHash: RESULT })
    await rejects(rawOpen(b, sigC(b), signDeal(fx.hasher, b, fx.spare[0].key)), { errorName: 'JobOfferUsed' })
    await withdraw(fx.spare[0].client, { escrow: fx.escrow })
  })

  it('third parties cannot call party-only functions or approve for a party', async () => {
    const deal = fx.makeDeal()
    await rejects(rawOpen(deal, '0x', sigP(deal)), { errorName: 'InvalidSignature' })
    await rejects(rawOpen(deal, sigC(deal), '0x'), { errorName: 'InvalidSignature' })
    await rejects(rawOpen(deal, sigP(deal), sigP(deal)), { errorName: 'InvalidSignature' })
    await rawOpen(deal, sigC(deal), sigP(deal))
    await rejects(sendEscrow(fx.outsider.client, 'submitResult', fx.escrow, 'submitResult', [deal, RESULT, RESULT]), { errorName: 'Unauthorized' })
    await rejects(sendEscrow(fx.outsider.client, 'complete', fx.escrow, 'complete', [deal, RESULT, '0x']), { errorName: 'InvalidSignature' })
    await rejects(sendEscrow(fx.provider.client, 'complete', fx.escrow, 'complete', [deal, RESULT, '0x']), { errorName: 'InvalidSignature' })
    await rejects(sendEscrow(fx.provider.client, 'complete', fx.escrow, 'complete', [deal, RESULT, sigP(deal)]), { errorName: 'InvalidSignature' })
    await submitResult(fx.provider.client, { escrow: fx.escrow, deal, resultHash: RESULT })
    await rejects(sendEscrow(fx.outsider.client, 'challenge', fx.escrow, 'challenge', [deal, RESULT]), { errorName: 'Unauthorized' })
    await rejects(sendEscrow(fx.provider.client, 'challenge', fx.escrow, 'challenge', [deal, RESULT]), { errorName: 'Unauthorized' })
    // an approval recorded by someone else does not count for the creator
    const d2 = fx.makeDeal()
    await sendEscrow(fx.outsider.client, 'approveDeal', fx.escrow, 'approveDeal', [fx.dealId(d2)])
    await rejects(rawOpen(d2, '0x', sigP(d2)), { errorName: 'InvalidSignature' })
    await completeDeal(fx.creator.client, { escrow: fx.escrow, deal, resultHash: RESULT })
  })

  it('an undrawn mediator cannot resolve, before or after the draw', async () => {
    const deal = await submitted()
    await challenge(fx.creator.client, { escrow: fx.escrow, deal })
    for (const m of fx.mediators) {
      await rejects(sendEscrow(m.client, 'resolve', fx.escrow, 'resolve', [deal, true]), { errorName: 'Unauthorized' })
    }
    await drawMediator(fx.provider.client, { escrow: fx.escrow, deal })
    const { mediator } = await drawMediator(fx.creator.client, { escrow: fx.escrow, deal })
    const others = fx.mediators.filter((m) => m.address.toLowerCase() !== mediator?.toLowerCase())
    assert.equal(others.length, 2)
    for (const m of [...others, fx.creator, fx.provider, fx.outsider]) {
      await rejects(sendEscrow(m.client, 'resolve', fx.escrow, 'resolve', [deal, m === fx.provider]), { errorName: 'Unauthorized' })
    }
    const drawn = fx.mediators.find((m) => m.address.toLowerCase() === mediator?.toLowerCase())
    assert.ok(drawn !== undefined)
    await resolve(drawn.client, { escrow: fx.escrow, deal, providerWins: false })
  })

  it('the draw seed is the two parties\' revealed secrets: no block hash, no choice for either alone', async () => {
    const deal = await submitted()
    await challenge(fx.creator.client, { escrow: fx.escrow, deal })
    const id = fx.dealId(deal)
    const sC = await drawSecret(fx.creator.client, fx.escrow, id)
    const sP = await drawSecret(fx.provider.client, fx.escrow, id)
    // a third party cannot reveal, and a secret other than the committed one is refused
    await rejects(sendEscrow(fx.outsider.client, 'reveal', fx.escrow, 'reveal', [deal, sC]), { errorName: 'Unauthorized' })
    await rejects(sendEscrow(fx.creator.client, 'reveal', fx.escrow, 'reveal', [deal, sP]), { errorName: 'BadReveal' })
    await sendEscrow(fx.creator.client, 'reveal', fx.escrow, 'reveal', [deal, sC])
    await rejects(sendEscrow(fx.creator.client, 'reveal', fx.escrow, 'reveal', [deal, sC]), { errorName: 'AlreadyRevealed' })
    // the mediator is the stake-weighted pick of keccak256(abi.encode(sC, sP, dealId))
    const list = await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'mediators' })
    const seed = BigInt(keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }], [sC, sP, id])))
    const stakes = await Promise.all(list.map(async (a) => (await fx.admin.client.public.readContract({ abi: lilyEscrowAbi, address: fx.escrow, functionName: 'mediatorInfo', args: [a] }))[0]))
    let rest = seed % stakes.reduce((x, y) => x + y, 0n)
    let expected = list[0]
    for (let i = 0; i < list.length; i++) {
      if (rest < stakes[i]) { expected = list[i]; break }
      rest -= stakes[i]
    }
    await fx.mine(5) // block hashes change nothing
    const r = await sendEscrow(fx.provider.client, 'reveal', fx.escrow, 'reveal', [deal, sP])
    const ev = r.events.find((e) => e.eventName === 'MediatorDrawn')
    assert.ok(ev !== undefined && ev.eventName === 'MediatorDrawn')
    assert.equal(ev.args.mediator.toLowerCase(), expected.toLowerCase())
    const drawn = fx.mediators.find((m) => m.address.toLowerCase() === expected.toLowerCase())
    assert.ok(drawn !== undefined)
    await resolve(drawn.client, { escrow: fx.escrow, deal, providerWins: true })
  })

  it('nobody can withdraw more than the free balance; escrowed funds are not free', async () => {
    const a = fx.spare[2]
    await fx.fund(a, PRICE + 5n)
    const deal = fx.makeDeal({ creator: a.address })
    await openDeal(fx.provider.client, { escrow: fx.escrow, deal, sigCreator: signDeal(fx.hasher, deal, a.key) })
    assert.equal(await fx.freeBalance(a.address), 5n)
    await rejects(sendEscrow(a.client, 'withdraw', fx.escrow, 'withdraw', [6n]), { errorName: 'InsufficientBalance', code: 'CHAIN_INSUFFICIENT_BALANCE' })
    await rejects(withdraw(a.client, { escrow: fx.escrow, amount: PRICE }), { code: 'CHAIN_INSUFFICIENT_BALANCE' })
    const tooBig = fx.makeDeal({ creator: a.address })
    await rejects(openDeal(fx.provider.client, { escrow: fx.escrow, deal: tooBig, sigCreator: signDeal(fx.hasher, tooBig, a.key) }), { errorName: 'InsufficientBalance' })
    await completeDeal(a.client, { escrow: fx.escrow, deal, resultHash: RESULT })
    await withdraw(a.client, { escrow: fx.escrow, amount: 5n })
    assert.equal(await fx.freeBalance(a.address), 0n)
  })

  it('a malicious receiver re-entering withdraw gets paid once', async () => {
    const { wallet, account } = requireWallet(fx.outsider.client, 'test')
    const hash = await wallet.deployContract({ abi: reentrantReceiverAbi, bytecode: reentrantReceiverBytecode, args: [fx.escrow], account, chain: fx.outsider.client.chain })
    const attacker = (await fx.outsider.client.public.waitForTransactionReceipt({ hash })).contractAddress as Address
    fx.extra.add(attacker.toLowerCase() as Address)
    const call = async (functionName: 'deposit' | 'attack', args: readonly bigint[], value?: bigint): Promise<void> => {
      const h = functionName === 'deposit'
        ? await wallet.writeContract({ abi: reentrantReceiverAbi, address: attacker, functionName, account, chain: fx.outsider.client.chain, value })
        : await wallet.writeContract({ abi: reentrantReceiverAbi, address: attacker, functionName, args: args as [bigint, bigint], account, chain: fx.outsider.client.chain })
      const r = await fx.outsider.client.public.waitForTransactionReceipt({ hash: h })
      assert.equal(r.status, 'success')
    }
    await call('deposit', [], 1000n)
    const read = async (fn: 'attempts' | 'successes' | 'lastError'): Promise<unknown> =>
      await fx.admin.client.public.readContract({ abi: reentrantReceiverAbi, address: attacker, functionName: fn })
    await call('attack', [600n, 600n])
    assert.equal(await read('attempts'), 1n)
    assert.equal(await read('successes'), 0n)
    assert.equal(await read('lastError'), REENTRANCY)
    assert.equal(await fx.freeBalance(attacker), 400n)
    assert.equal(await fx.admin.client.public.getBalance({ address: attacker }), 600n)
  })
})

describe('chain: a malicious ERC-20 re-entering the escrow', function () {
  this.timeout(120_000)
  let fx: Fixture

  before(async () => { fx = await setup('reentrant-erc20') })
  after(async () => { await fx?.stop() })
  afterEach(async () => { await fx.checkSolvency() })

  async function arm (payload: Hex): Promise<void> {
    const token = fx.token as Address
    const { wallet, account } = requireWallet(fx.admin.client, 'test')
    await fx.admin.client.public.waitForTransactionReceipt({ hash: await wallet.writeContract({ abi: reentrantTokenAbi, address: token, functionName: 'arm', args: [fx.escrow, payload], account, chain: fx.admin.client.chain }) })
  }
  const read = async (fn: 'attempts' | 'successes' | 'lastError'): Promise<unknown> =>
    await fx.admin.client.public.readContract({ abi: reentrantTokenAbi, address: fx.token as Address, functionName: fn })

  it('re-entering withdraw from inside transfer fails; the withdrawal is paid once', async () => {
    const token = fx.token as Address
    fx.extra.add(token.toLowerCase() as Address)
    // the token itself holds a free balance, so only the lock can stop its re-entry
    await deposit(fx.admin.client, { escrow: fx.escrow, amount: 1000n, for: token })
    const a = fx.spare[0]
    await deposit(a.client, { escrow: fx.escrow, amount: 1000n })
    await arm(encodeFunctionData({ abi: lilyEscrowAbi, functionName: 'withdraw', args: [500n] }))
    await withdraw(a.client, { escrow: fx.escrow, amount: 300n })
    assert.equal(await read('attempts'), 1n)
    assert.equal(await read('successes'), 0n)
    assert.equal(await read('lastError'), REENTRANCY)
    assert.equal(await fx.freeBalance(a.address), 700n)
    assert.equal(await fx.freeBalance(token), 1000n)
  })

  it('re-entering deposit from inside transferFrom fails; one deposit is credited once', async () => {
    const a = fx.spare[1]
    await arm(encodeFunctionData({ abi: lilyEscrowAbi, functionName: 'depositFor', args: [a.address, 1n] }))
    const before = await fx.freeBalance(a.address)
    await deposit(a.client, { escrow: fx.escrow, amount: 2000n })
    assert.equal(await read('attempts'), 2n)
    assert.equal(await read('successes'), 0n)
    assert.equal(await read('lastError'), REENTRANCY)
    assert.equal(await fx.freeBalance(a.address), before + 2000n)
  })

  it('re-entering registerMediator from inside a stake transfer fails', async () => {
    const m = fx.mediators[0]
    await arm(encodeFunctionData({ abi: lilyEscrowAbi, functionName: 'registerMediator', args: [MIN_STAKE] }))
    await registerMediator(m.client, { escrow: fx.escrow, amount: MIN_STAKE })
    assert.equal(await read('attempts'), 3n)
    assert.equal(await read('successes'), 0n)
    assert.equal(await read('lastError'), REENTRANCY)
  })
})

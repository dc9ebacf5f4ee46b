/**
 * Test fixture for the escrow suites: one anvil per suite, the escrow (ETH or ERC-20), named
 * actors with their own clients, a registry of every deal the tests make, time travel, and
 * the solvency check run after every test: the contract holds exactly the free balances +
 * mediator stakes + what live deals keep in escrow.
 */
import assert from 'node:assert/strict'
import { createTestClient, erc20Abi, http, keccak256, parseEventLogs, toHex, type Address, type Hex, type TestClient } from 'viem'
import { DomainHasher } from '../../src/protocol/eip712.js'
import { hexToBytes } from '../../src/protocol/hex.js'
import type { Deal } from '../../src/protocol/types.js'
import { lilyEscrowAbi } from '../../src/chain/artifacts.js'
import { startAnvil, type Anvil } from '../../src/chain/anvil.js'
import { createChainClients, type ChainClients } from '../../src/chain/client.js'
import { deploy } from '../../src/chain/deploy.js'
import { deposit } from '../../src/chain/deposit.js'
import { isChainError } from '../../src/chain/errors.js'
import { escrowDomain } from '../../src/chain/signing.js'
import { getDealState } from '../../src/chain/dealState.js'
import { requireWallet } from '../../src/chain/tx.js'
import { privateKeyToAddress } from '../../src/protocol/crypto.js'
import { reentrantTokenAbi, reentrantTokenBytecode, testTokenAbi, testTokenBytecode } from './artifacts.js'

export type Mode = 'eth' | 'erc20' | 'reentrant-erc20'

export interface Actor {
  name: string
  key: Uint8Array
  address: Address
  client: ChainClients
}

export const PRICE = 7n * 10n ** 15n
export const COLLATERAL = 10n ** 17n
export const FEE = 10n ** 15n
export const MIN_STAKE = 10n ** 16n
export const CHALLENGE_WINDOW = 600n
export const MEDIATOR_TIMEOUT = 900n
export const UNSTAKE_DELAY = 3600n
export const DEAL_TIMEOUT = 1200
export const START_DEPOSIT = 10n ** 18n

export interface Fixture {
  mode: Mode
  anvil: Anvil
  admin: Actor
  creator: Actor
  provider: Actor
  outsider: Actor
  /** Three staked mediators (registered by the suite that needs them). */
  mediators: Actor[]
  spare: Actor[]
  escrow: Address
  token: Address | null
  hasher: DomainHasher
  test: TestClient
  /** Every deal made by makeDeal, by dealId. */
  deals: Map<Hex, Deal>
  /** Addresses outside the actors that may hold balances (attack contracts). */
  extra: Set<Address>
  makeDeal: (over?: Partial<Deal>) => Deal
  dealId: (deal: Deal) => Hex
  fund: (actor: Actor, amount?: bigint) => Promise<void>
  /** Mints (ERC-20) and approves the escrow, or nothing for ETH. */
  mint: (to: Address, amount: bigint) => Promise<void>
  increaseTime: (seconds: bigint | number) => Promise<void>
  mine: (blocks?: number) => Promise<void>
  freeBalance: (a: Address) => Promise<bigint>
  holdings: () => Promise<bigint>
  checkSolvency: () => Promise<void>
  stop: () => Promise<void>
}

let counter = 0

/** Starts anvil and deploys the escrow (and token) for a suite. */
export async function setup (mode: Mode): Promise<Fixture> {
  const anvil = await startAnvil({ accounts: 10 })
  try {
    const actor = async (name: string, i: number): Promise<Actor> => {
      const key = hexToBytes(anvil.privateKeys[i], 32)
      return { name, key, address: privateKeyToAddress(key), client: await createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: key, pollingIntervalMs: 20 }) }
    }
    const admin = await actor('admin', 0)
    const creator = await actor('creator', 1)
    const provider = await actor('provider', 2)
    const mediators = [await actor('mediator1', 3), await actor('mediator2', 4), await actor('mediator3', 5)]
    const outsider = await actor('outsider', 6)
    const spare = [await actor('spare1', 7), await actor('spare2', 8), await actor('spare3', 9)]
    const all = [admin, creator, provider, ...mediators, outsider, ...spare]
    let token: Address | null = null
    if (mode !== 'eth') {
      const { wallet, account } = requireWallet(admin.client, 'setup')
      const hash = mode === 'erc20'
        ? await wallet.deployContract({ abi: testTokenAbi, bytecode: testTokenBytecode, account, chain: admin.client.chain })
        : await wallet.deployContract({ abi: reentrantTokenAbi, bytecode: reentrantTokenBytecode, account, chain: admin.client.chain })
      const r = await admin.client.public.waitForTransactionReceipt({ hash })
      token = r.contractAddress ?? null
    }
    const { address: escrow } = await deploy(admin.client, {
      token, challengeWindow: CHALLENGE_WINDOW, mediationFee: FEE, minStake: MIN_STAKE, mediatorTimeout: MEDIATOR_TIMEOUT, unstakeDelay: UNSTAKE_DELAY
    })
    const test = createTestClient({ mode: 'anvil', chain: admin.client.chain, transport: http(anvil.rpcUrl) })
    const hasher = new DomainHasher(escrowDomain(anvil.chainId, escrow))
    const deals = new Map<Hex, Deal>()
    const extra = new Set<Address>()

    const mint = async (to: Address, amount: bigint): Promise<void> => {
      if (token === null) return
      const { wallet, account } = requireWallet(admin.client, 'mint')
      const hash = await wallet.writeContract({ abi: testTokenAbi, address: token, functionName: 'mint', args: [to, amount], account, chain: admin.client.chain })
      await admin.client.public.waitForTransactionReceipt({ hash })
    }
    for (const a of all) await mint(a.address, 100n * START_DEPOSIT)

    const fx: Fixture = {
      mode, anvil, admin, creator, provider, outsider, mediators, spare, escrow, token, hasher, test, deals, extra,
      makeDeal: (over = {}) => {
        counter++
        const deal: Deal = {
          jobOfferHash: keccak256(toHex(`job-${counter}`)),
          resourceOfferHash: keccak256(toHex(`resource-${counter}`)),
          creator: creator.address,
          provider: provider.address,
          price: PRICE,
          collateral: COLLATERAL,
          timeout: DEAL_TIMEOUT,
          matchEpoch: 42n,
          openBy: 4_000_000_000n,
          ...over
        }
        deals.set(hasher.digest('Deal', deal), deal)
        return deal
      },
      dealId: (deal) => hasher.digest('Deal', deal),
      fund: async (a, amount = START_DEPOSIT) => { await deposit(a.client, { escrow, amount }) },
      mint,
      increaseTime: async (s) => {
        await test.increaseTime({ seconds: Number(s) })
        await test.mine({ blocks: 1 })
      },
      mine: async (blocks = 1) => { await test.mine({ blocks }) },
      freeBalance: async (a) => await admin.client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'balanceOf', args: [a] }),
      holdings: async () => token === null
        ? await admin.client.public.getBalance({ address: escrow })
        : await admin.client.public.readContract({ abi: erc20Abi, address: token, functionName: 'balanceOf', args: [escrow] }),
      checkSolvency: async () => {
        const logs = parseEventLogs({ abi: lilyEscrowAbi, strict: true, logs: await admin.client.public.getLogs({ address: escrow, fromBlock: 0n }) })
        const accounts = new Set<Address>([...all.map((a) => a.address.toLowerCase() as Address), ...extra])
        const opened: Hex[] = []
        for (const l of logs) {
          for (const v of Object.values(l.args as Record<string, unknown>)) {
            if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)) accounts.add(v.toLowerCase() as Address)
          }
          if (l.eventName === 'DealOpened') opened.push(l.args.dealId)
        }
        let owed = 0n
        for (const a of accounts) {
          owed += await fx.freeBalance(a)
          const [stake] = await admin.client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'mediatorInfo', args: [a] })
          owed += stake
        }
        for (const id of opened) {
          const deal = deals.get(id)
          assert.ok(deal !== undefined, `deal ${id} was opened on-chain but not made by the tests`)
          const s = await getDealState(admin.client, { escrow, deal })
          assert.equal(s.dealId, id)
          if (s.status === 'Open' || s.status === 'Submitted') owed += deal.price + deal.collateral
          if (s.status === 'Challenged') owed += deal.price + deal.collateral + FEE
        }
        assert.equal(await fx.holdings(), owed, 'the escrow must hold exactly free balances + stakes + escrowed deals')
      },
      stop: async () => { await anvil.stop() }
    }
    return fx
  } catch (e) {
    await anvil.stop()
    throw e
  }
}

/** Awaits a promise that must fail with a ChainError carrying `errorName` (a contract custom error) or `code`. */
export async function rejects (p: Promise<unknown>, expected: { errorName?: string, code?: string }): Promise<void> {
  try {
    await p
  } catch (e) {
    assert.ok(isChainError(e), `expected a ChainError, got ${String(e)}`)
    if (expected.errorName !== undefined) assert.equal(e.errorName, expected.errorName, e.message)
    if (expected.code !== undefined) assert.equal(e.code, expected.code, e.message)
    return
  }
  assert.fail(`expected a revert ${expected.errorName ?? expected.code ?? ''}, but it succeeded`)
}

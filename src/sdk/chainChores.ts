/**
 * The on-chain chores behind `lilynode chain …`: deploy, deposit, withdraw, balance,
 * mediator-register, against any RPC URL with the node's key file. Connection settings come
 * from a network profile and/or explicit options (options win). Errors are ChainError
 * (CHAIN_RPC_UNREACHABLE, CHAIN_WRONG_CHAIN_ID, CHAIN_INSUFFICIENT_FUNDS,
 * CHAIN_INSUFFICIENT_BALANCE, CHAIN_REVERTED …) or ChainCommandError for missing settings.
 */
import { join } from 'node:path'
import { createTestClient, http, type Address, type Hex } from 'viem'
import { KEY_FILE, loadIdentity } from '../protocol/index.js'
import { loadProfile } from '../protocol/index.js'
import { createChainClients, type ChainClients } from '../chain/index.js'
import { deploy, type DeployParameters } from '../chain/index.js'
import { deposit } from '../chain/index.js'
import { withdraw } from '../chain/index.js'
import { getBalances } from '../chain/index.js'
import { getMediator, registerMediator, type MediatorInfo } from '../chain/index.js'
import { LilyError } from '../protocol/errors.js'

export type ChainCommandErrorCode = 'CHAIN_CMD_MISSING_SETTING' | 'CHAIN_CMD_BAD_INPUT'

export class ChainCommandError extends LilyError<ChainCommandErrorCode> {
  override readonly name = 'ChainCommandError'
}

/** Where to connect and as whom. */
export interface ChainConnectOptions {
  /** Network profile JSON: supplies rpcUrl, chainId, escrow. */
  profile?: string
  rpcUrl?: string
  chainId?: bigint
  /** The escrow contract (not needed by deploy). */
  escrow?: Address
  /** A key file (`key.json` or a V3 keystore). */
  keyFile?: string
  /** A node data dir: its `key.json` is used when keyFile is not given. */
  dataDir?: string
}

interface Connected {
  clients: ChainClients
  rpcUrl: string
  escrow?: Address
  address: Address
}

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/

/** Parses a 0x address (CHAIN_CMD_BAD_INPUT otherwise). */
export function parseAddress (name: string, v: string): Address {
  if (!ADDRESS_RE.test(v)) throw new ChainCommandError('CHAIN_CMD_BAD_INPUT', `--${name} must be a 0x-prefixed 20-byte address, got '${v}'`)
  return v.toLowerCase() as Address
}

/** Parses a whole number (of wei, of seconds); positive unless `allowZero`. */
export function parseAmount (name: string, v: string, allowZero = false): bigint {
  if (!/^[0-9]{1,78}$/.test(v) || BigInt(v) >= 2n ** 256n || (!allowZero && BigInt(v) === 0n)) {
    throw new ChainCommandError('CHAIN_CMD_BAD_INPUT', `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} whole number, got '${v}'`)
  }
  return BigInt(v)
}

async function connect (opts: ChainConnectOptions, needKey: boolean): Promise<Connected> {
  const profile = opts.profile !== undefined ? await loadProfile(opts.profile) : undefined
  const rpcUrl = opts.rpcUrl ?? profile?.rpcUrl
  const chainId = opts.chainId ?? profile?.chainId
  if (rpcUrl === undefined) throw new ChainCommandError('CHAIN_CMD_MISSING_SETTING', 'no RPC URL: pass --rpc <url> or --profile <profile.json>')
  if (chainId === undefined) throw new ChainCommandError('CHAIN_CMD_MISSING_SETTING', 'no chain id: pass --chain-id <id> or --profile <profile.json> (it is checked against the RPC before anything is signed)')
  const keyPath = opts.keyFile ?? (opts.dataDir !== undefined ? join(opts.dataDir, KEY_FILE) : undefined)
  let privateKey: Uint8Array | undefined
  let address: Address | undefined
  if (keyPath !== undefined) {
    const id = await loadIdentity(keyPath)
    privateKey = id.privateKey
    address = id.address
  } else if (needKey) {
    throw new ChainCommandError('CHAIN_CMD_MISSING_SETTING', 'no key: pass --key <key file> or --data-dir <node data dir> (its key.json)')
  }
  const clients = await createChainClients({ rpcUrl, chainId, privateKey })
  return { clients, rpcUrl, escrow: opts.escrow ?? profile?.escrow, address: address ?? '0x0000000000000000000000000000000000000000' }
}

function requireEscrow (c: Connected): Address {
  if (c.escrow === undefined) throw new ChainCommandError('CHAIN_CMD_MISSING_SETTING', 'no escrow address: pass --escrow <address> or --profile <profile.json>')
  return c.escrow
}

export interface ChainDeployResult { chainId: number, escrow: Address, token: Address | null, deployer: Address, hash: Hex, gasUsed: bigint, blockNumber: bigint }

/** Deploys LilyEscrow (ETH when `token` is omitted). */
export async function chainDeploy (opts: ChainConnectOptions & DeployParameters): Promise<ChainDeployResult> {
  const c = await connect(opts, true)
  const r = await deploy(c.clients, opts)
  return { chainId: c.clients.chainId, escrow: r.address, token: opts.token ?? null, deployer: c.address, hash: r.hash, gasUsed: r.gasUsed, blockNumber: r.blockNumber }
}

export interface ChainBalanceResult { chainId: number, escrow: Address, account: Address, token: Address | null, escrowBalance: bigint, walletBalance: bigint, nativeBalance: bigint, mediator: MediatorInfo }

/** The escrow and wallet balances of an account (default: the key's). */
export async function chainBalance (opts: ChainConnectOptions & { account?: Address }): Promise<ChainBalanceResult> {
  const c = await connect(opts, opts.account === undefined)
  const escrow = requireEscrow(c)
  const account = opts.account ?? c.address
  const [b, mediator] = await Promise.all([getBalances(c.clients, { escrow, account }), getMediator(c.clients, { escrow, mediator: account })])
  return { chainId: c.clients.chainId, escrow, account, token: b.token, escrowBalance: b.escrow, walletBalance: b.wallet, nativeBalance: b.native, mediator }
}

export interface ChainTxResult { chainId: number, escrow: Address, account: Address, amount: bigint, hash: Hex, gasUsed: bigint, escrowBalance: bigint }

/** Deposits `amount` into the escrow (approving an ERC-20 first when needed). */
export async function chainDeposit (opts: ChainConnectOptions & { amount: bigint }): Promise<ChainTxResult> {
  const c = await connect(opts, true)
  const escrow = requireEscrow(c)
  const r = await deposit(c.clients, { escrow, amount: opts.amount })
  const b = await getBalances(c.clients, { escrow, account: c.address })
  return { chainId: c.clients.chainId, escrow, account: c.address, amount: opts.amount, hash: r.hash, gasUsed: r.gasUsed, escrowBalance: b.escrow }
}

/** Withdraws `amount` (default: all) of the free escrow balance. */
export async function chainWithdraw (opts: ChainConnectOptions & { amount?: bigint }): Promise<ChainTxResult> {
  const c = await connect(opts, true)
  const escrow = requireEscrow(c)
  const r = await withdraw(c.clients, { escrow, amount: opts.amount })
  const b = await getBalances(c.clients, { escrow, account: c.address })
  return { chainId: c.clients.chainId, escrow, account: c.address, amount: r.amount, hash: r.hash, gasUsed: r.gasUsed, escrowBalance: b.escrow }
}

export interface ChainMediatorResult { chainId: number, escrow: Address, account: Address, amount: bigint, hash: Hex, mediator: MediatorInfo }

/** Stakes `amount` and joins the mediator draw. */
export async function chainMediatorRegister (opts: ChainConnectOptions & { amount: bigint }): Promise<ChainMediatorResult> {
  const c = await connect(opts, true)
  const escrow = requireEscrow(c)
  const r = await registerMediator(c.clients, { escrow, amount: opts.amount })
  return { chainId: c.clients.chainId, escrow, account: c.address, amount: opts.amount, hash: r.hash, mediator: r.mediator }
}

export interface ChainFundResult { chainId: number, account: Address, amount: bigint, walletBalance: bigint }

/** anvil's chain id: the only chain `chainFund` serves. */
const DEVNET_CHAIN_ID = 31337

/**
 * The devnet faucet: adds `amount` wei to the wallet of `account` (default: the key's) through
 * anvil's `anvil_setBalance`. Refused on any other chain (CHAIN_CMD_BAD_INPUT, saying how to
 * fund an account there: bridge or buy ETH, then `lilynode chain deposit`).
 */
export async function chainFund (opts: ChainConnectOptions & { amount: bigint, account?: Address }): Promise<ChainFundResult> {
  if (typeof opts.amount !== 'bigint' || opts.amount <= 0n || opts.amount > 10n ** 30n) {
    throw new ChainCommandError('CHAIN_CMD_BAD_INPUT', `--amount must be a positive number of wei of at most 10^30, got ${String(opts.amount)}`)
  }
  const c = await connect(opts, opts.account === undefined)
  const chainId = c.clients.chainId
  if (chainId !== DEVNET_CHAIN_ID) {
    throw new ChainCommandError('CHAIN_CMD_BAD_INPUT', `chain fund is the devnet faucet (anvil, chain id ${DEVNET_CHAIN_ID}); chain ${chainId} is a real chain: send ETH to ${opts.account ?? c.address} (bridge it, e.g. from Ethereum to Arbitrum through the chain's bridge, or from an exchange), then \`lilynode chain deposit --amount <wei>\``)
  }
  const account = opts.account ?? c.address
  const before = await c.clients.public.getBalance({ address: account })
  const after = before + opts.amount
  try {
    await createTestClient({ mode: 'anvil', transport: http(c.rpcUrl) }).setBalance({ address: account, value: after })
  } catch (e) {
    throw new ChainCommandError('CHAIN_CMD_BAD_INPUT', `the RPC at chain ${chainId} refused anvil_setBalance: it is not an anvil devnet (fund the account by sending it ETH instead)`, { cause: e })
  }
  const walletBalance = await c.clients.public.getBalance({ address: account })
  return { chainId, account, amount: opts.amount, walletBalance }
}

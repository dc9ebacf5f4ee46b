/**
 * The viem clients of one account on one chain. `createChainClients` checks the RPC answers
 * and serves the expected chain before anything is signed.
 */
import {
  createPublicClient, createWalletClient, defineChain, http,
  type Account, type Chain, type PublicClient, type Transport, type WalletClient
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex } from '../protocol/index.js'
import { ChainError, unreachable } from './errors.js'

export interface ChainClientsOptions {
  rpcUrl: string
  /** The chain id the RPC must serve (CHAIN_WRONG_CHAIN_ID otherwise). */
  chainId: bigint | number
  /** The account's key: 32 bytes, or 0x-hex. Omit for a read-only client. */
  privateKey?: Uint8Array | `0x${string}`
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number
  /** Polling interval of receipt waits (default 250 ms; anvil mines at once). */
  pollingIntervalMs?: number
}

export interface ChainClients {
  rpcUrl: string
  chainId: number
  chain: Chain
  public: PublicClient<Transport, Chain>
  /** Present when a private key was given. */
  wallet?: WalletClient<Transport, Chain, Account>
  account?: Account
}

/** A chain definition for any EVM chain id. */
export function chainFor (chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } }
  })
}

/**
 * Creates the public (and, with a key, wallet) client for `rpcUrl` and checks its chain id.
 * Throws CHAIN_RPC_UNREACHABLE (with the URL) or CHAIN_WRONG_CHAIN_ID.
 */
export async function createChainClients (opts: ChainClientsOptions): Promise<ChainClients> {
  const chainId = Number(opts.chainId)
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new ChainError('CHAIN_BAD_PARAMS', `chain id must be a positive integer, got ${String(opts.chainId)}`)
  }
  let url: URL
  try {
    url = new URL(opts.rpcUrl)
  } catch (cause) {
    throw new ChainError('CHAIN_BAD_PARAMS', `not a URL: ${JSON.stringify(opts.rpcUrl)} — pass an http(s) RPC URL such as http://127.0.0.1:8545`, { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ChainError('CHAIN_BAD_PARAMS', `RPC URL must be http(s), got ${url.protocol} — pass e.g. https://sepolia-rollup.arbitrum.io/rpc`)
  }
  const chain = chainFor(chainId, opts.rpcUrl)
  const transport = http(opts.rpcUrl, { timeout: opts.timeoutMs ?? 10_000, retryCount: 0 })
  const pollingInterval = opts.pollingIntervalMs ?? 250
  const pub = createPublicClient({ chain, transport, pollingInterval }) as PublicClient<Transport, Chain>
  let actual: number
  try {
    actual = await pub.getChainId()
  } catch (cause) {
    throw unreachable(opts.rpcUrl, cause)
  }
  if (actual !== chainId) {
    throw new ChainError('CHAIN_WRONG_CHAIN_ID',
      `the RPC at ${opts.rpcUrl} serves chain ${actual}, not chain ${chainId} — use the RPC of chain ${chainId} or the profile of chain ${actual}`,
      { details: { rpcUrl: opts.rpcUrl, expected: chainId, actual } })
  }
  const clients: ChainClients = { rpcUrl: opts.rpcUrl, chainId, chain, public: pub }
  if (opts.privateKey !== undefined) {
    const hex = typeof opts.privateKey === 'string' ? opts.privateKey : bytesToHex(opts.privateKey)
    const account = privateKeyToAccount(hex)
    clients.account = account
    clients.wallet = createWalletClient({ chain, transport, account, pollingInterval })
  }
  return clients
}

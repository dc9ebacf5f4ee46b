/**
 * Starts a local anvil (npm @foundry-rs/anvil) on a free 127.0.0.1 port, for tests, benchmarks
 * and the devnet. The platform binary is spawned directly (not through the npm wrapper), so
 * `stop()` ends exactly the process it started.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { ChainError } from './errors.js'
import { sleep } from '../protocol/index.js'

export interface AnvilOptions {
  /** Port (default: a free one). */
  port?: number
  chainId?: number
  /** Seconds between blocks; default: mine on every transaction. */
  blockTime?: number
  /** Balance of each dev account, in ETH (default 10000). */
  balanceEth?: number
  /** Number of dev accounts (default 10). */
  accounts?: number
  /** Give up starting after this long (default 30 s). */
  startTimeoutMs?: number
  /** More command-line flags, e.g. ['--steps-tracing']. */
  extraArgs?: string[]
  signal?: AbortSignal
}

export interface Anvil {
  rpcUrl: string
  port: number
  chainId: number
  /** The dev accounts' private keys (anvil's default mnemonic). */
  privateKeys: `0x${string}`[]
  process: ChildProcess
  stop: () => Promise<void>
}

/** Anvil's well-known default dev keys (mnemonic "test test … junk"). Never use them on a real chain. */
export const ANVIL_KEYS: `0x${string}`[] = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6'
]

/** Path of the anvil binary: $LILYNODE_ANVIL, the platform package, or the npm wrapper. */
export function anvilBinary (): string {
  const env = process.env.LILYNODE_ANVIL
  if (env !== undefined && env !== '') return env
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const require = createRequire(import.meta.url)
  try {
    const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`)
    const bin = join(dirname(pkg), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
    if (existsSync(bin)) return bin
  } catch {}
  try {
    return join(dirname(require.resolve('@foundry-rs/anvil/package.json')), 'bin.mjs')
  } catch (cause) {
    throw new ChainError('CHAIN_BAD_PARAMS', 'anvil not found: run npm install (it comes with @foundry-rs/anvil) or set LILYNODE_ANVIL to its path', { cause })
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

async function rpcChainId (rpcUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1000)
    })
    const body = await res.json() as { result?: string }
    return body.result === undefined ? undefined : Number(body.result)
  } catch {
    return undefined
  }
}

/** Starts anvil and waits until it answers. */
export async function startAnvil (opts: AnvilOptions = {}): Promise<Anvil> {
  const port = opts.port ?? await freePort()
  const chainId = opts.chainId ?? 31337
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent',
    '--balance', String(opts.balanceEth ?? 10_000), '--accounts', String(opts.accounts ?? 10)]
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime))
  args.push(...(opts.extraArgs ?? []))
  const bin = anvilBinary()
  const child = bin.endsWith('.mjs')
    ? spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => { if (stderr.length < 4096) stderr += b.toString() })
  let exited = false
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve() }))
  child.once('error', () => { exited = true })
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM')
      const t = setTimeout(() => { if (!exited) child.kill('SIGKILL') }, 3000)
      await exitedP
      clearTimeout(t)
    }
  }
  const rpcUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000)
  while (true) {
    if (opts.signal?.aborted === true) { await stop(); opts.signal.throwIfAborted() }
    if (exited) throw new ChainError('CHAIN_RPC_UNREACHABLE', `anvil exited while starting on port ${port}: ${stderr.trim()}`)
    if (await rpcChainId(rpcUrl) === chainId) break
    if (Date.now() > deadline) {
      await stop()
      throw new ChainError('CHAIN_RPC_UNREACHABLE', `anvil did not answer on ${rpcUrl} within ${opts.startTimeoutMs ?? 30_000} ms: ${stderr.trim()}`)
    }
    await sleep(100)
  }
  return { rpcUrl, port, chainId, privateKeys: ANVIL_KEYS.slice(0, opts.accounts ?? 10), process: child, stop }
}

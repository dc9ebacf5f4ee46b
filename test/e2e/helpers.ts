/**
 * Shared set-up of the end-to-end suites: a devnet of separate OS processes (real libp2p,
 * real anvil, real Docker), skipped visibly when Docker is absent unless
 * LILYNODE_REQUIRE_DOCKER=1, and balance checks that account for every wei.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lilyEscrowAbi } from '../../src/chain/artifacts.js'
import { Devnet, type Balance, type DevnetOptions } from '../../src/devnet/devnet.js'
import type { Address, Hash } from '../../src/protocol/types.js'

export function dockerAvailable (): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 15_000 })
    return true
  } catch {
    return false
  }
}

function imageAvailable (image: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', image], { stdio: 'pipe', timeout: 15_000 })
    return true
  } catch {
    return false
  }
}

/** Skips the suite (visibly) without Docker or the example images, unless Docker is required. */
export function requireDocker (ctx: Mocha.Context, images: string[] = ['lilynode/cowsay:v0.0.4']): void {
  const missing = !dockerAvailable() ? 'Docker is not reachable' : images.filter((i) => !imageAvailable(i)).map((i) => `image ${i} is not built (npm run images)`).join('; ')
  if (missing === '') return
  if (process.env.LILYNODE_REQUIRE_DOCKER === '1') throw new Error(`e2e: ${missing}, and LILYNODE_REQUIRE_DOCKER=1`)
  process.stderr.write(`\n    SKIPPED e2e suite "${ctx.test?.parent?.title ?? ''}": ${missing}\n`)
  ctx.skip()
}

export interface TestNet { net: Devnet, dir: string }

export async function startNet (o: Omit<DevnetOptions, 'dataDir'>): Promise<TestNet> {
  const dir = await mkdtemp(join(tmpdir(), 'lily-e2e-'))
  const net = new Devnet({ epochMs: 1000, challengeWindowS: 8, ...o, dataDir: join(dir, 'net'), log: process.env.LILYNODE_E2E_VERBOSE === '1' ? (l) => process.stderr.write(`    devnet: ${l}\n`) : undefined })
  try {
    await net.start()
  } catch (e) {
    await net.stop()
    throw e
  }
  return { net, dir }
}

/**
 * Stops the devnet and removes its folder — kept (path printed) with LILYNODE_E2E_KEEP=1, or
 * when `failed` (pass `this.currentTest?.state === 'failed'` from an afterEach, or the suite's
 * state) so that every process's log is there to read after a failure.
 */
export async function stopNet (t: TestNet | undefined, failed = false): Promise<void> {
  if (t === undefined) return
  await t.net.stop()
  if (process.env.LILYNODE_E2E_KEEP !== '1' && !failed) await rm(t.dir, { recursive: true, force: true })
  else process.stderr.write(`    kept ${t.dir} (every process's log is <dir>/net/<name>.log)\n`)
}

/** A failure message for a `lilynode run` process: its last events and its stderr. */
export function runFailure (what: string, p: { events: Array<Record<string, unknown>>, stderrTail: string }): string {
  return `${what}: events ${JSON.stringify(p.events.slice(-3))}; stderr: ${p.stderrTail.trim().split('\n').slice(-6).join(' | ')}`
}

export function byName (bs: Balance[], name: string): Balance {
  const b = bs.find((x) => x.name === name)
  if (b === undefined) throw new Error(`no balance for ${name}`)
  return b
}

export type Closing = 'DealCompleted' | 'DealClaimed' | 'DealTimedOut' | 'DealResolved:provider' | 'DealResolved:creator'

/** How a deal closed on-chain (undefined while open), from the escrow's events. */
export async function closedBy (net: Devnet, dealId: Hash): Promise<Closing | undefined> {
  const q = { abi: lilyEscrowAbi, address: net.profile.escrow, args: { dealId }, fromBlock: 0n, strict: true } as const
  const pub = net.chain.public
  if ((await pub.getContractEvents({ ...q, eventName: 'DealCompleted' })).length > 0) return 'DealCompleted'
  if ((await pub.getContractEvents({ ...q, eventName: 'DealClaimed' })).length > 0) return 'DealClaimed'
  if ((await pub.getContractEvents({ ...q, eventName: 'DealTimedOut' })).length > 0) return 'DealTimedOut'
  const r = await pub.getContractEvents({ ...q, eventName: 'DealResolved' })
  if (r.length > 0) return r[0].args.providerWins ? 'DealResolved:provider' : 'DealResolved:creator'
  return undefined
}

/** Transactions that emitted an event of `eventName` for the deal. */
export async function txsOf (net: Devnet, dealId: Hash, eventName: 'DealOpened' | 'ResultSubmitted' | 'DealChallenged' | 'DealCompleted' | 'DealClaimed'): Promise<Hash[]> {
  const logs = await net.chain.public.getContractEvents({ abi: lilyEscrowAbi, address: net.profile.escrow, eventName, args: { dealId }, fromBlock: 0n, strict: true })
  return logs.map((l) => l.transactionHash)
}

/** Sum of an account's deposits into the escrow. */
export async function deposited (net: Devnet, account: Address): Promise<bigint> {
  const logs = await net.chain.public.getContractEvents({ abi: lilyEscrowAbi, address: net.profile.escrow, eventName: 'Deposited', args: { account }, fromBlock: 0n, strict: true })
  return logs.reduce((s, l) => s + l.args.amount, 0n)
}

/**
 * No wei lost: with no deal open, the escrow's ETH equals every free balance plus every
 * mediator stake.
 */
export async function assertConserved (net: Devnet): Promise<void> {
  const bs = await net.balances()
  let stakes = 0n
  for (const p of net.parties.values()) {
    const [stake] = await net.chain.public.readContract({ abi: lilyEscrowAbi, address: net.profile.escrow, functionName: 'mediatorInfo', args: [p.address] })
    stakes += stake
  }
  const held = await net.chain.public.getBalance({ address: net.profile.escrow })
  const free = bs.reduce((s, b) => s + b.escrow, 0n)
  assert.equal(held, free + stakes, `escrow holds ${held} wei but free balances ${free} + stakes ${stakes} = ${free + stakes}`)
}

/** The last event of a stage (a job offered again after an expired match has several). */
export function eventOf (events: Array<Record<string, unknown>>, stage: string): Record<string, unknown> | undefined {
  return events.filter((e) => e.stage === stage).pop()
}

/**
 * The `lilynode chain` facade (src/node/chainCommands.ts) and command against a real anvil:
 * deploy, deposit, balance, withdraw, mediator-register with a key file and a profile, and the
 * clear errors for a wrong chain id, an unreachable RPC and too little balance.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import { identityFromPrivateKey, saveIdentity, createIdentity, KEY_FILE } from '../../src/protocol/identity.js'
import { DEFAULT_LIMITS, parseProfile, serializeProfile, type Profile } from '../../src/protocol/profile.js'
import { hexToBytes } from '../../src/protocol/hex.js'
import { startAnvil, freePort, type Anvil } from '../../src/chain/anvil.js'
import { isChainError } from '../../src/chain/errors.js'
import { createChainClients } from '../../src/chain/client.js'
import {
  ChainCommandError, chainBalance, chainDeploy, chainDeposit, chainMediatorRegister, chainWithdraw
} from '../../src/sdk/chainChores.js'
import { execute } from '../../src/cli/main.js'

describe('chain: CLI facade (lilynode chain …)', function () {
  this.timeout(60_000)
  let anvil: Anvil
  let dir: string
  let keyFile: string
  let poorDir: string
  let escrow: Address
  let profile: string

  before(async () => {
    anvil = await startAnvil({ accounts: 2 })
    dir = await mkdtemp(join(tmpdir(), 'lilynode-chaincli-'))
    keyFile = join(dir, 'rich.json')
    assert.equal(await saveIdentity(keyFile, identityFromPrivateKey(hexToBytes(anvil.privateKeys[1], 32)), ''), true)
    poorDir = join(dir, 'poor')
    await mkdir(poorDir, { mode: 0o700 })
    await saveIdentity(join(poorDir, KEY_FILE), createIdentity(), '')
  })
  after(async () => {
    await anvil?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  const conn = (): { rpcUrl: string, chainId: bigint, keyFile: string } => ({ rpcUrl: anvil.rpcUrl, chainId: BigInt(anvil.chainId), keyFile })

  /** Runs `lilynode chain <name>` with these options (through the CLI's parser); returns what it printed. */
  async function runChainCommand (name: string, flags: Record<string, string | boolean>): Promise<string> {
    const argv = ['chain', name, ...Object.entries(flags).flatMap(([k, v]) => v === true ? [`--${k}`] : v === false ? [] : [`--${k}`, v])]
    let out = ''
    const write = process.stdout.write.bind(process.stdout)
    process.stdout.write = ((s: string) => { out += s; return true }) as typeof process.stdout.write
    try {
      assert.equal(await execute(argv, new AbortController().signal), 0)
    } finally {
      process.stdout.write = write
    }
    return out
  }

  it('deploys an ETH escrow with a key file', async () => {
    const r = await chainDeploy({ ...conn(), minStake: 1000n })
    assert.equal(r.chainId, anvil.chainId)
    assert.equal(r.token, null)
    assert.match(r.escrow, /^0x[0-9a-fA-F]{40}$/)
    escrow = r.escrow
    // the block it reports is the deployment's: the profile's escrowBlock, where nodes start reading events
    const res = await fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [r.hash] }) })
    const receipt = (await res.json() as { result: { blockNumber: string, contractAddress: string } }).result
    assert.equal(r.blockNumber, BigInt(receipt.blockNumber))
    assert.equal(receipt.contractAddress.toLowerCase(), escrow.toLowerCase())
    const p: Profile = {
      name: 'cli-test', chainId: BigInt(anvil.chainId), rpcUrl: anvil.rpcUrl, escrow: escrow.toLowerCase() as Address, escrowBlock: Number(r.blockNumber), token: null,
      epochMs: 1000, graceMs: 250, genesisMs: 0, reserveEpochs: 3, bootstrap: [], limits: { ...DEFAULT_LIMITS }
    }
    profile = join(dir, 'profile.json')
    await writeFile(profile, serializeProfile(p))
  })

  it('deposit, balance, withdraw and mediator-register through a profile', async () => {
    const d = await chainDeposit({ profile, keyFile, amount: 5000n })
    assert.equal(d.escrowBalance, 5000n)
    const b = await chainBalance({ profile, keyFile })
    assert.equal(b.escrowBalance, 5000n)
    assert.ok(b.walletBalance > 0n)
    const w = await chainWithdraw({ profile, keyFile, amount: 1200n })
    assert.equal(w.escrowBalance, 3800n)
    const m = await chainMediatorRegister({ profile, keyFile, amount: 1000n })
    assert.deepEqual([m.mediator.stake, m.mediator.listed], [1000n, true])
    const all = await chainWithdraw({ profile, keyFile })
    assert.equal(all.amount, 3800n)
    // balance of any account needs no key
    const other = await chainBalance({ profile, account: w.account })
    assert.equal(other.escrowBalance, 0n)
    assert.equal(other.mediator.stake, 1000n)
  })

  it('the command prints one JSON object with --json', async () => {
    const out = await runChainCommand('deposit', { profile, key: keyFile, amount: '77', json: true })
    const r = JSON.parse(out) as { amount: string, escrowBalance: string, escrow: string }
    assert.equal(r.amount, '77')
    assert.equal(r.escrowBalance, '77')
    assert.equal(r.escrow.toLowerCase(), escrow.toLowerCase())
  })

  it('deploy tells which profile fields to set (escrow, escrowBlock, token)', async () => {
    const out = await runChainCommand('deploy', { rpc: anvil.rpcUrl, 'chain-id': String(anvil.chainId), key: keyFile, 'challenge-window': '3600', 'mediation-fee': '0', 'min-stake': '1000', 'mediator-timeout': '60', 'unstake-delay': '60' })
    const m = /network profile: "escrow": "(0x[0-9a-fA-F]{40})", "escrowBlock": ([0-9]+), "token": null/.exec(out)
    assert.ok(m !== null, out)
    const fields = JSON.parse(`{${m[0].slice('network profile: '.length)}}`) as { escrow: string, escrowBlock: number }
    const p = parseProfile({ name: 'from-deploy', chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, epochMs: 1000, genesisMs: 0, bootstrap: [], ...fields })
    assert.equal(p.escrow, m[1].toLowerCase())
    assert.equal(p.escrowBlock, Number(m[2]))
  })

  it('a wrong chain id is refused before anything is signed', async () => {
    await assert.rejects(chainBalance({ ...conn(), chainId: 42161n, escrow }), (e: unknown) => {
      assert.ok(isChainError(e, 'CHAIN_WRONG_CHAIN_ID'))
      assert.match(e.message, /serves chain 31337, not chain 42161/)
      return true
    })
  })

  it('an unreachable RPC names the URL and the fix', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    await assert.rejects(chainDeposit({ rpcUrl: url, chainId: 31337n, keyFile, escrow, amount: 1n }), (e: unknown) => {
      assert.ok(isChainError(e, 'CHAIN_RPC_UNREACHABLE'))
      assert.ok(e.message.includes(url))
      assert.match(e.message, /check the URL/)
      return true
    })
  })

  it('too little balance: an empty wallet cannot deposit, nobody withdraws more than its free balance', async () => {
    await assert.rejects(chainDeposit({ rpcUrl: anvil.rpcUrl, chainId: 31337n, dataDir: poorDir, escrow, amount: 10n ** 18n }), (e: unknown) => {
      assert.ok(isChainError(e, 'CHAIN_INSUFFICIENT_FUNDS'))
      assert.match(e.message, /holds 0/)
      return true
    })
    await assert.rejects(chainWithdraw({ ...conn(), escrow, amount: 10n ** 18n }), (e: unknown) => {
      assert.ok(isChainError(e, 'CHAIN_INSUFFICIENT_BALANCE'))
      assert.match(e.message, /free escrow balance/)
      return true
    })
  })

  it('a malformed RPC URL or chain id is refused with CHAIN_BAD_PARAMS', async () => {
    for (const [rpcUrl, chainId] of [['not a url', 1], ['ws://127.0.0.1:1', 1], [anvil.rpcUrl, 0]] as const) {
      await assert.rejects(createChainClients({ rpcUrl, chainId }), (e: unknown) => isChainError(e, 'CHAIN_BAD_PARAMS'))
    }
  })

  it('missing settings are named', async () => {
    await assert.rejects(chainBalance({ keyFile }), (e: unknown) => e instanceof ChainCommandError && e.code === 'CHAIN_CMD_MISSING_SETTING' && /--rpc/.test(e.message))
    await assert.rejects(chainBalance({ rpcUrl: anvil.rpcUrl, keyFile }), (e: unknown) => e instanceof ChainCommandError && /--chain-id/.test(e.message))
    await assert.rejects(chainDeposit({ ...conn(), amount: 1n }), (e: unknown) => e instanceof ChainCommandError && /--escrow/.test(e.message))
    await assert.rejects(chainDeposit({ rpcUrl: anvil.rpcUrl, chainId: 31337n, escrow, amount: 1n }), (e: unknown) => e instanceof ChainCommandError && /--key/.test(e.message))
  })
})

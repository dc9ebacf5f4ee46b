/**
 * The whole network on one machine (DESIGN §1 `lilynode devnet`): anvil with one-second blocks
 * (plus a block per transaction), the escrow and its LilyRequests companion deployed with short windows, every party's key
 * created and funded, the profile written to `<dataDir>/profile.json`, and a bootstrap node,
 * providers, mediators and request relays (`lilynode creator`) started as separate OS processes (`node bin/lilynode.js …`). The
 * e2e tests and the e2e benchmark use the same class.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestClient, http } from 'viem'
import { lilyEscrowAbi } from '../chain/index.js'
import { createChainClients, type ChainClients } from '../chain/index.js'
import { deploy } from '../chain/index.js'
import { deployRequests } from '../chain/index.js'
import { loadOrCreateIdentity } from '../protocol/index.js'
import { parseProfile, serializeProfile, type Profile } from '../protocol/index.js'
import type { Address } from '../protocol/index.js'
import { sleep } from '../protocol/index.js'
import { DEFAULT_MEDIATION_FEE } from '../protocol/constants.js'

/** anvil's first dev account (public, well-known test key): deploys and funds. */
const ANVIL_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

const HERE = dirname(fileURLToPath(import.meta.url))
/** The repository root, from dist/src/devnet or src/devnet. */
export const REPO_ROOT = HERE.includes(`${'/dist/'}`) ? resolve(HERE, '..', '..', '..') : resolve(HERE, '..', '..')
/** The binary the devnet starts; LILYNODE_BIN overrides it (e.g. a locally built launcher). */
export const LILYNODE_BIN = process.env.LILYNODE_BIN ?? join(REPO_ROOT, 'bin', 'lilynode.js')

export type DevnetRole = 'bootstrap' | 'provider' | 'mediator' | 'creator' | 'relay'

export interface DevnetOptions {
  dataDir: string
  providers?: number
  mediators?: number
  /** Creator data dirs to create and fund (creator-1 …). */
  creators?: number
  /** `lilynode creator` nodes that relay on-chain job requests (relay-1 …; default 0). */
  relays?: number
  /** relay-1 also serves the local HTTP API on this host:port (off when undefined). */
  relayApi?: string
  /** relay-1's API also serves the web console (`--api-console`). */
  relayApiConsole?: boolean
  epochMs?: number
  graceMs?: number
  reserveEpochs?: number
  challengeWindowS?: number
  mediatorTimeoutS?: number
  mediationFee?: bigint
  minStake?: bigint
  /** ETH given to every party's wallet, in wei. */
  fundWei?: bigint
  /** Extra environment per provider index (0-based), e.g. the test-only cheat flag. */
  providerEnv?: (i: number) => Record<string, string>
  /** Extra `lilynode provider` arguments per provider index (0-based), e.g. `--backend slurm …`. */
  providerArgs?: (i: number) => string[]
  /** Progress lines for people. */
  log?: (line: string) => void
}

export interface DevnetParty {
  name: string
  role: DevnetRole
  dataDir: string
  address: Address
}

/** A child `lilynode` process with its JSON events. */
export class NodeProcess extends EventEmitter<{ event: [Record<string, unknown>], exit: [number | null, NodeJS.Signals | null] }> {
  readonly events: Array<Record<string, unknown>> = []
  exited = false
  exitCode: number | null = null
  /** The last lines it wrote to stderr, for error messages. */
  stderrTail = ''
  readonly done: Promise<number | null>

  constructor (readonly name: string, readonly proc: ChildProcess, logPath: string) {
    super()
    const log = createWriteStream(logPath, { flags: 'a' })
    let buf = ''
    proc.stdout?.on('data', (d: Buffer) => {
      log.write(d)
      buf += d.toString('utf8')
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (!line.startsWith('{')) continue
        try {
          const e = JSON.parse(line) as Record<string, unknown>
          this.events.push(e)
          this.emit('event', e)
        } catch {}
      }
    })
    proc.stderr?.on('data', (d: Buffer) => {
      log.write(d)
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-2000)
    })
    this.done = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exited = true
        this.exitCode = code
        log.end()
        this.emit('exit', code, signal)
        resolve(code)
      })
    })
  }

  get pid (): number | undefined { return this.proc.pid }

  /** Resolves with the first event (past or future) that matches; rejects on exit or timeout. */
  async waitFor (pred: (e: Record<string, unknown>) => boolean, timeoutMs: number, what = 'event'): Promise<Record<string, unknown>> {
    const seen = this.events.find(pred)
    if (seen !== undefined) return seen
    return await new Promise((resolve, reject) => {
      const onEvent = (e: Record<string, unknown>): void => { if (pred(e)) { cleanup(); resolve(e) } }
      const onExit = (code: number | null): void => { cleanup(); reject(new Error(`${this.name} exited (${String(code)}) before ${what}: ${this.stderrTail.trim().split('\n').slice(-5).join(' | ')}`)) }
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms`)) }, timeoutMs)
      const cleanup = (): void => { clearTimeout(timer); this.off('event', onEvent); this.off('exit', onExit) }
      this.on('event', onEvent)
      this.on('exit', onExit)
    })
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (this.exited) return
    this.proc.kill(signal)
    const t = setTimeout(() => { if (!this.exited) this.proc.kill('SIGKILL') }, graceMs)
    await this.done
    clearTimeout(t)
  }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

export interface Balance { name: string, address: Address, escrow: bigint, wallet: bigint }

export class Devnet {
  profile!: Profile
  profilePath!: string
  chain!: ChainClients
  readonly parties = new Map<string, DevnetParty>()
  readonly procs = new Map<string, NodeProcess>()
  private anvil?: ChildProcess
  private rpcUrl = ''
  private readonly log: (line: string) => void

  constructor (readonly o: DevnetOptions) {
    this.log = o.log ?? (() => {})
  }

  get dataDir (): string { return this.o.dataDir }

  /** Starts anvil, deploys, funds, writes the profile, and starts bootstrap, providers and mediators. */
  async start (): Promise<void> {
    if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`${join(REPO_ROOT, 'dist/src/cli/main.js')} is missing: run npm run build first`)
    await rm(this.o.dataDir, { recursive: true, force: true })
    await mkdir(this.o.dataDir, { recursive: true })
    await this.startAnvil()
    const deployer = await createChainClients({ rpcUrl: this.rpcUrl, chainId: 31337, privateKey: ANVIL_KEY })
    const d = await deploy(deployer, {
      challengeWindow: BigInt(this.o.challengeWindowS ?? 10),
      mediationFee: this.o.mediationFee ?? DEFAULT_MEDIATION_FEE,
      minStake: this.o.minStake ?? 10n ** 16n,
      mediatorTimeout: BigInt(this.o.mediatorTimeoutS ?? 120),
      unstakeDelay: 3600n
    })
    this.log(`escrow deployed at ${d.address} (gas ${d.gasUsed})`)
    const req = await deployRequests(deployer, { escrow: d.address })
    this.log(`LilyRequests deployed at ${req.address} (gas ${req.gasUsed})`)
    this.chain = await createChainClients({ rpcUrl: this.rpcUrl, chainId: 31337 })

    const names: Array<[string, DevnetRole]> = [['bootstrap', 'bootstrap']]
    for (let i = 1; i <= (this.o.providers ?? 2); i++) names.push([`provider-${i}`, 'provider'])
    for (let i = 1; i <= (this.o.mediators ?? 1); i++) names.push([`mediator-${i}`, 'mediator'])
    for (let i = 1; i <= (this.o.creators ?? 1); i++) names.push([`creator-${i}`, 'creator'])
    for (let i = 1; i <= (this.o.relays ?? 0); i++) names.push([`relay-${i}`, 'relay'])
    const fund = this.o.fundWei ?? 1000n * 10n ** 18n
    const testClient = createTestClient({ mode: 'anvil', transport: http(this.rpcUrl) })
    for (const [name, role] of names) {
      const dir = join(this.o.dataDir, name)
      const id = await loadOrCreateIdentity(dir)
      this.parties.set(name, { name, role, dataDir: dir, address: id.address })
      await testClient.setBalance({ address: id.address, value: fund })
    }
    const bootPort = await freePort()
    const boot = this.parties.get('bootstrap') as DevnetParty
    const bootId = await loadOrCreateIdentity(boot.dataDir)
    const epochMs = this.o.epochMs ?? 1000
    const now = Date.now()
    this.profile = parseProfile({
      name: 'devnet',
      chainId: 31337,
      rpcUrl: this.rpcUrl,
      escrow: d.address,
      escrowBlock: Number(d.blockNumber),
      requests: req.address,
      token: null,
      epochMs,
      graceMs: this.o.graceMs ?? Math.floor(epochMs / 4),
      genesisMs: now - (now % epochMs),
      reserveEpochs: this.o.reserveEpochs ?? 10,
      challengeWindowS: this.o.challengeWindowS ?? 10,
      bootstrap: [`/ip4/127.0.0.1/tcp/${bootPort}/p2p/${bootId.peerId.toString()}`]
    })
    this.profilePath = join(this.o.dataDir, 'profile.json')
    await writeFile(this.profilePath, `${serializeProfile(this.profile)}\n`)
    this.log(`profile written to ${this.profilePath}`)

    const bootProc = this.spawn('bootstrap', ['bootstrap', '--listen', `/ip4/127.0.0.1/tcp/${bootPort}`])
    await bootProc.waitFor((e) => e.event === 'ready', 60_000, 'ready')
    const starting: Array<Promise<unknown>> = []
    for (const p of this.parties.values()) {
      if (p.role === 'provider') {
        const i = Number(p.name.split('-')[1]) - 1
        starting.push(this.startProvider(p.name, this.o.providerEnv?.(i) ?? {}, this.o.providerArgs?.(i) ?? []))
      } else if (p.role === 'mediator') {
        starting.push(this.startMediator(p.name))
      } else if (p.role === 'relay') {
        starting.push(this.startRelay(p.name))
      }
    }
    await Promise.all(starting)
  }

  private async startAnvil (): Promise<void> {
    const port = await freePort()
    this.rpcUrl = `http://127.0.0.1:${port}`
    const bin = join(REPO_ROOT, 'node_modules', '.bin', 'anvil')
    this.anvil = spawn(bin, ['--port', String(port), '--host', '127.0.0.1', '--block-time', '1', '--mixed-mining', '--silent', '--chain-id', '31337'], { stdio: ['ignore', 'ignore', 'pipe'] })
    const errs: string[] = []
    this.anvil.stderr?.on('data', (d: Buffer) => errs.push(d.toString()))
    for (let i = 0; i < 100; i++) {
      if (this.anvil.exitCode !== null) throw new Error(`anvil exited: ${errs.join('').slice(0, 500)}`)
      try {
        const r = await fetch(this.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' })
        if (r.ok) { this.log(`anvil up at ${this.rpcUrl}`); return }
      } catch {}
      await sleep(100)
    }
    throw new Error('anvil did not answer within 10 s')
  }

  /** Spawns `node bin/lilynode.js <args> --profile … --data-dir … --json` for a party. */
  spawn (name: string, args: string[], env: Record<string, string> = {}): NodeProcess {
    const party = this.parties.get(name)
    if (party === undefined) throw new Error(`no devnet party ${name}`)
    const old = this.procs.get(name)
    if (old !== undefined && !old.exited) throw new Error(`${name} is already running`)
    const full = [LILYNODE_BIN, ...args, '--profile', this.profilePath, '--data-dir', party.dataDir, '--json']
    const proc = spawn(process.execPath, full, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const np = new NodeProcess(name, proc, join(this.o.dataDir, `${name}.log`))
    this.procs.set(name, np)
    return np
  }

  async startProvider (name: string, env: Record<string, string> = {}, extra: string[] = []): Promise<NodeProcess> {
    const p = this.spawn(name, ['provider', '--listen', '/ip4/127.0.0.1/tcp/0', ...extra], env)
    await p.waitFor((e) => e.event === 'ready', 90_000, 'ready')
    this.log(`${name} up`)
    return p
  }

  async startMediator (name: string): Promise<NodeProcess> {
    const p = this.spawn(name, ['mediator', '--listen', '/ip4/127.0.0.1/tcp/0'])
    await p.waitFor((e) => e.event === 'ready', 90_000, 'ready')
    this.log(`${name} up`)
    return p
  }

  /** Starts `lilynode creator` relaying the profile's LilyRequests from block 0. */
  async startRelay (name: string): Promise<NodeProcess> {
    const api = name === 'relay-1' ? this.o.relayApi : undefined
    const p = this.spawn(name, ['creator', '--listen', '/ip4/127.0.0.1/tcp/0', '--from-block', '0', ...(api !== undefined ? ['--api', api, ...(this.o.relayApiConsole === true ? ['--api-console'] : [])] : [])])
    const ready = await p.waitFor((e) => e.event === 'ready', 90_000, 'ready')
    this.log(`${name} up (relays on-chain requests${typeof ready.api === 'string' ? `; HTTP API at ${ready.api}` : ''}${typeof ready.console === 'string' ? `; console at ${ready.console}` : ''})`)
    return p
  }

  /** Starts `lilynode run` as a creator; resolves when it exits. */
  run (creator: string, module: string, inputs: string[], extra: string[] = []): NodeProcess {
    return this.spawn(creator, ['run', module, ...inputs.flatMap((i) => ['-i', i]), '--listen', '/ip4/127.0.0.1/tcp/0', ...extra])
  }

  /** Escrow free balance and wallet ETH of every party (and the escrow contract's own ETH). */
  async balances (): Promise<Balance[]> {
    const out: Balance[] = []
    for (const p of this.parties.values()) {
      const [escrow, wallet] = await Promise.all([
        this.chain.public.readContract({ abi: lilyEscrowAbi, address: this.profile.escrow, functionName: 'balanceOf', args: [p.address] }),
        this.chain.public.getBalance({ address: p.address })
      ])
      out.push({ name: p.name, address: p.address, escrow, wallet })
    }
    return out
  }

  /** Stops every process (reverse start order), then anvil. */
  async stop (): Promise<void> {
    for (const p of [...this.procs.values()].reverse()) await p.stop('SIGTERM').catch(() => undefined)
    if (this.anvil !== undefined && this.anvil.exitCode === null) {
      const a = this.anvil
      const exited = new Promise((resolve) => a.once('exit', resolve))
      a.kill('SIGTERM')
      await exited
    }
  }
}

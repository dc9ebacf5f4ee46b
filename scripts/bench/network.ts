/**
 * `npm run bench:network [-- --nodes 50 --per-process 10 --epochs 8 --epoch-ms 4000 --grace-ms 800 --json]`
 *   `--gossip '<json>'`: overrides of DEFAULT_GOSSIP_TUNING (src/p2p/libp2p.ts), e.g. the spec's
 *   values `{"D":6,"Dlo":4,"Dhi":12,"Dout":2,"Dscore":4,"Dlazy":6,"idontwantMinDataSize":512,"dropRedundantKeys":false}`;
 *   `--heartbeat-sample N`: LilyNode heartbeatSample (0 = every node gossips its heartbeat).
 *   `--match-spread MS`: LilyNode matchSpreadMs (0 = every node matches at the match time).
 *   `--wan MS`: after the quiet window, measure the same network again with every gossip delivery
 *   waiting a fixed one-way delay of its link, [0.5, 1.5] × MS (src/devnet/wan.ts), before it is
 *   validated and relayed (wide-area latency per hop): the *Wan figures.
 *   `--load N`: after the quiet window, measure the same network again beside N CPU-burning
 *   processes of its own (stopped after): the *Loaded figures.
 *   LILYNODE_BENCH_DEBUG=1 prints peer and mesh sizes and traces first receipt and IWANT per
 *   message; LILYNODE_BENCH_DUMP=<file> writes every arrival with those traces, the workers'
 *   event-loop delay (p99, max), CPU, clocks and gossipsub RPC counts by kind (with DEBUG).
 *
 * A real network on 127.0.0.1: `nodes` LilyNodes (2 of them bootstrap nodes) spread over
 * worker processes of `per-process` nodes each (separate OS processes, so both cores work and
 * memory is measured per process), real TCP, noise, yamux, gossipsub, kad-dht. The two
 * bootstrap nodes run in different workers (each is connected to every other node, the
 * busiest nodes of the network; worker 0 used to hold both). Every epoch a handful of nodes
 * publish offers (in the first half of the epoch); each node records when every offer reached it.
 *
 * Figures:
 *  - propagationP50Ms / P99Ms: publish → arrival in another node's pool (gossip or sync), over
 *    every (offer, receiving node) pair; same machine, same clock;
 *  - convergedEpochPct: measured epochs in which every node computed the same state root;
 *  - bytesPerNodePerEpoch: application bytes (gossip payloads in + out, sync/query frames in +
 *    out) per node per epoch; libp2p framing, noise and yamux overhead not included;
 *  - cpuMsPerNodePerEpoch: CPU time (user + system) of all workers over the measured epochs,
 *    per node per epoch; less sensitive to other load on the machine than the latencies;
 *  - rssMbPerNode: the largest worker's resident memory divided by its node count.
 *
 * On a 2-core machine the latencies are set by CPU: a delivery waits in its worker's event
 * loop behind the other nodes' work. Profiles (LILYNODE_BENCH_PROF=<dir> runs the workers with
 * --cpu-prof; the dump's per-worker `clock` maps sample times to epoch phases) showed the CPU
 * idle for most of the epoch and saturated for ~1 s from the match time (end of epoch + grace),
 * when every node opened its sync streams, stepped the matcher and gossiped its heartbeat at
 * the same instant; offers published in that second waited behind it (all of the p99). The
 * per-node match delay (LilyNode matchSpreadMs, default min(1000 ms, a quarter epoch)) spreads that burst; per-frame
 * costs were cut in src/p2p/libp2p.ts (yamux window updates, noise decoder, ping interval).
 * Under 1 % of the deliveries come through gossipsub's lazy IHAVE/IWANT path. Run it on a
 * quiet machine.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { createIdentity, identityFromPrivateKey } from '../../src/protocol/identity.js'
import { bytesToHex, hexToBytes } from '../../src/protocol/hex.js'
import { epochAt, epochStart, parseProfile, serializeProfile, topicName, type Profile } from '../../src/protocol/profile.js'
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { LilyNode } from '../../src/node/network.js'
import { startCpuBurners } from '../../src/devnet/load.js'
import { MAX_WAN_MS, wanLinkDelayMs } from '../../src/devnet/wan.js'
import { connectedPeers, gossipTuning, type GossipTuning } from '../../src/p2p/libp2p.js'
import { createLogger } from '../../src/protocol/logger.js'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createHash } from 'node:crypto'

interface Args { nodes: number, perProcess: number, epochs: number, epochMs: number, graceMs: number, offersPerEpoch: number, json: boolean, gossip: Partial<GossipTuning>, heartbeatSample?: number, matchSpreadMs?: number, load: number, wanMs: number }

function parseArgs (argv: string[]): Args {
  const a: Args = { nodes: 50, perProcess: 10, epochs: 8, epochMs: 4000, graceMs: 800, offersPerEpoch: 10, json: false, gossip: {}, load: 0, wanMs: 0 }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const num = (): number => {
      const v = Number(argv[++i])
      if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${k} needs a positive integer`)
      return v
    }
    if (k === '--nodes') a.nodes = num()
    else if (k === '--per-process') a.perProcess = num()
    else if (k === '--epochs') a.epochs = num()
    else if (k === '--epoch-ms') a.epochMs = num()
    else if (k === '--grace-ms') a.graceMs = num()
    else if (k === '--offers-per-epoch') a.offersPerEpoch = num()
    else if (k === '--json') a.json = true
    else if (k === '--heartbeat-sample') { const v = Number(argv[++i]); if (!Number.isSafeInteger(v) || v < 0) throw new Error('--heartbeat-sample needs a non-negative integer'); a.heartbeatSample = v }
    else if (k === '--match-spread') { const v = Number(argv[++i]); if (!Number.isSafeInteger(v) || v < 0) throw new Error('--match-spread needs a non-negative integer'); a.matchSpreadMs = v }
    else if (k === '--load') { const v = Number(argv[++i]); if (!Number.isSafeInteger(v) || v < 0 || v > 64) throw new Error('--load needs an integer from 0 to 64'); a.load = v }
    else if (k === '--wan') { const v = Number(argv[++i]); if (!Number.isSafeInteger(v) || v < 0 || v > MAX_WAN_MS) throw new Error(`--wan needs a mean one-way delay from 0 to ${MAX_WAN_MS} ms`); a.wanMs = v }
    else if (k === '--gossip') a.gossip = JSON.parse(argv[++i]) as Partial<GossipTuning>
    else throw new Error(`unknown option ${k}; see the comment at the top of scripts/bench/network.ts`)
  }
  if (a.nodes < 3) throw new Error('--nodes must be at least 3')
  gossipTuning(a.gossip)
  return a
}

// ------------------------------------------------------------------ worker side

interface WorkerConfig { profile: string, keys: string[], bootstrapPorts: Array<number | null>, dataRoot: string, gossip: Partial<GossipTuning>, heartbeatSample?: number, matchSpreadMs?: number }
type Command = { cmd: 'publish', node: number, kind: 'job' | 'resource', epoch: string, nonce: string } | { cmd: 'report' } | { cmd: 'wan', ms: number } | { cmd: 'stop' }

function hashOf (s: string): Hash { return bytesToHex(keccak_256(new TextEncoder().encode(s))) }

function job (creator: Address, nonce: bigint, epoch: bigint): JobOffer {
  return {
    creator, nonce, module: hashOf('bench-module'), inputsHash: hashOf(`in:${creator}:${nonce}`),
    cpu: 500, ram: 256, gpus: 0, gpuVram: 0, disk: 10, maxPrice: 10n ** 15n, timeout: 60, collateral: 0n,
    epoch, expiryEpoch: epoch + 1n
  }
}

function resource (provider: Address, nonce: bigint, epoch: bigint): ResourceOffer {
  return {
    provider, nonce, version: 1, cpu: 4000, ram: 4096, gpus: 0, gpuVram: 0, disk: 1000, gpuModel: '',
    priceCpu: 10n, priceRam: 1n, priceGpu: 0n, priceDisk: 0n, modules: [], collateral: 10n ** 15n,
    epoch, expiryEpoch: epoch + 2n
  }
}

function send (o: unknown): void {
  process.stdout.write(`${JSON.stringify(o, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)}\n`)
}

async function worker (cfg: WorkerConfig): Promise<void> {
  const profile = parseProfile(JSON.parse(cfg.profile))
  const nodes: LilyNode[] = []
  const arrivals: Array<Map<Hash, number>> = []
  const via = { self: 0, gossip: 0, sync: 0 }
  let peakRss = 0
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 250)
  let wanMs = 0
  for (const [i, key] of cfg.keys.entries()) {
    const identity = identityFromPrivateKey(hexToBytes(key, 32))
    const port = cfg.bootstrapPorts[i]
    const node = new LilyNode({
      profile,
      identity,
      dataDir: join(cfg.dataRoot, identity.address),
      listen: [`/ip4/127.0.0.1/tcp/${port ?? 0}`],
      dhtServer: port !== null,
      gossip: cfg.gossip,
      heartbeatSample: cfg.heartbeatSample,
      matchSpreadMs: cfg.matchSpreadMs,
      // the WAN window's per-link delays (0 until the `wan` command)
      testHooks: { gossipDelayMs: (source: string) => wanMs === 0 ? 0 : wanLinkDelayMs(identity.address, source, wanMs) },
      logger: createLogger(`bench:${identity.address.slice(2, 8)}`)
    })
    const seen = new Map<Hash, number>()
    node.on('offer', (ev) => {
      if (seen.has(ev.id)) return
      seen.set(ev.id, Date.now())
      via[ev.via]++
    })
    await node.start()
    nodes.push(node)
    arrivals.push(seen)
  }
  // debug tracing (LILYNODE_BENCH_DEBUG=1): first RPC receipt and IWANT requests per message id
  const debug = process.env.LILYNODE_BENCH_DEBUG === '1'
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const received: Array<Map<string, number>> = nodes.map(() => new Map())
  const iwanted: Array<Map<string, number>> = nodes.map(() => new Map())
  const rpcs = { in: 0, withMessages: 0, messages: 0, ihave: 0, iwant: 0, idontwant: 0, graft: 0, prune: 0, subscriptions: 0 }
  if (debug) {
    nodes.forEach((n, i) => {
      const ps = n.libp2p.services.pubsub as unknown as {
        handleReceivedMessage: (from: unknown, m: { from?: Uint8Array, data?: Uint8Array }) => Promise<void>
        handleIHave: (id: string, ihave: unknown) => Array<{ messageIDs: Uint8Array[] }>
        handleReceivedRpc: (from: unknown, rpc: { messages: unknown[], subscriptions?: unknown[], control?: Record<string, unknown[] | undefined> }) => Promise<void>
      }
      const hrr = ps.handleReceivedRpc.bind(ps)
      ps.handleReceivedRpc = async (from, rpc) => {
        rpcs.in++
        if (rpc.messages.length > 0) rpcs.withMessages++
        rpcs.messages += rpc.messages.length
        if ((rpc.subscriptions?.length ?? 0) > 0) rpcs.subscriptions++
        for (const k of ['ihave', 'iwant', 'idontwant', 'graft', 'prune'] as const) if ((rpc.control?.[k]?.length ?? 0) > 0) rpcs[k]++
        return await hrr(from, rpc)
      }
      const hrm = ps.handleReceivedMessage.bind(ps)
      ps.handleReceivedMessage = async (from, m) => {
        const k = createHash('sha256').update(m.from ?? new Uint8Array()).update(m.data ?? new Uint8Array()).digest('base64')
        if (!received[i].has(k)) received[i].set(k, Date.now())
        return await hrm(from, m)
      }
      const hih = ps.handleIHave.bind(ps)
      ps.handleIHave = (id, ihave) => {
        const r = hih(id, ihave)
        for (const w of r) for (const m of w.messageIDs) {
          const k = Buffer.from(m).toString('base64')
          if (!iwanted[i].has(k)) iwanted[i].set(k, Date.now())
        }
        return r
      }
    })
  }
  send({ event: 'ready' })
  const rl = createInterface({ input: process.stdin })
  for await (const line of rl) {
    const c = JSON.parse(line) as Command
    if (c.cmd === 'publish') {
      const n = nodes[c.node]
      const e = BigInt(c.epoch)
      const t = Date.now()
      const id = c.kind === 'job'
        ? await n.publishJobOffer(job(n.address, BigInt(c.nonce), e))
        : await n.publishResourceOffer(resource(n.address, BigInt(c.nonce), e))
      const wire = n.pool.get(id)?.wire ?? new Uint8Array()
      const msgId = createHash('sha256').update(n.libp2p.peerId.toMultihash().bytes).update(wire).digest('base64')
      send({ event: 'published', id, at: t, msgId, done: Date.now() })
    } else if (c.cmd === 'report') {
      send({
        event: 'report',
        // wall clock and the monotonic clock of --cpu-prof samples, read together
        clock: { wallMs: Date.now(), monoUs: Number(process.hrtime.bigint() / 1000n) },
        pid: process.pid,
        rss: Math.max(peakRss, process.memoryUsage().rss),
        cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
        via,
        loopP99Ms: loop.percentile(99) / 1e6,
        rpcs,
        loopMaxMs: loop.max / 1e6,
        nodes: nodes.map((n, i) => ({
          address: n.address,
          participating: n.isParticipating,
          roots: Object.fromEntries([...n.roots.entries()].map(([e, r]) => [e.toString(), r])),
          arrivals: Object.fromEntries(arrivals[i].entries()),
          received: debug ? Object.fromEntries(received[i].entries()) : {},
          iwanted: debug ? Object.fromEntries(iwanted[i].entries()) : {},
          bytes: n.metrics.bytesIn + n.metrics.bytesOut + n.metrics.rpcBytesIn + n.metrics.rpcBytesOut,
          peers: connectedPeers(n.libp2p).length,
          mesh: (n.libp2p.services.pubsub as unknown as { getMeshPeers?: (t: string) => string[] }).getMeshPeers?.(topicName(profile, 'jobs')).length ?? -1
        }))
      })
    } else if (c.cmd === 'wan') {
      wanMs = c.ms
      send({ event: 'wan', ms: wanMs })
    } else if (c.cmd === 'stop') {
      clearInterval(rssTimer)
      for (const n of nodes) await n.stop()
      send({ event: 'stopped' })
      break
    }
  }
  process.exit(0)
}

// ------------------------------------------------------------------ parent side

/** The figures of one measured window, each key ending in `S` ('Loaded', 'Wan'; '' for printing). */
type WindowFigures<S extends string> = Record<`${'propagationP50Ms' | 'propagationP99Ms' | 'undelivered' | 'convergedEpochPct' | 'nodeEpochAgreePct'}${S}`, number>

interface NodeReport { worker?: number, address: string, participating: boolean, roots: Record<string, string>, arrivals: Record<string, number>, received: Record<string, number>, iwanted: Record<string, number>, bytes: number, peers: number, mesh: number }

class Worker {
  readonly proc: ChildProcess
  private readonly waiting: Array<{ event: string, resolve: (v: Record<string, unknown>) => void }> = []
  stderr = ''
  constructor (cfg: WorkerConfig) {
    this.proc = spawn(process.execPath, [...(process.env.LILYNODE_BENCH_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LILYNODE_BENCH_PROF}`] : []), fileURLToPath(import.meta.url), '--worker', JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LILYNODE_LOG: process.env.LILYNODE_LOG ?? 'error' } })
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      let m: Record<string, unknown>
      try { m = JSON.parse(l) as Record<string, unknown> } catch { return }
      const i = this.waiting.findIndex((w) => w.event === m.event)
      if (i >= 0) this.waiting.splice(i, 1)[0].resolve(m)
    })
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000) })
  }

  async next (event: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    return await new Promise((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`worker: no '${event}' within ${timeoutMs} ms; stderr: ${this.stderr}`)) }, timeoutMs)
      this.waiting.push({ event, resolve: (v) => { clearTimeout(t); resolve(v) } })
    })
  }

  async call (cmd: Command, reply: string): Promise<Record<string, unknown>> {
    const p = this.next(reply)
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`)
    return await p
  }
}

/**
 * Worker and index of node k: `perProcess` nodes per worker in order, except that bootstrap
 * node 1 trades places with the first ordinary node of worker 1, so that the two bootstrap
 * nodes run in different processes. Each bootstrap node is the first node of its worker.
 */
function placeNodes (nodes: number, perProcess: number): Array<{ w: number, i: number }> {
  const where = Array.from({ length: nodes }, (_, k) => ({ w: Math.floor(k / perProcess), i: k % perProcess }))
  if (nodes > perProcess && perProcess >= 2) {
    const other = perProcess
    ;[where[1], where[other]] = [where[other], where[1]]
  }
  return where
}

async function freePorts (n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, async () => await new Promise<ReturnType<typeof createServer>>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { resolve(s) })
  })))
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map(async (s) => { await new Promise((resolve) => s.close(resolve)) }))
  return ports
}

function percentile (xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]
}

async function sleep (ms: number): Promise<void> { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

async function parent (args: Args): Promise<void> {
  const keys = Array.from({ length: args.nodes }, () => createIdentity())
  const ports = await freePorts(2)
  const bootstrap = [0, 1].map((i) => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${keys[i].peerId.toString()}`)
  const epochMs = args.epochMs
  const profile: Profile = parseProfile({
    name: 'bench', chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', escrow: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    epochMs, graceMs: args.graceMs, genesisMs: Math.floor(Date.now() / epochMs) * epochMs - 100 * epochMs, reserveEpochs: 3,
    bootstrap
  })
  const dataRoot = await mkdtemp(join(tmpdir(), 'lilynode-bench-'))
  const workers: Worker[] = []
  // node k → (worker, index in it); the two bootstrap nodes go to different workers (each is
  // connected to every other node, which makes it the busiest node of the network)
  const where = placeNodes(args.nodes, args.perProcess)
  try {
    const count = Math.ceil(args.nodes / args.perProcess)
    // workers holding a bootstrap node start first (it is the first node in its worker), so the others find them
    const bootWorkers = [...new Set([where[0].w, where[1].w])]
    const order = [...bootWorkers, ...Array.from({ length: count }, (_, w) => w).filter((w) => !bootWorkers.includes(w))]
    const started: Array<Promise<unknown>> = []
    for (const w of order) {
      if (w === order[bootWorkers.length]) await Promise.all(started)
      const mine = where.map((p, k) => ({ ...p, k })).filter((p) => p.w === w).sort((a, b) => a.i - b.i).map((p) => p.k)
      workers[w] = new Worker({
        profile: serializeProfile(profile),
        keys: mine.map((k) => bytesToHex(keys[k].privateKey)),
        bootstrapPorts: mine.map((k) => k < 2 ? ports[k] : null),
        dataRoot,
        gossip: args.gossip,
        heartbeatSample: args.heartbeatSample,
        matchSpreadMs: args.matchSpreadMs
      })
      started.push(workers[w].next('ready'))
    }
    await Promise.all(started)
    const report = async (): Promise<NodeReport[]> => (await Promise.all(workers.map(async (w, wi) => ((await w.call({ cmd: 'report' }, 'report')).nodes as NodeReport[]).map((n) => ({ ...n, worker: wi }))))).flat()
    // wait until every node takes part
    for (let i = 0; i < 60; i++) {
      const r = await report()
      if (r.every((n) => n.participating && n.peers >= 2)) break
      await sleep(1000)
    }
    let nonce = 1n
    /** One measured window of `args.epochs` epochs: offers published, arrivals and roots collected. */
    const measure = async (): Promise<{ delays: number[], missing: number, converged: number, nodeEpochsAgree: number, nodeEpochs: number, bytes: number, cpuMs: number, reports: Array<Record<string, unknown>>, offers: number, final: NodeReport[] }> => {
      const first = epochAt(profile, Date.now()) + 2n
      const last = first + BigInt(args.epochs) - 1n
      const published: Array<{ id: string, at: number, by: string, msgId: string, done: number }> = []
      const bytesBefore = (await report()).reduce((s, n) => s + n.bytes, 0)
      const cpuOf = async (): Promise<number> => (await Promise.all(workers.map(async (w) => (await w.call({ cmd: 'report' }, 'report')).cpuMs as number))).reduce((a, b) => a + b, 0)
      const cpuBefore = await cpuOf()
      for (let e = first; e <= last; e++) {
        await sleep(epochStart(profile, e) + 100 - Date.now())
        const sends: Array<Promise<void>> = []
        for (let k = 0; k < args.offersPerEpoch; k++) {
          const idx = 2 + Math.floor(Math.random() * (args.nodes - 2))
          const { w, i } = where[idx]
          const kind = k % 3 === 0 ? 'resource' : 'job'
          sends.push(workers[w].call({ cmd: 'publish', node: i, kind, epoch: e.toString(), nonce: (nonce++).toString() }, 'published').then((m) => {
            published.push({ id: m.id as string, at: m.at as number, by: keys[idx].address, msgId: m.msgId as string, done: m.done as number })
          }))
          await sleep(Math.floor(epochMs / 2 / args.offersPerEpoch))
        }
        await Promise.all(sends)
      }
      await sleep(epochStart(profile, last + 2n) + args.graceMs + epochMs - Date.now())
      const final = await report()
      if (process.env.LILYNODE_BENCH_DEBUG === '1') process.stderr.write(`peers ${final.map((n) => n.peers).join(',')}\nmesh ${final.map((n) => n.mesh).join(',')}\n`)
      const reports = await Promise.all(workers.map(async (w) => await w.call({ cmd: 'report' }, 'report')))
      const cpuMs = reports.reduce((a, r) => a + (r.cpuMs as number), 0) - cpuBefore
      if (process.env.LILYNODE_BENCH_DUMP !== undefined) {
        const { writeFile } = await import('node:fs/promises')
        await writeFile(process.env.LILYNODE_BENCH_DUMP, JSON.stringify({ epochMs, genesisMs: profile.genesisMs, graceMs: profile.graceMs, published, where, workers: reports.map((r) => ({ loopP99Ms: r.loopP99Ms, loopMaxMs: r.loopMaxMs, rpcs: r.rpcs, clock: r.clock, pid: r.pid, cpuMs: r.cpuMs })), nodes: final }))
      }
      const delays: number[] = []
      let missing = 0
      for (const p of published) {
        for (const n of final) {
          if (n.address === p.by) continue
          const t = n.arrivals[p.id]
          if (t === undefined) missing++
          else delays.push(t - p.at)
        }
      }
      // convergence: epochs where every node has the same root; node-epochs on the epoch's most common root
      let converged = 0
      let nodeEpochsAgree = 0
      for (let e = first; e <= last; e++) {
        const roots = final.map((n) => n.roots[e.toString()])
        if (roots.every((r) => r !== undefined && r === roots[0])) converged++
        const counts = new Map<string, number>()
        for (const r of roots) if (r !== undefined) counts.set(r, (counts.get(r) ?? 0) + 1)
        nodeEpochsAgree += Math.max(0, ...counts.values())
      }
      const bytes = final.reduce((s, n) => s + n.bytes, 0) - bytesBefore
      return { delays, missing, converged, nodeEpochsAgree, nodeEpochs: args.epochs * final.length, bytes, cpuMs, reports, offers: published.length, final }
    }
    const quiet = await measure()
    // the same network again beside `--load` CPU-burning processes of its own (stopped after)
    let loaded: Awaited<ReturnType<typeof measure>> | undefined
    if (args.load > 0) {
      const burners = startCpuBurners(args.load)
      try {
        loaded = await measure()
      } finally {
        await burners.stop()
      }
    }
    // the same network again with wide-area delays on every link (then back to none)
    let wan: Awaited<ReturnType<typeof measure>> | undefined
    if (args.wanMs > 0) {
      await Promise.all(workers.map(async (w) => await w.call({ cmd: 'wan', ms: args.wanMs }, 'wan')))
      try {
        wan = await measure()
      } finally {
        await Promise.all(workers.map(async (w) => await w.call({ cmd: 'wan', ms: 0 }, 'wan')))
      }
    }
    /** The figures of a second measured window (beside the load, with WAN delays), their keys suffixed. */
    const windowFigures = <S extends string>(m: Awaited<ReturnType<typeof measure>>, suffix: S): WindowFigures<S> => ({
      [`propagationP50Ms${suffix}`]: Math.round(percentile(m.delays, 0.5)),
      [`propagationP99Ms${suffix}`]: Math.round(percentile(m.delays, 0.99)),
      [`undelivered${suffix}`]: m.missing,
      [`convergedEpochPct${suffix}`]: Math.round(1000 * m.converged / args.epochs) / 10,
      [`nodeEpochAgreePct${suffix}`]: Math.round(1000 * m.nodeEpochsAgree / m.nodeEpochs) / 10
    }) as WindowFigures<S>
    const windowLine = (f: WindowFigures<''>): string =>
      `propagation p50 ${f.propagationP50Ms} ms, p99 ${f.propagationP99Ms} ms, undelivered ${f.undelivered}; converged epochs ${f.convergedEpochPct} %, node-epochs on the majority root ${f.nodeEpochAgreePct} %`
    const { delays, missing, converged, bytes, cpuMs, reports } = quiet
    const rss = reports.map((r) => r.rss as number)
    const viaGossip = reports.reduce((s, r) => s + (r.via as { gossip: number }).gossip, 0)
    const viaSync = reports.reduce((s, r) => s + (r.via as { sync: number }).sync, 0)
    const measuredEpochs = args.epochs + 2
    const out = {
      nodes: args.nodes,
      processes: workers.length,
      nodesPerProcess: args.perProcess,
      gossip: gossipTuning(args.gossip),
      epochMs,
      epochs: args.epochs,
      offers: quiet.offers,
      propagationP50Ms: Math.round(percentile(delays, 0.5)),
      propagationP99Ms: Math.round(percentile(delays, 0.99)),
      propagationMaxMs: Math.round(Math.max(...delays)),
      undelivered: missing,
      arrivedByGossip: viaGossip,
      arrivedBySync: viaSync,
      convergedEpochPct: Math.round(1000 * converged / args.epochs) / 10,
      bytesPerNodePerEpoch: Math.round(bytes / args.nodes / measuredEpochs),
      cpuMsPerNodePerEpoch: Math.round(cpuMs / args.nodes / measuredEpochs),
      rssMbPerNode: Math.round(10 * Math.max(...rss.map((r, w) => r / Math.min(args.perProcess, args.nodes - w * args.perProcess))) / 1024 / 1024) / 10,
      nodeEpochAgreePct: Math.round(1000 * quiet.nodeEpochsAgree / quiet.nodeEpochs) / 10,
      ...(wan !== undefined ? { wanMs: args.wanMs, ...windowFigures(wan, 'Wan') } : {}),
      peersPerNodeMean: Math.round(10 * quiet.final.reduce((t, r) => t + r.peers, 0) / quiet.final.length) / 10,
      meshPerNodeMean: Math.round(10 * quiet.final.reduce((t, r) => t + r.mesh, 0) / quiet.final.length) / 10,
      ...(loaded !== undefined ? { load: args.load, ...windowFigures(loaded, 'Loaded') } : {})
    }
    if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`)
    else {
      process.stdout.write(`network benchmark: ${out.nodes} nodes in ${out.processes} processes (${out.nodesPerProcess} per process), ${out.epochs} epochs of ${epochMs} ms, ${out.offers} offers\n`)
      process.stdout.write(`  propagation p50 ${out.propagationP50Ms} ms, p99 ${out.propagationP99Ms} ms, max ${out.propagationMaxMs} ms, undelivered ${out.undelivered}\n`)
      process.stdout.write(`  arrivals: ${out.arrivedByGossip} by gossip, ${out.arrivedBySync} by sync reconciliation\n`)
      process.stdout.write(`  converged epochs ${out.convergedEpochPct} %\n`)
      process.stdout.write(`  ${out.bytesPerNodePerEpoch} application bytes per node per epoch\n`)
      process.stdout.write(`  ${out.cpuMsPerNodePerEpoch} ms of CPU per node per epoch (all worker processes, measured epochs)\n`)
      process.stdout.write(`  ${out.rssMbPerNode} MB resident per node; ${out.peersPerNodeMean} connections and ${out.meshPerNodeMean} mesh peers per node on average\n`)
      if (wan !== undefined) {
        process.stdout.write(`  with ${args.wanMs} ms mean one-way delay per link: ${windowLine(windowFigures(wan, ''))}\n`)
      }
      if (loaded !== undefined) {
        process.stdout.write(`  beside ${args.load} CPU-burning processes: ${windowLine(windowFigures(loaded, ''))} (quiet: ${out.nodeEpochAgreePct} %)\n`)
      }
    }
  } finally {
    await Promise.all(workers.map(async (w) => {
      if (w.proc.exitCode !== null) return
      const done = new Promise((resolve) => w.proc.once('exit', resolve))
      w.proc.stdin!.write(`${JSON.stringify({ cmd: 'stop' })}\n`)
      const t = setTimeout(() => w.proc.kill('SIGKILL'), 10_000)
      await done
      clearTimeout(t)
    }))
    await rm(dataRoot, { recursive: true, force: true })
  }
}

const argv = process.argv.slice(2)
if (argv[0] === '--worker') {
  worker(JSON.parse(argv[1]) as WorkerConfig).catch((e: unknown) => {
    process.stderr.write(`worker: ${(e as Error).stack ?? String(e)}\n`)
    process.exit(1)
  })
} else {
  parent(parseArgs(argv)).catch((e: unknown) => {
    process.stderr.write(`bench:network: ${(e as Error).message}\n`)
    process.exit(1)
  })
}

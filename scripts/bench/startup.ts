/**
 * Start-up benchmark (`npm run bench:startup [-- --json]`): how long the binary takes to say
 * something, as a user starts it (`node bin/lilynode.js …`, a fresh process each time).
 *
 *   version   `lilynode --version` to exit (target ≤ 300 ms)
 *   help      `lilynode run --help` to exit
 *   run       `lilynode run cowsay:v0.0.4 --json` to its first gossip: the moment its job offer
 *             is published (the `offered` event on stdout), on a devnet of anvil and a
 *             bootstrap node (target ≤ 1 s). The first run is reported apart (`runColdMs`): it
 *             fills Node's compile cache and deposits into the escrow.
 *
 * Medians (and p90) over BENCH_RUNS runs (default 9; 5 for run). Needs no Docker: no provider
 * is started (each run then fails fast once it has seen an epoch with no offer, which is after
 * the figure is taken).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Devnet, LILYNODE_BIN, REPO_ROOT } from '../../src/devnet/index.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 9)
const RUN_RUNS = Math.max(3, Math.min(RUNS, 5))

function quantile (xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

/** ms from spawn to exit, or to the first stdout line `until` accepts (the process is then killed). */
async function timed (args: string[], until?: (line: string) => boolean): Promise<number> {
  return await new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [LILYNODE_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let buf = ''
    let err = ''
    let done = false
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`lilynode ${args.join(' ')}: no answer in 60 s: ${err.slice(-500)}`)) }, 60_000)
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d
      if (until === undefined || done) return
      for (const line of buf.split('\n')) {
        if (until(line)) {
          done = true
          clearTimeout(timer)
          resolve(performance.now() - t0)
          child.kill('SIGKILL')
          return
        }
      }
    })
    child.on('exit', (code) => {
      if (done) return
      clearTimeout(timer)
      if (until !== undefined) reject(new Error(`lilynode ${args.join(' ')} exited ${String(code)} before its first gossip: ${err.slice(-500)}`))
      else if (code !== 0) reject(new Error(`lilynode ${args.join(' ')} exited ${String(code)}: ${err.slice(-500)}`))
      else resolve(performance.now() - t0)
    })
  })
}

async function series (n: number, f: () => Promise<number>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await f())
  return out
}

async function main (): Promise<void> {
  const json = process.argv.includes('--json')
  await timed(['--version']) // warms the compile cache and the page cache
  const version = await series(RUNS, async () => await timed(['--version']))
  const help = await series(RUNS, async () => await timed(['run', '--help']))
  const dir = await mkdtemp(join(tmpdir(), 'lily-bench-startup-'))
  const net = new Devnet({ dataDir: join(dir, 'net'), providers: 0, mediators: 0, creators: 1, epochMs: 1000 })
  let runCold = 0
  let run: number[] = []
  try {
    await net.start()
    const party = net.parties.get('creator-1')
    if (party === undefined) throw new Error('no creator-1')
    const args = ['run', 'cowsay:v0.0.4', '--profile', net.profilePath, '--data-dir', party.dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--json']
    const offered = (line: string): boolean => line.startsWith('{') && line.includes('"stage":"offered"')
    runCold = await timed(args, offered)
    run = await series(RUN_RUNS, async () => await timed(args, offered))
  } finally {
    await net.stop()
    await rm(dir, { recursive: true, force: true })
  }
  const result = {
    bench: 'startup',
    versionMsMedian: Math.round(quantile(version, 0.5)),
    versionMsP90: Math.round(quantile(version, 0.9)),
    helpMsMedian: Math.round(quantile(help, 0.5)),
    runToFirstGossipMsMedian: Math.round(quantile(run, 0.5)),
    runToFirstGossipMsP90: Math.round(quantile(run, 0.9)),
    runColdMs: Math.round(runCold),
    runs: { version: version.length, help: help.length, run: run.length },
    node: process.version,
    cpus: cpus().length,
    loadavg1: Math.round(loadavg()[0] * 100) / 100
  }
  if (json) {
    console.log(JSON.stringify(result))
  } else {
    console.log(`lilynode --version: median ${result.versionMsMedian} ms, p90 ${result.versionMsP90} ms over ${RUNS} runs (target ≤ 300 ms)`)
    console.log(`lilynode run --help: median ${result.helpMsMedian} ms`)
    console.log(`lilynode run → first gossip (job offer published): median ${result.runToFirstGossipMsMedian} ms, p90 ${result.runToFirstGossipMsP90} ms over ${run.length} runs; first run ${result.runColdMs} ms (target ≤ 1000 ms)`)
    console.log(`node ${result.node}, ${result.cpus} CPUs, load ${result.loadavg1}`)
  }
}

await main()

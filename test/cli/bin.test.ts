import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { serializeProfile } from '../../src/protocol/profile.js'
import { LILYNODE_BIN, REPO_ROOT } from '../../src/devnet/index.js'
import { Cleanup, tempDir, testProfile } from '../node/helpers.js'

interface Exit { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** Starts `node [nodeArgs] bin/lilynode.js args`; `onStdout` sees each chunk of stdout. */
function start (args: string[], o: { nodeArgs?: string[], onStdout?: (all: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), LILYNODE_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LILYNODE_DEBUG: '' } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; o.onStdout?.(stdout, child) })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`lilynode ${args.join(' ')} did not exit; stderr: ${stderr}`)) }, 60_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

/** A module-resolution hook that reports every heavy package the process imports. */
const WATCH_IMPORTS = 'data:text/javascript,' + encodeURIComponent(
  "import { registerHooks } from 'node:module';" +
  "registerHooks({ resolve (s, c, next) { if (/^(libp2p|@libp2p\\/|@chainsafe\\/|viem|fastify|@fastify\\/|prom-client|level|classic-level|dockerode|ajv)/.test(s)) process.stderr.write('IMPORTED ' + s + '\\n'); return next(s, c) } })")

const noStack = (e: Exit): void => { assert.doesNotMatch(e.stderr, /^\s+at /m, `no stack trace: ${e.stderr}`) }

describe('cli: the lilynode binary as a process', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  after(async () => { await cleanup.run() })

  it('--version prints the package version and --help the commands, importing no node, chain, libp2p or HTTP code', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    const v = await start(['--version'], { nodeArgs: ['--import', WATCH_IMPORTS] })
    assert.equal(v.code, 0, v.stderr)
    assert.equal(v.stdout, `lilynode ${pkg.version}\n`)
    assert.doesNotMatch(v.stderr, /IMPORTED/, v.stderr)
    for (const args of [['--help'], ['run', '--help'], ['chain', 'deposit', '--help'], ['creator', '--help']]) {
      const h = await start(args, { nodeArgs: ['--import', WATCH_IMPORTS] })
      assert.equal(h.code, 0, h.stderr)
      assert.match(h.stdout, /^usage: lilynode/)
      assert.doesNotMatch(h.stderr, /IMPORTED/, `${args.join(' ')} imported: ${h.stderr}`)
    }
    // the hook does see them once a command runs (its handler loads the SDK)
    const q = await start(['query', 'epoch', '--node', 'not-a-multiaddr'], { nodeArgs: ['--import', WATCH_IMPORTS] })
    assert.equal(q.code, 1)
    assert.match(q.stderr, /IMPORTED (libp2p|@libp2p\/)/)
    assert.match(q.stderr, /lilynode: error: \[P2P_BAD_ADDRESS\] --node must be a multiaddr/)
  })

  it('exits 2 with the command list when no command or a misspelt one is given', async () => {
    const none = await start([])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /commands:\n {2}bootstrap[\s\S]* {2}run [\s\S]*no command given/)
    const typo = await start(['rnu', 'cowsay:v0.0.4'])
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /unknown command 'rnu' for 'lilynode'; did you mean 'run'\?\ncommands: bootstrap, provider, run/)
    noStack(typo)
  })

  it('refuses bad options before anything starts: one line, no stack trace, exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', 'cowsay:v0.0.4', '-i', 'Message=5', '-i', 'Message=6', '--profile', 'p.json'], /input 'Message' is given twice/],
      [['run', 'cowsay:v0.0.4', '--max-pric', '1', '--profile', 'p.json'], /did you mean --max-price\?/],
      [['run', 'cowsay:v0.0.4', '--timeout', '-3', '--profile', 'p.json'], /--timeout must be a whole number from 1 to 604800/],
      [['run', 'cowsay:v0.0.4', '--max-price', '79228162514264337593543950336', '--profile', 'p.json'], /2\^96-1/],
      [['run', 'cowsay:v0.0.4', 'Message=hi', '--profile', 'p.json'], /give job inputs with -i/],
      [['provider', '--profile', 'p.json', '--price-cpu', '1', '--price-cpu', '2'], /--price-cpu is given 2 times/],
      [['query', 'epoch', '--node', '/ip4/127.0.0.1/tcp/1', '--limit', '101'], /--limit must be a whole number from 1 to 100/],
      [['creator', '--profile', 'p.json', '--api', '127.0.0.1:7070', '--api-allow-origin', '*'], /--api-allow-origin needs an origin/],
      [['creator', '--profile', 'p.json', '--api-console'], /--api-console serves the console on the HTTP API: give --api host:port too/],
      [['devnet', '--api', 'off', '--console'], /--console serves the web console on relay-1's HTTP API: drop --api off/]
    ]
    for (const [args, re] of cases) {
      const e = await start(args)
      assert.equal(e.code, 2, `${args.join(' ')}: ${e.stderr}`)
      assert.match(e.stderr, re)
      assert.equal(e.stderr.trim().split('\n').length, 1, `one line: ${e.stderr}`)
      noStack(e)
    }
  })

  it('stops gracefully on SIGINT (exit 0 once the node is down)', async () => {
    const dir = await tempDir(cleanup)
    const profile = join(dir, 'profile.json')
    // an RPC nobody serves: the bootstrap node reads chain facts lazily and must not need one to stop
    await writeFile(profile, serializeProfile({ ...testProfile(), rpcUrl: 'http://127.0.0.1:9' }))
    let signalled = false
    const e = await start(['bootstrap', '--profile', profile, '--data-dir', join(dir, 'b'), '--listen', '/ip4/127.0.0.1/tcp/0'], {
      onStdout: (all, child) => { if (!signalled && all.includes('listening on')) { signalled = true; child.kill('SIGINT') } }
    })
    assert.ok(signalled, `the bootstrap node never listened: ${e.stderr}`)
    assert.equal(e.code, 0, e.stderr)
    assert.match(e.stderr, /SIGINT received, stopping \(send it again to force exit\)/)
    noStack(e)
  })

  it('a second signal forces exit (130) while the first stop is still under way', async () => {
    // a command whose graceful stop never finishes: only the second signal can end it
    const script = `import(${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))}).then((m) => { const c = new AbortController(); m.installSignals(c); c.signal.addEventListener('abort', () => process.stdout.write('aborted\\n')); setInterval(() => {}, 1000); process.stdout.write('ready\\n') })`
    const e = await new Promise<Exit>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d
        if (d.includes('ready')) child.kill('SIGTERM')
        if (d.includes('aborted')) child.kill('SIGINT')
      })
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no forced exit: ${stderr}`)) }, 60_000)
      child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
    })
    assert.equal(e.code, 130, e.stderr)
    assert.match(e.stderr, /SIGTERM received, stopping[\s\S]*SIGINT again: forced exit/)
  })
})

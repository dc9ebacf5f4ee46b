import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { LILYNODE_BIN, REPO_ROOT } from '../../src/devnet/index.js'
import { requireDocker, startNet, stopNet, type TestNet } from './helpers.js'

interface Exit { code: number | null, out: string, err: string }

/** `lilynode args` with stdout on a pseudo-terminal (util-linux `script`); `onOut` may type into it. */
function onTerminal (args: string[], onOut: (all: string, type: (s: string) => void) => void): Promise<Exit> {
  const cmd = [process.execPath, LILYNODE_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', `stty cols 200; exec ${cmd}`, '/dev/null'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; onOut(out, (s) => child.stdin.write(s)) })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no exit: ${out.slice(-2000)}`)) }, 180_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }) })
  })
}

function piped (args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LILYNODE_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no exit: ${err}`)) }, 180_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }) })
  })
}

describe('e2e: run on a terminal (live progress, Ctrl-C, resume) and piped (plain lines)', function () {
  this.timeout(400_000)
  let t: TestNet | undefined
  let failed = false
  before(async function () {
    requireDocker(this, ['lilynode/cowsay:v0.0.4', 'lilynode/probe:v1.0.0'])
    t = await startNet({ providers: 1, mediators: 0, creators: 1 })
  })
  afterEach(function () { if (this.currentTest?.state === 'failed') failed = true })
  after(async () => { await stopNet(t, failed) })

  it('piped without --json: one plain line per stage, no control codes', async () => {
    const net = (t as TestNet).net
    const dir = net.parties.get('creator-1')?.dataDir as string
    const r = await piped(['run', 'cowsay:v0.0.4', '-i', 'Message=piped', '--profile', net.profilePath, '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(r.code, 0, r.err)
    assert.doesNotMatch(r.out, /[\r\x1b⠋⠙⠹]/)
    for (const s of ['offered', 'matched', 'opened', 'running', 'result', 'accepted', 'paid']) assert.match(r.out, new RegExp(`^\\[ *\\d+\\.\\d{2}s\\] ${s} `, 'm'))
  })

  it('on a terminal: a live status line while the job runs; Ctrl-C names the stage and deal, and the resume it prints settles it', async () => {
    const net = (t as TestNet).net
    const dir = net.parties.get('creator-1')?.dataDir as string
    let typed = false
    const r = await onTerminal(['run', 'probe:v1.0.0', '-i', 'action=slowecho', '-i', 'n=6', '-i', 'arg=tty', '--timeout', '120', '--profile', net.profilePath, '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0'], (all, type) => {
      if (!typed && /\] running /.test(all)) { typed = true; setTimeout(() => { type('\x03') }, 700) }
    })
    assert.ok(typed, `never reached running: ${r.out.slice(-1500)}`)
    assert.equal(r.code, 130, r.out.slice(-1500))
    assert.match(r.out, /\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+\.\ds running: the job is running on the provider/)
    assert.match(r.out, /\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+\.\ds offered: waiting for a provider to be matched/)
    const m = /lilynode: stopped by SIGINT at stage '(running|result|accepted)' \(deal 0x[0-9a-f]{8}… with provider 0x[0-9a-fA-F]{40}\): the deal is kept in (\S+); '(lilynode resume [^']+)' follows it/.exec(r.out)
    assert.ok(m !== null, r.out.slice(-1500))
    assert.equal(m[2], dir)
    const resume = await piped([...m[3].split(' ').slice(1), '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(resume.code, 0, resume.err + resume.out)
    assert.match(resume.out, /\] paid /)
  })
})

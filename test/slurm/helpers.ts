/**
 * The Slurm suites' cluster: the one `scripts/setup-slurm.sh` runs on this machine (three
 * slurmd nodes, slurmrestd). A suite uses it when it answers, starts it when it does not (and
 * then stops it after), and is skipped with the reason only where the daemons cannot start —
 * unless LILYNODE_REQUIRE_SLURM=1 (CI), where that fails the suite.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { SlurmCli, SlurmRest } from '../../src/executor/index.js'
import { REPO_ROOT } from '../executor/helpers.js'

export const SLURM_DIR = process.env.LILYNODE_SLURM_DIR ?? '/tmp/lilynode-slurm'
export const SLURM_CONF = join(SLURM_DIR, 'slurm.conf')
const SETUP = join(REPO_ROOT, 'scripts', 'setup-slurm.sh')

export interface TestCluster {
  conf: string
  restUrl: string
  /** Whether this process started it (and so stops it). */
  started: boolean
}

export async function sh (file: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, SLURM_CONF, LILYNODE_SLURM_DIR: SLURM_DIR }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${(stderr || err.message).trim().split('\n').slice(-4).join(' | ')}`))
      else resolve(stdout)
    })
  })
}

async function answers (): Promise<boolean> {
  try {
    await sh('sinfo', ['-h', '-o', '%n'], 15_000)
    return true
  } catch {
    return false
  }
}

let cluster: Promise<TestCluster | string> | undefined
let users = 0

async function bringUp (): Promise<TestCluster | string> {
  let started = false
  if (!(await answers())) {
    try {
      await sh('bash', [SETUP, 'start'], 120_000)
      started = true
    } catch (e) {
      return `the Slurm daemons could not start (${(e as Error).message}); install them with \`bash scripts/setup-slurm.sh\``
    }
    if (!(await answers())) return 'scripts/setup-slurm.sh start ran but sinfo gets no answer'
  }
  const env = await readFile(join(SLURM_DIR, 'env'), 'utf8').catch(() => '')
  const restUrl = /LILYNODE_SLURM_REST_URL=(\S+)/.exec(env)?.[1] ?? ''
  return { conf: SLURM_CONF, restUrl, started }
}

/** For a `before` hook: the cluster, or the suite is skipped (failed under LILYNODE_REQUIRE_SLURM=1). */
export async function requireSlurm (ctx: Mocha.Context): Promise<TestCluster> {
  cluster ??= bringUp()
  const c = await cluster
  if (typeof c === 'string') {
    if (process.env.LILYNODE_REQUIRE_SLURM === '1') throw new Error(`${c} — LILYNODE_REQUIRE_SLURM=1 requires it`)
    process.stderr.write(`\n    SKIPPED Slurm suite "${ctx.test?.parent?.title ?? ''}": ${c}\n`)
    ctx.skip()
  }
  users++
  return c
}

/** For an `after` hook: stops the cluster when this process started it and no suite uses it any more. */
export async function releaseSlurm (): Promise<void> {
  if (users === 0) return
  users--
  const c = await cluster
  if (users > 0 || c === undefined || typeof c === 'string' || !c.started) return
  cluster = undefined
  await sh('bash', [SETUP, 'stop'], 60_000).catch(() => undefined)
}

export const cli = (): SlurmCli => new SlurmCli({ conf: SLURM_CONF })

/** A JWT for the current user from slurmctld (auth/jwt), for slurmrestd. */
export async function restClient (c: TestCluster): Promise<SlurmRest> {
  const out = await sh('scontrol', ['token', `username=${userInfo().username}`, 'lifespan=3600'])
  const token = /SLURM_JWT=(\S+)/.exec(out)?.[1]
  if (token === undefined) throw new Error(`scontrol token printed no token: ${out}`)
  return new SlurmRest({ url: c.restUrl, token, user: userInfo().username })
}

export async function scontrol (...args: string[]): Promise<string> {
  return await sh('scontrol', args)
}

/** A job's state as scontrol prints it (JobState=…). */
export async function jobState (jobId: string): Promise<string> {
  const out = await scontrol('show', 'job', jobId, '--oneliner')
  return /JobState=([A-Z_]+)/.exec(out)?.[1] ?? 'UNKNOWN'
}

export async function waitUntil (what: string, pred: () => Promise<boolean>, timeoutMs: number, everyMs = 300): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (await pred()) return
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** Brings a node back (drained or down) and waits until it takes jobs again. */
export async function resume (node: string): Promise<void> {
  // "Invalid node state specified" when it came back by itself already (ReturnToService)
  await scontrol('update', `nodename=${node}`, 'state=resume').catch(() => undefined)
  await waitUntil(`${node} to take jobs`, async () => {
    const state = /State=(\S+)/.exec(await scontrol('show', 'node', node, '--oneliner'))?.[1] ?? ''
    return /^(IDLE|MIXED|ALLOCATED)$/.test(state)
  }, 30_000)
}

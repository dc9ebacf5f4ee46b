/** Shared set-up of the Docker suites: reachability (skip or fail), test images, clean-up by label. */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import Docker from 'dockerode'
import { findJobContainers, loadExampleModules, removeJobContainers } from '../../src/executor/index.js'
import type { ModuleSpec } from '../../src/protocol/module.js'

export const REPO_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..')

export const docker = new Docker()

let reachable: Promise<string | undefined> | undefined

/** undefined when Docker answers, else why not. */
export async function dockerProblem (): Promise<string | undefined> {
  reachable ??= docker.ping().then(() => undefined, (e: Error) => e.message)
  return await reachable
}

/**
 * For a `before` hook: skips the suite visibly when Docker is not reachable, or fails it when
 * LILYNODE_REQUIRE_DOCKER=1 (CI). Builds the example images (once per process, cached by Docker).
 */
export async function requireDocker (ctx: Mocha.Context): Promise<Map<string, ModuleSpec>> {
  const problem = await dockerProblem()
  if (problem !== undefined) {
    const msg = `Docker is not reachable (${problem}); start dockerd with \`bash scripts/setup-docker.sh\``
    if (process.env.LILYNODE_REQUIRE_DOCKER === '1') throw new Error(`${msg} — LILYNODE_REQUIRE_DOCKER=1 requires it`)
    console.log(`    [skipped] ${msg}`)
    ctx.skip()
  }
  images ??= buildImages()
  await images
  return await loadExampleModules(join(REPO_ROOT, 'modules'))
}

let images: Promise<void> | undefined

/**
 * Runs scripts/images.sh once per test process: the builds are cached by content, so this
 * costs a few seconds and guarantees that the images match the scripts in modules/.
 */
async function buildImages (): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('bash', [join(REPO_ROOT, 'scripts', 'images.sh')], { timeout: 300_000 }, (err, _out, stderr) => {
      if (err !== null) reject(new Error(`scripts/images.sh failed: ${stderr}`))
      else resolve()
    })
  })
}

/** Removes the job containers whose job folder lies in `workDir` (so parallel runs elsewhere are left alone). */
export async function cleanupContainers (workDir: string | undefined): Promise<void> {
  if (workDir === undefined || await dockerProblem() !== undefined) return
  for (const c of await findJobContainers(docker)) {
    if (c.meta?.jobDir.startsWith(workDir + '/') === true) await removeJobContainers(docker, c.dealId)
  }
}

/** A random prefix per test process keeps our deal ids apart from any other run on the engine. */
const RUN = randomBytes(8).toString('hex')

export function dealId (n: number): `0x${string}` {
  return `0x${RUN}${n.toString(16).padStart(48, '0')}`
}

export const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

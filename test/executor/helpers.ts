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
 * Runs scripts/images.sh (the busybox modules) once per test process: the builds are cached by
 * content, so this costs a few seconds and guarantees that the images match the scripts in modules/.
 */
async function buildImages (args: string[] = ['--busybox'], timeoutMs = 300_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('bash', [join(REPO_ROOT, 'scripts', 'images.sh'), ...args], { timeout: timeoutMs }, (err, _out, stderr) => {
      if (err !== null) reject(new Error(`scripts/images.sh ${args.join(' ')} failed: ${stderr}`))
      else resolve()
    })
  })
}

let mlImages: Promise<void> | undefined

/** Whether the ML base image (scripts/ml-image.sh) is on this engine. */
async function mlBasePresent (): Promise<boolean> {
  const tag = await new Promise<string>((resolve, reject) => {
    execFile('bash', [join(REPO_ROOT, 'scripts', 'ml-image.sh'), '--tag'], (err, out) => { if (err !== null) reject(err); else resolve(out.trim()) })
  })
  return await docker.getImage(tag).inspect().then(() => true, () => false)
}

/**
 * For the ML suites: Docker as `requireDocker`, and the ML module image (lilynode/digits). The
 * ML base takes minutes to build the first time (`npm run images` does it, and CI): without it
 * the suite is skipped visibly, unless LILYNODE_REQUIRE_DOCKER=1, which builds it here.
 */
export async function requireMlImages (ctx: Mocha.Context): Promise<Map<string, ModuleSpec>> {
  const modules = await requireDocker(ctx)
  if (!await mlBasePresent() && process.env.LILYNODE_REQUIRE_DOCKER !== '1') {
    console.log('    [skipped] the ML base image is not built: npm run images (takes a few minutes once)')
    ctx.skip()
  }
  mlImages ??= buildImages(['train'], 900_000)
  await mlImages
  return modules
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

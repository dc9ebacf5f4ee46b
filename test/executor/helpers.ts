/** Shared set-up of the Docker suites: reachability (skip or fail), test images, clean-up by label. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import Docker from 'dockerode'
import { loadExampleModules, removeJobContainers } from '../../src/executor/index.js'
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
 * LILYNODE_REQUIRE_DOCKER=1 (CI). Builds missing example images with scripts/images.sh.
 */
export async function requireDocker (ctx: Mocha.Context): Promise<Map<string, ModuleSpec>> {
  const problem = await dockerProblem()
  if (problem !== undefined) {
    const msg = `Docker is not reachable (${problem}); start dockerd with \`bash scripts/setup-docker.sh\``
    if (process.env.LILYNODE_REQUIRE_DOCKER === '1') throw new Error(`${msg} — LILYNODE_REQUIRE_DOCKER=1 requires it`)
    console.log(`    [skipped] ${msg}`)
    ctx.skip()
  }
  const modules = await loadExampleModules(join(REPO_ROOT, 'modules'))
  const missing: string[] = []
  for (const [name, spec] of modules) {
    try { await docker.getImage(spec.image).inspect() } catch { missing.push(name) }
  }
  if (missing.length > 0) {
    await new Promise<void>((resolve, reject) => {
      execFile('bash', [join(REPO_ROOT, 'scripts', 'images.sh'), ...missing], { timeout: 300_000 }, (err, _out, stderr) => {
        if (err !== null) reject(new Error(`scripts/images.sh failed: ${stderr}`))
        else resolve()
      })
    })
  }
  return modules
}

export async function cleanupContainers (): Promise<void> {
  if (await dockerProblem() === undefined) await removeJobContainers(docker)
}

export function dealId (n: number): `0x${string}` {
  return `0x${n.toString(16).padStart(64, '0')}`
}

export const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

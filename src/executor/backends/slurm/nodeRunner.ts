/**
 * The compute-node side of a Slurm deal job (`node nodeRunner.js <deal folder>`, exec'd by
 * the batch script). It stages the job in from the shared deal folder to node-local disk,
 * runs the module's container with the docker backend's own runner — the same container
 * options (no network unless allowed, every capability dropped, no-new-privileges, read-only
 * root, pids, memory and CPU limits, GPUs Slurm allocated to this job) and the same result
 * bundle, hence the same result hash — and stages back the bundle and a result.json.
 *
 * Slurm ends a job (scancel, time limit, preemption) with SIGTERM, then SIGKILL after
 * KillWait: on SIGTERM the container is killed and removed before the runner exits.
 */
import { rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type Docker from 'dockerode'
import { newDocker } from '../../dockerClient.js'
import { decodeInputs, parseModuleSpec } from '../../../protocol/index.js'
import { encodeBundle } from '../../bundle.js'
import type { GpuRequest } from '../../container.js'
import { findJobContainers, runJob, type JobOutcome } from '../../runner.js'
import { allocatedGpus, ensureDir, MAX_JOB_JSON_BYTES, outFolder, readCapped, STAGED_VERSION, writeAtomic, type StagedJob, type StagedResult } from './staging.js'

const HASH_RE = /^0x[0-9a-f]{64}$/

function parseStagedJob (bytes: Uint8Array): StagedJob {
  const j = JSON.parse(new TextDecoder().decode(bytes)) as Partial<StagedJob>
  if (j.v !== STAGED_VERSION || typeof j.dealId !== 'string' || !HASH_RE.test(j.dealId) || typeof j.timeoutS !== 'number' ||
    typeof j.resources !== 'object' || j.resources === null || typeof j.limits !== 'object' || j.limits === null || typeof j.allowNetwork !== 'boolean') {
    throw new Error('job.json is not a lilynode staged job (v1)')
  }
  return j as StagedJob
}

/** Containers a killed earlier runner of this deal left on this node (their job folder lies in our scratch). */
async function removeLeftovers (docker: Docker, dealId: string, scratch: string): Promise<void> {
  const prefix = join(scratch, dealId.slice(2, 18))
  for (const c of await findJobContainers(docker).catch(() => [])) {
    if (c.dealId !== dealId || c.meta?.jobDir.startsWith(prefix) !== true) continue
    await docker.getContainer(c.containerId).remove({ force: true, v: true }).catch(() => {})
    await rm(c.meta.jobDir, { recursive: true, force: true }).catch(() => {})
  }
}

async function main (): Promise<number> {
  const dealDir = resolve(process.argv[2] ?? '')
  const jobId = process.env.SLURM_JOB_ID ?? ''
  if (!/^[0-9]+$/.test(jobId)) { process.stderr.write('lilynode runner: not inside a Slurm job (no SLURM_JOB_ID)\n'); return 2 }
  const node = process.env.SLURMD_NODENAME ?? hostname()
  const t0 = Date.now()
  const outDir = outFolder(dealDir, jobId)
  await ensureDir(outDir)
  const finish = async (r: Omit<StagedResult, 'v' | 'jobId' | 'node' | 'durationMs'>): Promise<number> => {
    const res: StagedResult = { v: STAGED_VERSION, jobId, node, durationMs: Date.now() - t0, ...r }
    await writeAtomic(join(outDir, 'result.json'), JSON.stringify(res))
    process.stdout.write(`lilynode runner: job ${jobId} on ${node}: ${r.status}${r.message !== undefined ? ` (${r.message})` : ''}\n`)
    return 0
  }

  const stop = new AbortController()
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => stop.abort(new Error(`${sig} from Slurm`)))

  let job: StagedJob
  let spec
  let inputs
  try {
    job = parseStagedJob(await readCapped(join(dealDir, 'job.json'), MAX_JOB_JSON_BYTES) ?? new Uint8Array())
    spec = parseModuleSpec(await readCapped(join(dealDir, 'module.json'), 64 * 1024) ?? new Uint8Array())
    inputs = decodeInputs(await readCapped(join(dealDir, 'inputs.bin'), 65 * 1024 * 1024) ?? new Uint8Array())
  } catch (e) {
    return await finish({ status: 'invalid_job', message: `staging in failed: ${(e as Error).message.split('\n')[0]}` })
  }
  let gpus: GpuRequest | undefined
  if (job.resources.gpus > 0) {
    const ids = allocatedGpus(process.env)
    if (ids.length < job.resources.gpus) return await finish({ status: 'gpu_unavailable', message: `Slurm allocated ${ids.length} GPU(s) to job ${jobId}, the deal needs ${job.resources.gpus}` })
    gpus = { deviceIds: ids.slice(0, job.resources.gpus) }
  }
  const scratch = join(process.env.TMPDIR ?? tmpdir(), 'lilynode-slurm')
  const docker = newDocker()
  await removeLeftovers(docker, job.dealId, scratch)
  const outcome: JobOutcome = await runJob(docker, {
    dealId: job.dealId,
    spec,
    inputs,
    resources: job.resources,
    timeoutS: job.timeoutS,
    limits: job.limits,
    allowNetwork: job.allowNetwork,
    workDir: scratch,
    ...(gpus !== undefined ? { gpus } : {})
  }, { signal: stop.signal })
  if (outcome.status === 'succeeded' || outcome.status === 'failed') {
    await writeAtomic(join(outDir, 'bundle'), encodeBundle(outcome.bundle))
    return await finish({ status: outcome.status, exitCode: outcome.exitCode, resultHash: outcome.resultHash })
  }
  return await finish({
    status: outcome.status,
    ...('message' in outcome ? { message: outcome.message } : {}),
    ...('exitCode' in outcome && outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {})
  })
}

// exit at once: nothing is left to wait for once result.json is written
main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`lilynode runner failed: ${(e as Error).stack ?? String(e)}\n`)
  process.exit(1)
})

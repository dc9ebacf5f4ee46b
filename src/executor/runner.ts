/**
 * Runs a deal's job in a locked-down container and turns whatever happens into a typed
 * outcome (never a throw): see `JobOutcome`. The steps, each written so that a runner killed
 * at any point can be replaced by `reattach`:
 *
 *   validate → (GPU runtime check) → image (pull / digest check) → job folder with the input
 *   files → create (labels carry the deal id and the deadline) → start → supervise (timeout,
 *   log caps, output size, abort) → collect (exit code, OOM, logs, output tar) → hash →
 *   remove the container and the job folder.
 */
import { randomBytes } from 'node:crypto'
import { chmod, chown, lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import type Docker from 'dockerode'
import { parseModuleSpec, renderCommand, RESOURCE_BOUNDS, type JobInputs, type ModuleSpec, type RenderedCommand } from '../protocol/index.js'
import type { Hash, Resources } from '../protocol/index.js'
import { bundleHash, encodeBundle, type ResultBundle } from './bundle.js'
import { containerCreateOptions, LABEL_DEAL, LABEL_JOB, parseJobMeta, type GpuRequest, type JobMeta } from './container.js'
import { ExecutorError } from './errors.js'
import { checkNvidiaRuntime } from './gpu.js'
import { ensureImage, firstLine, isUnreachable, type PullProgress } from './image.js'
import { LogCollector, type LogStream } from './logs.js'
import { folderBytes, packOutputDir } from './tar.js'
import { sleep } from '../protocol/index.js'
import { MAX_TIMEOUT_S } from '../protocol/constants.js'

// ---------------------------------------------------------------- types

export interface JobLimits {
  /** Cap per stream (stdout, stderr); going over it ends the job as output_too_large. */
  maxLogBytes: number
  /** Cap on the bytes of the output folder's files. */
  maxOutputBytes: number
  pidsLimit?: number
  /** Size of the /tmp tmpfs (counts against the memory limit). */
  tmpfsMiB?: number
}

export interface RunJobRequest {
  dealId: Hash
  spec: ModuleSpec
  inputs: JobInputs
  /** The deal's resources; the spec's defaults when omitted. */
  resources?: Resources
  timeoutS: number
  limits: JobLimits
  /** The provider's consent; the network is on only when the module also asks for it. */
  allowNetwork: boolean
  /** GPUs to attach; defaults to `{ count: resources.gpus }` when the resources name GPUs. */
  gpus?: GpuRequest
  /** Parent of the per-job folders; default `<tmpdir>/lilynode-jobs`. Must be visible to dockerd. */
  workDir?: string
}

export type JobProgress =
  | PullProgress
  | { kind: 'image', imageId: string, pulled: boolean }
  | { kind: 'created', containerId: string }
  | { kind: 'started', containerId: string }
  | { kind: 'exited', exitCode: number }
  /** The result bundle is hashed (the container and job folder are removed next). */
  | { kind: 'hashed', resultHash: Hash }

export interface RunJobOptions {
  /** Stops the job: the container is killed and removed (outcome `cancelled`). */
  signal?: AbortSignal
  /**
   * Stops watching, not the job: the container keeps running and the outcome is `detached`;
   * `reattach` collects it later (a provider shutting down gracefully).
   */
  detach?: AbortSignal
  onProgress?: (e: JobProgress) => void
  /** How often the output folder's size is checked while the job runs. */
  pollMs?: number
}

interface OutcomeBase { dealId: Hash, durationMs: number }

export interface CompletedOutcome extends OutcomeBase {
  status: 'succeeded' | 'failed'
  exitCode: number
  bundle: ResultBundle
  /** keccak256(encodeBundle(bundle)). */
  resultHash: Hash
}

export interface StoppedOutcome extends OutcomeBase {
  status: 'timed_out' | 'oom' | 'output_too_large' | 'cancelled'
  message: string
  exitCode?: number
  /** Logs up to the cap, for diagnosis; not part of any hash. */
  stdout: Uint8Array
  stderr: Uint8Array
}

export interface RefusedOutcome extends OutcomeBase {
  status: 'image_missing' | 'image_refused' | 'docker_unreachable' | 'gpu_unavailable' | 'invalid_job' | 'docker_error'
  message: string
}

/** The runner stopped watching (`detach`); the container runs on, for `reattach`. */
export interface DetachedOutcome extends OutcomeBase {
  status: 'detached'
  containerId: string
  message: string
}

export type JobOutcome = CompletedOutcome | StoppedOutcome | RefusedOutcome | DetachedOutcome
export type JobStatus = JobOutcome['status']

export const DEFAULT_POLL_MS = 200
/** Parent of the job folders when a request names none. */
export const DEFAULT_WORK_DIR = join(tmpdir(), 'lilynode-jobs')
export { MAX_TIMEOUT_S }
const LOG_DRAIN_MS = 5000
const NOBODY = '65534:65534'

// ---------------------------------------------------------------- helpers

const HASH_RE = /^0x[0-9a-f]{64}$/

function validate (req: RunJobRequest): { spec: ModuleSpec, rendered: RenderedCommand, resources: Resources } {
  const fail = (m: string): never => { throw new ExecutorError('EXECUTOR_BAD_REQUEST', m) }
  if (typeof req.dealId !== 'string' || !HASH_RE.test(req.dealId)) fail('dealId must be 0x + 64 lower-case hex digits')
  if (!Number.isSafeInteger(req.timeoutS) || req.timeoutS < 1 || req.timeoutS > MAX_TIMEOUT_S) fail(`timeoutS must be an integer in [1, ${MAX_TIMEOUT_S}]`)
  const { maxLogBytes, maxOutputBytes } = req.limits
  if (!Number.isSafeInteger(maxLogBytes) || maxLogBytes < 0 || maxLogBytes > 256 * 1024 * 1024) fail('limits.maxLogBytes must be an integer in [0, 256 MiB]')
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0 || maxOutputBytes > 1024 * 1024 * 1024) fail('limits.maxOutputBytes must be an integer in [0, 1 GiB]')
  // Re-checked here: the spec may have come off the network without passing parseModuleSpec.
  const spec = parseModuleSpec(req.spec)
  const resources = req.resources ?? spec.resources
  for (const k of Object.keys(RESOURCE_BOUNDS) as Array<keyof Resources>) {
    const v = resources[k]
    const [lo, hi] = RESOURCE_BOUNDS[k]
    if (!Number.isSafeInteger(v) || v < lo || v > hi) fail(`resources.${k} must be an integer in [${lo}, ${hi}]`)
  }
  if (req.gpus !== undefined && 'count' in req.gpus && (!Number.isSafeInteger(req.gpus.count) || req.gpus.count < 0 || req.gpus.count > 64)) fail('gpus.count must be in [0, 64]')
  if (req.gpus !== undefined && 'deviceIds' in req.gpus && (req.gpus.deviceIds.length > 64 || !req.gpus.deviceIds.every((d) => /^[A-Za-z0-9-]{1,80}$/.test(d)))) fail('gpus.deviceIds must be up to 64 GPU UUIDs or indexes')
  return { spec, rendered: renderCommand(spec, req.inputs), resources }
}

function gpuRequest (req: RunJobRequest, resources: Resources): GpuRequest | undefined {
  const g = req.gpus ?? (resources.gpus > 0 ? { count: resources.gpus } : undefined)
  if (g === undefined) return undefined
  return ('count' in g ? g.count : g.deviceIds.length) > 0 ? g : undefined
}

function containerUser (): string {
  const uid = process.getuid?.()
  const gid = process.getgid?.()
  // As root, the job runs as nobody; otherwise as us, so that we can read and delete what it writes.
  if (uid === undefined || gid === undefined || uid === 0) return NOBODY
  return `${uid}:${gid}`
}

/**
 * The work folder must be ours and closed to others: dockerd follows symlinks in bind-mount
 * sources, so a folder another local user can write to would let them point a job's output
 * mount (which the runner later reads back) at any path on the host.
 */
async function ensurePrivateDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await lstat(dir)
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new ExecutorError('EXECUTOR_BAD_REQUEST', `work folder ${dir} must be a folder owned by this user (uid ${uid ?? '?'}), not a link or someone else's`)
  }
  if ((st.mode & 0o022) !== 0) await chmod(dir, 0o700)
}

async function prepareJobDir (workDir: string, dealId: Hash, rendered: RenderedCommand, user: string): Promise<string> {
  await ensurePrivateDir(workDir)
  const jobDir = join(workDir, `${dealId.slice(2, 18)}-${randomBytes(4).toString('hex')}`)
  await mkdir(jobDir, { mode: 0o700 })
  await mkdir(join(jobDir, 'in'), { mode: 0o755 })
  await mkdir(join(jobDir, 'out'), { mode: 0o755 })
  for (const f of rendered.files) await writeFile(join(jobDir, 'in', f.name), f.bytes, { mode: 0o644 })
  if (user === NOBODY && process.getuid?.() === 0) await chown(join(jobDir, 'out'), 65534, 65534)
  return jobDir
}

export function unreachableMessage (docker: Docker, e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code ?? 'error'
  const where = (docker.modem as { socketPath?: string, host?: string }).socketPath ?? (docker.modem as { host?: string }).host ?? 'the configured endpoint'
  const perm = code === 'EACCES' || code === 'EPERM' ? '; or give this user access to the socket (add it to the docker group)' : ''
  return `Docker is not reachable at ${where} (${code}): start dockerd (\`sudo dockerd &\`, or \`bash scripts/setup-docker.sh\` in this repository)${perm}`
}

function classify (docker: Docker, e: unknown, gpuJob = false): { status: RefusedOutcome['status'], message: string } {
  if (isUnreachable(e)) return { status: 'docker_unreachable', message: unreachableMessage(docker, e) }
  const m = firstLine(e)
  if (gpuJob && /could not select device driver|nvidia|gpu/i.test(m)) {
    return { status: 'gpu_unavailable', message: `Docker could not attach the GPUs: ${m}` }
  }
  if (e instanceof ExecutorError || (e as { code?: string })?.code?.startsWith('PROTOCOL_') === true) return { status: 'invalid_job', message: m }
  return { status: 'docker_error', message: m }
}

async function killQuietly (container: Docker.Container): Promise<void> {
  try { await container.kill({ signal: 'SIGKILL' }) } catch { /* already stopped */ }
}

async function removeQuietly (container: Docker.Container): Promise<void> {
  try { await container.remove({ force: true, v: true }) } catch { /* already gone */ }
}

// ---------------------------------------------------------------- supervision

type StopReason = 'timeout' | 'output' | LogStream | 'abort'

interface Supervised {
  reason?: StopReason
  logs: LogCollector
  /** Whether the follow stream delivered the whole log (else it is fetched again). */
  logsComplete: boolean
}

async function supervise (container: Docker.Container, meta: JobMeta, opts: RunJobOptions): Promise<Supervised | 'detached'> {
  const { signal, detach } = opts
  let reason: StopReason | undefined
  const stop = (r: StopReason): void => {
    if (reason !== undefined) return
    reason = r
    void killQuietly(container)
  }
  const logs = new LogCollector(meta.maxLogBytes, (s) => stop(s))
  const onAbort = (): void => stop('abort')
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted === true) stop('abort')
  const timer = setTimeout(() => stop('timeout'), Math.max(0, meta.deadlineMs - Date.now()))
  let polling = false
  const outDir = join(meta.jobDir, 'out')
  const poll = setInterval(() => {
    if (polling) return
    polling = true
    folderBytes(outDir, meta.maxOutputBytes)
      .then((n) => { if (n > meta.maxOutputBytes) stop('output') })
      .catch(() => {})
      .finally(() => { polling = false })
  }, opts.pollMs ?? DEFAULT_POLL_MS)

  // Ends our requests (not the job) when the runner detaches.
  const watch = new AbortController()
  let logStream: Readable | undefined
  const logsDone = (async (): Promise<boolean> => {
    try {
      logStream = await container.logs({ follow: true, stdout: true, stderr: true, abortSignal: watch.signal }) as unknown as Readable
      for await (const chunk of logStream) logs.push(chunk as Buffer)
      return true
    } catch {
      return false
    }
  })()
  let onDetach: (() => void) | undefined
  const detached = new Promise<'detached'>((resolve) => {
    onDetach = () => resolve('detached')
    if (detach?.aborted === true) onDetach()
    else detach?.addEventListener('abort', onDetach, { once: true })
  })
  try {
    const ended = await Promise.race([container.wait({ abortSignal: watch.signal }).then(() => 'exited' as const), detached])
    if (ended === 'detached') {
      watch.abort()
      logStream?.destroy()
      return 'detached'
    }
  } finally {
    clearTimeout(timer)
    clearInterval(poll)
    signal?.removeEventListener('abort', onAbort)
    if (onDetach !== undefined) detach?.removeEventListener('abort', onDetach)
  }
  let drainTimer: NodeJS.Timeout | undefined
  const logsComplete = await Promise.race([
    logsDone,
    new Promise<boolean>((resolve) => { drainTimer = setTimeout(() => resolve(false), LOG_DRAIN_MS) })
  ])
  clearTimeout(drainTimer)
  if (!logsComplete) logStream?.destroy()
  const out: Supervised = { logs, logsComplete }
  if (reason !== undefined) out.reason = reason
  return out
}

async function fetchLogs (container: Docker.Container, cap: number): Promise<LogCollector> {
  // dockerd briefly answers 409 while it tears a container's network down; retry a little.
  for (let attempt = 0; ; attempt++) {
    try {
      const logs = new LogCollector(cap)
      const buf = await container.logs({ follow: false, stdout: true, stderr: true })
      logs.push(Buffer.from(buf as unknown as Uint8Array))
      return logs
    } catch (e) {
      if (attempt >= 4 || (e as { statusCode?: number }).statusCode !== 409) throw e
      await sleep(250 * (attempt + 1))
    }
  }
}

// ---------------------------------------------------------------- collection

async function collect (container: Docker.Container, meta: JobMeta, dealId: Hash, sup: Supervised, t0: number, onProgress?: (e: JobProgress) => void): Promise<JobOutcome> {
  const info = await container.inspect()
  const exitCode = info.State.ExitCode
  onProgress?.({ kind: 'exited', exitCode })
  const logs = sup.logsComplete ? sup.logs : await fetchLogs(container, meta.maxLogBytes)
  const durationMs = (): number => Date.now() - t0
  const stopped = (status: StoppedOutcome['status'], message: string): StoppedOutcome =>
    ({ status, dealId, durationMs: durationMs(), message, exitCode, stdout: logs.stdout(), stderr: logs.stderr() })
  const over = sup.reason === 'stdout' || sup.reason === 'stderr' ? sup.reason : logs.over
  switch (sup.reason) {
    case 'timeout': return stopped('timed_out', `killed at the deadline (${new Date(meta.deadlineMs).toISOString()})`)
    case 'abort': return stopped('cancelled', 'stopped by the runner (aborted)')
    case 'output': return stopped('output_too_large', `the output folder grew past ${meta.maxOutputBytes} bytes; killed`)
    default: break
  }
  if (over !== undefined) return stopped('output_too_large', `${over} went past ${meta.maxLogBytes} bytes; killed`)
  if (info.State.OOMKilled) return stopped('oom', `out of memory: the job went past its memory limit of ${Math.round((info.HostConfig.Memory ?? 0) / 1048576)} MiB`)
  let outputTar: Uint8Array
  try {
    outputTar = await packOutputDir(join(meta.jobDir, 'out'), meta.maxOutputBytes)
  } catch (e) {
    if (e instanceof ExecutorError && e.code === 'EXECUTOR_OUTPUT_TOO_LARGE') return stopped('output_too_large', e.message)
    throw e
  }
  const bundle: ResultBundle = { exitCode, stdout: logs.stdout(), stderr: logs.stderr(), outputTar }
  const resultHash = bundleHash(encodeBundle(bundle))
  onProgress?.({ kind: 'hashed', resultHash })
  return { status: exitCode === 0 ? 'succeeded' : 'failed', dealId, durationMs: durationMs(), exitCode, bundle, resultHash }
}

function detachedOutcome (dealId: Hash, containerId: string, t0: number): DetachedOutcome {
  return { status: 'detached', dealId, containerId, durationMs: Date.now() - t0, message: 'the runner detached; the container keeps running — collect it with reattach(dealId)' }
}

async function finish (container: Docker.Container, jobDir: string | undefined): Promise<void> {
  await removeQuietly(container)
  if (jobDir !== undefined) await removeJobDir(jobDir)
}

/**
 * Removes a job folder without ever throwing: a job running as our uid may have left folders
 * we cannot list (mode 000); those are opened up and the removal retried.
 */
async function removeJobDir (jobDir: string): Promise<void> {
  try {
    await rm(jobDir, { recursive: true, force: true })
  } catch {
    await openUp(jobDir)
    await rm(jobDir, { recursive: true, force: true }).catch(() => {})
  }
}

async function openUp (dir: string): Promise<void> {
  try {
    await chmod(dir, 0o700)
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await openUp(join(dir, e.name))
    }
  } catch { /* best effort */ }
}

// ---------------------------------------------------------------- public

/**
 * Runs one job to a typed outcome. Never throws: Docker down → docker_unreachable (with the
 * fix), bad inputs → invalid_job, and so on. The container and the job folder are always
 * removed before this returns — except when Docker became unreachable mid-job or the runner
 * detached (`opts.detach`), in which case `reattach` collects them later.
 */
export async function runJob (docker: Docker, req: RunJobRequest, opts: RunJobOptions = {}): Promise<JobOutcome> {
  const t0 = Date.now()
  const dealId = req.dealId
  const refused = (status: RefusedOutcome['status'], message: string): RefusedOutcome => ({ status, dealId, durationMs: Date.now() - t0, message })
  let plan: ReturnType<typeof validate>
  try {
    plan = validate(req)
  } catch (e) {
    return refused('invalid_job', firstLine(e))
  }
  let container: Docker.Container | undefined
  let jobDir: string | undefined
  let keep = false
  const gpus = gpuRequest(req, plan.resources)
  try {
    if (gpus !== undefined) {
      const rt = await checkNvidiaRuntime(docker)
      if (!rt.available) return refused('gpu_unavailable', rt.message)
    }
    const image = await ensureImage(docker, plan.spec.image, { signal: opts.signal, onProgress: opts.onProgress })
    if (!image.ok) return refused(image.status, image.message)
    opts.onProgress?.({ kind: 'image', imageId: image.imageId, pulled: image.pulled })
    if (opts.signal?.aborted === true) {
      return { status: 'cancelled', dealId, durationMs: Date.now() - t0, message: 'aborted before the container was created', stdout: new Uint8Array(0), stderr: new Uint8Array(0) }
    }
    const user = containerUser()
    jobDir = await prepareJobDir(resolve(req.workDir ?? DEFAULT_WORK_DIR), dealId, plan.rendered, user)
    const meta: JobMeta = { v: 1, deadlineMs: Date.now() + req.timeoutS * 1000, maxLogBytes: req.limits.maxLogBytes, maxOutputBytes: req.limits.maxOutputBytes, jobDir }
    const create = containerCreateOptions({
      dealId,
      imageId: image.imageId,
      rendered: plan.rendered,
      resources: plan.resources,
      network: plan.spec.network && req.allowNetwork,
      gpus,
      inputDir: join(jobDir, 'in'),
      outputDir: join(jobDir, 'out'),
      inputPath: plan.spec.inputPath,
      outputPath: plan.spec.outputPath,
      user,
      meta,
      pidsLimit: req.limits.pidsLimit,
      tmpfsMiB: req.limits.tmpfsMiB,
      name: `lilynode-${basename(jobDir)}`
    })
    container = await docker.createContainer(create)
    opts.onProgress?.({ kind: 'created', containerId: container.id })
    await container.start()
    opts.onProgress?.({ kind: 'started', containerId: container.id })
    const sup = await supervise(container, meta, opts)
    if (sup === 'detached') {
      keep = true
      return detachedOutcome(dealId, container.id, t0)
    }
    return await collect(container, meta, dealId, sup, t0, opts.onProgress)
  } catch (e) {
    const c = classify(docker, e, gpus !== undefined)
    // Docker went away mid-job: leave container and folder for `reattach`.
    if (c.status === 'docker_unreachable' && container !== undefined) keep = true
    return refused(c.status, c.message)
  } finally {
    if (!keep) {
      if (container !== undefined) await finish(container, jobDir)
      else if (jobDir !== undefined) await removeJobDir(jobDir)
    }
  }
}

export interface JobContainer {
  containerId: string
  dealId: Hash
  /** Docker's state: created, running, exited, … */
  state: string
  meta?: JobMeta
}

/** The job containers on this engine (any state), found by their deal label. */
export async function findJobContainers (docker: Docker): Promise<JobContainer[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [LABEL_DEAL] } })
  return list
    .filter((c) => HASH_RE.test(c.Labels[LABEL_DEAL] ?? ''))
    .map((c) => {
      const j: JobContainer = { containerId: c.Id, dealId: c.Labels[LABEL_DEAL] as Hash, state: c.State }
      const meta = parseJobMeta(c.Labels[LABEL_JOB])
      if (meta !== undefined) j.meta = meta
      return j
    })
}

/**
 * After a restart: waits for the deal's container if it still runs (with the deadline, caps
 * and output checks it was created with) or collects the result of one that exited
 * meanwhile, then removes it. Undefined when no container carries this deal id.
 */
export async function reattach (docker: Docker, dealId: Hash, opts: RunJobOptions = {}): Promise<JobOutcome | undefined> {
  const t0 = Date.now()
  let found: JobContainer[]
  try {
    found = (await findJobContainers(docker)).filter((c) => c.dealId === dealId)
  } catch (e) {
    const c = classify(docker, e)
    return { status: c.status, dealId, durationMs: Date.now() - t0, message: c.message }
  }
  if (found.length === 0) return undefined
  const [job, ...extra] = found
  for (const x of extra) await finish(docker.getContainer(x.containerId), x.meta?.jobDir)
  const container = docker.getContainer(job.containerId)
  if (job.meta === undefined) {
    await finish(container, undefined)
    return { status: 'docker_error', dealId, durationMs: Date.now() - t0, message: `container ${job.containerId} has no readable ${LABEL_JOB} label; removed it` }
  }
  let keep = false
  try {
    if (job.state === 'created') await container.start()
    const sup = await supervise(container, job.meta, opts)
    if (sup === 'detached') {
      keep = true
      return detachedOutcome(dealId, container.id, t0)
    }
    return await collect(container, job.meta, dealId, sup, t0, opts.onProgress)
  } catch (e) {
    const c = classify(docker, e)
    if (c.status === 'docker_unreachable') keep = true
    return { status: c.status, dealId, durationMs: Date.now() - t0, message: c.message }
  } finally {
    if (!keep) await finish(container, job.meta.jobDir)
  }
}

/** Force-removes job containers (all, or one deal's) and their job folders. */
export async function removeJobContainers (docker: Docker, dealId?: Hash): Promise<number> {
  const found = (await findJobContainers(docker)).filter((c) => dealId === undefined || c.dealId === dealId)
  for (const c of found) await finish(docker.getContainer(c.containerId), c.meta?.jobDir)
  return found.length
}

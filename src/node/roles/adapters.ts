/**
 * The ExecutorPort over src/executor (its docker or slurm backend) and the NetworkPort over LilyNode.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type Docker from 'dockerode'
// bundles and tars only: Docker, the runner and GPU discovery load on first use (see `engine`),
// so that a process that never runs a job (`lilynode run`, the SDK) starts without them
import { decodeBundle, encodeBundle, bundleHash } from '../../executor/index.js'
import { extractOutputTar } from '../../executor/index.js'
import type { BackendOutcome, CpuReserve, ExecFn, ExecutorBackend, GpuType } from '../../executor/index.js'
import { signDigest } from '../../protocol/index.js'
import { topicName } from '../../protocol/index.js'
import type { Hash } from '../../protocol/index.js'
import type { LilyNode } from '../network.js'
import type { AgreedDeal, DecodedResult, ExecutorPort, NetworkPort, RunJobResult } from './ports.js'
import { LilyError } from '../../protocol/errors.js'
import { sleep } from '../../protocol/index.js'
import { DEFAULT_CAPACITY_REFRESH_MS, newDocker } from '../../executor/index.js'

export interface ExecutorAdapterOptions {
  docker?: Docker
  /** Folder whose file system's free space is offered as disk. */
  dataDir: string
  allowNetwork?: boolean
  maxLogBytes?: number
  maxOutputBytes?: number
  /** Parent of the per-job folders (must be visible to dockerd). */
  workDir?: string
  /** Run jobs as Slurm batch jobs instead of on this machine's Docker Engine. */
  slurm?: SlurmSettings
  /** How nvidia-smi is run (tests replay recorded output). */
  nvidiaSmi?: ExecFn
  /** CPU the docker backend keeps for the node (default: see cpuReserve.ts). */
  reserveCpu?: CpuReserve
}

/** `lilynode provider --backend slurm`: where the cluster is and what the provider may use of it. */
export interface SlurmSettings {
  partition: string
  account?: string
  qos?: string
  /** Reach the controller through slurmrestd at this URL (JWT from tokenFile or SLURM_JWT); else the Slurm commands. */
  restUrl?: string
  tokenFile?: string
  restUser?: string
  /** slurm.conf for the Slurm commands (SLURM_CONF). */
  conf?: string
  /** Deal folders: on a file system the compute nodes mount at the same path. */
  workDir: string
  gpuTypes?: Record<string, GpuType>
  pollMs?: number
  capacityRefreshMs?: number
  maxAttempts?: number
  overheadS?: number
  /** Node.js and nodeRunner.js as the compute nodes see them. */
  node?: string
  runner?: string
  dockerHost?: string
  log?: (msg: string, fields?: Record<string, unknown>) => void
}


export class ExecutorRunError extends LilyError {
  override readonly name = 'ExecutorRunError'
}

const dec = new TextDecoder()

/**
 * A job that ended without a bundle of its own (timed out, out of memory, too much output,
 * refused as invalid) still needs a result the mediator can reproduce: a bundle whose exit
 * code names the outcome, with no logs (their cut-off point depends on timing).
 */
const STOPPED_EXIT: Record<string, number> = { timed_out: 124, oom: 137, output_too_large: 125, invalid_job: 126 }

function toResult (o: BackendOutcome): RunJobResult {
  if (o.status === 'succeeded' || o.status === 'failed') {
    return { bundle: encodeBundle(o.bundle), resultHash: o.resultHash, outcome: o.status, exitCode: o.exitCode }
  }
  const code = STOPPED_EXIT[o.status]
  if (code === undefined) throw new ExecutorRunError(`EXECUTOR_${o.status.toUpperCase()}`, `the job could not run: ${o.status}: ${String((o as { message?: string }).message)}`)
  const bundle = encodeBundle({ exitCode: code, stdout: new Uint8Array(), stderr: new TextEncoder().encode(`lilynode: ${o.status}\n`), outputTar: new Uint8Array() })
  return { bundle, resultHash: bundleHash(bundle), outcome: o.status, exitCode: code }
}

/** Docker's multiplexed log stream (8-byte headers: stream, 0, 0, 0, size) as stdout/stderr chunks. */
async function * demuxDockerLogs (raw: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<{ stream: 'stdout' | 'stderr', data: Uint8Array }> {
  let buf = Buffer.alloc(0)
  for await (const chunk of raw) {
    buf = Buffer.concat([buf, chunk])
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4)
      if (buf.length < 8 + size) break
      const kind = buf[0]
      const data = new Uint8Array(buf.subarray(8, 8 + size))
      buf = buf.subarray(8 + size)
      if (kind === 1 || kind === 2) yield { stream: kind === 1 ? 'stdout' : 'stderr', data }
    }
  }
}

export function executorPort (o: ExecutorAdapterOptions): ExecutorPort {
  let loaded: Promise<ExecutorBackend> | undefined
  const limits = { maxLogBytes: o.maxLogBytes ?? 1024 * 1024, maxOutputBytes: o.maxOutputBytes ?? 64 * 1024 * 1024 }
  let dockerd: Promise<Docker> | undefined
  const docker = async (): Promise<Docker> => {
    dockerd ??= o.docker !== undefined ? Promise.resolve(o.docker) : Promise.resolve().then(() => newDocker())
    return await dockerd
  }
  const backend = async (): Promise<ExecutorBackend> => {
    loaded ??= (async () => {
      const executor = await import('../../executor/index.js')
      const s = o.slurm
      if (s !== undefined) {
        const client = s.restUrl !== undefined
          ? new executor.SlurmRest({ url: s.restUrl, ...(s.tokenFile !== undefined ? { tokenFile: s.tokenFile } : {}), ...(s.restUser !== undefined ? { user: s.restUser } : {}) })
          : new executor.SlurmCli(s.conf !== undefined ? { conf: s.conf } : {})
        return new executor.SlurmBackend({ ...s, client, limits, allowNetwork: o.allowNetwork ?? false })
      }
      return new executor.DockerBackend({
        docker: await docker(),
        dataDir: o.dataDir,
        limits,
        allowNetwork: o.allowNetwork ?? false,
        ...(o.workDir !== undefined ? { workDir: o.workDir } : {}),
        ...(o.nvidiaSmi !== undefined ? { nvidiaSmi: o.nvidiaSmi } : {}),
        ...(o.reserveCpu !== undefined ? { reserveCpu: o.reserveCpu } : {})
      })
    })()
    return await loaded
  }
  const stopped = (signal: AbortSignal, cancel: AbortSignal | undefined): Error => {
    const why: unknown = signal.aborted ? signal.reason : cancel?.reason
    return why instanceof Error ? why : new Error('job cancelled')
  }
  return {
    ...(o.slurm !== undefined ? { capacityRefreshMs: o.slurm.capacityRefreshMs ?? DEFAULT_CAPACITY_REFRESH_MS } : {}),
    run: async (req, signal, cancel) => {
      const b = await backend()
      const outcome = await b.run({ dealId: req.dealId, spec: req.spec, inputs: req.inputs, resources: req.resources, timeoutS: req.timeoutS }, {
        detach: signal,
        ...(cancel !== undefined ? { signal: cancel } : {}),
        ...(req.handle !== undefined ? { handle: req.handle } : {}),
        ...(req.onHandle !== undefined ? { onHandle: req.onHandle } : {})
      })
      if (outcome.status === 'cancelled' || outcome.status === 'detached' || signal.aborted || cancel?.aborted === true) throw stopped(signal, cancel)
      return toResult(outcome)
    },
    ...(o.slurm === undefined
      ? {
          liveLogs: async (dealId: Hash, follow: boolean, signal: AbortSignal) => {
            const d = await docker()
            const list = await d.listContainers({ all: true, filters: { label: [`lilynode.deal=${dealId}`] } })
            // a container not started yet has no log to follow (docker then holds the stream and sends it all at the end)
            if (list.length === 0 || list[0].State === 'created') return undefined
            const c = d.getContainer(list[0].Id)
            if (!follow) return demuxDockerLogs([Buffer.from(await c.logs({ follow: false, stdout: true, stderr: true }) as unknown as Uint8Array)])
            const raw = await c.logs({ follow: true, stdout: true, stderr: true, abortSignal: signal })
            return demuxDockerLogs(raw as unknown as AsyncIterable<Buffer>)
          }
        }
      : {}),
    hashBundle: (bundle) => bundleHash(bundle),
    decodeBundle: (bundle): DecodedResult => {
      const b = decodeBundle(bundle)
      return { exitCode: b.exitCode, outcome: b.exitCode === 0 ? 'succeeded' : 'failed', stdout: dec.decode(b.stdout), stderr: dec.decode(b.stderr) }
    },
    writeOutputs: async (bundle, dir) => {
      const b = decodeBundle(bundle)
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'stdout'), b.stdout)
      await writeFile(join(dir, 'stderr'), b.stderr)
      await writeFile(join(dir, 'exitCode'), `${b.exitCode}\n`)
      const files = b.outputTar.length > 0 ? await extractOutputTar(b.outputTar, join(dir, 'outputs')) : []
      return ['stdout', 'stderr', 'exitCode', ...files.map((f) => join('outputs', f))]
    },
    capacity: async () => {
      const c = await (await backend()).capacity()
      return c === undefined ? undefined : { cpu: c.cpu, ram: c.ram, gpus: c.gpus, gpuVram: c.gpuVram, disk: c.disk, gpuModel: c.gpuModel, source: c.source }
    },
    // the mediator's ruling runs the module's verifier in this machine's Docker Engine, whatever the backend
    judge: async (req, signal) => {
      const { judgeResult, dockerVerifier } = await import('../../executor/index.js')
      return await judgeResult(req.spec, req.claimed, req.reference, dockerVerifier(await docker(), { dealId: req.dealId, limits, signal, ...(o.workDir !== undefined ? { workDir: o.workDir } : {}) }))
    }
  }
}

/** The NetworkPort of a started LilyNode. */
export function networkPort (node: LilyNode): NetworkPort {
  return {
    get libp2p () { return node.libp2p },
    profile: node.profile,
    hasher: node.hasher,
    address: node.address,
    sign: (digest) => signDigest(digest, node.identity.privateKey),
    currentEpoch: () => node.currentEpoch(),
    publishJobOffer: async (offer) => await node.publishJobOffer(offer),
    publishResourceOffer: async (offer) => await node.publishResourceOffer(offer),
    onAgreed: (handler) => {
      const listener = (a: { dealId: Hash, deal: AgreedDeal['deal'], creatorSignature: AgreedDeal['sigCreator'], providerSignature: AgreedDeal['sigProvider'] }): void => {
        handler({ dealId: a.dealId, deal: a.deal, sigCreator: a.creatorSignature, sigProvider: a.providerSignature })
      }
      node.on('deal:agreed', listener)
      for (const a of node.agreedDeals()) listener(a)
      return () => { node.off('deal:agreed', listener) }
    },
    onMatch: (handler) => {
      const listener = (m: { dealId: Hash, deal: AgreedDeal['deal'], role: 'creator' | 'provider' }): void => { handler({ dealId: m.dealId, deal: m.deal, role: m.role }) }
      node.on('match', listener)
      return () => { node.off('match', listener) }
    },
    acceptances: (dealId) => node.getAcceptances(dealId),
    peerOf: (address) => node.peerOf(address),
    followJobs: (wants) => node.followJobs(wants),
    gossipReady: async (maxWaitMs) => {
      const topic = topicName(node.profile, 'jobs')
      const until = Date.now() + maxWaitMs
      try {
        while (node.libp2p.services.pubsub.getSubscribers(topic).length === 0 && Date.now() < until) {
          await sleep(20)
        }
      } catch {
        // the node stopped: publishing fails (or is skipped) on its own
      }
    }
  }
}

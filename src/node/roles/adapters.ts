/**
 * The ExecutorPort over src/executor (Docker) and the NetworkPort over LilyNode.
 */
import { statfs, mkdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
// bundles and tars only: Docker, the runner and GPU discovery load on first use (see `engine`),
// so that a process that never runs a job (`lilynode run`, the SDK) starts without them
import { decodeBundle, encodeBundle, bundleHash } from '../../executor/bundle.js'
import { extractOutputTar } from '../../executor/tar.js'
import type { ExecFn, GpuRequest, JobOutcome } from '../../executor/index.js'
import { signDigest } from '../../protocol/crypto.js'
import { topicName } from '../../protocol/profile.js'
import type { Hash } from '../../protocol/types.js'
import type { LilyNode } from '../network.js'
import type { AgreedDeal, DecodedResult, ExecutorPort, NetworkPort, RunJobResult } from './ports.js'

export interface ExecutorAdapterOptions {
  docker?: Docker
  /** Folder whose file system's free space is offered as disk. */
  dataDir: string
  allowNetwork?: boolean
  maxLogBytes?: number
  maxOutputBytes?: number
  /** Parent of the per-job folders (must be visible to dockerd). */
  workDir?: string
  /** How nvidia-smi is run (tests replay recorded output). */
  nvidiaSmi?: ExecFn
}

/** The GPUs a job with `gpus` GPUs gets: that many of the discovered devices, by UUID (none when too few). */
export function gpuRequestFor (gpus: number, deviceIds: readonly string[]): GpuRequest | undefined {
  return gpus > 0 && deviceIds.length >= gpus ? { deviceIds: deviceIds.slice(0, gpus) } : undefined
}

export class ExecutorRunError extends Error {
  override readonly name = 'ExecutorRunError'
  constructor (readonly code: string, message: string) { super(message) }
}

const dec = new TextDecoder()

/**
 * A job that ended without a bundle of its own (timed out, out of memory, too much output,
 * refused as invalid) still needs a result the mediator can reproduce: a bundle whose exit
 * code names the outcome, with no logs (their cut-off point depends on timing).
 */
const STOPPED_EXIT: Record<string, number> = { timed_out: 124, oom: 137, output_too_large: 125, invalid_job: 126 }

function toResult (o: JobOutcome): RunJobResult {
  if (o.status === 'succeeded' || o.status === 'failed') {
    return { bundle: encodeBundle(o.bundle), resultHash: o.resultHash, outcome: o.status, exitCode: o.exitCode }
  }
  const code = STOPPED_EXIT[o.status]
  if (code === undefined) throw new ExecutorRunError(`EXECUTOR_${o.status.toUpperCase()}`, `the job could not run: ${o.status}: ${String((o as { message?: string }).message)}`)
  const bundle = encodeBundle({ exitCode: code, stdout: new Uint8Array(), stderr: new TextEncoder().encode(`lilynode: ${o.status}\n`), outputTar: new Uint8Array() })
  return { bundle, resultHash: bundleHash(bundle), outcome: o.status, exitCode: code }
}

export function executorPort (o: ExecutorAdapterOptions): ExecutorPort {
  let loaded: Promise<{ docker: Docker, executor: typeof import('../../executor/index.js') }> | undefined
  const engine = async (): Promise<{ docker: Docker, executor: typeof import('../../executor/index.js') }> => {
    loaded ??= (async () => {
      const executor = await import('../../executor/index.js')
      const docker = o.docker ?? new (await import('dockerode')).default()
      return { docker, executor }
    })()
    return await loaded
  }
  let gpuIds: string[] = []
  return {
    run: async (req, signal) => {
      const { docker, executor: { reattach, runJob } } = await engine()
      const again = await reattach(docker, req.dealId, { signal })
      if (again !== undefined && again.status !== 'docker_unreachable') {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted')
        return toResult(again)
      }
      const gpus = gpuRequestFor(req.resources.gpus, gpuIds)
      const outcome = await runJob(docker, {
        dealId: req.dealId,
        spec: req.spec,
        inputs: req.inputs,
        resources: req.resources,
        timeoutS: req.timeoutS,
        limits: { maxLogBytes: o.maxLogBytes ?? 1024 * 1024, maxOutputBytes: o.maxOutputBytes ?? 64 * 1024 * 1024 },
        allowNetwork: o.allowNetwork ?? false,
        ...(gpus !== undefined ? { gpus } : {}),
        ...(o.workDir !== undefined ? { workDir: o.workDir } : {})
      }, { signal })
      if (outcome.status === 'cancelled' || signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('job cancelled')
      return toResult(outcome)
    },
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
      const { executor: { discoverGpus, gpuCapacity } } = await engine()
      const gpus = gpuCapacity(await discoverGpus(o.nvidiaSmi).catch(() => []))
      gpuIds = gpus.deviceIds
      const fs = await statfs(o.dataDir)
      return {
        cpu: cpus().length * 1000,
        ram: Math.floor(totalmem() / (1024 * 1024)),
        gpus: gpus.gpus,
        gpuVram: gpus.gpuVram,
        disk: Math.min(16_777_216, Math.floor(Number(BigInt(fs.bavail) * BigInt(fs.bsize) / (1024n * 1024n)))),
        gpuModel: gpus.gpuModel
      }
    },
    judge: async (req, signal) => {
      const { docker, executor: { judgeResult, dockerVerifier } } = await engine()
      const limits = { maxLogBytes: o.maxLogBytes ?? 1024 * 1024, maxOutputBytes: o.maxOutputBytes ?? 64 * 1024 * 1024 }
      return await judgeResult(req.spec, req.claimed, req.reference, dockerVerifier(docker, { dealId: req.dealId, limits, signal, ...(o.workDir !== undefined ? { workDir: o.workDir } : {}) }))
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
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      } catch {
        // the node stopped: publishing fails (or is skipped) on its own
      }
    }
  }
}

/**
 * Verification that fits the job (the module spec's `verification`): how a mediator decides
 * between the provider's claimed result and its own re-run.
 *
 *   exact     the two bundles must hash the same;
 *   verifier  the module's verifier program, run in the module's image under the same lockdown
 *             as a job (no network, read-only root, limits), reads both output folders (as tars)
 *             and accepts (exit 0) or rejects (exit 1) within the module's tolerance; a verifier
 *             that cannot decide (another exit, a timeout, a crash) leaves the exact comparison;
 *   none      no mediation: the claimed result stands.
 * A claimed bundle that does not decode, or a job that did not succeed on either side, is
 * judged exactly (the same failure gives the same hash).
 */
import { createHash } from 'node:crypto'
import type Docker from 'dockerode'
import { MAX_FILE_MAX_BYTES, verificationOf, type ModuleSpec } from '../protocol/index.js'
import type { Hash } from '../protocol/index.js'
import { bundleHash, decodeBundle, type ResultBundle } from './bundle.js'
import { runJob, type JobLimits } from './runner.js'

export interface Verdict {
  /** Whether the provider's claimed result stands. */
  providerWins: boolean
  /** How it was decided. */
  by: 'exact' | 'verifier' | 'none'
  reason: string
}

/** Runs the module's verifier on two output tars; exit code and stdout, or undefined when it could not run. */
export type VerifierRun = (spec: ModuleSpec, claimedTar: Uint8Array, referenceTar: Uint8Array) => Promise<{ exitCode: number, stdout: string } | undefined>

function decodeOrUndefined (b: Uint8Array): ResultBundle | undefined {
  try { return decodeBundle(b) } catch { return undefined }
}

/** The reason a verifier printed: the `reason` of its last JSON line, else its last line. */
function reasonOf (stdout: string): string {
  const last = stdout.trim().split('\n').pop() ?? ''
  try {
    const j = JSON.parse(last) as { reason?: unknown }
    if (typeof j.reason === 'string') return j.reason.slice(0, 300)
  } catch {}
  return last.slice(0, 300)
}

/**
 * The ruling on a claimed bundle against the mediator's re-run (`reference`, undefined when
 * the module declares `none` and nothing was re-run).
 */
export async function judgeResult (spec: ModuleSpec, claimed: Uint8Array, reference: Uint8Array | undefined, runVerifier: VerifierRun): Promise<Verdict> {
  const v = verificationOf(spec)
  if (v.kind === 'none') return { providerWins: true, by: 'none', reason: `module ${spec.name} declares verification none: results are not mediated` }
  if (reference === undefined) return { providerWins: false, by: v.kind, reason: 'no re-run to compare with' }
  const claimedHash = bundleHash(claimed)
  const refHash = bundleHash(reference)
  if (claimedHash === refHash) return { providerWins: true, by: 'exact', reason: `the re-run gave the same result ${refHash}` }
  const exact = (why: string): Verdict => ({ providerWins: false, by: 'exact', reason: `the provider claimed ${claimedHash}, the re-run gave ${refHash}${why}` })
  if (v.kind === 'exact') return exact('')
  const c = decodeOrUndefined(claimed)
  const r = decodeOrUndefined(reference)
  if (c === undefined) return exact(' (the claimed bundle does not decode)')
  if (r === undefined || c.exitCode !== 0 || r.exitCode !== 0) return exact(` (exit codes ${c.exitCode} and ${r?.exitCode ?? '?'}: the verifier judges only succeeded runs)`)
  if (c.outputTar.length > MAX_FILE_MAX_BYTES || r.outputTar.length > MAX_FILE_MAX_BYTES) return exact(` (outputs larger than the verifier's ${MAX_FILE_MAX_BYTES} bytes)`)
  const out = await runVerifier(spec, c.outputTar, r.outputTar)
  if (out === undefined || (out.exitCode !== 0 && out.exitCode !== 1)) {
    return exact(` (the verifier could not decide${out !== undefined ? `: exit ${out.exitCode}, ${reasonOf(out.stdout)}` : ''})`)
  }
  return { providerWins: out.exitCode === 0, by: 'verifier', reason: reasonOf(out.stdout) || (out.exitCode === 0 ? 'the verifier accepted the result' : 'the verifier rejected the result') }
}

export interface DockerVerifierOptions {
  /** The deal the verification is for (the verifier's container gets an id derived from it). */
  dealId: Hash
  limits: JobLimits
  workDir?: string
  signal?: AbortSignal
}

/** The verifier's job spec: the module's image, the verifier's argv, the two tars as file inputs. */
export function verifierSpec (spec: ModuleSpec): ModuleSpec {
  const v = verificationOf(spec)
  if (v.kind !== 'verifier') throw new Error(`module ${spec.name} has no verifier`)
  return {
    name: spec.name,
    version: spec.version,
    image: spec.image,
    entrypoint: v.cmd,
    cmd: ['{{claimed}}', '{{reference}}'],
    env: spec.env,
    inputs: {
      claimed: { type: 'file', maxBytes: MAX_FILE_MAX_BYTES },
      reference: { type: 'file', maxBytes: MAX_FILE_MAX_BYTES }
    },
    inputPath: '/verify',
    outputPath: '/outputs',
    resources: { cpu: spec.resources.cpu, ram: Math.max(spec.resources.ram, 256), gpus: 0, gpuVram: 0, disk: 0 },
    network: false
  }
}

/** Runs the verifier in Docker (the same lockdown as any job); undefined when it did not run to an exit code. */
export function dockerVerifier (docker: Docker, o: DockerVerifierOptions): VerifierRun {
  return async (spec, claimedTar, referenceTar) => {
    const v = verificationOf(spec)
    if (v.kind !== 'verifier') return undefined
    const id = `0x${createHash('sha256').update(`lilynode verifier ${o.dealId}`).digest('hex')}` as Hash
    const outcome = await runJob(docker, {
      dealId: id,
      spec: verifierSpec(spec),
      inputs: { claimed: claimedTar, reference: referenceTar },
      timeoutS: v.timeoutS,
      limits: o.limits,
      allowNetwork: false,
      ...(o.workDir !== undefined ? { workDir: o.workDir } : {})
    }, o.signal !== undefined ? { signal: o.signal } : {})
    if (outcome.status !== 'succeeded' && outcome.status !== 'failed') return undefined
    return { exitCode: outcome.exitCode, stdout: new TextDecoder().decode(outcome.bundle.stdout) }
  }
}

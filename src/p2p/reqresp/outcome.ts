/**
 * The `outcome` request/response protocol: the provider of a deal tells its creator, as soon as
 * it knows, how the job went — signed by the provider's key, so the creator (and anyone it shows
 * the report to) knows it is the provider's word. One report per call, one answer (`ok`).
 *
 * A report is typed: `image-missing`, `image-refused`, `gpu-unavailable` (the job could not
 * start; nothing ran), `out-of-memory`, `timed-out`, `failed` (it ran and exited non-zero; the
 * exit code and the tail of stderr travel) or `succeeded`. The signature is over
 * keccak256("lilynode outcome v1" ‖ network tag ‖ canonical JSON of the report), which binds it
 * to the network and the deal.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { networkTag, protocolId, type Profile } from '../../protocol/index.js'
import type { Address, Hash, Signature } from '../../protocol/index.js'
import { recoverAddress } from '../../protocol/index.js'
import { callRpc, RpcRefusal, serveRpc } from './rpc.js'
import { P2pError } from '../errors.js'

export const OUTCOME_KINDS = ['image-missing', 'image-refused', 'gpu-unavailable', 'out-of-memory', 'timed-out', 'failed', 'succeeded'] as const
export type OutcomeKind = typeof OUTCOME_KINDS[number]

/** The typed code each kind is reported as (the job record's failure code). */
export const OUTCOME_CODES: Readonly<Record<OutcomeKind, string>> = {
  'image-missing': 'EXECUTOR_IMAGE_MISSING',
  'image-refused': 'EXECUTOR_IMAGE_REFUSED',
  'gpu-unavailable': 'EXECUTOR_GPU_UNAVAILABLE',
  'out-of-memory': 'EXECUTOR_OOM',
  'timed-out': 'EXECUTOR_TIMED_OUT',
  failed: 'JOB_EXIT_NONZERO',
  succeeded: 'JOB_SUCCEEDED'
}

/** Kinds where nothing ran: the job may well run on another provider. */
export const NOT_RUN_KINDS: ReadonlySet<OutcomeKind> = new Set<OutcomeKind>(['image-missing', 'image-refused', 'gpu-unavailable'])
/** Kinds where offering the job to another provider can help (the job is fine; this machine lacks something). */
export const REOFFER_KINDS: ReadonlySet<OutcomeKind> = new Set<OutcomeKind>(['image-missing', 'gpu-unavailable'])

export interface OutcomeReport {
  dealId: Hash
  kind: OutcomeKind
  /** One line for people (bounded). */
  message: string
  exitCode: number | null
  /** The last bytes of stderr (≤ 2 KiB), when the job ran. */
  stderrTail: string
  /** Unix ms the provider knew it. */
  at: number
}

export interface SignedOutcome { report: OutcomeReport, signature: Signature }

export const MAX_OUTCOME_MESSAGE = 1000
export const MAX_STDERR_TAIL = 2048

const enc = new TextEncoder()

/** The digest a provider signs for a report. */
export function outcomeDigest (profile: Profile, r: OutcomeReport): Uint8Array {
  const canonical = JSON.stringify([r.dealId, r.kind, r.message, r.exitCode, r.stderrTail, r.at])
  return keccak_256(enc.encode(`lilynode outcome v1\n${networkTag(profile)}\n${canonical}`))
}

function bad (m: string): never {
  throw new RpcRefusal('P2P_RPC_BAD_REQUEST', `outcome: ${m}`)
}

/** Checks a received report's shape and bounds (not its signer: see `outcomeSigner`). */
export function parseOutcome (v: unknown): SignedOutcome {
  if (typeof v !== 'object' || v === null) bad('expected { report, signature }')
  const o = v as { report?: unknown, signature?: unknown }
  if (typeof o.signature !== 'string' || !/^0x[0-9a-f]{130}$/i.test(o.signature)) bad('signature must be 65 bytes of hex')
  const r = o.report as Partial<OutcomeReport> | undefined
  if (typeof r !== 'object' || r === null) bad('report missing')
  if (typeof r.dealId !== 'string' || !/^0x[0-9a-f]{64}$/.test(r.dealId)) bad('dealId must be 0x + 64 lower-case hex digits')
  if (typeof r.kind !== 'string' || !(OUTCOME_KINDS as readonly string[]).includes(r.kind)) bad(`kind must be one of ${OUTCOME_KINDS.join(', ')}`)
  if (typeof r.message !== 'string' || r.message.length > MAX_OUTCOME_MESSAGE) bad(`message must be a string of at most ${MAX_OUTCOME_MESSAGE} characters`)
  if (r.exitCode !== null && (typeof r.exitCode !== 'number' || !Number.isSafeInteger(r.exitCode) || r.exitCode < -1 || r.exitCode > 255)) bad('exitCode must be null or an integer -1..255')
  if (typeof r.stderrTail !== 'string' || r.stderrTail.length > MAX_STDERR_TAIL) bad(`stderrTail must be a string of at most ${MAX_STDERR_TAIL} characters`)
  if (typeof r.at !== 'number' || !Number.isSafeInteger(r.at) || r.at < 0) bad('at must be unix ms')
  return { report: { dealId: r.dealId as Hash, kind: r.kind as OutcomeKind, message: r.message, exitCode: r.exitCode ?? null, stderrTail: r.stderrTail, at: r.at }, signature: o.signature as Signature }
}

/** The address that signed the report. */
export function outcomeSigner (profile: Profile, s: SignedOutcome): Address {
  return recoverAddress(outcomeDigest(profile, s.report), s.signature)
}

/** A report, cut to the bounds, signed with `sign`. */
export function signOutcome (profile: Profile, r: OutcomeReport, sign: (digest: Uint8Array) => Signature): SignedOutcome {
  const report: OutcomeReport = {
    ...r,
    message: r.message.slice(0, MAX_OUTCOME_MESSAGE),
    stderrTail: r.stderrTail.length > MAX_STDERR_TAIL ? r.stderrTail.slice(r.stderrTail.length - MAX_STDERR_TAIL) : r.stderrTail
  }
  return { report, signature: sign(outcomeDigest(profile, report)) }
}

/**
 * Serves `outcome` (the creator's side): `take` gets each well-formed report with the peer that
 * sent it; it checks the signer against the deal's provider and throws RpcRefusal to refuse.
 */
export async function serveOutcomes (libp2p: Libp2p, profile: Profile, take: (s: SignedOutcome, peer: PeerId) => Promise<void>): Promise<string> {
  const protocol = protocolId(profile, 'outcome')
  await serveRpc(libp2p, protocol, {
    report: async (args, peer) => {
      await take(parseOutcome(args), peer)
      return { ok: true }
    }
  }, { limits: { maxRequestBytes: 16 * 1024 }, maxInboundStreams: 16 })
  return protocol
}

/** Sends a signed report to the deal's creator (the provider's side). */
export async function sendOutcome (libp2p: Libp2p, profile: Profile, target: PeerId | Multiaddr, s: SignedOutcome, signal?: AbortSignal): Promise<void> {
  const r = await callRpc<{ ok?: boolean }>(libp2p, target, protocolId(profile, 'outcome'), 'report', s, { ...(signal !== undefined ? { signal } : {}), limits: { dialTimeoutMs: 5000, responseTimeoutMs: 5000 } })
  if (r?.ok !== true) throw new P2pError('P2P_RPC_REMOTE', 'the creator did not take the outcome')
}

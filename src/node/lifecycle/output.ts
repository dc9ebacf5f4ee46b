/**
 * How role events are printed: one JSON object per line (`--json`, timestamps included, for
 * scripts), or one aligned line per event for people.
 */
import type { CreatorEvent } from './creator.js'
import type { DealRecord } from './deals.js'
import { RoleError } from './roles.js'

function jsonLine (e: Record<string, unknown> | CreatorEvent): string {
  return JSON.stringify(e, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
}

/** Parses a non-negative integer amount of wei. */
export function parseWei (name: string, v: string): bigint {
  if (!/^[0-9]{1,78}$/.test(v)) throw new RoleError('ROLE_BAD_INPUT', `--${name} must be a whole number of wei, got '${v}'`)
  return BigInt(v)
}

/** Parses a positive safe integer. */
export function parseCount (name: string, v: string): number {
  if (!/^[0-9]{1,15}$/.test(v) || Number(v) <= 0) throw new RoleError('ROLE_BAD_INPUT', `--${name} must be a positive integer, got '${v}'`)
  return Number(v)
}

/** A printer for provider and mediator events. */
export function printer (json: boolean, write: (s: string) => void = (s) => { process.stdout.write(s) }): (e: Record<string, unknown>) => void {
  return (e) => {
    if (json) { write(`${jsonLine({ at: Date.now(), ...e })}\n`); return }
    if (e.event === 'ready') {
      write(`${String(e.role)} ${String(e.address)} ready\n  peer ${String(e.peerId)}\n${(e.addrs as string[]).map((a) => `  ${a}`).join('\n')}\n`)
      if (e.warning !== undefined) write(`  WARNING: ${String(e.warning)}\n`)
      return
    }
    const time = new Date(typeof e.at === 'number' ? e.at : Date.now()).toISOString().slice(11, 23)
    write(`${time} ${String(e.dealId ?? '').slice(0, 10)} ${String(e.state ?? e.event).padEnd(10)} ${e.tx !== undefined ? `tx ${String(e.tx)} ` : ''}${String(e.message ?? '')}\n`)
  }
}

function short (h: unknown): string {
  return typeof h === 'string' && h.length > 14 ? `${h.slice(0, 10)}…${h.slice(-4)}` : String(h)
}

function describeStage (e: CreatorEvent): string {
  switch (e.stage) {
    case 'offered': return `job ${short(e.jobOfferHash)} published (${e.message ?? ''})`
    case 'matched': return `provider ${String(e.provider)} at ${String(e.price)} wei (deal ${short(e.dealId)})`
    case 'opened': return e.tx !== undefined ? `deal opened on-chain, tx ${String(e.tx)}` : 'deal opened on-chain (by the provider)'
    case 'running': return `provider fetched the module and inputs; job running on ${String(e.provider)}`
    case 'result': return `result ${short(e.resultHash)} received, hash checked${e.message !== undefined ? `; NOT accepted: ${e.message}` : `, exit code ${String(e.exitCode)}`}`
    case 'accepted': return 'result accepted (ResultAcceptance signed and sent to the provider)'
    case 'outputs': return `outputs written to ${String(e.message)}: ${(e.outputs ?? []).join(', ')}`
    case 'paid': return `${String(e.price)} wei paid — ${e.message ?? ''}`
    case 'challenged': return `result challenged: ${e.message ?? ''}${e.tx !== undefined ? ` (tx ${e.tx})` : ''}`
    case 'resolved': return `mediator ruled for the ${String(e.winner)}: ${e.message ?? ''}`
    case 'refunded': return e.message ?? 'refunded'
    default: return e.message ?? ''
  }
}

/** A printer for `lilynode run`: each stage with its elapsed time; the job's stdout after the result. */
export function creatorPrinter (json: boolean, write: (s: string) => void = (s) => { process.stdout.write(s) }): (e: CreatorEvent) => void {
  return (e) => {
    if (json) { write(`${jsonLine(e)}\n`); return }
    write(`[${(e.elapsedMs / 1000).toFixed(2).padStart(7)}s] ${e.stage.padEnd(10)} ${describeStage(e)}\n`)
    if (e.stage === 'result' && e.stdout !== undefined && e.stdout !== '') {
      write(e.stdout.split('\n').map((l) => `            | ${l}`).join('\n').replace(/\n? *\| $/, '') + '\n')
    }
  }
}

/** The exit code of `lilynode run` for a settled deal, and why when it is not 0. */
export function creatorExitCode (r: DealRecord): { code: number, reason: string } {
  switch (r.state) {
    case 'completed':
    case 'claimed':
      return { code: 0, reason: '' }
    case 'resolved':
      return r.history.some((h) => /creator-won/.test(h.note ?? ''))
        ? { code: 3, reason: `the provider's result was wrong; the mediator ruled for you and the price plus the provider's collateral went back to your escrow balance (deal ${r.dealId})` }
        : { code: 0, reason: '' }
    case 'timed-out':
      return { code: 4, reason: `the provider delivered no result in time; the price and its collateral were refunded to your escrow balance (deal ${r.dealId})` }
    case 'expired':
      return { code: 5, reason: `the deal was never opened on-chain before its deadline (deal ${r.dealId})` }
    default:
      return { code: 1, reason: `the job ended in state ${r.state}${r.error !== undefined ? `: ${r.error}` : ''}` }
  }
}

/**
 * How role events are printed: one JSON object per line (`--json`, timestamps included, for
 * scripts), or one aligned line per event for people.
 */
import type { CreatorEvent } from '../node/index.js'

function jsonLine (e: Record<string, unknown> | CreatorEvent): string {
  return JSON.stringify(e, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
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
    if (e.event === 'summary' && Array.isArray(e.lines)) {
      write(`${(e.lines as unknown[]).map(String).join('\n')}\n`)
      return
    }
    const time = new Date(typeof e.at === 'number' ? e.at : Date.now()).toISOString().slice(11, 23)
    write(`${time} ${String(e.dealId ?? '').slice(0, 10)} ${String(e.state ?? e.event).padEnd(10)} ${typeof e.module === 'string' ? `${e.module} ` : ''}${e.tx !== undefined ? `tx ${String(e.tx)} ` : ''}${String(e.message ?? '')}\n`)
  }
}

function short (h: unknown): string {
  return typeof h === 'string' && h.length > 14 ? `${h.slice(0, 10)}…${h.slice(-4)}` : String(h)
}

function describeStage (e: CreatorEvent): string {
  switch (e.stage) {
    case 'offered': return `${e.jobId !== undefined ? `job ${e.jobId}: ` : ''}offer ${short(e.jobOfferHash)} published (${e.message ?? ''})`
    case 'matched': return `provider ${String(e.provider)} at ${String(e.price)} wei (deal ${short(e.dealId)})`
    case 'opened': return e.tx !== undefined ? `deal opened on-chain, tx ${String(e.tx)}` : 'deal opened on-chain (by the provider)'
    case 'running': return `provider fetched the module and inputs; job running on ${String(e.provider)}`
    case 'result': return `result ${short(e.resultHash)} received, hash checked${e.message !== undefined ? `; NOT accepted: ${e.message}` : `, exit code ${String(e.exitCode)}`}`
    case 'accepted': return 'result accepted (ResultAcceptance signed and sent to the provider)'
    case 'outputs': return `outputs written to ${String(e.message)}: ${(e.outputs ?? []).join(', ')}`
    case 'paid': return `${String(e.price)} wei paid — ${e.message ?? ''}`
    case 'challenging': return e.message ?? `challenging: the mediation fee is ${String(e.fee)} wei`
    case 'challenged': return `result challenged: ${e.message ?? ''}${e.tx !== undefined ? ` (tx ${e.tx})` : ''}`
    case 'resolved': return `mediator ruled for the ${String(e.winner)}: ${e.message ?? ''}`
    case 'refunded': return e.message ?? 'refunded'
    case 'failed': return `${e.reason !== undefined ? `${e.reason}: ` : ''}${e.message ?? ''}`
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

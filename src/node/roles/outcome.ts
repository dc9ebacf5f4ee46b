/**
 * What a settled deal means to the creator (the exit codes of `lilynode run`, shared with the
 * SDK), and the parsers of the amounts and counts every role takes as options.
 */
import type { DealRecord } from './deals.js'
import { RoleError } from './roles.js'

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

/**
 * The exit codes of `lilynode run` (and `resume`), as the README documents them:
 * 0 paid and the job exited 0; 3 a mediator ruled (either way); 4 no result in time, refunded;
 * 5 never opened on-chain; 6 the job ran and exited non-zero (the result was accepted as the
 * answer, the provider paid; its stderr is in --out); 7 the provider could not run it (the image
 * missing or refused, no GPU, …: the typed reason is printed; the price comes back by the timeout
 * refund, which `lilynode resume` takes after the deal's deadline); 1 any other failure; 2 bad usage.
 */
export const EXIT = { paid: 0, error: 1, usage: 2, mediated: 3, refunded: 4, expired: 5, jobFailed: 6, notRun: 7 } as const

/** The exit code of `lilynode run` for a settled (or failed-fast) deal, and why when it is not 0. */
export function creatorExitCode (r: DealRecord, exitCode?: number | null, failure?: { code: string, message: string }): { code: number, reason: string } {
  const notRun = failure !== undefined && /^EXECUTOR_(IMAGE_MISSING|IMAGE_REFUSED|GPU_UNAVAILABLE|DOCKER|INVALID|NOT_STARTED)/.test(failure.code)
  switch (r.state) {
    case 'completed':
    case 'claimed':
      if (exitCode !== undefined && exitCode !== null && exitCode !== 0) return { code: EXIT.jobFailed, reason: `the job ran and exited with code ${exitCode}${failure !== undefined && failure.code !== 'JOB_EXIT_NONZERO' ? ` (${failure.code})` : ''}; its result was accepted as the answer and the provider paid (deal ${r.dealId}); its stderr is in the outputs (--out, or \`lilynode get\`)` }
      return { code: EXIT.paid, reason: '' }
    case 'resolved':
      return r.history.some((h) => /creator-won/.test(h.note ?? ''))
        ? { code: EXIT.mediated, reason: `the provider's result was wrong; the mediator ruled for you and the price plus the provider's collateral went back to your escrow balance (deal ${r.dealId})` }
        : { code: EXIT.mediated, reason: `the mediator upheld the provider's result: the provider is paid and the mediation fee is spent (deal ${r.dealId})` }
    case 'timed-out':
      if (notRun) return { code: EXIT.notRun, reason: `the provider could not run the job: ${failure.code}: ${failure.message}; the price and its collateral were refunded to your escrow balance (deal ${r.dealId})` }
      return { code: EXIT.refunded, reason: `the provider delivered no result in time; the price and its collateral were refunded to your escrow balance (deal ${r.dealId})` }
    case 'expired':
      return { code: EXIT.expired, reason: `the deal was never opened on-chain before its deadline (deal ${r.dealId})` }
    default:
      if (notRun) return { code: EXIT.notRun, reason: `the provider could not run the job: ${failure.code}: ${failure.message} (deal ${r.dealId}: the price comes back by the timeout refund after the deal's deadline; \`lilynode resume\` takes it)` }
      return { code: EXIT.error, reason: `the job ended in state ${r.state}${r.error !== undefined ? `: ${r.error}` : ''}` }
  }
}

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

/**
 * Typed errors of the chain client. Every error has a stable `code` (CHAIN_REASON), a short
 * message that says what went wrong and how to fix it, and for contract reverts the name and
 * arguments of the contract's custom error, decoded from the revert data.
 */
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from 'viem'
import { lilyEscrowAbi } from './artifacts.js'
import { LilyError } from '../protocol/errors.js'

export type ChainErrorCode =
  | 'CHAIN_RPC_UNREACHABLE'
  | 'CHAIN_WRONG_CHAIN_ID'
  | 'CHAIN_REVERTED'
  | 'CHAIN_INSUFFICIENT_BALANCE'
  | 'CHAIN_INSUFFICIENT_FUNDS'
  | 'CHAIN_NO_CONTRACT'
  | 'CHAIN_BAD_PARAMS'
  | 'CHAIN_TX_FAILED'
  | 'CHAIN_FOLLOWER'

export interface ChainErrorOptions {
  cause?: unknown
  /** The contract's custom error name, for CHAIN_REVERTED (e.g. 'JobOfferUsed'). */
  errorName?: string
  /** The custom error's arguments, in ABI order. */
  errorArgs?: readonly unknown[]
  /** More context: the RPC URL, the function, the amounts. */
  details?: Record<string, unknown>
}

export class ChainError extends LilyError<ChainErrorCode> {
  override readonly name = 'ChainError'
  readonly errorName?: string
  readonly errorArgs?: readonly unknown[]

  constructor (code: ChainErrorCode, message: string, options: ChainErrorOptions = {}) {
    super(code, message, { cause: options.cause, details: options.details })
    this.errorName = options.errorName
    this.errorArgs = options.errorArgs
  }
}

export function isChainError (e: unknown, code?: ChainErrorCode): e is ChainError {
  return e instanceof ChainError && (code === undefined || e.code === code)
}

/** Fixes to suggest for the contract's custom errors. */
const HINTS: Record<string, string> = {
  InsufficientBalance: 'deposit more into the escrow first (lilynode chain deposit)',
  JobOfferUsed: 'a job offer can be used by one deal only; publish a new job offer',
  DealAlreadyOpened: 'the deal is already open; read its state instead',
  UnknownDeal: 'no deal with this id was opened at this escrow (check the escrow address and the Deal fields)',
  WrongStatus: 'the deal is not in a state that allows this call; read its state first',
  DealExpired: 'the deal passed its openBy time; it must be matched again',
  InvalidSignature: 'the signature does not come from the named party for this chain and escrow',
  SignatureHighS: 'use a low-s signature (signDigest produces one)',
  Unauthorized: 'only the deal\'s party (or its drawn mediator) may call this',
  TooEarly: 'wait until the deadline has passed',
  TooLate: 'the deadline has passed',
  NoEligibleMediator: 'no staked mediator other than the parties exists; wait for mediators to register',
  StakeTooLow: 'stake at least minStake',
  StakeLocked: 'unregister first and wait for the unstake delay and pending disputes',
  WrongValue: 'send ETH only to an ETH escrow, and exactly the amount',
  Reentrancy: 'the escrow was re-entered'
}

/** The raw revert data somewhere in a viem error's cause chain. */
export function revertData (e: BaseError): Hex | undefined {
  let data: Hex | undefined
  e.walk((x) => {
    const d = (x as { data?: unknown }).data
    if (typeof d === 'string' && d.startsWith('0x') && d.length >= 10) { data = d as Hex; return true }
    if (d !== null && typeof d === 'object' && typeof (d as { data?: unknown }).data === 'string') {
      data = (d as { data: Hex }).data
      return true
    }
    return false
  })
  return data
}

function decodeRevert (e: BaseError): { errorName: string, args: readonly unknown[] } | undefined {
  const reverted = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null
  if (reverted?.data?.errorName !== undefined) return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] }
  const data = revertData(e)
  if (data === undefined) return undefined
  try {
    const d = decodeErrorResult({ abi: lilyEscrowAbi, data })
    return { errorName: d.errorName, args: d.args ?? [] }
  } catch {
    return undefined
  }
}

function isNetworkError (e: unknown): boolean {
  if (!(e instanceof BaseError)) return false
  return e.walk((x) => {
    const n = (x as { name?: string }).name
    return n === 'HttpRequestError' || n === 'TimeoutError' || n === 'WebSocketRequestError' || n === 'SocketClosedError'
  }) !== null
}

/**
 * Turns anything viem throws into a ChainError: a decoded custom error (CHAIN_REVERTED or
 * CHAIN_INSUFFICIENT_BALANCE), an unreachable RPC, too little ETH for gas, or CHAIN_TX_FAILED.
 */
export function toChainError (e: unknown, context: { action: string, rpcUrl?: string }): ChainError {
  if (e instanceof ChainError) return e
  if (e instanceof BaseError) {
    const decoded = decodeRevert(e)
    if (decoded !== undefined) {
      const args = decoded.args.map((a) => typeof a === 'bigint' ? a.toString() : String(a)).join(', ')
      const hint = HINTS[decoded.errorName]
      const code: ChainErrorCode = decoded.errorName === 'InsufficientBalance' ? 'CHAIN_INSUFFICIENT_BALANCE' : 'CHAIN_REVERTED'
      return new ChainError(code, `${context.action} reverted: ${decoded.errorName}(${args})${hint !== undefined ? ` — ${hint}` : ''}`, {
        cause: e, errorName: decoded.errorName, errorArgs: decoded.args
      })
    }
    if (isNetworkError(e)) return unreachable(context.rpcUrl ?? '(unknown)', e)
    if (e.walk((x) => (x as { name?: string }).name === 'InsufficientFundsError') !== null) {
      return new ChainError('CHAIN_INSUFFICIENT_FUNDS', `${context.action}: the account has too little ETH for value + gas — fund it first`, { cause: e })
    }
    return new ChainError('CHAIN_TX_FAILED', `${context.action} failed: ${e.shortMessage}`, { cause: e })
  }
  return new ChainError('CHAIN_TX_FAILED', `${context.action} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
}

export function unreachable (rpcUrl: string, cause?: unknown): ChainError {
  return new ChainError('CHAIN_RPC_UNREACHABLE',
    `cannot reach the RPC at ${rpcUrl} — check the URL (--rpc or the profile's rpcUrl), that the node is running and that the network allows it`,
    { cause, details: { rpcUrl } })
}

import type { Address, Hex } from 'viem'

/** The terms of an on-chain job request (LilyRequests.RequestParams, ABI order). */
export interface RequestParams {
  /** Module hash (src/protocol module.ts `moduleHash`). */
  module: Hex
  /** keccak256 of the canonical encoding of the job inputs. */
  inputsHash: Hex
  cpu: number
  ram: number
  gpus: number
  gpuVram: number
  disk: number
  /** What the consumer paid; the highest price a deal may have. */
  maxPrice: bigint
  /** Least collateral the provider must put up. */
  collateral: bigint
  /** Job timeout in seconds; the deal's timeout must equal it. */
  timeout: number
  /** Unix seconds: last moment a deal may open; afterwards an unserved request is refundable. */
  deadline: bigint
  /** Gas given to the consumer's onLilyResult (0 = no callback; at most MAX_CALLBACK_GAS). */
  callbackGasLimit: number
  /** The relay that alone may open the request's deal (it opens the deal its matcher derived). */
  agent: Address
}

/** LilyRequests STATUS_* codes by name. */
export const RequestStatus = {
  None: 0,
  Pending: 1,
  Open: 2,
  Fulfilled: 3,
  Settled: 4,
  Refunded: 5,
  /** The provider delivered its result; the challenge window runs (not final yet). */
  Delivered: 6
} as const

export type RequestStatusName = keyof typeof RequestStatus

const NAMES = Object.fromEntries(Object.entries(RequestStatus).map(([k, v]) => [v, k])) as Record<number, RequestStatusName>

export function requestStatusName (code: number): RequestStatusName {
  const n = NAMES[code]
  if (n === undefined) throw new RangeError(`unknown request status ${code}`)
  return n
}

/** A request as stored on-chain. */
export interface OnChainRequest {
  requestId: bigint
  consumer: Address
  status: RequestStatusName
  params: RequestParams
  /** The opened deal's id; zero hash before. */
  dealId: Hex
}

/** Largest `data` a provider may deliver (LilyRequests.MAX_RESULT_DATA). */
export const MAX_RESULT_DATA = 512
/** Largest callback gas limit (LilyRequests.MAX_CALLBACK_GAS). */
export const MAX_CALLBACK_GAS = 2_000_000

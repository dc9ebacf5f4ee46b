/** The deal statuses of LilyEscrow (its STATUS_* constants). */
export const DealStatus = {
  None: 0,
  Open: 1,
  Submitted: 2,
  Challenged: 3,
  Completed: 4,
  Claimed: 5,
  TimedOut: 6,
  ProviderWon: 7,
  CreatorWon: 8,
  /** No mediator ruled within disputeTimeout: price and fee to the creator, collateral to the provider. */
  DisputeExpired: 9,
  /** Both parties signed a split (settleMutually). */
  Settled: 10,
  /** The provider did not reveal its draw secret: price, collateral and fee to the creator. */
  ProviderForfeited: 11,
  /** The creator did not reveal its draw secret: price, collateral and fee to the provider. */
  CreatorForfeited: 12
} as const

export type DealStatusName = keyof typeof DealStatus
export type DealStatusCode = typeof DealStatus[DealStatusName]

const NAMES = Object.fromEntries(Object.entries(DealStatus).map(([k, v]) => [v, k])) as Record<number, DealStatusName>

export function dealStatusName (code: number): DealStatusName {
  const n = NAMES[code]
  if (n === undefined) throw new RangeError(`unknown deal status ${code}`)
  return n
}

/** Statuses in which the deal is over and its funds are back in free balances. */
export function isClosed (code: number): boolean {
  return code >= DealStatus.Completed
}

/**
 * Gas this node spent: every transaction it is known to have sent, by hash, with its gasUsed.
 * Hashes come from the escrow port the API's own creator uses (every transaction, deposits
 * included), from creator events and from the deal store (open and settle transactions); a
 * hash seen without its gas is looked up once in its receipt, and only counted when the node's
 * account sent it (a deal's settle transaction is often the counterparty's).
 */
import type { Address, Hash } from '../../protocol/index.js'
import type { EscrowPort, TxResult } from './ports.js'

export interface ReceiptSource {
  getTransactionReceipt: (args: { hash: Hash }) => Promise<{ from: string, gasUsed: bigint }>
}

/** Lookups per `total()` call, so one scrape never fans out unbounded RPC calls. */
const MAX_LOOKUPS = 64

export class GasLedger {
  /** hash → gas counted (0 for someone else's transaction); undefined while unknown. */
  private readonly txs = new Map<Hash, bigint | undefined>()

  constructor (private readonly account: Address, private readonly receipts: ReceiptSource) {}

  /** A transaction of this node with its gas (from a TxResult). */
  record (hash: Hash | undefined, gasUsed: bigint): void {
    if (hash === undefined) return
    this.txs.set(hash, gasUsed)
  }

  /** A transaction hash seen somewhere; its gas is looked up later. */
  note (hash: Hash | undefined): void {
    if (hash === undefined || this.txs.has(hash)) return
    this.txs.set(hash, undefined)
  }

  /** Sum of gasUsed over the node's known transactions, and how many there are. */
  async total (): Promise<{ gas: bigint, txs: number }> {
    let lookups = 0
    for (const [hash, gas] of this.txs) {
      if (gas !== undefined || lookups >= MAX_LOOKUPS) continue
      lookups++
      try {
        const r = await this.receipts.getTransactionReceipt({ hash })
        this.txs.set(hash, r.from.toLowerCase() === this.account.toLowerCase() ? r.gasUsed : 0n)
      } catch {
        // not mined yet or the RPC is down: asked again on the next scrape
      }
    }
    let gas = 0n
    let txs = 0
    for (const g of this.txs.values()) if (g !== undefined && g > 0n) { gas += g; txs++ }
    return { gas, txs }
  }
}

/** The same escrow port, recording the gas of every transaction it sends into `ledger`. */
export function meteredEscrow (port: EscrowPort, ledger: GasLedger): EscrowPort {
  const wrap = <A extends unknown[]>(send: (...a: A) => Promise<TxResult>) => async (...a: A): Promise<TxResult> => {
    const r = await send(...a)
    ledger.record(r.hash, r.gasUsed)
    return r
  }
  return {
    ...port,
    deposit: wrap(port.deposit),
    openDeal: wrap(port.openDeal),
    complete: wrap(port.complete),
    submitResult: wrap(port.submitResult),
    claim: wrap(port.claim),
    challenge: wrap(port.challenge),
    draw: wrap(port.draw),
    resolve: wrap(port.resolve),
    redraw: wrap(port.redraw),
    timeout: wrap(port.timeout),
    registerMediator: wrap(port.registerMediator)
  }
}

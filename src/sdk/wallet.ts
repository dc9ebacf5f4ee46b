/**
 * The escrow account of a node key: balance, deposit, withdraw. `LilyClient` delegates to
 * it and `lilynode chain balance|deposit|withdraw` use it, so the SDK and the CLI run the same
 * code (src/sdk/chainChores.ts) with the same settings.
 */
import type { Address } from '../protocol/index.js'
import type { Profile } from '../protocol/index.js'
import {
  chainBalance, chainDeposit, chainFund, chainWithdraw,
  type ChainBalanceResult, type ChainConnectOptions, type ChainFundResult, type ChainTxResult
} from './chainChores.js'
import { SdkError } from './errors.js'
import { MAX_UINT256 } from '../protocol/constants.js'

export type { ChainBalanceResult, ChainConnectOptions, ChainFundResult, ChainTxResult }


function amount (name: string, v: bigint, allowZero: boolean): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_UINT256 || (!allowZero && v === 0n)) {
    throw new SdkError('SDK_BAD_OPTION', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} bigint of wei below 2^256, got ${String(v)}`)
  }
  return v
}

export class LilyWallet {
  constructor (readonly connection: ChainConnectOptions) {}

  /** The wallet of a node data dir (its key.json) on the profile's chain and escrow. */
  static forNode (profile: Profile, dataDir: string): LilyWallet {
    return new LilyWallet({ rpcUrl: profile.rpcUrl, chainId: BigInt(profile.chainId), escrow: profile.escrow, dataDir })
  }

  /** Escrow (free), wallet and mediator-stake balances of `account` (default: the key's). */
  async balance (account?: Address): Promise<ChainBalanceResult> {
    return await chainBalance({ ...this.connection, ...(account !== undefined ? { account } : {}) })
  }

  /** Deposits `wei` into the free escrow balance. */
  async deposit (wei: bigint): Promise<ChainTxResult> {
    return await chainDeposit({ ...this.connection, amount: amount('deposit amount', wei, false) })
  }

  /** Devnet only (anvil): adds `wei` to the wallet of `account` (default: the key's); see chainFund. */
  async fund (wei: bigint, account?: Address): Promise<ChainFundResult> {
    return await chainFund({ ...this.connection, amount: amount('fund amount', wei, false), ...(account !== undefined ? { account } : {}) })
  }

  /** Withdraws `wei` (default: the whole free balance) from the escrow. */
  async withdraw (wei?: bigint): Promise<ChainTxResult> {
    return await chainWithdraw({ ...this.connection, ...(wei !== undefined ? { amount: amount('withdraw amount', wei, false) } : {}) })
  }
}

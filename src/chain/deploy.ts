import type { Address, Hex } from 'viem'
import { lilyEscrowAbi, lilyEscrowBytecode } from './artifacts.js'
import type { ChainClients } from './client.js'
import { ChainError, toChainError } from './errors.js'
import { requireWallet } from './tx.js'
import { DEFAULT_MEDIATION_FEE } from '../protocol/constants.js'

export interface DeployParameters {
  /** ERC-20 settlement token; omit or null for native ETH. */
  token?: Address | null
  /** Seconds to challenge a submitted result (default 3 days: see DEPLOY_DEFAULTS). */
  challengeWindow?: bigint
  /** Fee the challenger pays, earned by the mediator (default 0.001 token). */
  mediationFee?: bigint
  /** Least mediator stake (default 0.01 token). */
  minStake?: bigint
  /** Seconds a drawn mediator has to rule (default 3 days). */
  mediatorTimeout?: bigint
  /** Seconds from leaving the mediator set to withdrawing the stake, at least disputeTimeout (default 7 days). */
  unstakeDelay?: bigint
  /**
   * Seconds after a challenge until a dispute no mediator ruled on can be expired. At least
   * 2 × mediatorTimeout (default: 4 × mediatorTimeout, i.e. 12 days with the default mediatorTimeout).
   */
  disputeTimeout?: bigint
  /**
   * Seconds until registering or leaving as a mediator takes effect (the set a dispute draws from
   * is frozen at its challenge). Default: disputeTimeout (longer than any draw) on real chains, 0
   * on a local anvil chain (31337), whose devnet mediators must count at once.
   */
  mediatorDelay?: bigint
}

export interface DeployReturnType {
  address: Address
  hash: Hex
  gasUsed: bigint
  blockNumber: bigint
}

/**
 * Real-chain defaults (Arbitrum and other rollups). The sequencer can keep a transaction out for
 * up to ~24 h before forced inclusion through L1 lands it, and may set block timestamps up to
 * 24 h behind (1 h ahead) of real time. Each window an honest party must act in therefore spans
 * at least 24 h of censorship + 24 h of timestamp lag + a day of margin: 3 days for the challenge
 * window and for a mediator's ruling, and a dispute timeout of 4 mediator timeouts (room for a
 * late mediator to be replaced once). A devnet (anvil) passes short ones (`lilynode devnet`).
 */
export const DEPLOY_DEFAULTS = {
  challengeWindow: 3n * 86_400n,
  mediationFee: DEFAULT_MEDIATION_FEE,
  minStake: 10n ** 16n,
  mediatorTimeout: 3n * 86_400n,
  unstakeDelay: 7n * 86_400n
} as const

/** anvil's chain id: a local devnet or test chain. */
const ANVIL_CHAIN_ID = 31337

const ZERO: Address = '0x0000000000000000000000000000000000000000'

/** Deploys LilyEscrow and waits for it. */
export async function deploy (client: ChainClients, params: DeployParameters = {}): Promise<DeployReturnType> {
  const { wallet, account } = requireWallet(client, 'deploy')
  const token = params.token ?? ZERO
  if (token !== ZERO) {
    const code = await client.public.getCode({ address: token }).catch((e: unknown) => { throw toChainError(e, { action: 'deploy', rpcUrl: client.rpcUrl }) })
    if (code === undefined || code === '0x') {
      throw new ChainError('CHAIN_NO_CONTRACT', `no contract at token address ${token} on chain ${client.chainId} — pass the ERC-20's address on this chain, or no token for ETH`)
    }
  }
  const mediatorTimeout = params.mediatorTimeout ?? DEPLOY_DEFAULTS.mediatorTimeout
  const disputeTimeout = params.disputeTimeout ?? 4n * mediatorTimeout
  try {
    const hash = await wallet.deployContract({
      abi: lilyEscrowAbi,
      bytecode: lilyEscrowBytecode,
      account,
      chain: client.chain,
      args: [
        token,
        params.challengeWindow ?? DEPLOY_DEFAULTS.challengeWindow,
        params.mediationFee ?? DEPLOY_DEFAULTS.mediationFee,
        params.minStake ?? DEPLOY_DEFAULTS.minStake,
        mediatorTimeout,
        params.unstakeDelay ?? DEPLOY_DEFAULTS.unstakeDelay,
        disputeTimeout,
        params.mediatorDelay ?? (client.chainId === ANVIL_CHAIN_ID ? 0n : disputeTimeout)
      ]
    })
    const receipt = await client.public.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success' || receipt.contractAddress == null) {
      throw new ChainError('CHAIN_TX_FAILED', `deploy: transaction ${hash} failed`)
    }
    return { address: receipt.contractAddress, hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber }
  } catch (e) {
    throw toChainError(e, { action: 'deploy', rpcUrl: client.rpcUrl })
  }
}

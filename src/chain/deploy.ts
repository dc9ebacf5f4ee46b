import type { Address, Hex } from 'viem'
import { lilyEscrowAbi, lilyEscrowBytecode } from './artifacts.js'
import type { ChainClients } from './client.js'
import { ChainError, toChainError } from './errors.js'
import { requireWallet } from './tx.js'

export interface DeployParameters {
  /** ERC-20 settlement token; omit or null for native ETH. */
  token?: Address | null
  /** Seconds to challenge a submitted result (default 1 hour). */
  challengeWindow?: bigint
  /** Fee the challenger pays, earned by the mediator (default 0.001 token). */
  mediationFee?: bigint
  /** Least mediator stake (default 0.01 token). */
  minStake?: bigint
  /** Seconds a drawn mediator has to rule (default 1 day). */
  mediatorTimeout?: bigint
  /** Seconds from unregistering to withdrawing the stake (default 7 days). */
  unstakeDelay?: bigint
}

export interface DeployReturnType {
  address: Address
  hash: Hex
  gasUsed: bigint
  blockNumber: bigint
}

export const DEPLOY_DEFAULTS = {
  challengeWindow: 3600n,
  mediationFee: 10n ** 15n,
  minStake: 10n ** 16n,
  mediatorTimeout: 86_400n,
  unstakeDelay: 7n * 86_400n
} as const

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
        params.mediatorTimeout ?? DEPLOY_DEFAULTS.mediatorTimeout,
        params.unstakeDelay ?? DEPLOY_DEFAULTS.unstakeDelay
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

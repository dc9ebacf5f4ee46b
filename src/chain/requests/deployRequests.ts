import type { Address, Hex } from 'viem'
import { lilyRequestsAbi, lilyRequestsBytecode } from '../artifacts.js'
import type { ChainClients } from '../client.js'
import { ChainError } from '../errors.js'
import { requireWallet } from '../tx.js'
import { toRequestsError } from './send.js'

export interface DeployRequestsParameters {
  /** The LilyEscrow deployment the companion opens deals in. */
  escrow: Address
}

export interface DeployRequestsReturnType {
  address: Address
  hash: Hex
  gasUsed: bigint
  blockNumber: bigint
}

/** Deploys LilyRequests for an escrow and waits for it. */
export async function deployRequests (client: ChainClients, params: DeployRequestsParameters): Promise<DeployRequestsReturnType> {
  const { wallet, account } = requireWallet(client, 'deployRequests')
  try {
    const code = await client.public.getCode({ address: params.escrow })
    if (code === undefined || code === '0x') {
      throw new ChainError('CHAIN_NO_CONTRACT', `no contract at escrow address ${params.escrow} on chain ${client.chainId} — deploy the escrow first`)
    }
    const hash = await wallet.deployContract({ abi: lilyRequestsAbi, bytecode: lilyRequestsBytecode, account, chain: client.chain, args: [params.escrow] })
    const receipt = await client.public.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success' || receipt.contractAddress == null) {
      throw new ChainError('CHAIN_TX_FAILED', `deployRequests: transaction ${hash} failed`)
    }
    return { address: receipt.contractAddress, hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber }
  } catch (e) {
    throw toRequestsError(e, { action: 'deployRequests', rpcUrl: client.rpcUrl })
  }
}

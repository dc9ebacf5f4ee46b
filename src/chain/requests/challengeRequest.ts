import type { Address, Hex } from 'viem'
import { drawCommitment } from '../drawSecret.js'
import type { Deal } from '../../protocol/index.js'
import { lilyEscrowAbi, lilyRequestsAbi } from '../artifacts.js'
import type { ChainClients } from '../client.js'
import { guardRead } from '../tx.js'
import { sendRequests, type RequestsTxInfo } from './send.js'

export interface ChallengeRequestParameters {
  requests: Address
  requestId: bigint
  deal: Deal
  /** The challenger's draw secret (32 random bytes; keep it for revealRequest): the escrow sees the companion as the party, so the commitment names the companion. */
  secret: Hex
}

/**
 * Challenges a request's submitted result on the consumer's behalf (the request's agent or its
 * consumer only), within the escrow's challenge window, paying the escrow's mediation fee (ETH: as
 * value; ERC-20: approve the companion first).
 */
export async function challengeRequest (client: ChainClients, p: ChallengeRequestParameters): Promise<RequestsTxInfo> {
  const { fee, dealId } = await guardRead(client, 'challengeRequest', async () => {
    const escrow = await client.public.readContract({ abi: lilyRequestsAbi, address: p.requests, functionName: 'escrow' })
    const [token, f, id] = await Promise.all([
      client.public.readContract({ abi: lilyRequestsAbi, address: p.requests, functionName: 'token' }),
      client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'mediationFee' }),
      client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'dealId', args: [p.deal] })
    ])
    return { fee: token === '0x0000000000000000000000000000000000000000' ? f : 0n, dealId: id }
  })
  const commit = drawCommitment(dealId, p.requests, p.secret)
  return await sendRequests(client, 'challengeRequest', p.requests, 'challengeRequest', [p.requestId, p.deal, commit], fee)
}

/** The challenger reveals its draw secret through the companion (before the escrow's reveal deadline). */
export async function revealRequest (client: ChainClients, p: ChallengeRequestParameters): Promise<RequestsTxInfo> {
  return await sendRequests(client, 'revealRequest', p.requests, 'revealRequest', [p.requestId, p.deal, p.secret])
}

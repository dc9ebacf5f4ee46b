import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem'
import type { ChainClients } from './client.js'
import { requireWallet } from './tx.js'

/**
 * This account's draw secret for a deal: keccak256 of its signature over
 * keccak256(abi.encode("lilynode draw secret", escrow, dealId)). Deterministic (RFC 6979), so a
 * node needs to store nothing to reveal it later, and unpredictable to anyone without the key.
 */
export async function drawSecret (client: ChainClients, escrow: Address, dealId: Hex): Promise<Hex> {
  const { wallet, account } = requireWallet(client, 'drawSecret')
  const raw = keccak256(encodeAbiParameters([{ type: 'string' }, { type: 'address' }, { type: 'bytes32' }], ['lilynode draw secret', escrow, dealId]))
  return keccak256(await wallet.signMessage({ account, message: { raw } }))
}

/** The commitment to a draw secret, as LilyEscrow.commitment computes it: keccak256(abi.encode(dealId, party, secret)). */
export function drawCommitment (dealId: Hex, party: Address, secret: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'address' }, { type: 'bytes32' }], [dealId, party, secret]))
}

/** This account's commitment for a deal (what submitResult and challenge send). */
export async function ownCommitment (client: ChainClients, escrow: Address, dealId: Hex): Promise<Hex> {
  const { account } = requireWallet(client, 'drawCommitment')
  return drawCommitment(dealId, account.address, await drawSecret(client, escrow, dealId))
}

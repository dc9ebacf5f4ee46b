/**
 * Which peer each party (chain address) was last seen gossiping from: where a deal acceptance
 * is sent directly, and (by its size) this node's estimate of the network size.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Address } from '../../protocol/index.js'

/** At most this many parties are remembered (the oldest is forgotten first). */
const MAX_PARTIES = 65_536

export class PartyPeers {
  private readonly byAddress = new Map<Address, string>()

  /** Records that `address` gossiped through `peer` (a peer id string). */
  seen (address: Address, peer: string): void {
    if (!this.byAddress.has(address) && this.byAddress.size >= MAX_PARTIES) {
      const oldest = this.byAddress.keys().next().value
      if (oldest !== undefined) this.byAddress.delete(oldest)
    }
    this.byAddress.set(address, peer)
  }

  /** The peer id a party's address was last seen gossiping from. */
  peerOf (address: Address): PeerId | undefined {
    const s = this.byAddress.get(address.toLowerCase() as Address)
    return s === undefined ? undefined : peerIdFromString(s)
  }

  /** Distinct parties seen. */
  get size (): number { return this.byAddress.size }
}

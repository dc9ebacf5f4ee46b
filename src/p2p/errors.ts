/**
 * Typed errors of the p2p layer. Codes are AREA_REASON and stable: the RPC codes travel in
 * refusals (`{"ok":false,"code":…}`), the gossip codes label the validators' counters next to
 * the PROTOCOL_* codes of src/protocol.
 */
export type P2pErrorCode =
  | 'P2P_RPC_TIMEOUT'
  | 'P2P_RPC_TOO_LARGE'
  | 'P2P_RPC_BAD_REQUEST'
  | 'P2P_RPC_REMOTE'
  | 'P2P_BAD_ADDRESS'

export class P2pError extends Error {
  override readonly name = 'P2pError'
  constructor (readonly code: P2pErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A gossip-level refusal: the code is counted, the action becomes the validator result. */
export class GossipRefusal extends Error {
  override readonly name = 'GossipRefusal'
  constructor (readonly code: string, readonly action: 'reject' | 'ignore', message: string) {
    super(message)
  }
}

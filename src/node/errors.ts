/**
 * Typed errors of the node. Codes are AREA_REASON and stable; the gossip codes are the ones the
 * validators count (see gossip.ts) next to the PROTOCOL_* codes of src/protocol.
 */
export type NodeErrorCode =
  | 'NODE_DB_LOCKED'
  | 'NODE_DB_CLOSED'
  | 'NODE_DB_CORRUPT'
  | 'NODE_NOT_STARTED'
  | 'NODE_WRONG_PUBLISHER'
  | 'NODE_RATE_LIMITED'
  | 'NODE_EPOCH_FULL'
  | 'NODE_WRONG_TOPIC'
  | 'NODE_RPC_TIMEOUT'
  | 'NODE_RPC_TOO_LARGE'
  | 'NODE_RPC_BAD_REQUEST'
  | 'NODE_RPC_REMOTE'
  | 'NODE_SYNC_FAILED'
  | 'NODE_SNAPSHOT_UNVERIFIED'
  | 'NODE_DOUBLE_SIGN'
  | 'NODE_NOT_A_PARTY'
  | 'NODE_BAD_ADDRESS'

export class NodeError extends Error {
  override readonly name = 'NodeError'
  constructor (readonly code: NodeErrorCode, message: string, options?: { cause?: unknown }) {
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

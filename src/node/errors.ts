/**
 * Typed errors of the node. Codes are AREA_REASON and stable; the codes of the p2p layer
 * (RPC, gossip) are in src/p2p/errors.ts.
 */
import { LilyError } from '../protocol/errors.js'
export type NodeErrorCode =
  | 'NODE_DB_LOCKED'
  | 'NODE_DB_CLOSED'
  | 'NODE_DB_CORRUPT'
  | 'NODE_NOT_STARTED'
  | 'NODE_WRONG_PUBLISHER'
  | 'NODE_RATE_LIMITED'
  | 'NODE_EPOCH_FULL'
  | 'NODE_WRONG_TOPIC'
  | 'NODE_SYNC_FAILED'
  | 'NODE_SNAPSHOT_UNVERIFIED'
  | 'NODE_DOUBLE_SIGN'
  | 'NODE_NOT_A_PARTY'
  | 'NODE_BAD_OPTION'

export class NodeError extends LilyError<NodeErrorCode> {
  override readonly name = 'NodeError'
}

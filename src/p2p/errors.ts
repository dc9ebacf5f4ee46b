/**
 * Typed errors of the p2p layer. Codes are AREA_REASON and stable: the RPC codes travel in
 * refusals (`{"ok":false,"code":…}`), the gossip codes label the validators' counters next to
 * the PROTOCOL_* codes of src/protocol.
 */
import { LilyError } from '../protocol/errors.js'
export type P2pErrorCode =
  | 'P2P_RPC_TIMEOUT'
  | 'P2P_RPC_TOO_LARGE'
  | 'P2P_RPC_BAD_REQUEST'
  | 'P2P_RPC_REMOTE'
  | 'P2P_BAD_ADDRESS'

export class P2pError extends LilyError<P2pErrorCode> {
  override readonly name = 'P2pError'
}

/** A gossip-level refusal: the code is counted, the action becomes the validator result. */
export class GossipRefusal extends LilyError {
  override readonly name = 'GossipRefusal'
  constructor (code: string, readonly action: 'reject' | 'ignore', message: string) {
    super(code, message)
  }
}

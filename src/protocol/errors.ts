/**
 * Typed protocol errors. Every error has a stable `code` (AREA_REASON) and the gossip action it
 * maps to: `reject` (the message is invalid; the sender's score drops) or `ignore` (valid but
 * late, early, duplicate or superseded; nobody is punished).
 */
export type GossipAction = 'reject' | 'ignore'

export type ProtocolErrorCode =
  | 'PROTOCOL_TOO_LARGE'
  | 'PROTOCOL_MALFORMED'
  | 'PROTOCOL_UNKNOWN_FIELD'
  | 'PROTOCOL_MISSING_FIELD'
  | 'PROTOCOL_BAD_TYPE'
  | 'PROTOCOL_BAD_HEX'
  | 'PROTOCOL_OUT_OF_BOUNDS'
  | 'PROTOCOL_BAD_SIGNATURE'
  | 'PROTOCOL_HIGH_S'
  | 'PROTOCOL_WRONG_SIGNER'
  | 'PROTOCOL_UNKNOWN_KIND'
  | 'PROTOCOL_EPOCH_TOO_OLD'
  | 'PROTOCOL_EPOCH_TOO_NEW'
  | 'PROTOCOL_DUPLICATE'
  | 'PROTOCOL_BAD_MODULE'
  | 'PROTOCOL_BAD_PROFILE'
  | 'PROTOCOL_BAD_KEY'

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  constructor (
    readonly code: ProtocolErrorCode,
    readonly action: GossipAction,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
  }
}

export function isProtocolError (e: unknown): e is ProtocolError {
  return e instanceof ProtocolError
}

/**
 * Typed errors. `LilyError` is the one base of every typed error of the code base (each layer
 * extends it with its own codes): a stable `code` (AREA_REASON), a short message that says what
 * went wrong and how to fix it, optional structured `details`, and the `cause` chain, which
 * `walk` follows (like viem's BaseError). ProtocolError adds the gossip action it maps to:
 * `reject` (the message is invalid; the sender's score drops) or `ignore` (valid but late,
 * early, duplicate or superseded; nobody is punished).
 */
export interface LilyErrorOptions {
  cause?: unknown
  /** Structured context (ids, limits, amounts): for logs and JSON output, never secrets. */
  details?: Record<string, unknown>
}

export class LilyError<C extends string = string> extends Error {
  override readonly name: string = 'LilyError'
  readonly details?: Record<string, unknown>

  constructor (readonly code: C, message: string, options: LilyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    if (options.details !== undefined) this.details = options.details
  }

  /** The message without context: what went wrong and how to fix it. */
  get shortMessage (): string { return this.message }

  /**
   * Follows the cause chain (at most 32 links): the first error for which `fn` is true, or
   * without `fn` the deepest cause. Undefined when `fn` matches nothing.
   */
  walk (fn?: (e: unknown) => boolean): unknown {
    let e: unknown = this
    for (let i = 0; i < 32; i++) {
      if (fn !== undefined && fn(e)) return e
      const next = e instanceof Error ? e.cause : undefined
      if (next === undefined || next === e) return fn === undefined ? e : undefined
      e = next
    }
    return fn === undefined ? e : undefined
  }

  /** `[CODE] message`, then each cause's message (`caused by: …`), one line each. */
  describe (): string {
    const lines = [`[${this.code}] ${this.message}`]
    let e: unknown = this.cause
    for (let i = 0; i < 8 && e !== undefined; i++) {
      const code = e instanceof LilyError ? `[${e.code}] ` : ''
      lines.push(`caused by: ${code}${e instanceof Error ? e.message : String(e)}`)
      e = e instanceof Error ? e.cause : undefined
    }
    return lines.join('\n')
  }
}

/** Whether `e` is a typed error of this code base (optionally with `code`). */
export function isLilyError (e: unknown, code?: string): e is LilyError {
  return e instanceof LilyError && (code === undefined || e.code === code)
}

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

export class ProtocolError extends LilyError<ProtocolErrorCode> {
  override readonly name = 'ProtocolError'
  constructor (
    code: ProtocolErrorCode,
    readonly action: GossipAction,
    message: string,
    options?: LilyErrorOptions
  ) {
    super(code, message, options)
  }
}

export function isProtocolError (e: unknown): e is ProtocolError {
  return e instanceof ProtocolError
}

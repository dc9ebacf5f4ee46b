/**
 * Who may call the API. Loopback peers may call without a token (the API is off by default
 * and loopback-only unless told otherwise); any other peer must send
 * `Authorization: Bearer <token>`, compared in constant time. A node bound to a non-loopback
 * address refuses to start without a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import { ApiError } from './schema.js'

/** Shortest token accepted: a guessable token on a network port is no protection. */
export const MIN_TOKEN_LENGTH = 16

/** Whether an IP address (as node:net reports a peer or a bind address) is loopback. */
export function isLoopback (address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  if (a === '::1' || a === 'localhost') return true
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a
  return isIP(v4) === 4 && v4.startsWith('127.')
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** Constant-time string comparison (the lengths leak nothing: both sides are hashed first). */
export function tokensEqual (given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

export type AuthDecision = { ok: true } | { ok: false, error: ApiError }

/**
 * The access decision for one request: `remote` is the peer's IP address, `authorization`
 * the header as sent (or undefined), `token` the API's token (or undefined).
 */
export function authorize (remote: string | undefined, authorization: string | undefined, token: string | undefined): AuthDecision {
  const local = remote !== undefined && isLoopback(remote)
  const deny = (message: string): AuthDecision => ({ ok: false, error: new ApiError('API_UNAUTHORIZED', 401, message, { 'www-authenticate': 'Bearer realm="lilynode"' }) })
  if (authorization === undefined) {
    if (local) return { ok: true }
    return deny(`requests from ${remote ?? 'an unknown address'} need the header 'Authorization: Bearer <token>' (the token the node's API was started with)`)
  }
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization)
  if (m === null) return deny("the Authorization header must be 'Bearer <token>'")
  if (token === undefined) {
    // without a configured token only loopback peers get in, and the header proves nothing
    return local ? { ok: true } : deny('this API has no token configured and only answers loopback peers')
  }
  if (!tokensEqual(m[1], token)) return deny('the bearer token is wrong')
  return { ok: true }
}

/** Checks the token configuration for a bind address before the server starts. */
export function checkBindToken (host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ApiError('API_TOKEN_REQUIRED', 0, `the API token must be at least ${MIN_TOKEN_LENGTH} characters long (e.g. openssl rand -hex 24)`)
  }
  if (!isLoopback(host) && token === undefined) {
    throw new ApiError('API_TOKEN_REQUIRED', 0, `refusing to serve the API on the non-loopback address ${host} without a token; give a token (at least ${MIN_TOKEN_LENGTH} characters) or listen on 127.0.0.1`)
  }
}

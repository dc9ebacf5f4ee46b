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

// ---------------------------------------------------------------- Host and Origin (DNS rebinding)

/** `host[:port]` of a Host header, the name lower-cased and IPv6 brackets removed; undefined when malformed. */
function splitHost (header: string): { name: string, port: number | undefined } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?$/.exec(header.trim())
  if (m === null) return undefined
  return { name: m[1].toLowerCase().replace(/^\[|\]$/g, ''), port: m[2] === undefined ? undefined : Number(m[2]) }
}

const WILDCARD = new Set(['0.0.0.0', '::'])
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1']

/**
 * Whether a request's Host header names this API: the bind address and the port it listens
 * on; when bound to loopback, also localhost / 127.0.0.1 / [::1] on that port; when bound to
 * every interface, any IP literal (a DNS name is what a rebinding page uses, an address is
 * not). A page of another site whose name resolves to 127.0.0.1 sends its own name and is
 * refused, so it can neither post jobs nor read their answers. Returns the refusal, or
 * undefined when the host is fine.
 */
export function checkHost (header: string | undefined, bind: { host: string, port: number }, allowed: readonly string[] = []): ApiError | undefined {
  const self = `${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${bind.port}`
  const refuse = (what: string): ApiError => new ApiError('API_BAD_HOST', 403, `${what}; this API answers requests addressed to http://${self}${isLoopback(bind.host) ? ' (or localhost on that port)' : ''}. A web page of another site that resolves to this machine is refused (DNS rebinding)`)
  if (header === undefined || header === '') return refuse('the request has no Host header')
  const h = splitHost(header)
  if (h === undefined) return refuse(`the Host header ${JSON.stringify(header.slice(0, 80))} is malformed`)
  const bound = bind.host.toLowerCase()
  const names = new Set([bound, ...allowed.map((a) => a.toLowerCase()), ...(isLoopback(bound) || WILDCARD.has(bound) ? LOOPBACK_NAMES : [])])
  const nameOk = names.has(h.name) || (WILDCARD.has(bound) && isIP(h.name) !== 0)
  if (!nameOk || (h.port ?? 80) !== bind.port) return refuse(`the Host header ${JSON.stringify(header.slice(0, 80))} does not name this API`)
  return undefined
}

/** `scheme://host[:port]`, lower-cased: the form browsers send in Origin. Throws on anything else. */
export function normalizeOrigin (origin: string): string {
  const m = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?\/?$/.exec(origin.trim())
  if (m === null) throw new ApiError('API_BAD_ORIGIN', 0, `an allowed origin must be scheme://host[:port] such as http://localhost:3000, got ${JSON.stringify(origin.slice(0, 80))}`)
  return `${m[1]}://${m[2]}${m[3] ?? ''}`.toLowerCase()
}

export type OriginDecision = { ok: true, cors: Record<string, string> } | { ok: false, error: ApiError }

/**
 * Browser requests from another origin are refused unless that origin is allowed (then they
 * get CORS headers). No Origin header (curl, the SDK) and the API's own origin (a page it
 * serves) are fine. `host` is the request's (already checked) Host header.
 */
export function checkOrigin (origin: string | undefined, host: string, allowed: readonly string[]): OriginDecision {
  if (origin === undefined) return { ok: true, cors: {} }
  const o = origin.trim().toLowerCase()
  if (o === `http://${host.trim().toLowerCase()}`) return { ok: true, cors: {} }
  if (allowed.includes(o)) return { ok: true, cors: { 'access-control-allow-origin': origin.trim(), vary: 'Origin' } }
  return { ok: false, error: new ApiError('API_BAD_ORIGIN', 403, `requests from web pages of ${JSON.stringify(origin.slice(0, 80))} are refused; allow that origin when starting the node (--api-allow-origin ${o.startsWith('http') ? o : 'http://host:port'}) if it should reach this API`) }
}

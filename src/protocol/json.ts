/**
 * JSON with bigints, the one codec for everything the node stores and sends outside the
 * canonical gossip encoding (store values, sync/query/transfer frames, lifecycle records): a
 * bigint is written as `{"$n":"<decimal>"}` and read back as a bigint, so deals and offers
 * round-trip exactly.
 *
 * Reading is bounded: a `$n` holds at most MAX_BIGINT_DIGITS decimal digits (no sign but `-`,
 * no leading zeros, no hex), so a stranger's frame cannot make BigInt() parse a million digits
 * on the event loop. Anything else shaped like `{"$n": …}` is refused rather than passed on as
 * an object.
 */
import { LilyError } from './errors.js'

/** uint256 has 78 decimal digits; 80 leaves room for a sign and nothing more. */
export const MAX_BIGINT_DIGITS = 80

const BIGINT_RE = new RegExp(`^-?(?:0|[1-9][0-9]{0,${MAX_BIGINT_DIGITS - 1}})$`)

/** A `{"$n": …}` value that is not a bounded decimal integer. */
export class JsonBigIntError extends LilyError<'PROTOCOL_BAD_BIGINT'> {
  override readonly name = 'JsonBigIntError'
  constructor (message: string) { super('PROTOCOL_BAD_BIGINT', message) }
}

export function toJson (value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint' ? { $n: v.toString(10) } : v)
}

export function fromJson<T> (text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, '$n')) {
      const o = v as Record<string, unknown>
      const n = o.$n
      if (Object.keys(o).length !== 1 || typeof n !== 'string' || !BIGINT_RE.test(n)) {
        throw new JsonBigIntError(`a {"$n": …} value must be a decimal integer of at most ${MAX_BIGINT_DIGITS} digits with no other keys, got ${JSON.stringify(typeof n === 'string' ? n.slice(0, 24) : typeof n)}`)
      }
      return BigInt(n)
    }
    return v
  }) as T
}

/**
 * JSON with bigints, for what the lifecycle stores and sends: a bigint is written as
 * `{"$n":"<decimal>"}` and read back as a bigint, so deals and offers round-trip exactly.
 */
export function toJson (value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint' ? { $n: v.toString(10) } : v)
}

export function fromJson<T> (text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>
      const keys = Object.keys(o)
      if (keys.length === 1 && keys[0] === '$n' && typeof o.$n === 'string' && /^-?[0-9]{1,80}$/.test(o.$n)) return BigInt(o.$n)
    }
    return v
  }) as T
}

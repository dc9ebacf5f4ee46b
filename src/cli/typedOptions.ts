/**
 * Typed options for the lilynode binary. A command declares its options with the builders
 * below (`str`, `int`, `wei`, `hex`, `choice`, `list`, `pairs`, `flag`); `Values<typeof
 * options>` is then the type its handler receives (camelCase keys: `--max-price` → maxPrice),
 * each value already parsed and checked against its bounds. Numbers are numbers, wei are
 * bigints; an option without a default that is not required may be undefined.
 */
import { CliError } from './errors.js'
import { MAX_UINT256 } from '../protocol/constants.js'

/** Largest amount an offer field (uint96 in the EIP-712 types) can carry. */
export const U96_MAX = (1n << 96n) - 1n
/** Largest uint256 (on-chain amounts outside offers). */
export const U256_MAX = MAX_UINT256

export type OptionKind = 'value' | 'list' | 'flag'

/** One option: how it is written and how its text becomes `T`. */
export interface Opt<T> {
  readonly kind: OptionKind
  readonly description: string
  /** One-letter alias, e.g. 'i' for -i. */
  readonly short?: string
  /** The value's placeholder in help, e.g. 'wei'. */
  readonly placeholder: string
  /** The default as help shows it. */
  readonly defaultText?: string
  /** Bounds or choices as help shows them. */
  readonly rangeText?: string
  readonly required: boolean
  /** The value when the option is absent (before `required` is checked). */
  readonly absent: () => T
  /** Every occurrence's text (in order) → the value; throws a CliError naming `flag`. */
  readonly parse: (raw: string[], flag: string) => T
}

export type Options = Record<string, Opt<unknown>>

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S

/** The parsed values of an options record, keyed in camelCase. */
export type Values<O extends Options> = { -readonly [K in keyof O & string as Camel<K>]: O[K] extends Opt<infer T> ? T : never }

interface Common { description: string, short?: string, placeholder?: string, /** The default as help shows it (when not its plain text). */ defaultText?: string }
/** Whether the value is always there: a default or required. */
type Present<O> = O extends { default: unknown } ? true : O extends { required: true } ? true : false
type Val<V, O> = Present<O> extends true ? V : V | undefined

export function camel (name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
}

function single<V> (o: Common & { default?: V, required?: boolean, defaultText?: string, rangeText?: string }, placeholder: string, one: (text: string, flag: string) => V): Opt<V | undefined> {
  return {
    kind: 'value',
    description: o.description,
    ...(o.short !== undefined ? { short: o.short } : {}),
    placeholder: o.placeholder ?? placeholder,
    ...(o.defaultText !== undefined ? { defaultText: o.defaultText } : o.default !== undefined ? { defaultText: String(o.default) } : {}),
    ...(o.rangeText !== undefined ? { rangeText: o.rangeText } : {}),
    required: o.required === true,
    absent: () => o.default,
    parse: (raw, flag) => {
      if (raw.length > 1) throw new CliError(`option ${flag} is given ${raw.length} times (${raw.map((r) => `'${r}'`).join(', ')}); give it once`)
      return one(raw[0], flag)
    }
  }
}

/** A string, optionally matching `pattern` (`hint` says what it should look like). */
export function str<const O extends { default?: string, required?: boolean, pattern?: RegExp, hint?: string } & Common> (o: O): Opt<Val<string, O>> {
  return single(o, 'value', (t, flag) => {
    if (o.pattern !== undefined && !o.pattern.test(t)) throw new CliError(`option ${flag} needs ${o.hint ?? `a value matching ${String(o.pattern)}`}, got '${t}'`)
    return t
  }) as Opt<Val<string, O>>
}

/** A safe integer in [min, max]. */
export function int<const O extends { min: number, max: number, default?: number, required?: boolean } & Common> (o: O): Opt<Val<number, O>> {
  return single({ ...o, rangeText: `${o.min}..${o.max}` }, 'n', (t, flag) => {
    const n = /^-?[0-9]{1,16}$/.test(t) ? Number(t) : NaN
    if (!Number.isSafeInteger(n) || n < o.min || n > o.max) throw new CliError(`option ${flag} must be a whole number from ${o.min} to ${o.max}, got '${t}'`)
    return n
  }) as Opt<Val<number, O>>
}

/** A whole amount (wei, token units, seconds) in [min, max] as a bigint; decimal digits only. */
export function big<const O extends { min?: bigint, max?: bigint, default?: bigint, required?: boolean, unit?: string } & Common> (o: O): Opt<Val<bigint, O>> {
  const min = o.min ?? 0n
  const max = o.max ?? U96_MAX
  const unit = o.unit ?? 'wei'
  return single({ ...o, rangeText: max === U96_MAX ? (min === 0n ? '< 2^96' : `${min}..2^96-1`) : max === U256_MAX ? (min === 0n ? '< 2^256' : `${min}..2^256-1`) : `${min}..${max}` }, unit, (t, flag) => {
    const v = /^[0-9]{1,80}$/.test(t) ? BigInt(t) : undefined
    if (v === undefined) throw new CliError(`option ${flag} must be a whole number of ${unit} (decimal digits, no sign, exponent or separator), got '${t}'`)
    if (v < min) throw new CliError(`option ${flag} must be at least ${min} ${unit}, got ${t}`)
    if (v > max) throw new CliError(`option ${flag} must be at most ${max} ${unit}${max === U96_MAX ? ' (2^96-1, the largest amount an offer carries)' : ''}, got ${t}`)
    return v
  }) as Opt<Val<bigint, O>>
}

/** An amount of wei (or token units) that an offer carries: a bigint below 2^96. */
export function wei<const O extends { min?: bigint, default?: bigint, required?: boolean } & Common> (o: O): Opt<Val<bigint, O>> {
  return big({ ...o, max: U96_MAX, unit: 'wei' }) as Opt<Val<bigint, O>>
}

/** 0x + 2·bytes hex digits (an address: 20, a hash: 32), lower-cased. */
export function hex<const O extends { bytes: number, what: string, default?: `0x${string}`, required?: boolean } & Common> (o: O): Opt<Val<`0x${string}`, O>> {
  const re = new RegExp(`^0x[0-9a-fA-F]{${2 * o.bytes}}$`)
  return single(o, o.bytes === 20 ? 'address' : 'hash', (t, flag) => {
    if (!re.test(t)) throw new CliError(`option ${flag} needs ${o.what} (0x + ${2 * o.bytes} hex digits), got '${t}'`)
    return t.toLowerCase() as `0x${string}`
  }) as Opt<Val<`0x${string}`, O>>
}

/** One of `choices`. */
export function choice<const C extends readonly string[], const O extends { default?: C[number], required?: boolean } & Common> (o: O & { choices: C }): Opt<Val<C[number], O>> {
  return single({ ...o, rangeText: o.choices.join('|') }, 'name', (t, flag) => {
    if (!o.choices.includes(t)) {
      const near = closest(t, o.choices)
      throw new CliError(`option ${flag} must be one of ${o.choices.join(', ')}, got '${t}'${near !== undefined ? `; did you mean ${near}?` : ''}`)
    }
    return t as C[number]
  }) as Opt<Val<C[number], O>>
}

/** A repeatable option: every occurrence, in order, each checked by `item`. */
export function list<T = string> (o: Common & { item?: (text: string, flag: string) => T }): Opt<T[]> {
  return {
    kind: 'list',
    description: o.description,
    ...(o.short !== undefined ? { short: o.short } : {}),
    placeholder: o.placeholder ?? 'value',
    rangeText: 'repeatable',
    required: false,
    absent: () => [],
    parse: (raw, flag) => raw.map((t) => o.item === undefined ? t as T : o.item(t, flag))
  }
}

/**
 * Repeatable KEY=VALUE pairs (job inputs), kept as the `KEY=VALUE` text in order. A key given
 * twice is refused (`-i top=5 -i top=6` names `top`), not silently overridden.
 */
export function pairs (o: Common): Opt<string[]> {
  return {
    ...list(o),
    placeholder: o.placeholder ?? 'KEY=VALUE',
    parse: (raw, flag) => {
      const seen = new Map<string, string>()
      for (const t of raw) {
        const eq = t.indexOf('=')
        if (eq <= 0) throw new CliError(`option ${flag} needs KEY=VALUE, got '${t}'`)
        const key = t.slice(0, eq)
        const before = seen.get(key)
        if (before !== undefined) throw new CliError(`input '${key}' is given twice (${flag} ${key}=${before} and ${flag} ${t}); give each input once`)
        seen.set(key, t.slice(eq + 1))
      }
      return raw
    }
  }
}

/** A boolean switch (present: true); it takes no value. */
export function flag (o: Common): Opt<boolean> {
  return {
    kind: 'flag',
    description: o.description,
    ...(o.short !== undefined ? { short: o.short } : {}),
    placeholder: '',
    required: false,
    absent: () => false,
    parse: (raw, name) => {
      if (raw.length > 1) throw new CliError(`option ${name} is given ${raw.length} times; give it once`)
      return true
    }
  }
}

// ---------------------------------------------------------------- suggestions

/** Edit distance with transpositions (optimal string alignment): 'rnu' is one step from 'run'. */
function distance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_r, i) => Array.from({ length: b.length + 1 }, (_c, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The candidate nearest to `word` (edit distance at most a third of its length, or a prefix), if any. */
export function closest (word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 0.5 : distance(word, c)
    if (d < bestD) { best = c; bestD = d }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) + 0.5 ? best : undefined
}

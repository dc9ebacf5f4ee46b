/**
 * Module specs (DESIGN §7): what a job runs. A spec names a container image, a command
 * template with typed inputs, default resources and where the job writes its outputs.
 * Offers name a module by `moduleHash` (keccak256 of the spec's canonical JSON) and the
 * job inputs by `inputsHash` (keccak256 of their canonical binary encoding).
 *
 * Specs and inputs come from the network, so everything is bounded and validated here:
 * unknown fields are refused, image references and paths must match strict formats, and
 * `pattern` is a small regular-expression subset matched in linear time (no backtracking,
 * no ReDoS). Rendering never builds a shell string: each template element becomes exactly
 * one argv element.
 */
import { keccak } from './eip712.js'
import { ProtocolError, type ProtocolErrorCode } from './errors.js'
import { bytesToHex } from './hex.js'
import type { Hash, Resources } from './types.js'
import { MAX_DISK_MIB, MAX_TIMEOUT_S } from './constants.js'

// ---------------------------------------------------------------- limits

export const MAX_MODULE_SPEC_BYTES = 64 * 1024
export const MAX_INPUTS = 32
export const MAX_CMD_ELEMENTS = 64
export const MAX_ENTRYPOINT_ELEMENTS = 16
export const MAX_ARG_BYTES = 4096
export const MAX_ENV = 64
export const DEFAULT_STRING_MAX_BYTES = 4096
export const MAX_STRING_MAX_BYTES = 65536
export const DEFAULT_FILE_MAX_BYTES = 16 * 1024 * 1024
export const MAX_FILE_MAX_BYTES = 64 * 1024 * 1024
/** Bound on the encoded inputs of one job (all files together). */
export const MAX_INPUTS_BYTES = 64 * 1024 * 1024 + 64 * 1024
export const MAX_PATTERN_CHARS = 256
export const MAX_ENUM_VALUES = 64

/** Bounds of each resource field (inclusive). */
export const RESOURCE_BOUNDS: Readonly<Record<keyof Resources, readonly [number, number]>> = Object.freeze({
  cpu: [1, 1_024_000],
  ram: [6, 4_194_304],
  gpus: [0, 64],
  gpuVram: [0, 1_048_576],
  disk: [0, MAX_DISK_MIB]
})

// ---------------------------------------------------------------- types

export type InputType = 'string' | 'int' | 'bool' | 'file'

export interface StringInputSpec {
  type: 'string'
  description?: string
  default?: string
  /** UTF-8 bytes; defaults to DEFAULT_STRING_MAX_BYTES. */
  maxBytes: number
  /** Whole-value match; see `compilePattern` for the accepted subset. */
  pattern?: string
  enum?: string[]
}

export interface IntInputSpec {
  type: 'int'
  description?: string
  default?: number
  min?: number
  max?: number
}

export interface BoolInputSpec {
  type: 'bool'
  description?: string
  default?: boolean
}

/** A file input: its bytes are delivered read-only at `<inputPath>/<input name>`. */
export interface FileInputSpec {
  type: 'file'
  description?: string
  /** Defaults to DEFAULT_FILE_MAX_BYTES. */
  maxBytes: number
}

export type InputSpec = StringInputSpec | IntInputSpec | BoolInputSpec | FileInputSpec

/**
 * How a disputed result is checked (the creator's acceptance and the mediator's ruling follow it):
 * - `exact`: the mediator's re-run must give the same result hash (the default);
 * - `verifier`: the module's own program, run in its image by the mediator, decides whether the
 *   provider's outputs are acceptable next to the re-run's (within the module's tolerance);
 * - `none`: results are not mediated; the creator is told so before the deal opens.
 */
export type Verification =
  | { kind: 'exact' }
  | {
    kind: 'verifier'
    /**
     * argv in the module's image; two paths are appended: the tar of the provider's output
     * folder, then the tar of the re-run's. Exit 0 accepts, 1 rejects, anything else (or a
     * timeout) leaves the ruling to the exact comparison.
     */
    cmd: string[]
    /** Seconds the verifier may run. Default 120. */
    timeoutS: number
  }
  | { kind: 'none' }

export const DEFAULT_VERIFIER_TIMEOUT_S = 120
export const MAX_VERIFIER_TIMEOUT_S = 3600
export const MAX_MODULE_TIMEOUT_S = MAX_TIMEOUT_S

/** A parsed, normalized module spec (defaults filled in, so equal specs hash equally). */
export interface ModuleSpec {
  name: string
  version: string
  /** `repo:tag`, `repo@sha256:<64 hex>` or `repo:tag@sha256:<64 hex>`. */
  image: string
  description?: string
  /** Replaces the image's entrypoint when given; no placeholders. */
  entrypoint?: string[]
  /** Command template: each element is one argv element; `{{input}}` placeholders. */
  cmd: string[]
  /** Fixed environment; no placeholders. */
  env: Record<string, string>
  inputs: Record<string, InputSpec>
  /** Where file inputs appear in the container (read-only). Default /inputs. */
  inputPath: string
  /** The folder whose content is the job's output. Default /outputs. */
  outputPath: string
  /** Default resources of a job of this module. */
  resources: Resources
  /** Whether the module needs network access (the provider must also allow it). */
  network: boolean
  /** How a result is checked; absent means `{ kind: 'exact' }` (see `verificationOf`). */
  verification?: Verification
  /** The job timeout a creator uses when it names none, in seconds. */
  timeoutS?: number
}

/** The spec's verification, with the default filled in. */
export function verificationOf (spec: Pick<ModuleSpec, 'verification'>): Verification {
  return spec.verification ?? { kind: 'exact' }
}

/** A value of a job input: string, safe integer, boolean or file bytes. */
export type InputValue = string | number | boolean | Uint8Array
export type JobInputs = Record<string, InputValue>

/** A file to deliver into the container. */
export interface InputFile {
  /** Input name, also the file name under `inputPath`. */
  name: string
  /** Absolute path inside the container. */
  containerPath: string
  bytes: Uint8Array
}

export interface RenderedCommand {
  entrypoint?: string[]
  /** argv after the entrypoint; never interpreted by a shell. */
  cmd: string[]
  /** `KEY=value` strings. */
  env: string[]
  files: InputFile[]
}

// ---------------------------------------------------------------- errors

function bad (message: string, code: ProtocolErrorCode = 'PROTOCOL_BAD_MODULE'): ProtocolError {
  return new ProtocolError(code, 'reject', message)
}

// ---------------------------------------------------------------- canonical JSON

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, undefined skipped,
 * numbers only as safe integers.
 */
export function canonicalJson (v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw bad(`canonical JSON holds only safe integers, got ${v}`)
    return String(v)
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`
  }
  throw bad(`canonical JSON cannot hold a ${typeof v}`)
}

// ---------------------------------------------------------------- field readers

type Obj = Record<string, unknown>

function isObj (v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function onlyKeys (o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw bad(`${where}: unknown field "${k}" (allowed: ${allowed.join(', ')})`)
  }
}

const enc = new TextEncoder()
const utf8Len = (s: string): number => enc.encode(s).length

function str (v: unknown, where: string, maxBytes: number, re?: RegExp, hint?: string): string {
  if (typeof v !== 'string') throw bad(`${where} must be a string`)
  if (utf8Len(v) > maxBytes) throw bad(`${where} is longer than ${maxBytes} bytes`)
  if (v.includes('\0')) throw bad(`${where} must not contain NUL`)
  if (re !== undefined && !re.test(v)) throw bad(`${where} "${v.slice(0, 80)}" is malformed${hint !== undefined ? `: ${hint}` : ''}`)
  return v
}

function int (v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(`${where} must be an integer`)
  if (v < min || v > max) throw bad(`${where} must be in [${min}, ${max}], got ${v}`)
  return v
}

function strArray (v: unknown, where: string, maxLen: number, minLen = 0): string[] {
  if (!Array.isArray(v)) throw bad(`${where} must be an array of strings`)
  if (v.length > maxLen || v.length < minLen) throw bad(`${where} must have ${minLen}..${maxLen} elements, got ${v.length}`)
  return v.map((e, i) => str(e, `${where}[${i}]`, MAX_ARG_BYTES))
}

// ---------------------------------------------------------------- formats

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/
const INPUT_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/
const PATH_RE = /^(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){1,16}$/
const RESERVED_PATHS = ['/proc', '/sys', '/dev', '/tmp', '/etc', '/bin', '/sbin', '/usr', '/lib', '/lib64']

// Docker's reference grammar (distribution/reference), with a tag or a digest required.
const DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,62}[a-zA-Z0-9])'
// A first component is a registry host only with a dot, a port or as localhost (as in Docker).
const PORT = '(?::[0-9]{1,5})'
const DOMAIN = `(?:(?:localhost${PORT}?|${DOMAIN_PART}(?:\\.${DOMAIN_PART}){1,9}${PORT}?|${DOMAIN_PART}${PORT})/)`
const PATH_COMPONENT = '[a-z0-9]{1,64}(?:(?:[._]|__|-{1,8})[a-z0-9]{1,64}){0,16}'
const IMAGE_RE = new RegExp(
  `^(${DOMAIN}?${PATH_COMPONENT}(?:/${PATH_COMPONENT}){0,8})(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`
)

/** The parts of an image reference. */
export interface ImageRef {
  repository: string
  tag?: string
  digest?: `sha256:${string}`
}

/** Parses `repo[:tag][@sha256:…]`; a tag or a digest is required (no implicit `latest`). */
export function parseImageRef (image: string): ImageRef {
  if (typeof image !== 'string' || image.length > 255) throw bad('image must be a string of at most 255 characters')
  const m = IMAGE_RE.exec(image)
  if (m === null) {
    throw bad(`image "${image.slice(0, 80)}" is not a valid reference: use repo:tag, repo@sha256:<64 hex> or repo:tag@sha256:<64 hex> (lower-case repository)`)
  }
  const [, repository, tag, digest] = m
  if (tag === undefined && digest === undefined) throw bad(`image "${image}" needs a tag or a digest (no implicit latest)`)
  const ref: ImageRef = { repository }
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest as `sha256:${string}`
  return ref
}

function containerPath (v: unknown, where: string): string {
  const p = str(v, where, 255, PATH_RE, 'an absolute path of [A-Za-z0-9._-] components, none starting with "."')
  for (const r of RESERVED_PATHS) {
    if (p === r || p.startsWith(r + '/')) throw bad(`${where} "${p}" lies in the reserved ${r}`)
  }
  return p
}

// ---------------------------------------------------------------- patterns

interface Atom {
  /** Tests one code point. */
  test: (cp: number) => boolean
  min: number
  /** Infinity when unbounded. */
  max: number
}

const MAX_REPEAT = 256

function classEscape (c: string): ((cp: number) => boolean) | undefined {
  const digit = (cp: number): boolean => cp >= 48 && cp <= 57
  const word = (cp: number): boolean => digit(cp) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95
  const space = (cp: number): boolean => cp === 32 || (cp >= 9 && cp <= 13)
  switch (c) {
    case 'd': return digit
    case 'D': return (cp) => !digit(cp)
    case 'w': return word
    case 'W': return (cp) => !word(cp)
    case 's': return space
    case 'S': return (cp) => !space(cp)
    default: return undefined
  }
}

const LITERAL_ESCAPES = new Set('\\^$.|?*+()[]{}-/'.split(''))

/**
 * Compiles a pattern of this subset (always matched against the whole value):
 * optional leading `^` and trailing `$`; atoms: a literal, `.`, `\d \w \s \D \W \S`, an
 * escaped metacharacter, a class `[...]` (ranges, `^` negation, escapes); each atom with
 * an optional quantifier `? * + {n} {n,} {n,m}` (n, m ≤ 256). No groups, alternation or
 * back-references, so matching is linear in the input (`matchPattern`).
 */
export function compilePattern (pattern: string): Atom[] {
  if (pattern.length > MAX_PATTERN_CHARS) throw bad(`pattern is longer than ${MAX_PATTERN_CHARS} characters`)
  const cps = Array.from(pattern)
  let i = 0
  let end = cps.length
  if (cps[0] === '^') i = 1
  if (end > i && cps[end - 1] === '$' && cps[end - 2] !== '\\') end--
  const atoms: Atom[] = []
  const fail: (why: string) => never = (why) => { throw bad(`pattern "${pattern.slice(0, 80)}": ${why} at ${i}`) }
  while (i < end) {
    const c = cps[i]
    let test: (cp: number) => boolean = () => false
    if (c === '\\') {
      const e = cps[i + 1]
      if (e === undefined) fail('dangling backslash')
      const cls = classEscape(e)
      if (cls !== undefined) test = cls
      else if (LITERAL_ESCAPES.has(e)) { const cp = e.codePointAt(0) as number; test = (x) => x === cp } else fail(`unsupported escape \\${e}`)
      i += 2
    } else if (c === '[') {
      ;({ test, next: i } = parseClass(cps, i + 1, fail))
    } else if (c === '.') {
      test = () => true
      i++
    } else if ('()|{}*+?]$^'.includes(c)) {
      fail(`unsupported or misplaced "${c}" (no groups, alternation or anchors inside)`)
    } else {
      const cp = c.codePointAt(0) as number
      test = (x) => x === cp
      i++
    }
    let min = 1
    let max = 1
    const q = cps[i]
    if (q === '?') { min = 0; i++ } else if (q === '*') { min = 0; max = Infinity; i++ } else if (q === '+') { max = Infinity; i++ } else if (q === '{') {
      const close = cps.indexOf('}', i)
      const body = close < 0 ? '' : cps.slice(i + 1, close).join('')
      const m = /^([0-9]{1,3})(,([0-9]{0,3}))?$/.exec(body)
      if (m === null) fail('bad {n,m} quantifier')
      const mm = m as RegExpExecArray
      min = Number(mm[1])
      max = mm[2] === undefined ? min : (mm[3] === '' ? Infinity : Number(mm[3]))
      if (min > MAX_REPEAT || (max !== Infinity && (max > MAX_REPEAT || max < min))) fail(`quantifier bounds must satisfy n ≤ m ≤ ${MAX_REPEAT}`)
      i = close + 1
    }
    if ('?*+{'.includes(cps[i] ?? '') && i < end) fail('stacked quantifiers')
    atoms.push({ test, min, max })
    if (atoms.length > 128) fail('more than 128 atoms')
  }
  return atoms
}

function parseClass (cps: string[], start: number, fail: (why: string) => never): { test: (cp: number) => boolean, next: number } {
  let i = start
  let negate = false
  if (cps[i] === '^') { negate = true; i++ }
  const ranges: Array<[number, number]> = []
  const fns: Array<(cp: number) => boolean> = []
  let first = true
  const readChar = (): number | ((cp: number) => boolean) => {
    const c = cps[i]
    if (c === undefined) fail('unterminated class')
    if (c === '\\') {
      const e = cps[i + 1]
      if (e === undefined) fail('dangling backslash')
      i += 2
      const cls = classEscape(e)
      if (cls !== undefined) return cls
      if (!LITERAL_ESCAPES.has(e)) fail(`unsupported escape \\${e}`)
      return e.codePointAt(0) as number
    }
    i++
    return c.codePointAt(0) as number
  }
  while (cps[i] !== ']' || first) {
    first = false
    if (cps[i] === undefined) fail('unterminated class')
    const lo = readChar()
    if (typeof lo === 'function') { fns.push(lo); continue }
    if (cps[i] === '-' && cps[i + 1] !== ']' && cps[i + 1] !== undefined) {
      i++
      const hi = readChar()
      if (typeof hi === 'function' || hi < lo) fail('bad class range')
      ranges.push([lo, hi as number])
    } else {
      ranges.push([lo, lo])
    }
  }
  const test = (cp: number): boolean => {
    const hit = ranges.some(([a, b]) => cp >= a && cp <= b) || fns.some((f) => f(cp))
    return hit !== negate
  }
  return { test, next: i + 1 }
}

/** Whole-value match of compiled atoms; O(|value| × states), no backtracking. */
export function matchPattern (atoms: Atom[], value: string): boolean {
  // A state is (atom index, repetitions so far); unbounded atoms cap the count at min.
  const key = (a: number, c: number): number => a * 1024 + c
  const closure = (set: Set<number>): Set<number> => {
    const stack = [...set]
    while (stack.length > 0) {
      const s = stack.pop() as number
      const a = Math.floor(s / 1024)
      const c = s % 1024
      if (a < atoms.length && c >= atoms[a].min) {
        const n = key(a + 1, 0)
        if (!set.has(n)) { set.add(n); stack.push(n) }
      }
    }
    return set
  }
  let states = closure(new Set([key(0, 0)]))
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number
    const next = new Set<number>()
    for (const s of states) {
      const a = Math.floor(s / 1024)
      const c = s % 1024
      if (a >= atoms.length) continue
      const atom = atoms[a]
      if (c >= atom.max || !atom.test(cp)) continue
      const nc = atom.max === Infinity ? Math.min(c + 1, atom.min) : c + 1
      next.add(key(a, nc))
    }
    if (next.size === 0) return false
    states = closure(next)
  }
  return states.has(key(atoms.length, 0))
}

// ---------------------------------------------------------------- parsing

function parseInputSpec (v: unknown, where: string): InputSpec {
  if (!isObj(v)) throw bad(`${where} must be an object`)
  const description = v.description === undefined ? undefined : str(v.description, `${where}.description`, 1024)
  switch (v.type) {
    case 'string': {
      onlyKeys(v, ['type', 'description', 'default', 'maxBytes', 'pattern', 'enum'], where)
      const spec: StringInputSpec = {
        type: 'string',
        maxBytes: v.maxBytes === undefined ? DEFAULT_STRING_MAX_BYTES : int(v.maxBytes, `${where}.maxBytes`, 1, MAX_STRING_MAX_BYTES)
      }
      if (description !== undefined) spec.description = description
      if (v.pattern !== undefined) {
        spec.pattern = str(v.pattern, `${where}.pattern`, MAX_PATTERN_CHARS * 4)
        compilePattern(spec.pattern)
      }
      if (v.enum !== undefined) {
        spec.enum = strArray(v.enum, `${where}.enum`, MAX_ENUM_VALUES, 1)
        if (new Set(spec.enum).size !== spec.enum.length) throw bad(`${where}.enum has duplicates`)
      }
      if (v.default !== undefined) {
        spec.default = str(v.default, `${where}.default`, spec.maxBytes)
        checkString(spec, spec.default, `${where}.default`, (m) => bad(m))
      }
      return spec
    }
    case 'int': {
      onlyKeys(v, ['type', 'description', 'default', 'min', 'max'], where)
      const spec: IntInputSpec = { type: 'int' }
      if (description !== undefined) spec.description = description
      const lim = Number.MAX_SAFE_INTEGER
      if (v.min !== undefined) spec.min = int(v.min, `${where}.min`, -lim, lim)
      if (v.max !== undefined) spec.max = int(v.max, `${where}.max`, spec.min ?? -lim, lim)
      if (v.default !== undefined) spec.default = int(v.default, `${where}.default`, spec.min ?? -lim, spec.max ?? lim)
      return spec
    }
    case 'bool': {
      onlyKeys(v, ['type', 'description', 'default'], where)
      const spec: BoolInputSpec = { type: 'bool' }
      if (description !== undefined) spec.description = description
      if (v.default !== undefined) {
        if (typeof v.default !== 'boolean') throw bad(`${where}.default must be a boolean`)
        spec.default = v.default
      }
      return spec
    }
    case 'file': {
      onlyKeys(v, ['type', 'description', 'maxBytes'], where)
      const spec: FileInputSpec = {
        type: 'file',
        maxBytes: v.maxBytes === undefined ? DEFAULT_FILE_MAX_BYTES : int(v.maxBytes, `${where}.maxBytes`, 1, MAX_FILE_MAX_BYTES)
      }
      if (description !== undefined) spec.description = description
      return spec
    }
    default:
      throw bad(`${where}.type must be one of string, int, bool, file`)
  }
}

function parseResources (v: unknown): Resources {
  if (!isObj(v)) throw bad('resources must be an object {cpu, ram, gpus, gpuVram, disk}')
  const keys = Object.keys(RESOURCE_BOUNDS) as Array<keyof Resources>
  onlyKeys(v, keys, 'resources')
  const out = { cpu: 1000, ram: 256, gpus: 0, gpuVram: 0, disk: 0 }
  for (const k of keys) {
    if (v[k] !== undefined) out[k] = int(v[k], `resources.${k}`, RESOURCE_BOUNDS[k][0], RESOURCE_BOUNDS[k][1])
  }
  if (out.gpus === 0 && out.gpuVram !== 0) throw bad('resources.gpuVram must be 0 when resources.gpus is 0')
  return out
}

const PLACEHOLDER_RE = /\{\{([^{}]*)\}\}/g

function checkTemplate (element: string, where: string, inputs: Record<string, InputSpec>): void {
  for (const m of element.matchAll(PLACEHOLDER_RE)) {
    if (!Object.hasOwn(inputs, m[1])) throw bad(`${where} uses {{${m[1]}}}, which is not a declared input`)
  }
  if (element.replace(PLACEHOLDER_RE, '').includes('{{') || element.replace(PLACEHOLDER_RE, '').includes('}}')) {
    throw bad(`${where} has an unbalanced "{{" or "}}"`)
  }
}

const SPEC_KEYS = ['name', 'version', 'image', 'description', 'entrypoint', 'cmd', 'env', 'inputs', 'inputPath', 'outputPath', 'resources', 'network', 'verification', 'timeoutS'] as const

/** `{kind:'exact'}` normalizes to absent, so that a spec saying it hashes as one that does not. */
function parseVerification (v: unknown): Verification | undefined {
  if (!isObj(v)) throw bad('verification must be an object {kind: "exact" | "verifier" | "none", …}')
  switch (v.kind) {
    case 'exact':
      onlyKeys(v, ['kind'], 'verification')
      return undefined
    case 'none':
      onlyKeys(v, ['kind'], 'verification')
      return { kind: 'none' }
    case 'verifier':
      onlyKeys(v, ['kind', 'cmd', 'timeoutS'], 'verification')
      if (v.cmd === undefined) throw bad('verification: a verifier needs "cmd", its argv in the module\'s image')
      return {
        kind: 'verifier',
        cmd: strArray(v.cmd, 'verification.cmd', MAX_ENTRYPOINT_ELEMENTS, 1),
        timeoutS: v.timeoutS === undefined ? DEFAULT_VERIFIER_TIMEOUT_S : int(v.timeoutS, 'verification.timeoutS', 1, MAX_VERIFIER_TIMEOUT_S)
      }
    default:
      throw bad(`verification.kind must be exact, verifier or none, got ${JSON.stringify(String(v.kind)).slice(0, 40)}`)
  }
}

/**
 * Parses and validates a module spec from JSON text, UTF-8 bytes or a plain object, and
 * returns it normalized (defaults filled in). Throws ProtocolError PROTOCOL_BAD_MODULE
 * (or PROTOCOL_TOO_LARGE / PROTOCOL_MALFORMED) with the offending field in the message.
 */
export function parseModuleSpec (json: string | Uint8Array | unknown): ModuleSpec {
  let v: unknown = json
  if (typeof json === 'string' || json instanceof Uint8Array) {
    const bytes = typeof json === 'string' ? enc.encode(json) : json
    if (bytes.length > MAX_MODULE_SPEC_BYTES) throw bad(`module spec is larger than ${MAX_MODULE_SPEC_BYTES} bytes`, 'PROTOCOL_TOO_LARGE')
    try {
      v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch (cause) {
      // never echo the bytes (a caller may name any file it can read as the module): only where it broke
      const at = /position (\d+)/.exec(cause instanceof Error ? cause.message : '')?.[1]
      throw new ProtocolError('PROTOCOL_MALFORMED', 'reject', `module spec is not valid UTF-8 JSON${at !== undefined ? ` (at byte ${at})` : ''}: give the path of a module's JSON file, or name:version of a known module`)
    }
  }
  if (!isObj(v)) throw bad('module spec must be a JSON object')
  onlyKeys(v, SPEC_KEYS, 'module spec')
  for (const k of ['name', 'version', 'image', 'cmd'] as const) {
    if (v[k] === undefined) throw bad(`module spec: missing field "${k}"`)
  }
  const inputsRaw = v.inputs ?? {}
  if (!isObj(inputsRaw)) throw bad('inputs must be an object of name → input spec')
  const names = Object.keys(inputsRaw)
  if (names.length > MAX_INPUTS) throw bad(`at most ${MAX_INPUTS} inputs, got ${names.length}`)
  const inputs: Record<string, InputSpec> = {}
  for (const n of names.sort()) {
    str(n, `input name "${n.slice(0, 40)}"`, 64, INPUT_NAME_RE, 'a letter then letters, digits or _')
    inputs[n] = parseInputSpec(inputsRaw[n], `inputs.${n}`)
  }
  const spec: ModuleSpec = {
    name: str(v.name, 'name', 64, NAME_RE, 'lower-case letters, digits, ".", "_" or "-"'),
    version: str(v.version, 'version', 64, VERSION_RE, 'letters, digits, ".", "_", "+" or "-"'),
    image: str(v.image, 'image', 255),
    cmd: strArray(v.cmd, 'cmd', MAX_CMD_ELEMENTS),
    env: {},
    inputs,
    inputPath: v.inputPath === undefined ? '/inputs' : containerPath(v.inputPath, 'inputPath'),
    outputPath: v.outputPath === undefined ? '/outputs' : containerPath(v.outputPath, 'outputPath'),
    resources: parseResources(v.resources ?? {}),
    network: false
  }
  parseImageRef(spec.image)
  if (v.description !== undefined) spec.description = str(v.description, 'description', 1024)
  if (v.entrypoint !== undefined) spec.entrypoint = strArray(v.entrypoint, 'entrypoint', MAX_ENTRYPOINT_ELEMENTS, 1)
  if (v.network !== undefined) {
    if (typeof v.network !== 'boolean') throw bad('network must be a boolean')
    spec.network = v.network
  }
  if (v.verification !== undefined) {
    const verification = parseVerification(v.verification)
    if (verification !== undefined) spec.verification = verification
  }
  if (v.timeoutS !== undefined) spec.timeoutS = int(v.timeoutS, 'timeoutS', 1, MAX_MODULE_TIMEOUT_S)
  if (v.env !== undefined) {
    if (!isObj(v.env)) throw bad('env must be an object of NAME → value')
    const keys = Object.keys(v.env).sort()
    if (keys.length > MAX_ENV) throw bad(`at most ${MAX_ENV} env entries`)
    for (const k of keys) {
      str(k, `env name "${k.slice(0, 40)}"`, 128, ENV_NAME_RE, 'a letter or _ then letters, digits or _')
      spec.env[k] = str(v.env[k], `env.${k}`, MAX_ARG_BYTES)
    }
  }
  const a = spec.inputPath
  const b = spec.outputPath
  if (a === b || a.startsWith(b + '/') || b.startsWith(a + '/')) throw bad(`inputPath ${a} and outputPath ${b} must not overlap`)
  spec.cmd.forEach((e, i) => checkTemplate(e, `cmd[${i}]`, inputs))
  return spec
}

/** The canonical JSON text of a spec (what `moduleHash` hashes and `transfer` sends). */
export function serializeModuleSpec (spec: ModuleSpec): string {
  return canonicalJson(parseModuleSpec(spec))
}

/** keccak256 of the canonical JSON of the normalized spec: the module id in offers. */
export function moduleHash (spec: ModuleSpec): Hash {
  return bytesToHex(keccak(enc.encode(serializeModuleSpec(spec))))
}

// ---------------------------------------------------------------- inputs

function checkString (spec: StringInputSpec, value: string, where: string, err: (m: string, c?: ProtocolErrorCode) => ProtocolError): void {
  if (utf8Len(value) > spec.maxBytes) throw err(`${where} is longer than ${spec.maxBytes} bytes`, 'PROTOCOL_OUT_OF_BOUNDS')
  if (value.includes('\0')) throw err(`${where} must not contain NUL`, 'PROTOCOL_OUT_OF_BOUNDS')
  if (spec.enum !== undefined && !spec.enum.includes(value)) throw err(`${where} must be one of ${spec.enum.join(', ')}`, 'PROTOCOL_OUT_OF_BOUNDS')
  if (spec.pattern !== undefined && !matchPattern(compilePattern(spec.pattern), value)) {
    throw err(`${where} does not match the pattern ${spec.pattern}`, 'PROTOCOL_OUT_OF_BOUNDS')
  }
}

const inputErr = (m: string, c: ProtocolErrorCode = 'PROTOCOL_BAD_TYPE'): ProtocolError => new ProtocolError(c, 'reject', m)

/**
 * Checks job inputs against a spec and fills in defaults. Unknown inputs →
 * PROTOCOL_UNKNOWN_FIELD, a missing required one → PROTOCOL_MISSING_FIELD, a wrong type →
 * PROTOCOL_BAD_TYPE, a value out of its bounds → PROTOCOL_OUT_OF_BOUNDS.
 */
export function resolveInputs (spec: ModuleSpec, inputs: JobInputs): JobInputs {
  for (const k of Object.keys(inputs)) {
    if (!Object.hasOwn(spec.inputs, k)) throw inputErr(`unknown input "${k.slice(0, 64)}"; ${spec.name} takes: ${Object.keys(spec.inputs).join(', ') || 'none'}`, 'PROTOCOL_UNKNOWN_FIELD')
  }
  const out: JobInputs = {}
  for (const [name, s] of Object.entries(spec.inputs)) {
    const given = Object.hasOwn(inputs, name) ? inputs[name] : undefined
    const v = given ?? ('default' in s ? s.default : undefined)
    const where = `input ${name}`
    if (v === undefined) throw inputErr(`${where} is required (${s.type})`, 'PROTOCOL_MISSING_FIELD')
    switch (s.type) {
      case 'string':
        if (typeof v !== 'string') throw inputErr(`${where} must be a string`)
        checkString(s, v, where, inputErr)
        break
      case 'int':
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw inputErr(`${where} must be an integer`)
        if ((s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max)) {
          throw inputErr(`${where} must be in [${s.min ?? '-∞'}, ${s.max ?? '∞'}], got ${v}`, 'PROTOCOL_OUT_OF_BOUNDS')
        }
        break
      case 'bool':
        if (typeof v !== 'boolean') throw inputErr(`${where} must be a boolean`)
        break
      case 'file':
        if (!(v instanceof Uint8Array)) throw inputErr(`${where} must be file bytes`)
        if (v.length > s.maxBytes) throw inputErr(`${where} is ${v.length} bytes, more than ${s.maxBytes}`, 'PROTOCOL_OUT_OF_BOUNDS')
        break
    }
    out[name] = v
  }
  return out
}

/**
 * Renders the container command: validates the inputs, substitutes `{{name}}` in each
 * cmd element (ints in decimal, bools as true/false, files as their path in the
 * container) and lists the files to deliver. Each element stays one argv element.
 */
export function renderCommand (spec: ModuleSpec, inputs: JobInputs): RenderedCommand {
  const values = resolveInputs(spec, inputs)
  const files: InputFile[] = []
  const text: Record<string, string> = {}
  for (const [name, v] of Object.entries(values)) {
    if (v instanceof Uint8Array) {
      const containerPath = `${spec.inputPath}/${name}`
      files.push({ name, containerPath, bytes: v })
      text[name] = containerPath
    } else {
      text[name] = String(v)
    }
  }
  const cmd = spec.cmd.map((e) => e.replace(PLACEHOLDER_RE, (_, n: string) => text[n]))
  const out: RenderedCommand = {
    cmd,
    env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    files
  }
  if (spec.entrypoint !== undefined) out.entrypoint = [...spec.entrypoint]
  return out
}

// ---------------------------------------------------------------- inputs encoding

const INPUTS_MAGIC = [0x4c, 0x4e, 0x49, 0x31] // "LNI1"
const TAG: Record<'string' | 'int' | 'bool' | 'file', number> = { string: 1, int: 2, bool: 3, file: 4 }

/**
 * Canonical binary encoding of job inputs: "LNI1" ‖ u16 count ‖ for each input by key
 * (sorted): u8 keyLen ‖ key ‖ u8 tag ‖ u32 len ‖ value (string: UTF-8; int: decimal
 * ASCII; bool: 0/1; file: bytes). Big-endian lengths.
 */
export function encodeInputs (inputs: JobInputs): Uint8Array {
  const keys = Object.keys(inputs).sort()
  if (keys.length > MAX_INPUTS) throw inputErr(`at most ${MAX_INPUTS} inputs`, 'PROTOCOL_OUT_OF_BOUNDS')
  const parts: Array<[Uint8Array, number, Uint8Array]> = []
  let size = 6
  for (const k of keys) {
    if (!INPUT_NAME_RE.test(k)) throw inputErr(`input name "${k.slice(0, 64)}" is malformed`, 'PROTOCOL_MALFORMED')
    const v = inputs[k]
    let tag: number
    let bytes: Uint8Array
    if (typeof v === 'string') { tag = TAG.string; bytes = enc.encode(v) } else if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw inputErr(`input ${k} must be a safe integer`)
      tag = TAG.int; bytes = enc.encode(String(v))
    } else if (typeof v === 'boolean') { tag = TAG.bool; bytes = Uint8Array.of(v ? 1 : 0) } else if (v instanceof Uint8Array) { tag = TAG.file; bytes = v } else {
      throw inputErr(`input ${k} has an unsupported type`)
    }
    const kb = enc.encode(k)
    parts.push([kb, tag, bytes])
    size += 1 + kb.length + 1 + 4 + bytes.length
  }
  if (size > MAX_INPUTS_BYTES) throw inputErr(`inputs are ${size} bytes, more than ${MAX_INPUTS_BYTES}`, 'PROTOCOL_TOO_LARGE')
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  out.set(INPUTS_MAGIC, 0)
  dv.setUint16(4, keys.length)
  let off = 6
  for (const [kb, tag, bytes] of parts) {
    out[off++] = kb.length
    out.set(kb, off); off += kb.length
    out[off++] = tag
    dv.setUint32(off, bytes.length); off += 4
    out.set(bytes, off); off += bytes.length
  }
  return out
}

/** Strict inverse of `encodeInputs`: refuses unsorted or duplicate keys, bad tags, trailing bytes. */
export function decodeInputs (bytes: Uint8Array): JobInputs {
  const fail = (m: string): never => { throw new ProtocolError('PROTOCOL_MALFORMED', 'reject', `job inputs: ${m}`) }
  if (bytes.length > MAX_INPUTS_BYTES) throw new ProtocolError('PROTOCOL_TOO_LARGE', 'reject', `job inputs are larger than ${MAX_INPUTS_BYTES} bytes`)
  if (bytes.length < 6 || INPUTS_MAGIC.some((b, i) => bytes[i] !== b)) fail('bad magic (expected LNI1)')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = dv.getUint16(4)
  if (count > MAX_INPUTS) fail(`more than ${MAX_INPUTS} inputs`)
  const dec = new TextDecoder('utf-8', { fatal: true })
  const out: JobInputs = {}
  let off = 6
  let prev: string | undefined
  for (let i = 0; i < count; i++) {
    if (off + 1 > bytes.length) fail('truncated')
    const kl = bytes[off++]
    if (off + kl + 5 > bytes.length) fail('truncated')
    const key = dec.decode(bytes.subarray(off, off + kl)); off += kl
    if (!INPUT_NAME_RE.test(key)) fail(`malformed input name "${key.slice(0, 64)}"`)
    if (prev !== undefined && !(prev < key)) fail('keys not sorted or duplicated')
    prev = key
    const tag = bytes[off++]
    const len = dv.getUint32(off); off += 4
    if (off + len > bytes.length) fail('truncated')
    const body = bytes.subarray(off, off + len); off += len
    if (tag === TAG.string) out[key] = dec.decode(body)
    else if (tag === TAG.int) {
      const s = dec.decode(body)
      if (!/^(0|-?[1-9][0-9]{0,15})$/.test(s) || !Number.isSafeInteger(Number(s))) fail(`input ${key}: bad integer`)
      out[key] = Number(s)
    } else if (tag === TAG.bool) {
      if (len !== 1 || body[0] > 1) fail(`input ${key}: bad boolean`)
      out[key] = body[0] === 1
    } else if (tag === TAG.file) out[key] = body.slice()
    else fail(`input ${key}: unknown tag ${tag}`)
  }
  if (off !== bytes.length) fail('trailing bytes')
  return out
}

/** keccak256 of `encodeInputs(inputs)`: the `inputsHash` of a job offer. */
export function inputsHash (inputs: JobInputs): Hash {
  return bytesToHex(keccak(encodeInputs(inputs)))
}

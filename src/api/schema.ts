/**
 * The API's typed errors and the small JSON Schema subset its routes are written in. One
 * schema serves twice: `validate` checks requests against it (so a bad request is always a
 * 4xx naming the field and what it should be), and the OpenAPI document embeds it as is.
 */

export type ApiErrorCode =
  | 'API_BAD_JSON'
  | 'API_UNSUPPORTED_MEDIA_TYPE'
  | 'API_BODY_TOO_LARGE'
  | 'API_UNKNOWN_FIELD'
  | 'API_MISSING_FIELD'
  | 'API_BAD_TYPE'
  | 'API_BAD_VALUE'
  | 'API_BAD_MODULE'
  | 'API_BAD_INPUT'
  | 'API_UNKNOWN_JOB'
  | 'API_NOT_FOUND'
  | 'API_METHOD_NOT_ALLOWED'
  | 'API_UNAUTHORIZED'
  | 'API_TOO_MANY_JOBS'
  | 'API_TOO_MANY_STREAMS'
  | 'API_TIMEOUT'
  | 'API_UNAVAILABLE'
  | 'API_INTERNAL'
  | 'API_TOKEN_REQUIRED'
  | 'API_BAD_LISTEN'

export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor (readonly code: ApiErrorCode, readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
  }

  toJSON (): { error: { code: ApiErrorCode, message: string } } {
    return { error: { code: this.code, message: this.message } }
  }
}

export interface SchemaBase { description?: string }
export interface StringSchema extends SchemaBase { type: 'string', pattern?: string, maxLength?: number, minLength?: number, enum?: readonly string[], format?: string }
export interface IntegerSchema extends SchemaBase { type: 'integer', minimum?: number, maximum?: number }
export interface NumberSchema extends SchemaBase { type: 'number' }
export interface BooleanSchema extends SchemaBase { type: 'boolean' }
export interface NullSchema extends SchemaBase { type: 'null' }
export interface ArraySchema extends SchemaBase { type: 'array', items: Schema, maxItems?: number }
export interface ObjectSchema extends SchemaBase {
  type: 'object'
  properties: Record<string, Schema>
  required?: readonly string[]
  /** false: unknown fields are refused; a schema: the type of every other field. */
  additionalProperties?: boolean | Schema
  maxProperties?: number
}
export interface OneOfSchema extends SchemaBase { oneOf: readonly Schema[] }
export type Schema = StringSchema | IntegerSchema | NumberSchema | BooleanSchema | NullSchema | ArraySchema | ObjectSchema | OneOfSchema

/** Short schema builders, so route tables read as data. */
export const s = {
  str: (o: Omit<StringSchema, 'type'> = {}): StringSchema => ({ type: 'string', ...o }),
  int: (o: Omit<IntegerSchema, 'type'> = {}): IntegerSchema => ({ type: 'integer', ...o }),
  num: (description?: string): NumberSchema => ({ type: 'number', ...(description !== undefined ? { description } : {}) }),
  bool: (description?: string): BooleanSchema => ({ type: 'boolean', ...(description !== undefined ? { description } : {}) }),
  nul: (): NullSchema => ({ type: 'null' }),
  arr: (items: Schema, o: Omit<ArraySchema, 'type' | 'items'> = {}): ArraySchema => ({ type: 'array', items, ...o }),
  obj: (properties: Record<string, Schema>, required: readonly string[] = [], o: Omit<ObjectSchema, 'type' | 'properties' | 'required'> = {}): ObjectSchema => ({ type: 'object', properties, required, additionalProperties: false, ...o }),
  /** An object whose fields are not all listed (responses that carry records). */
  open: (properties: Record<string, Schema>, required: readonly string[] = [], description?: string): ObjectSchema => ({ type: 'object', properties, required, additionalProperties: true, ...(description !== undefined ? { description } : {}) }),
  oneOf: (...oneOf: Schema[]): OneOfSchema => ({ oneOf }),
  nullable: (x: Schema): OneOfSchema => ({ oneOf: [x, { type: 'null' }] })
}

export const WEI = s.str({ pattern: '^[0-9]{1,78}$', description: 'an amount in wei, as a decimal string' })
export const HASH = s.str({ pattern: '^0x[0-9a-f]{64}$' })
export const ADDRESS = s.str({ pattern: '^0x[0-9a-fA-F]{40}$' })

function typeName (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number' && Number.isInteger(v)) return 'integer'
  return typeof v
}

function describeSchema (x: Schema): string {
  if ('oneOf' in x) return x.oneOf.map(describeSchema).join(' or ')
  if (x.type === 'string' && x.enum !== undefined) return `one of ${x.enum.map((e) => JSON.stringify(e)).join(', ')}`
  return x.type === 'object' ? 'an object' : x.type === 'array' ? 'an array' : `a${x.type === 'integer' ? 'n' : ''} ${x.type}`
}

const patternCache = new Map<string, RegExp>()
function regex (p: string): RegExp {
  let r = patternCache.get(p)
  if (r === undefined) { r = new RegExp(p, 'u'); patternCache.set(p, r) }
  return r
}

/** Checks `v` against `schema`; throws an ApiError (400) that names the field at `where`. */
export function validate (schema: Schema, v: unknown, where: string): void {
  if ('oneOf' in schema) {
    const errors: ApiError[] = []
    for (const alt of schema.oneOf) {
      try { validate(alt, v, where); return } catch (e) { errors.push(e as ApiError) }
    }
    // the alternative of the right type says best what is wrong
    const sameType = errors.find((e) => e.code !== 'API_BAD_TYPE')
    if (sameType !== undefined) throw sameType
    throw new ApiError('API_BAD_TYPE', 400, `${where} must be ${describeSchema(schema)}, got ${typeName(v)}`)
  }
  const bad = (msg: string): never => { throw new ApiError('API_BAD_VALUE', 400, `${where} ${msg}`) }
  const t = typeName(v)
  const okType = schema.type === t || (schema.type === 'number' && t === 'integer')
  if (!okType) throw new ApiError('API_BAD_TYPE', 400, `${where} must be ${describeSchema(schema)}, got ${t}`)
  switch (schema.type) {
    case 'string': {
      const str = v as string
      if (schema.maxLength !== undefined && str.length > schema.maxLength) bad(`is ${str.length} characters long; at most ${schema.maxLength}`)
      if (schema.minLength !== undefined && str.length < schema.minLength) bad(`must be at least ${schema.minLength} characters long`)
      if (schema.enum !== undefined && !schema.enum.includes(str)) bad(`must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(str.slice(0, 64))}`)
      if (schema.pattern !== undefined && !regex(schema.pattern).test(str)) bad(`must match ${schema.pattern}${schema.description !== undefined ? ` (${schema.description})` : ''}, got ${JSON.stringify(str.slice(0, 64))}`)
      return
    }
    case 'integer': {
      const n = v as number
      if (!Number.isSafeInteger(n)) bad('must be a safe integer')
      if (schema.minimum !== undefined && n < schema.minimum) bad(`must be at least ${schema.minimum}, got ${n}`)
      if (schema.maximum !== undefined && n > schema.maximum) bad(`must be at most ${schema.maximum}, got ${n}`)
      return
    }
    case 'array': {
      const a = v as unknown[]
      if (schema.maxItems !== undefined && a.length > schema.maxItems) bad(`has ${a.length} items; at most ${schema.maxItems}`)
      a.forEach((item, i) => { validate(schema.items, item, `${where}[${i}]`) })
      return
    }
    case 'object': {
      const o = v as Record<string, unknown>
      const keys = Object.keys(o)
      if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) bad(`has ${keys.length} fields; at most ${schema.maxProperties}`)
      for (const k of schema.required ?? []) {
        if (!Object.hasOwn(o, k)) throw new ApiError('API_MISSING_FIELD', 400, `${where}.${k} is required (${describeSchema(schema.properties[k])})`)
      }
      for (const k of keys) {
        const sub = Object.hasOwn(schema.properties, k) ? schema.properties[k] : undefined
        if (sub !== undefined) { validate(sub, o[k], `${where}.${k}`); continue }
        const extra = schema.additionalProperties
        if (extra === false || extra === undefined) {
          const known = Object.keys(schema.properties)
          throw new ApiError('API_UNKNOWN_FIELD', 400, `${where} has an unknown field ${JSON.stringify(k.slice(0, 64))}; allowed: ${known.join(', ') || 'none'}`)
        }
        if (extra !== true) validate(extra, o[k], `${where}.${JSON.stringify(k.slice(0, 64))}`)
      }
      return
    }
    default:
  }
}

/**
 * The API's typed errors and the JSON Schema subset its routes are written in. One schema
 * serves twice: ajv checks requests against it (fastify's validation; `toApiError` turns ajv's
 * first error into a 4xx naming the field and what it should be), and @fastify/swagger embeds
 * it as is in the OpenAPI document.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { LilyError } from '../protocol/errors.js'

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
  | 'API_NO_OUTPUTS'
  | 'API_NO_LOGS'
  | 'API_FORBIDDEN'
  | 'API_METHOD_NOT_ALLOWED'
  | 'API_UNAUTHORIZED'
  | 'API_TOO_MANY_JOBS'
  | 'API_TOO_MANY_STREAMS'
  | 'API_TIMEOUT'
  | 'API_UNAVAILABLE'
  | 'API_INTERNAL'
  | 'API_TOKEN_REQUIRED'
  | 'API_BAD_LISTEN'
  | 'API_BAD_HOST'
  | 'API_BAD_ORIGIN'

export class ApiError extends LilyError<ApiErrorCode> {
  override readonly name = 'ApiError'
  constructor (code: ApiErrorCode, readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(code, message)
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

/** `where` plus ajv's JSON pointer, as the old messages wrote it: body.inputs.Message, query.limit. */
function fieldName (where: string, pointer: string): string {
  return pointer.split('/').slice(1).reduce((acc, seg) => {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~')
    return /^[0-9]+$/.test(key) ? `${acc}[${key}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${acc}.${key}` : `${acc}.${JSON.stringify(key.slice(0, 64))}`
  }, where)
}

const quote = (v: unknown): string => JSON.stringify(typeof v === 'string' ? v.slice(0, 64) : v)

/**
 * The one ApiError for a failed validation: ajv (allErrors off) stops at the first failing
 * keyword, except inside oneOf, where every alternative reports; there the alternative of the
 * value's own type says best what is wrong, so a non-type error is preferred.
 */
export function toApiError (errors: readonly ErrorObject[], where: string): ApiError {
  const real = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf')
  const e = real.find((x) => x.keyword !== 'type') ?? real[0] ?? errors[0]
  const field = fieldName(where, e.instancePath)
  const schema = e.parentSchema as Schema | undefined
  switch (e.keyword) {
    case 'required': {
      const k = (e.params as { missingProperty: string }).missingProperty
      const sub = (schema as ObjectSchema | undefined)?.properties?.[k]
      return new ApiError('API_MISSING_FIELD', 400, `${field}.${k} is required${sub !== undefined ? ` (${describeSchema(sub)})` : ''}`)
    }
    case 'additionalProperties': {
      const k = (e.params as { additionalProperty: string }).additionalProperty
      const known = Object.keys((schema as ObjectSchema | undefined)?.properties ?? {})
      return new ApiError('API_UNKNOWN_FIELD', 400, `${field} has an unknown ${where === 'query' ? 'parameter' : 'field'} ${JSON.stringify(k.slice(0, 64))}; allowed: ${known.join(', ') || 'none'}`)
    }
    case 'type': {
      // a type error inside oneOf: name every alternative
      const alt = errors.find((x) => x.keyword === 'oneOf' && x.instancePath === e.instancePath)
      const want = alt !== undefined ? describeSchema(alt.parentSchema as Schema) : schema !== undefined ? describeSchema(schema) : String((e.params as { type: string }).type)
      return new ApiError('API_BAD_TYPE', 400, `${field} must be ${want}, got ${typeName(e.data)}`)
    }
    case 'pattern': {
      const desc = (schema as StringSchema | undefined)?.description
      return new ApiError('API_BAD_VALUE', 400, `${field} must match ${String((e.params as { pattern: string }).pattern)}${desc !== undefined ? ` (${desc})` : ''}, got ${quote(e.data)}`)
    }
    case 'enum':
      return new ApiError('API_BAD_VALUE', 400, `${field} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}, got ${quote(e.data)}`)
    case 'minimum':
    case 'maximum':
      return new ApiError('API_BAD_VALUE', 400, `${field} must be at ${e.keyword === 'minimum' ? 'least' : 'most'} ${String((e.params as { limit: number }).limit)}, got ${quote(e.data)}`)
    case 'maxLength':
      return new ApiError('API_BAD_VALUE', 400, `${field} is ${String((e.data as string).length)} characters long; at most ${String((e.params as { limit: number }).limit)}`)
    case 'maxProperties':
      return new ApiError('API_BAD_VALUE', 400, `${field} has ${String(Object.keys(e.data as object).length)} fields; at most ${String((e.params as { limit: number }).limit)}`)
    case 'maxItems':
      return new ApiError('API_BAD_VALUE', 400, `${field} has ${String((e.data as unknown[]).length)} items; at most ${String((e.params as { limit: number }).limit)}`)
    case 'minLength':
      return new ApiError('API_BAD_VALUE', 400, `${field} must be at least ${String((e.params as { limit: number }).limit)} characters long`)
    default:
      return new ApiError('API_BAD_VALUE', 400, `${field} ${e.message ?? 'is not valid'}`)
  }
}

/**
 * The ajv instances behind the API. Bodies are checked as sent (no coercion: `7` is not the
 * string "7", unknown fields are refused, not removed); path and query values arrive as text,
 * so there ajv turns "10" into 10 for integer fields (and "ten" fails as a type).
 */
export const ajvBody = new Ajv({ allErrors: false, verbose: true, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: true })
export const ajvText = new Ajv({ allErrors: false, verbose: true, coerceTypes: true, removeAdditional: false, useDefaults: false, strict: true })

const compiled = new WeakMap<object, ValidateFunction>()

/** A compiled validator for `schema` (cached per schema object). */
export function compile (schema: Schema, ajv: Ajv = ajvBody): ValidateFunction {
  let fn = compiled.get(schema)
  if (fn === undefined) {
    fn = ajv.compile(schema)
    compiled.set(schema, fn)
  }
  return fn
}

/** Checks `v` against `schema` (as a request body is checked); throws an ApiError (400) that names the field at `where`. */
export function validate (schema: Schema, v: unknown, where: string): void {
  const fn = compile(schema)
  if (!fn(v)) throw toApiError(fn.errors ?? [], where)
}

/**
 * The OpenAPI 3.1 document, written by @fastify/swagger from the routes as they are registered
 * (routes.ts → fastify). Every route's error answers share one schema, `Error`:
 * `{ error: { code: 'API_…', message } }`.
 */
import swagger from '@fastify/swagger'
import type { FastifyInstance, FastifySchema } from 'fastify'
import type { Route } from './routes.js'
import type { Schema } from './schema.js'

export const ERROR_REF = { $ref: 'Error#' }

const DESCRIPTION = 'A node\'s local API: run jobs through its creator and follow them, read its offers, deals, peers, health and metrics. ' +
  'Loopback callers need no token; any other caller sends Authorization: Bearer <token>. The Host header must name the address the API listens on, ' +
  'and browsers on other origins are refused unless the node allows that origin (--api-allow-origin).'

function errorResponses (r: Route): Record<string, unknown> {
  const err = (description: string): Record<string, unknown> => ({ description, content: { 'application/json': { schema: ERROR_REF } } })
  const out: Record<string, unknown> = {
    401: err('API_UNAUTHORIZED: a non-loopback caller without the right bearer token'),
    403: err('API_BAD_HOST (the Host header does not name this API) or API_BAD_ORIGIN (a browser page of another origin)'),
    404: err('API_NOT_FOUND (no such route) or API_UNKNOWN_JOB'),
    405: err('API_METHOD_NOT_ALLOWED: the path exists with another method (see the Allow header)')
  }
  if (r.body !== undefined || r.query !== undefined || r.params !== undefined) out[400] = err('malformed request: API_BAD_JSON, API_UNKNOWN_FIELD, API_MISSING_FIELD, API_BAD_TYPE, API_BAD_VALUE, API_BAD_MODULE, API_BAD_INPUT')
  if (r.body !== undefined) {
    out[413] = err('API_BODY_TOO_LARGE')
    out[415] = err('API_UNSUPPORTED_MEDIA_TYPE: send Content-Type: application/json')
    out[429] = err('API_TOO_MANY_JOBS')
  }
  if (r.operationId === 'getJob') out[429] = err('API_TOO_MANY_STREAMS')
  return out
}

/** The fastify schema of a route: what ajv validates (params, querystring, body) and what swagger documents. */
export function routeSchema (r: Route): FastifySchema & Record<string, unknown> {
  const response: Record<string, unknown> = {}
  for (const [status, def] of Object.entries(r.responses)) {
    const content: Record<string, { schema: Schema | Record<string, unknown> }> = { [def.contentType ?? 'application/json']: { schema: def.schema } }
    if (r.operationId === 'getJob' && status === '200') content['text/event-stream'] = { schema: { type: 'string', description: 'event: progress (data: a CreatorEvent), then event: end (data: the job)' } }
    response[status] = { description: def.description, content }
  }
  Object.assign(response, errorResponses(r))
  return {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.description !== undefined ? { description: r.description } : {}),
    ...(r.params !== undefined ? { params: r.params } : {}),
    // every route has a query schema: an unknown query parameter is refused, not ignored
    querystring: r.query ?? { type: 'object', properties: {}, additionalProperties: false },
    ...(r.body !== undefined ? { body: r.body } : {}),
    response
  }
}

/** Registers @fastify/swagger on `app` (before its routes); `app.swagger()` then returns the document. */
export async function registerOpenApi (app: FastifyInstance, o: { version: string, errorSchema: Schema }): Promise<void> {
  app.addSchema({ $id: 'Error', ...o.errorSchema })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'lilynode local HTTP API', version: o.version, description: DESCRIPTION },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'required from non-loopback callers' } } },
      security: [{}, { bearer: [] }]
    },
    // shared schemas keep their own names: the error schema is #/components/schemas/Error
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` }
  })
}

/** The path of a route as fastify writes it (/jobs/{id} → /jobs/:id). */
export function fastifyPath (path: string): string {
  return path.replace(/\{([a-zA-Z]+)\}/g, ':$1')
}

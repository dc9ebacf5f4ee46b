/**
 * The OpenAPI 3.1 document, generated from the route table (routes.ts). Every route's error
 * answers share one schema: `{ error: { code: 'API_…', message } }`.
 */
import type { Route } from './routes.js'
import type { ObjectSchema, Schema } from './schema.js'

export interface OpenApiOptions {
  version: string
  /** Base URL of this server (listed under `servers`). */
  url?: string
  errorSchema: Schema
}

function parameters (where: 'path' | 'query', o: ObjectSchema | undefined): Array<Record<string, unknown>> {
  if (o === undefined) return []
  return Object.entries(o.properties).map(([name, schema]) => ({
    name,
    in: where,
    required: where === 'path' || (o.required ?? []).includes(name),
    ...(schema.description !== undefined ? { description: schema.description } : {}),
    schema
  }))
}

function errorResponses (r: Route): Record<string, unknown> {
  const err = (description: string): Record<string, unknown> => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })
  const out: Record<string, unknown> = {
    401: err('API_UNAUTHORIZED: a non-loopback caller without the right bearer token'),
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

export function buildOpenApi (routes: readonly Route[], o: OpenApiOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    const responses: Record<string, unknown> = {}
    for (const [status, def] of Object.entries(r.responses)) {
      const content: Record<string, unknown> = { [def.contentType ?? 'application/json']: { schema: def.schema } }
      if (r.operationId === 'getJob' && status === '200') content['text/event-stream'] = { schema: { type: 'string', description: 'event: progress (data: a CreatorEvent), then event: end (data: the job)' } }
      responses[status] = { description: def.description, content }
    }
    Object.assign(responses, errorResponses(r))
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description !== undefined ? { description: r.description } : {}),
      parameters: [...parameters('path', r.params), ...parameters('query', r.query)],
      ...(r.body !== undefined ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
      responses
    }
    paths[r.path] = { ...(paths[r.path] ?? {}), [r.method.toLowerCase()]: op }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'lilynode local HTTP API',
      version: o.version,
      description: 'A node\'s local API: run jobs through its creator and follow them, read its offers, deals, peers, health and metrics. Loopback callers need no token; any other caller sends Authorization: Bearer <token>.'
    },
    ...(o.url !== undefined ? { servers: [{ url: o.url }] } : {}),
    paths,
    components: {
      schemas: { Error: o.errorSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'required from non-loopback callers' } }
    },
    security: [{}, { bearer: [] }]
  }
}

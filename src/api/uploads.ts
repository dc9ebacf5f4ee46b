/**
 * File inputs larger than a JSON body: `POST /uploads` takes the raw bytes
 * (`Content-Type: application/octet-stream`), streams them to a private folder while hashing
 * them, and answers `{ upload: "up-<sha256>", bytes }`; `POST /jobs` then names the file input as
 * `{"upload": "up-…"}`. Bounded: MAX_UPLOAD_BYTES per file (the largest file input a module may
 * declare), MAX_UPLOADS files and MAX_UPLOADS_BYTES in all, each kept UPLOAD_TTL_MS after its
 * last use; the folder (mode 0700) is removed when the API stops.
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { MAX_FILE_MAX_BYTES } from '../protocol/index.js'
import { ApiError, s } from './schema.js'

export const MAX_UPLOAD_BYTES = MAX_FILE_MAX_BYTES
export const MAX_UPLOADS = 32
export const MAX_UPLOADS_BYTES = 512 * 1024 * 1024
export const UPLOAD_TTL_MS = 60 * 60 * 1000
export const UPLOAD_ID_PATTERN = '^up-[0-9a-f]{64}$'
/** The one route outside the route table (its body is raw bytes, not JSON). */
export const UPLOAD_ROUTE = { method: 'POST', path: '/uploads', operationId: 'upload' } as const

interface Entry { path: string, bytes: number, usedAt: number }

export class UploadStore {
  private readonly entries = new Map<string, Entry>()
  private dir?: Promise<string>
  private inFlight = 0

  constructor (private readonly now: () => number = Date.now) {}

  private async folder (): Promise<string> {
    this.dir ??= mkdtemp(join(tmpdir(), 'lilynode-uploads-'))
    return await this.dir
  }

  private total (): number {
    let n = 0
    for (const e of this.entries.values()) n += e.bytes
    return n
  }

  private async expire (): Promise<void> {
    const cutoff = this.now() - UPLOAD_TTL_MS
    for (const [id, e] of [...this.entries]) {
      if (e.usedAt >= cutoff) continue
      this.entries.delete(id)
      await rm(e.path, { force: true })
    }
  }

  /** Streams `body` to the folder, hashing it; refuses it (and removes what was written) past the caps. */
  async put (body: Readable, declared?: number): Promise<{ upload: string, bytes: number }> {
    await this.expire()
    if (declared !== undefined && declared > MAX_UPLOAD_BYTES) {
      body.resume()
      throw new ApiError('API_BODY_TOO_LARGE', 413, `the upload is ${declared} bytes; a file input holds at most ${MAX_UPLOAD_BYTES} bytes`, { connection: 'close' })
    }
    if (this.entries.size + this.inFlight >= MAX_UPLOADS) {
      body.resume()
      throw new ApiError('API_TOO_MANY_STREAMS', 429, `${MAX_UPLOADS} uploads are held; use them in POST /jobs or wait for them to expire (${UPLOAD_TTL_MS / 60_000} minutes after their last use)`, { 'retry-after': '60' })
    }
    this.inFlight++
    const dir = await this.folder()
    const tmp = join(dir, `part-${process.pid}-${Math.random().toString(16).slice(2)}`)
    const hash = createHash('sha256')
    let bytes = 0
    try {
      await new Promise<void>((resolve, reject) => {
        const out = createWriteStream(tmp, { mode: 0o600 })
        const fail = (e: unknown): void => { body.unpipe(out); out.destroy(); body.resume(); reject(e) }
        body.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          if (bytes > MAX_UPLOAD_BYTES) { fail(new ApiError('API_BODY_TOO_LARGE', 413, `the upload is over ${MAX_UPLOAD_BYTES} bytes, the most a file input holds`, { connection: 'close' })); return }
          if (this.total() + bytes > MAX_UPLOADS_BYTES) { fail(new ApiError('API_TOO_MANY_STREAMS', 429, `uploads held here would exceed ${MAX_UPLOADS_BYTES} bytes; use or let expire the ones held`, { 'retry-after': '60' })); return }
          hash.update(chunk)
        })
        body.on('error', fail)
        out.on('error', fail)
        out.on('finish', () => { resolve() })
        body.pipe(out)
      })
      const upload = `up-${hash.digest('hex')}`
      const path = join(dir, upload)
      await rename(tmp, path)
      this.entries.set(upload, { path, bytes, usedAt: this.now() })
      return { upload, bytes }
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    } finally {
      this.inFlight--
    }
  }

  /** The bytes of an upload (its TTL starts again); API_BAD_INPUT when it is unknown or expired. */
  async get (upload: string): Promise<Uint8Array> {
    await this.expire()
    const e = this.entries.get(upload)
    if (e === undefined) throw new ApiError('API_BAD_INPUT', 400, `no upload ${JSON.stringify(upload.slice(0, 80))} here (unknown, or expired ${UPLOAD_TTL_MS / 60_000} minutes after its last use): POST the file to /uploads first`)
    e.usedAt = this.now()
    return new Uint8Array(await readFile(e.path))
  }

  get size (): number { return this.entries.size }

  async close (): Promise<void> {
    this.entries.clear()
    if (this.dir !== undefined) await rm(await this.dir, { recursive: true, force: true })
  }
}

const UPLOAD_ANSWER = s.obj({ upload: s.str({ pattern: UPLOAD_ID_PATTERN, description: 'name it in POST /jobs as a file input: {"upload": "up-…"}' }), bytes: s.int() }, ['upload', 'bytes'])

/**
 * POST /uploads in its own fastify context (the only one that reads application/octet-stream;
 * the checks of onRequest apply as everywhere). `headersOf` gives the base and CORS headers.
 */
export function registerUploads (app: FastifyInstance, store: UploadStore | undefined, headersOf: (req: IncomingMessage) => Record<string, string>): void {
  void app.register(async (child) => {
    child.removeAllContentTypeParsers()
    child.addContentTypeParser('application/octet-stream', { bodyLimit: MAX_UPLOAD_BYTES }, (req, payload, done) => {
      if (store === undefined) { payload.resume(); done(new ApiError('API_UNAVAILABLE', 503, 'no node behind this app'), undefined); return }
      const declared = Number(req.headers['content-length'])
      store.put(payload, Number.isFinite(declared) ? declared : undefined).then((r) => { done(null, r) }, (e: Error) => { done(e, undefined) })
    })
    child.route({
      method: UPLOAD_ROUTE.method,
      url: UPLOAD_ROUTE.path,
      bodyLimit: MAX_UPLOAD_BYTES,
      schema: {
        summary: `A file input larger than a JSON body: the raw bytes (Content-Type: application/octet-stream, at most ${MAX_UPLOAD_BYTES} bytes), kept ${UPLOAD_TTL_MS / 60_000} minutes after their last use`,
        operationId: UPLOAD_ROUTE.operationId,
        response: { 201: UPLOAD_ANSWER }
      } as Record<string, unknown>,
      handler: async (request, reply) => {
        if (request.body === undefined || request.body === null) throw new ApiError('API_UNSUPPORTED_MEDIA_TYPE', 415, 'send the file as the body with Content-Type: application/octet-stream (curl: --data-binary @file -H \'Content-Type: application/octet-stream\')')
        await reply.code(201).headers(headersOf(request.raw)).type('application/json; charset=utf-8').send(request.body)
      }
    })
  })
}

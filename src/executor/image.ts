/**
 * Resolves a module's image to a local image id: inspect, pull when missing (progress
 * reported), and refuse an image whose content does not match the spec's digest. The
 * container is then created from the id, so a tag moved afterwards cannot swap the code.
 */
import type Docker from 'dockerode'
import { parseImageRef, type ImageRef } from '../protocol/index.js'

export interface PullProgress {
  kind: 'pull'
  status: string
  id?: string
  current?: number
  total?: number
}

export type ImageResolution =
  | { ok: true, imageId: string, pulled: boolean }
  | { ok: false, status: 'image_missing' | 'image_refused', message: string }

interface DockerHttpError { statusCode?: number, message?: string }

function isNotFound (e: unknown): boolean {
  return (e as DockerHttpError)?.statusCode === 404
}

function matchesDigest (info: Docker.ImageInspectInfo, ref: ImageRef): boolean {
  if (ref.digest === undefined) return true
  if (info.Id === ref.digest) return true
  return (info.RepoDigests ?? []).includes(`${ref.repository}@${ref.digest}`)
}

async function pull (docker: Docker, name: string, signal: AbortSignal | undefined, onProgress?: (p: PullProgress) => void): Promise<void> {
  const stream = await docker.pull(name, { abortSignal: signal })
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null) => { if (err !== null) reject(err); else resolve() }, (ev: { status?: string, id?: string, progressDetail?: { current?: number, total?: number }, error?: string }) => {
      if (onProgress === undefined || typeof ev.status !== 'string') return
      const p: PullProgress = { kind: 'pull', status: ev.status }
      if (ev.id !== undefined) p.id = ev.id
      if (ev.progressDetail?.current !== undefined) p.current = ev.progressDetail.current
      if (ev.progressDetail?.total !== undefined) p.total = ev.progressDetail.total
      onProgress(p)
    })
  })
}

/**
 * A local image: by repo@digest first (what a pull by digest leaves), then by tag (its
 * content is checked by the caller), then, for a digest-only reference, by image id (a
 * `docker load`ed image has no repo digest). 404 when none.
 */
async function inspectLocal (docker: Docker, ref: ImageRef): Promise<Docker.ImageInspectInfo> {
  const names: string[] = []
  if (ref.digest !== undefined) names.push(`${ref.repository}@${ref.digest}`)
  if (ref.tag !== undefined) names.push(`${ref.repository}:${ref.tag}`)
  else if (ref.digest !== undefined) names.push(ref.digest)
  let last: unknown
  for (const name of names) {
    try {
      return await docker.getImage(name).inspect()
    } catch (e) {
      if (!isNotFound(e)) throw e
      last = e
    }
  }
  throw last
}

/**
 * Finds or pulls `image`. Docker-unreachable errors propagate (the runner classifies them);
 * a failed pull is `image_missing`, a digest mismatch `image_refused`.
 */
export async function ensureImage (docker: Docker, image: string, opts: { signal?: AbortSignal, onProgress?: (p: PullProgress) => void } = {}): Promise<ImageResolution> {
  const ref = parseImageRef(image)
  let pulled = false
  let info: Docker.ImageInspectInfo
  try {
    info = await inspectLocal(docker, ref)
  } catch (e) {
    if (!isNotFound(e)) throw e
    // Pull by digest when known: the engine then checks the registry's content against it.
    const pullName = ref.digest !== undefined ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag as string}`
    try {
      await pull(docker, pullName, opts.signal, opts.onProgress)
      pulled = true
      info = await docker.getImage(pullName).inspect()
      // keep the tag too, so that operators (and a later spec naming another digest) see it
      if (ref.tag !== undefined && ref.digest !== undefined) await docker.getImage(info.Id).tag({ repo: ref.repository, tag: ref.tag })
    } catch (cause) {
      if (isUnreachable(cause)) throw cause
      return { ok: false, status: 'image_missing', message: `image ${image} is not on this machine and pulling it failed: ${firstLine(cause)}` }
    }
  }
  if (!matchesDigest(info, ref)) {
    return {
      ok: false,
      status: 'image_refused',
      message: `image ${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''} is ${info.Id} (repo digests: ${(info.RepoDigests ?? []).join(', ') || 'none'}), not the ${ref.digest as string} the module names; refusing to run it`
    }
  }
  return { ok: true, imageId: info.Id, pulled }
}

export function firstLine (e: unknown): string {
  const m = e instanceof Error ? e.message : String(e)
  return m.split('\n')[0].slice(0, 300)
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EPERM', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE'])

/** Whether an error means the Docker Engine itself cannot be reached (socket missing, refused, forbidden). */
export function isUnreachable (e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code
  return typeof code === 'string' && UNREACHABLE.has(code)
}

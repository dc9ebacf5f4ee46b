/**
 * A minimal Docker registry (distribution API v2, read-only) on 127.0.0.1, serving one image
 * taken from the local engine with `docker save`. dockerd talks plain HTTP to registries on
 * 127.0.0.0/8, so the runner's real pull path can be tested with no network.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { gzipSync } from 'node:zlib'
import type Docker from 'dockerode'
import { readTar } from '../../src/executor/index.js'

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json'

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

export interface TestRegistry {
  /** host:port */
  host: string
  /** Digest of the served manifest. */
  manifestDigest: string
  /** Requests seen, e.g. "GET /v2/x/manifests/v1". */
  requests: string[]
  close: () => Promise<void>
}

async function save (docker: Docker, image: string): Promise<Map<string, Uint8Array>> {
  const stream = await docker.getImage(image).get()
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  const files = new Map<string, Uint8Array>()
  const entries = readTar(new Uint8Array(Buffer.concat(chunks)))
  for (const e of entries) if (e.type === 'file') files.set(e.path, e.data)
  // layer dedupe in `docker save` may use symlinks to another layer's tar
  for (const e of entries) {
    if (e.type === 'symlink') {
      const target = [...e.path.split('/').slice(0, -1), e.linkname].join('/').split('/')
      const norm: string[] = []
      for (const p of target) { if (p === '..') norm.pop(); else if (p !== '.' && p !== '') norm.push(p) }
      const data = files.get(norm.join('/'))
      if (data !== undefined) files.set(e.path, data)
    }
  }
  return files
}

/** Serves `image` (a local image) as `<repository>:<tag>` on a fresh port. */
export async function startTestRegistry (docker: Docker, image: string, repository: string, tag: string): Promise<TestRegistry> {
  const files = await save(docker, image)
  const index = JSON.parse(Buffer.from(files.get('manifest.json') as Uint8Array).toString()) as Array<{ Config: string, Layers: string[] }>
  const config = files.get(index[0].Config) as Uint8Array
  const blobs = new Map<string, Uint8Array>([[sha256(config), config]])
  const layers = index[0].Layers.map((path) => {
    const gz = gzipSync(files.get(path) as Uint8Array)
    blobs.set(sha256(gz), gz)
    return { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: gz.length, digest: sha256(gz) }
  })
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
    layers
  }))
  const manifestDigest = sha256(manifest)
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`)
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0')
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '')
    const send = (body: Uint8Array, type: string, digest: string): void => {
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Docker-Content-Digest': digest })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.url === '/v2/' || req.url === '/v2') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{}'); return }
    if (m !== null && m[1] === repository && m[2] === 'manifests' && (m[3] === tag || m[3] === manifestDigest)) { send(manifest, MANIFEST_TYPE, manifestDigest); return }
    const blob = m !== null && m[1] === repository && m[2] === 'blobs' ? blobs.get(m[3]) : undefined
    if (blob !== undefined && m !== null) { send(blob, 'application/octet-stream', m[3]); return }
    res.writeHead(404, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'not found' }] }))
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
  const addr = server.address()
  if (addr === null || typeof addr !== 'object') throw new Error('registry did not bind')
  return {
    host: `127.0.0.1:${addr.port}`,
    manifestDigest,
    requests,
    close: async () => await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

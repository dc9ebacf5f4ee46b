/**
 * dockerode, loaded on first use and without the two parts a lilynode never uses at load time.
 *
 * Loading dockerode costs a node ~30 MB resident (measured: `import('dockerode')` alone adds
 * 29.9 MB of RSS, 17 MB of it external memory): docker-modem requires ssh2 at load for
 * `ssh://` Docker hosts, and ssh2 instantiates an Emscripten poly1305 module with a 16 MB
 * WebAssembly memory; dockerode requires its BuildKit session helper, which loads @grpc/grpc-js
 * and @grpc/proto-loader (~14 MB) for `buildImage({ version: '2' })`. A lilynode talks to dockerd
 * over its Unix socket (or tcp://) and never builds images, so both are replaced in the CommonJS
 * module cache, before dockerode is required, by stand-ins that require the real module the
 * first time they are called: an `ssh://` DOCKER_HOST or a BuildKit build still works, it just
 * pays for the module then. A module already loaded is left as it is.
 *
 * Nothing here runs at import: a role that never talks to Docker (bootstrap, request relay)
 * does not load dockerode at all.
 */
import { createRequire, Module } from 'node:module'
import { dirname, join } from 'node:path'
import type Docker from 'dockerode'

const require = createRequire(import.meta.url)

/** Puts `stub(load)` in the CommonJS cache under `path`; `load()` requires the real module (once). */
function deferModule<T> (path: string, stub: (load: () => T) => unknown): void {
  if (require.cache[path] !== undefined) return
  let real: T | undefined
  const load = (): T => {
    if (real === undefined) {
      if (require.cache[path] === placeholder) delete require.cache[path]
      real = require(path) as T
    }
    return real
  }
  const placeholder = new Module(path)
  placeholder.filename = path
  placeholder.loaded = true
  placeholder.exports = stub(load)
  require.cache[path] = placeholder
}

let ctor: typeof Docker | undefined

/** The dockerode class (required on the first call, with ssh2 and the BuildKit session deferred). */
export function dockerode (): typeof Docker {
  if (ctor !== undefined) return ctor
  const main = require.resolve('dockerode')
  const modem = require.resolve('docker-modem', { paths: [dirname(main)] })
  type Ctor = new (...args: unknown[]) => object
  deferModule<{ Client: Ctor }>(require.resolve('ssh2', { paths: [dirname(modem)] }), (load) => ({
    // docker-modem's ssh agent only does `new (require('ssh2').Client)()`
    Client: function Client (...args: unknown[]) { return new (load().Client)(...args) }
  }))
  deferModule<(...args: unknown[]) => unknown>(join(dirname(main), 'session.js'), (load) => function withSession (...args: unknown[]) { return load()(...args) })
  ctor = require('dockerode') as typeof Docker
  return ctor
}

/** A client of the local Docker engine (DOCKER_HOST and friends as dockerode reads them). */
export function newDocker (opts?: Docker.DockerOptions): Docker {
  const D = dockerode()
  return new D(opts)
}

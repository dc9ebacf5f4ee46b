/**
 * dockerode loaded lazily and without ssh2 / the BuildKit session (src/executor/dockerClient.ts).
 * Run in a fresh child process: the mocha process may have loaded dockerode already.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './helpers.js'

const CHILD = `
const { createRequire } = await import('node:module')
const require = createRequire(import.meta.url)
const loaded = (re) => Object.keys(require.cache).some((k) => re.test(k) && require.cache[k].loaded && !k.endsWith('/ssh2/lib/index.js') && !k.endsWith('/dockerode/lib/session.js'))
const ex = await import(${JSON.stringify(join(REPO_ROOT, 'dist/src/executor/index.js'))})
const out = { atImport: loaded(/[/]dockerode[/]/) }
const docker = ex.newDocker({ socketPath: '/nonexistent.sock' })
out.client = typeof docker.listContainers === 'function'
out.ssh2 = loaded(/[/]ssh2[/]/)
out.grpc = loaded(/[/]@grpc[/]/)
// the stand-ins hand over to the real modules when called
const modem = require.resolve('docker-modem', { paths: [require.resolve('dockerode')] })
const ssh2 = require(require.resolve('ssh2', { paths: [modem] }))
const c = new ssh2.Client()
out.sshClient = typeof c.connect === 'function' && loaded(/[/]ssh2[/]lib[/]client.js$/)
process.stdout.write(JSON.stringify(out))
`

describe('executor: dockerode client', () => {
  it('loads dockerode on first use, without ssh2 or @grpc, and the stand-ins load them when called', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], { cwd: REPO_ROOT })
    assert.deepEqual(JSON.parse(stdout), { atImport: false, client: true, ssh2: false, grpc: false, sshClient: true })
  })
})

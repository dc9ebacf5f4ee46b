/** `lilynode bootstrap`: a DHT server with a stable key, printing its address, stopped by its AbortSignal. */
import assert from 'node:assert/strict'
import { bootstrapIdentity, runBootstrap } from '../../src/node/bootstrapNode.js'
import { execute } from '../../src/cli/main.js'
import { Cleanup, freePorts, tempDir, testProfile, waitFor } from './helpers.js'

describe('node: bootstrap role', function () {
  this.timeout(30_000)
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('keeps its peer id across restarts, serves the DHT, and stops on abort', async () => {
    const dataDir = await tempDir(cleanup)
    const id = await bootstrapIdentity(dataDir)
    assert.equal((await bootstrapIdentity(dataDir)).peerId, id.peerId, 'the key in the data dir fixes the peer id')
    const [port] = await freePorts(1)
    const profile = testProfile({ bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${id.peerId}`] })
    for (let run = 0; run < 2; run++) {
      const ac = new AbortController()
      let addrs: string[] = []
      let dht: string | undefined
      const done = runBootstrap({ profile, dataDir, listen: [`/ip4/127.0.0.1/tcp/${port}`] }, ac.signal, (a, node) => {
        addrs = a
        dht = node.libp2p.getProtocols().find((p) => p.includes('/kad/'))
      })
      await waitFor(() => addrs.length > 0, 20_000, 'the bootstrap node to listen')
      assert.ok(addrs.includes(`/ip4/127.0.0.1/tcp/${port}/p2p/${id.peerId}`), `prints its multiaddr: ${addrs.join(', ')}`)
      assert.ok(dht?.startsWith('/lilynode/') === true, `serves the profile's DHT protocol (${dht})`)
      ac.abort()
      await done
    }
  })

  it('refuses to run without a fixed listen address', async () => {
    const dataDir = await tempDir(cleanup)
    await assert.rejects(execute(['bootstrap', '--data-dir', dataDir, '--profile', '/nonexistent.json'], new AbortController().signal), /profile|listen/)
  })
})

/**
 * Conformance (PROTOCOL.md): a client written only from the document (./client.ts, npm packages
 * only) joins a real devnet — anvil, the escrow, a bootstrap node and two providers, each a
 * separate `lilynode` OS process — through the profile's bootstrap address, publishes a job
 * offer that the providers match, co-signs the deal, keeps a gossip score ≥ 0 at the node it
 * joined (read from that node's `query peers`, which reports gossipsub's score of each peer)
 * and queries. A second client that publishes an offer signed by a key other than its own is
 * the control: its score at the node falls below 0, so the check above can fail.
 *
 * The harness (this file) uses src/devnet to start the network; only client.ts is held to
 * "nothing from src", and the first test checks it.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { createTestClient, http, keccak256, toBytes, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { requireDocker, startNet, stopNet, type TestNet } from '../e2e/helpers.js'
import { ConformanceClient, TYPES, digestOf, domainOf, encodeAcceptance, encodeJob, epochAt, frameJson, parseFrameJson, protocolOf, readProfile, signerOf, topicOf, type ClientProfile, type Deal, type JobOffer } from './client.js'

const CLIENT_SOURCE = fileURLToPath(new URL('../../../test/conformance/client.ts', import.meta.url))
const PROTOCOL_MD = fileURLToPath(new URL('../../../PROTOCOL.md', import.meta.url))

interface Page<T> { items: T[], total: number }
interface PeerView { peerId: string, address: string | null, score: number | null, rejects: number }
interface DealView { dealId: Hex, deal: Deal, creatorSigned: boolean, providerSigned: boolean }

async function until<T> (what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  while (Date.now() < end) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (e) { last = e }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`no ${what} within ${ms} ms${last !== undefined ? ` (last error: ${(last as Error).message})` : ''}`)
}

const randomKey = (): Hex => toHex(randomBytes(32))
/** How long the client stays on after its deal before its score is read again. */
const WATCH_MS = 25_000

describe('conformance: a client written from PROTOCOL.md', function () {
  this.timeout(240_000)
  let t: TestNet | undefined
  let profile: ClientProfile
  const clients: ConformanceClient[] = []

  it('imports nothing from src', async () => {
    const text = await readFile(CLIENT_SOURCE, 'utf8')
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1])
    assert.ok(specifiers.length > 5, `found the imports of client.ts (${specifiers.length})`)
    for (const s of specifiers) assert.ok(!s.startsWith('.') && !s.startsWith('/'), `client.ts imports ${s}: only npm packages are allowed`)
  })

  it('reproduces the test vectors of PROTOCOL.md', async () => {
    const md = await readFile(PROTOCOL_MD, 'utf8')
    const vec = (name: string): Record<string, any> => {
      const m = new RegExp('```json vector:' + name + '\\n([\\s\\S]*?)\\n```').exec(md)
      assert.ok(m !== null, `PROTOCOL.md has vector ${name}`)
      return JSON.parse(m[1]) as Record<string, any>
    }
    const pv = vec('profile')
    const p = readProfile(pv.file as Record<string, unknown>)
    assert.equal(p.hash, pv.hash)
    assert.equal(topicOf(p, 'deals'), pv.topics.deals)
    assert.equal(protocolOf(p, 'sync'), pv.protocols.sync)
    const big = (o: Record<string, unknown>, keys: string[]): any => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, keys.includes(k) ? BigInt(v as string) : v]))
    const jv = vec('job-offer')
    const job = big(jv.body, ['nonce', 'maxPrice', 'collateral', 'epoch', 'expiryEpoch']) as JobOffer
    assert.equal(digestOf(p, 'JobOffer', job), jv.digest)
    assert.equal(new TextDecoder().decode(encodeJob(job, jv.signature as Hex)), jv.wire)
    assert.equal(await signerOf(p, 'JobOffer', job, jv.signature as Hex), jv.signer)
    const av = vec('deal-acceptance')
    const deal = big(av.body, ['price', 'collateral', 'matchEpoch', 'openBy']) as Deal
    assert.equal(digestOf(p, 'Deal', deal), av.digest)
    assert.equal(new TextDecoder().decode(encodeAcceptance(deal, 'provider', av.signature as Hex)), av.wire)
    const fv = vec('frames')
    assert.equal(frameJson({ m: 'digest', a: { epoch: 147000n, acc: [146999n, 146998n] } }), fv.syncRequest.json)
    assert.deepEqual(parseFrameJson(fv.answer.json as string), { ok: true, r: { epoch: 147000n, root: `0x${'55'.repeat(32)}` } })
  })

  describe('against a devnet', function () {
    before(async function () {
      requireDocker(this, [])
      t = await startNet({ providers: 2, mediators: 0, creators: 0, epochMs: 1000 })
      profile = readProfile(JSON.parse(await readFile(t.net.profilePath, 'utf8')) as Record<string, unknown>)
    })
    after(async function () {
      for (const c of clients) await c.stop().catch(() => undefined)
      await stopNet(t, this.currentTest?.state === 'failed')
    })

    it('joins, publishes an offer that gets matched, co-signs the deal, keeps a score ≥ 0 and queries', async () => {
      const client = await ConformanceClient.start({ profile, privateKey: randomKey() })
      clients.push(client)
      // the harness gives the client's wallet devnet ETH; the client deposits into the escrow itself (§6.5)
      await createTestClient({ mode: 'anvil', transport: http(profile.rpcUrl) }).setBalance({ address: client.address, value: 10n ** 19n })
      await client.deposit(10n ** 18n)
      const node = await client.join(profile.bootstrap[0])

      // §3.3: the ids computed from the profile are the ones the node announces
      const protocols = await client.protocolsOf(node)
      for (const name of ['query', 'sync'] as const) assert.ok(protocols.includes(protocolOf(profile, name)), `node announces ${protocolOf(profile, name)}: ${protocols.join(', ')}`)
      const ep = await client.query<{ networkTag: string, currentEpoch: bigint }>(node, 'epoch')
      assert.equal(ep.networkTag, profile.tag, 'the profile hash of §3.2')
      const now = epochAt(profile, Date.now())
      assert.ok(ep.currentEpoch >= now - 1n && ep.currentEpoch <= now + 1n, `epochs of §3.4 agree (node ${ep.currentEpoch}, client ${now})`)

      // a provider's resource offer, read through the query protocol (§7.4)
      const res = await until('resource offer', 60_000, async () => {
        const page = await client.query<Page<Record<string, unknown>>>(node, 'offers', { page: 0, limit: 100 })
        return page.items.find((o) => (o.cpu as number) >= 100 && (o.ram as number) >= 64 && (o.expiryEpoch as bigint) > now + 5n)
      })
      const modules = res.modules as Hex[]
      const epoch = epochAt(profile, Date.now()) + 1n
      const offer: JobOffer = {
        creator: client.address,
        nonce: BigInt(toHex(randomBytes(6))),
        module: modules.length > 0 ? modules[0] : keccak256(toBytes('conformance module')),
        inputsHash: keccak256(toBytes('conformance inputs')),
        cpu: 100,
        ram: 64,
        gpus: 0,
        gpuVram: 0,
        disk: 0,
        maxPrice: 10n ** 16n,
        timeout: 60,
        collateral: 0n,
        epoch,
        expiryEpoch: epoch + 20n
      }
      const id = await client.publishJob(offer)

      // §4.3: the node holds the offer under the id the client computed
      await until('the offer in query jobs', 20_000, async () => {
        const page = await client.query<Page<{ id: Hex }>>(node, 'jobs', { page: 0, limit: 100 })
        return page.items.find((j) => j.id === id)
      })

      // matched: a provider signs the Deal of the offer and gossips its acceptance on `deals`
      const theirs = await until('provider acceptance for the offer', 90_000, async () =>
        client.acceptances().find((a) => a.party === 'provider' && a.deal.jobOfferHash === id))
      const deal = theirs.deal
      assert.equal(deal.creator, client.address)
      assert.equal(await signerOf(profile, 'Deal', deal, theirs.signature), deal.provider, 'the acceptance is signed by the deal\'s provider (§4.4)')
      assert.ok(deal.price <= offer.maxPrice)
      const dealId = digestOf(profile, 'Deal', deal)

      // the creator's acceptance, as §9 step 5 describes it: the node sees both signatures
      await client.publishAcceptance(deal, 'creator')
      const seen = await until('the deal with both signatures in query deals', 20_000, async () => {
        const page = await client.query<Page<DealView>>(node, 'deals', { page: 0, limit: 100 })
        return page.items.find((d) => d.dealId === dealId && d.creatorSigned && d.providerSigned)
      })
      assert.equal(seen.deal.jobOfferHash, id)

      // score ≥ 0 and no reject at the node it joined, still connected and still fed: checked at
      // once and again after WATCH_MS (a client with the wrong message id or stock colocation
      // scoring was found silenced within 25 s)
      const me = client.libp2p.peerId.toString()
      const epochs = topicOf(profile, 'epochs')
      for (const round of [0, 1]) {
        if (round === 1) await new Promise((resolve) => setTimeout(resolve, WATCH_MS))
        const view = await until('this client in query peers', 10_000, async () => {
          const page = await client.query<Page<PeerView>>(node, 'peers', { page: 0, limit: 100 })
          return page.items.find((p) => p.peerId === me)
        })
        assert.equal(view.address, client.address, 'the node derives the client\'s address from its peer id (§2)')
        assert.equal(typeof view.score, 'number')
        assert.ok((view.score as number) >= 0, `gossip score at the node ${String(view.score)} ≥ 0 (round ${round})`)
        assert.equal(view.rejects, 0)
        assert.ok(client.libp2p.getConnections(node).length > 0, 'still connected')
        const since = Date.now() - 5000
        assert.ok(client.received.some((m) => m.topic === epochs && m.at >= since), 'heartbeats still arrive on the epochs topic (the client is not graylisted)')
      }
    })

    it('control: an offer signed by another key is rejected and costs the publisher its score', async () => {
      const client = await ConformanceClient.start({ profile, privateKey: randomKey() })
      clients.push(client)
      const node = await client.join(profile.bootstrap[0])
      const other = privateKeyToAccount(randomKey())
      const epoch = epochAt(profile, Date.now()) + 1n
      const offer: JobOffer = {
        creator: other.address.toLowerCase() as Hex,
        nonce: 1n,
        module: keccak256(toBytes('m')),
        inputsHash: keccak256(toBytes('i')),
        cpu: 100,
        ram: 64,
        gpus: 0,
        gpuVram: 0,
        disk: 0,
        maxPrice: 1n,
        timeout: 60,
        collateral: 0n,
        epoch,
        expiryEpoch: epoch + 5n
      }
      // signed by its creator, but published by a peer whose key is not the creator's (§6.3)
      const signature = await other.signTypedData({ domain: domainOf(profile), types: { JobOffer: TYPES.JobOffer }, primaryType: 'JobOffer', message: offer })
      await client.libp2p.services.pubsub.publish(topicOf(profile, 'jobs'), encodeJob(offer, signature))
      const me = client.libp2p.peerId.toString()
      const view = await until('a negative score for the control client', 20_000, async () => {
        const page = await client.query<Page<PeerView>>(node, 'peers', { page: 0, limit: 100 })
        const v = page.items.find((p) => p.peerId === me)
        return v !== undefined && v.score !== null && v.score < 0 ? v : undefined
      })
      assert.ok(view.rejects > 0)
    })
  })
})

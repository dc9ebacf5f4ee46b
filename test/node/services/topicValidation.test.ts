/**
 * The topic validators, one case per topic kind: the case table is a mapped type over
 * TopicKind, so a new topic does not compile until it has a validator and a case here. Each
 * runs on the real services (store on disk, pool, acceptances, heartbeats) without a network.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { Message } from '@libp2p/gossipsub'
import { DomainHasher } from '../../../src/protocol/eip712.js'
import { createIdentity, type Identity } from '../../../src/protocol/identity.js'
import { createLogger } from '../../../src/protocol/logger.js'
import { domainOf, epochAt, epochEnd, profileHash, topicName, type Profile } from '../../../src/protocol/profile.js'
import type { Deal, Hash } from '../../../src/protocol/types.js'
import { actionOf, GossipMetrics, PeerPolicing } from '../../../src/p2p/gossip/policing.js'
import { TOPIC_KINDS, TOPIC_MESSAGE, type TopicKind } from '../../../src/p2p/gossip/topics.js'
import { encodeMessage, signDeal, signHeartbeat, signJobOffer, signResourceOffer } from '../../../src/p2p/wire.js'
import { OfferPool } from '../../../src/node/pool.js'
import { NodeStore } from '../../../src/node/store.js'
import { Acceptances } from '../../../src/node/services/acceptances.js'
import { Heartbeats } from '../../../src/node/services/heartbeats.js'
import { Ledger } from '../../../src/node/services/ledger.js'
import { PartyPeers } from '../../../src/node/services/parties.js'
import { TopicValidation } from '../../../src/node/services/topicValidation.js'
import { VoteWeights } from '../../../src/node/weights.js'
import { OfferAdmission } from '../../../src/node/quota.js'
import type { LilyNodeEvents } from '../../../src/node/types.js'
import { Cleanup, hashOf, jobOffer, resourceOffer, tempDir, testProfile } from '../helpers.js'

interface Ctx {
  profile: Profile
  hasher: DomainHasher
  pool: OfferPool
  acceptances: Acceptances
  heartbeats: Heartbeats
  parties: PartyPeers
  validation: TopicValidation
  subscribed: string[]
  epoch: bigint
}

async function context (cleanup: Cleanup): Promise<Ctx> {
  const profile = testProfile({ epochMs: 2000, graceMs: 300 })
  const me = createIdentity()
  const hasher = new DomainHasher(domainOf(profile))
  const store = await NodeStore.open(await tempDir(cleanup))
  cleanup.push(async () => { await store.close() })
  const events = new EventEmitter<LilyNodeEvents>()
  const log = createLogger('topic-test', { level: 'error' })
  const config = { seedPrefix: profileHash(profile), reserveEpochs: profile.reserveEpochs, openBy: (e: bigint) => BigInt(Math.floor(epochEnd(profile, e + 3n) / 1000)) }
  const pool = new OfferPool(store)
  const ledger = new Ledger({ store, hasher, address: me.address, config, events, log }, { keepEpochs: 64 })
  const acceptances = new Acceptances({ store, events, hasher, config, pool, headEpoch: () => undefined, maxEpoch: () => epochAt(profile, Date.now()) + 2n }, { keepEpochs: 64 })
  const parties = new PartyPeers()
  const heartbeats = new Heartbeats({ profile, identity: me, address: me.address, hasher, ledger, parties, publish: async () => {}, votes: new VoteWeights(true) })
  const subscribed: string[] = []
  const validators = new Map<string, unknown>()
  const validation = new TopicValidation({
    pubsub: { topicValidators: validators as never, subscribe: (t: string) => { subscribed.push(t) } },
    profile,
    hasher,
    pool,
    policing: new PeerPolicing(),
    metrics: new GossipMetrics(),
    acceptances,
    admission: new OfferAdmission({ pool, limits: profile.limits, funded: () => true, currentEpoch: () => epochAt(profile, Date.now()), liveFrom: () => undefined }),
    heartbeats,
    parties,
    events,
    log,
    onReject: () => {},
    onHeartbeat: () => {}
  })
  return { profile, hasher, pool, acceptances, heartbeats, parties, validation, subscribed, epoch: epochAt(profile, Date.now()) }
}

/** A gossipsub delivery published (and forwarded) by `author`. */
function delivery (author: Identity, topic: string, data: Uint8Array): Message {
  return { type: 'signed', from: author.peerId, topic, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: author.libp2pKey.publicKey }
}

async function outcome (ctx: Ctx, kind: TopicKind, author: Identity, data: Uint8Array): Promise<string> {
  try {
    await ctx.validation.validate(kind, author.peerId.toString(), delivery(author, topicName(ctx.profile, kind), data))
    return 'accept'
  } catch (e) {
    const { action, code } = actionOf(e)
    return `${action}:${code}`
  }
}

interface TopicCase {
  /** A valid payload of the topic, signed by `author`. */
  valid: (ctx: Ctx, author: Identity) => Uint8Array
  /** Whether the node recorded the accepted payload. */
  recorded: (ctx: Ctx, author: Identity) => boolean
}

function deal (ctx: Ctx, creator: Identity): Deal {
  return {
    jobOfferHash: hashOf('job'),
    resourceOfferHash: hashOf('resource'),
    creator: creator.address,
    provider: createIdentity().address,
    price: 10n ** 15n,
    collateral: 0n,
    timeout: 60,
    matchEpoch: ctx.epoch,
    openBy: BigInt(Math.floor(Date.now() / 1000) + 600)
  }
}

const cases: { [K in TopicKind]: TopicCase } = {
  jobs: {
    valid: (ctx, a) => encodeMessage(signJobOffer(ctx.hasher, a.privateKey, jobOffer(a.address, 1n, ctx.epoch + 1n))),
    recorded: (ctx, a) => [...ctx.pool.all()].some((o) => o.kind === 'job' && o.signer === a.address)
  },
  resources: {
    valid: (ctx, a) => encodeMessage(signResourceOffer(ctx.hasher, a.privateKey, resourceOffer(a.address, 1n, ctx.epoch + 1n))),
    recorded: (ctx, a) => [...ctx.pool.all()].some((o) => o.kind === 'resource' && o.signer === a.address)
  },
  deals: {
    valid: (ctx, a) => {
      // a deal this node's matcher derived (acceptances of any other deal are dropped)
      const d = deal(ctx, a)
      void ctx.acceptances.noteDerived(ctx.epoch, [ctx.hasher.digest('Deal', d)], false)
      return encodeMessage(signDeal(ctx.hasher, a.privateKey, d, 'creator'))
    },
    recorded: (ctx) => ctx.acceptances.agreedAndPending().some((d) => d.creatorSigned)
  },
  epochs: {
    valid: (ctx, a) => encodeMessage(signHeartbeat(ctx.hasher, a.privateKey, { node: a.address, epoch: ctx.epoch, offerDigest: hashOf('digest') as Hash, stateRoot: hashOf('root') as Hash })),
    recorded: (ctx, a) => ctx.heartbeats.has(ctx.epoch, a.address)
  }
}

describe('node/services/topicValidation: a validator and a case per topic', () => {
  const cleanup = new Cleanup()
  afterEach(async () => { await cleanup.run() })

  it('installs a validator on every topic and subscribes to it', async () => {
    const ctx = await context(cleanup)
    ctx.validation.install()
    assert.deepEqual(ctx.subscribed, TOPIC_KINDS.map((k) => topicName(ctx.profile, k)))
    assert.deepEqual(Object.keys(ctx.validation.validators).sort(), [...TOPIC_KINDS].sort())
  })

  for (const kind of TOPIC_KINDS) {
    it(`${kind}: accepts a valid ${TOPIC_MESSAGE[kind]} and records it; refuses another publisher and another topic's payload`, async () => {
      const ctx = await context(cleanup)
      const author = createIdentity()
      const data = cases[kind].valid(ctx, author)
      // published by someone other than the signer: rejected, nothing recorded
      const impostor = createIdentity()
      assert.equal(await outcome(ctx, kind, impostor, data), 'reject:NODE_WRONG_PUBLISHER')
      assert.equal(cases[kind].recorded(ctx, author), false)
      // the payload of every other topic is refused on this one (by kind, or by this kind's size cap)
      for (const other of TOPIC_KINDS.filter((k) => k !== kind)) {
        assert.match(await outcome(ctx, kind, author, cases[other].valid(ctx, author)), /^reject:PROTOCOL_(UNKNOWN_KIND|TOO_LARGE)$/, `${other} payload on ${kind}`)
      }
      assert.equal(await outcome(ctx, kind, author, data), 'accept')
      assert.equal(cases[kind].recorded(ctx, author), true)
      assert.equal(ctx.parties.peerOf(author.address)?.toString(), author.peerId.toString())
      // garbage is rejected before anything else is looked at
      assert.match(await outcome(ctx, kind, author, new TextEncoder().encode('{"k":')), /^reject:PROTOCOL_/)
    })
  }
})

/**
 * The gossip topics as types (Lodestar's `network/gossip/interface.ts`): each topic kind names
 * the one message kind it carries, so a validator set is a mapped type from topic kind to a
 * function of that topic's payload — leaving a topic out, or handling it with the wrong
 * payload, does not compile. Topic names are `topicName` / `parseTopic` (src/protocol/profile.ts).
 */
import type { PeerId } from '@libp2p/interface'
import type { Profile, TopicKind } from '../../protocol/index.js'
import { TOPIC_KINDS } from '../../protocol/index.js'
import { decodeMessage, type WireMessage } from '../wire.js'

export { TOPIC_KINDS, type TopicKind }

/** The message kind each topic carries. */
export const TOPIC_MESSAGE = {
  jobs: 'job',
  resources: 'resource',
  deals: 'acceptance',
  epochs: 'heartbeat'
} as const satisfies Record<TopicKind, WireMessage['kind']>

/** The decoded payload of each topic. */
export type TopicPayload<K extends TopicKind> = Extract<WireMessage, { kind: (typeof TOPIC_MESSAGE)[K] }>

/** What a validator learns about a delivery besides its payload. */
export interface GossipDelivery {
  /** The peer that forwarded it to us (peer id string). */
  source: string
  /** The peer that published it (peer id string). */
  author: string
  /** The same peer, parsed. */
  from: PeerId
  /** The exact bytes as delivered. */
  data: Uint8Array
}

/**
 * A validator per topic. Each throws a GossipRefusal (or a ProtocolError) to refuse, and
 * returns to accept; src/p2p/gossip/policing.ts turns either into the gossipsub result.
 */
export type TopicValidators = { [K in TopicKind]: (payload: TopicPayload<K>, delivery: GossipDelivery) => Promise<void> }

/** Decodes `data` as the payload of topic `kind` (size cap, schema, the kind the topic carries). */
export function decodeTopicPayload<K extends TopicKind> (profile: Profile, kind: K, data: Uint8Array): TopicPayload<K> {
  return decodeMessage(data, TOPIC_MESSAGE[kind], { maxLifetimeEpochs: BigInt(profile.limits.maxOfferLifetimeEpochs) }) as TopicPayload<K>
}

/** Runs the validator of `kind` on a decoded payload: one place where the kind and its validator meet. */
export async function runTopicValidator<K extends TopicKind> (validators: TopicValidators, kind: K, payload: TopicPayload<K>, delivery: GossipDelivery): Promise<void> {
  await validators[kind](payload, delivery)
}

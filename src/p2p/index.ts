/**
 * The p2p layer: the libp2p host and its configuration, gossip policing, the request/response
 * protocols (rpc framing, query, transfer) and the peer ↔ address helpers. It imports only
 * src/protocol; what the node does with the messages is in src/node.
 */
export {
  createNodeLibp2p, gossipScore, gossipTuning, connectedPeers, DEFAULT_GOSSIP_TUNING, SPEC_GOSSIP_TUNING,
  DISCONNECT_SCORE, SCORE_THRESHOLDS, GossipConfigError,
  type NodeLibp2p, type NodeServices, type GossipTuning, type CreateLibp2pOptions, type P2pMetrics, type GossipMetricsRegister
} from './libp2p.js'
export { P2pError, GossipRefusal, type P2pErrorCode } from './errors.js'
export { GOSSIP_CODES, GossipMetrics, PeerPolicing, actionOf, toValidatorResult, type GossipAction } from './gossip/policing.js'
export { callRpc, serveRpc, RpcRefusal, type RpcHandler } from './reqresp/rpc.js'
export { queryNode, pageOf, QUERY_KINDS, MAX_QUERY_LIMIT, type QueryKind, type QueryPage, type QueryOptions } from './reqresp/query.js'
export { fetchBlob, pushBlob, TransferServer, TransferError, isTransferError, blobHash, type BlobKind, type TransferService } from './reqresp/transfer.js'
export { peerAddress, peerIdFromSignature } from './peers.js'
export type { PolicingOptions } from './gossip/policing.js'
export { encodeMessage } from './wire.js'
export { signJobOffer } from './wire.js'
export { signResourceOffer } from './wire.js'
export { verifyMessage } from './wire.js'
export type { WireMessage } from './wire.js'
export { decodeMessage } from './wire.js'
export { NOT_RUN_KINDS } from './reqresp/outcome.js'
export { OUTCOME_CODES } from './reqresp/outcome.js'
export { REOFFER_KINDS } from './reqresp/outcome.js'
export { outcomeSigner } from './reqresp/outcome.js'
export { serveOutcomes } from './reqresp/outcome.js'
export type { OutcomeKind } from './reqresp/outcome.js'
export type { SignedOutcome } from './reqresp/outcome.js'
export { sendOutcome } from './reqresp/outcome.js'
export { signOutcome } from './reqresp/outcome.js'
export { signHeartbeat } from './wire.js'
export { signDeal } from './wire.js'
export { decodeTopicPayload } from './gossip/topics.js'
export { runTopicValidator } from './gossip/topics.js'
export { TOPIC_KINDS } from './gossip/topics.js'
export type { GossipDelivery } from './gossip/topics.js'
export type { TopicKind } from './gossip/topics.js'
export type { TopicPayload } from './gossip/topics.js'
export type { TopicValidators } from './gossip/topics.js'
export { serveLogs, openLogs, fetchLogs, LogsRefusal, MAX_LOG_CHUNK, MAX_LOG_STREAM_BYTES, MAX_LOG_STREAMS_PER_PEER, MAX_LOG_STREAM_MS } from './reqresp/logs.js'
export type { LogChunk, LogStreamName, LogSource, LogsCode, ServeLogsOptions, LogEnd } from './reqresp/logs.js'

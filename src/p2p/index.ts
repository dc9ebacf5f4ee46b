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

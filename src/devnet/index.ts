/** The devnet: a whole lilynode network on one machine (anvil, contracts, role processes, an example job). */
export { runDevnet, type DevnetMainOptions } from './main.js'
export { Devnet, NodeProcess, LILYNODE_BIN, REPO_ROOT, type DevnetOptions, type DevnetParty, type DevnetRole, type Balance } from './devnet.js'
export { Adversary, SyncLiar, ATTACKS, nodeView, type SyncLiarStats, type AttackKind, type AttackCounts, type AdversaryOptions, type NodeView } from './attacks.js'
export { startCpuBurners, MAX_CPU_BURNERS, type CpuBurners } from './load.js'
export { wanLinkDelayMs, simulateGossip, MAX_WAN_MS, type GossipModel, type GossipFigures } from './wan.js'

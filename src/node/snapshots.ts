/**
 * What a node checks before it adopts a peer's state (join or resync), and which root a joiner
 * picks. A snapshot is checked against the epoch that was asked for, the root that was agreed,
 * and the node's clock: its state must be the state *of that epoch* (the epoch is inside the
 * hashed state, so a genuine old snapshot relabelled with another epoch is refused), and the
 * epoch must have closed already (a node never jumps beyond the current epoch, whatever its
 * peers claim).
 */
import type { PeerId } from '@libp2p/interface'
import { decodeState, stateRoot } from '../matching/index.js'
import type { MatcherState } from '../matching/index.js'
import type { Hash } from '../protocol/index.js'
import { NodeError } from './errors.js'

export interface SnapshotAnswer { epoch: bigint, state: string, root: Hash, digest: Hash, inputIds: Hash[] }

export interface SnapshotExpectation {
  /** The epoch the snapshot was asked for. */
  epoch: bigint
  /** The root agreed for it (weighted majority). */
  root: Hash
  /** The last epoch whose match time has passed by the node's clock. */
  lastClosed: bigint
}

/** The snapshot's state, if it is the agreed state of the asked epoch; throws NODE_SNAPSHOT_UNVERIFIED otherwise. */
export function checkSnapshot (snap: SnapshotAnswer, want: SnapshotExpectation): MatcherState {
  if (typeof snap.state !== 'string' || !Array.isArray(snap.inputIds) || typeof snap.epoch !== 'bigint') {
    throw new NodeError('NODE_SNAPSHOT_UNVERIFIED', 'snapshot answer is malformed')
  }
  if (snap.epoch !== want.epoch) throw new NodeError('NODE_SNAPSHOT_UNVERIFIED', `asked for the snapshot of epoch ${want.epoch}, got one labelled ${snap.epoch}`)
  if (want.epoch > want.lastClosed) throw new NodeError('NODE_SNAPSHOT_UNVERIFIED', `snapshot of epoch ${want.epoch} is beyond the last closed epoch ${want.lastClosed} by this node's clock`)
  if (snap.root !== want.root) throw new NodeError('NODE_SNAPSHOT_UNVERIFIED', `snapshot of epoch ${snap.epoch} names root ${snap.root}, agreed ${want.root}`)
  const state = decodeState(new Uint8Array(Buffer.from(snap.state, 'base64')))
  if (stateRoot(state) !== want.root) throw new NodeError('NODE_SNAPSHOT_UNVERIFIED', `snapshot of epoch ${snap.epoch} does not hash to the agreed root`)
  if (state.epoch !== want.epoch) throw new NodeError('NODE_SNAPSHOT_UNVERIFIED', `snapshot labelled epoch ${want.epoch} holds the state of epoch ${String(state.epoch)}`)
  return state
}

export interface RootTally { root: Hash, weight: bigint, count: number, holders: PeerId[] }

/**
 * The root a joiner adopts for one epoch, from peers' answers and their weights: the heaviest
 * root with non-zero weight. Only when nobody answering holds anything (a network where no one
 * deposited yet, nothing at stake) does it fall back to `need` peers agreeing.
 */
export function pickJoinRoot (answers: Array<{ peer: PeerId, root: Hash, weight: bigint }>, need: number): RootTally | undefined {
  const tally = new Map<Hash, RootTally>()
  for (const a of answers) {
    const t = tally.get(a.root) ?? { root: a.root, weight: 0n, count: 0, holders: [] }
    t.weight += a.weight
    t.count++
    t.holders.push(a.peer)
    tally.set(a.root, t)
  }
  const all = [...tally.values()]
  const staked = all.filter((t) => t.weight > 0n).sort((x, y) => x.weight > y.weight ? -1 : x.weight < y.weight ? 1 : y.count - x.count)
  if (staked.length > 0) return staked[0]
  const best = all.sort((x, y) => y.count - x.count)[0]
  return best !== undefined && best.count >= need ? best : undefined
}

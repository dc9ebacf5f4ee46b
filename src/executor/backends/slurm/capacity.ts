/**
 * What a provider in front of a partition may offer. Pure: nodes and partition in, one
 * offer's capacity out, so it is tested on made-up clusters.
 *
 * A resource offer has one capacity that the matcher fills with jobs, and each job runs on one
 * node (no multi-node jobs), so a job as large as the whole offer must fit one node. The offer
 * is therefore one node's worth: the largest node of the partition that can take a job now
 * (not down, drained, failing, in maintenance or unresponsive), and the other usable nodes of
 * the partition run the jobs that queue behind it. Nodes coming, going or draining change
 * the answer the next time it is read; with no usable node there is no capacity at all.
 */
import type { BackendCapacity } from '../types.js'
import { unusableBecause } from './parse.js'
import type { SlurmNode, SlurmPartition } from './types.js'
import { MAX_DISK_MIB } from '../../../protocol/constants.js'

/** What a GRES GPU type is, for the offer: its VRAM per GPU (MiB) and the model name offered. */
export interface GpuType {
  vramMiB: number
  model?: string
}

export interface CapacityOptions {
  /** GRES GPU types this provider sells; GPUs of other types are not offered (their VRAM is unknown). */
  gpuTypes: Readonly<Record<string, GpuType>>
  /** MiB the batch job's runner needs beside the container (added to every job's --mem). */
  runnerMemMiB: number
}

export interface NodeShape {
  node: string
  cpu: number
  ram: number
  disk: number
  gpus: number
  gpuType: string | undefined
  gpuVram: number
  gpuModel: string
}

export interface ClusterCapacity {
  /** The offer's capacity; undefined when no node can take a job. */
  capacity: BackendCapacity | undefined
  /** The node it was read from, with its GRES type (for --gres). */
  shape: NodeShape | undefined
  usable: NodeShape[]
  /** Nodes of the partition left out, and why. */
  skipped: Array<{ node: string, why: string }>
}


/** The shape a job may take on one node, after the partition's per-node limits and the runner's share. */
export function nodeShape (n: SlurmNode, part: SlurmPartition, o: CapacityOptions): NodeShape | { why: string } {
  const cpus = Math.min(n.cpus, part.maxCpusPerNode ?? Infinity)
  const mem = Math.min(n.realMemory - n.memSpecLimit, part.maxMemPerNode ?? Infinity) - o.runnerMemMiB
  if (cpus < 1) return { why: 'no CPUs' }
  if (mem < 6) return { why: `${n.realMemory} MiB of memory leave nothing beside the runner's ${o.runnerMemMiB} MiB` }
  let best: { type: string, count: number, t: GpuType } | undefined
  for (const g of n.gres) {
    if (g.name !== 'gpu' || g.type === undefined || g.count < 1) continue
    const t = o.gpuTypes[g.type]
    if (t === undefined) continue
    if (best === undefined || g.count > best.count || (g.count === best.count && g.type < best.type)) best = { type: g.type, count: Math.min(64, g.count), t }
  }
  return {
    node: n.name,
    cpu: Math.min(1_024_000, cpus * 1000),
    ram: Math.min(4_194_304, mem),
    disk: Math.min(MAX_DISK_MIB, n.tmpDisk),
    gpus: best?.count ?? 0,
    gpuType: best?.type,
    gpuVram: best !== undefined ? best.t.vramMiB : 0,
    gpuModel: best !== undefined ? (best.t.model ?? best.type) : ''
  }
}

/** Larger first: more GPUs, then CPUs, memory, disk; the node name breaks ties. */
function bigger (a: NodeShape, b: NodeShape): number {
  return (b.gpus - a.gpus) || (b.cpu - a.cpu) || (b.ram - a.ram) || (b.disk - a.disk) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)
}

export function clusterCapacity (nodes: SlurmNode[], part: SlurmPartition, o: CapacityOptions): ClusterCapacity {
  const skipped: ClusterCapacity['skipped'] = []
  const usable: NodeShape[] = []
  const mine = nodes.filter((n) => n.partitions.includes(part.name))
  for (const n of mine) {
    if (part.state !== 'UP') { skipped.push({ node: n.name, why: `partition ${part.name} is ${part.state}` }); continue }
    const bad = unusableBecause(n.state)
    if (bad !== undefined) { skipped.push({ node: n.name, why: `${bad}${n.reason !== '' ? ` (${n.reason})` : ''}` }); continue }
    const s = nodeShape(n, part, o)
    if ('why' in s) skipped.push({ node: n.name, why: s.why })
    else usable.push(s)
  }
  usable.sort(bigger)
  const shape = usable[0]
  if (shape === undefined) return { capacity: undefined, shape: undefined, usable, skipped }
  const gpuNote = shape.gpus > 0 ? `, ${shape.gpus}× gres gpu:${shape.gpuType as string}` : ''
  return {
    capacity: {
      cpu: shape.cpu,
      ram: shape.ram,
      gpus: shape.gpus,
      gpuVram: shape.gpuVram,
      disk: shape.disk,
      gpuModel: shape.gpuModel,
      source: `slurm partition ${part.name}: node ${shape.node}${gpuNote}, the largest of ${usable.length} usable node(s)${skipped.length > 0 ? `; left out: ${skipped.map((s) => `${s.node} (${s.why})`).join(', ')}` : ''}`
    },
    shape,
    usable,
    skipped
  }
}

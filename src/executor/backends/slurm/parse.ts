/**
 * Parsers for what the Slurm commands print (`scontrol show … --oneliner`, GRES strings,
 * node states). Pure, so they are tested on captured output without a cluster.
 */
import type { Gres, SlurmJob, SlurmNode, SlurmPartition } from './types.js'

const KEY_RE = /^([A-Za-z][A-Za-z0-9_/:.]*)=(.*)$/s

/**
 * One `scontrol show <thing> --oneliner` record as key → value. Values may hold spaces
 * (`OS=Linux 6.1.0 #1 SMP`, `Reason=disk failed`): a word without `=` belongs to the value
 * before it.
 */
export function parseOneliner (line: string): Map<string, string> {
  const out = new Map<string, string>()
  let last: string | undefined
  for (const word of line.trim().split(' ')) {
    if (word === '') continue
    const m = KEY_RE.exec(word)
    if (m !== null) {
      last = m[1]
      out.set(last, m[2])
    } else if (last !== undefined) {
      out.set(last, `${out.get(last) ?? ''} ${word}`)
    }
  }
  return out
}

/** Records of a multi-record `--oneliner` output (one per line). */
export function parseOneliners (text: string): Array<Map<string, string>> {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l.includes('=')).map(parseOneliner)
}

/**
 * `gpu:a100:4(S:0-1),gpu:v100:2,shard:8` → entries; `(null)` or '' → []. Counts may carry a
 * unit suffix (`mps:1K`).
 */
export function parseGres (s: string | undefined): Gres[] {
  if (s === undefined) return []
  const text = s.trim()
  if (text === '' || text === '(null)' || text === 'N/A') return []
  const out: Gres[] = []
  // commas inside "(S:0,2)" are socket lists, not separators
  for (const raw of text.split(/,(?![^(]*\))/)) {
    const item = raw.replace(/\(.*\)$/, '').trim()
    if (item === '') continue
    const parts = item.split(':')
    const name = parts[0]
    let type: string | undefined
    let countText = '1'
    if (parts.length === 2) {
      if (/^[0-9]+[KMGTP]?$/.test(parts[1])) countText = parts[1]
      else type = parts[1]
    } else if (parts.length >= 3) {
      type = parts[1]
      countText = parts[2]
    }
    const count = parseCount(countText)
    if (name === '' || count === undefined) continue
    out.push({ name, type, count })
  }
  return out
}

function parseCount (s: string): number | undefined {
  const m = /^([0-9]+)([KMGTP]?)$/.exec(s)
  if (m === null) return undefined
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 }[m[2] as '' | 'K' | 'M' | 'G' | 'T' | 'P']
  const n = Number(m[1]) * mult
  return Number.isSafeInteger(n) ? n : undefined
}

/**
 * A node state as the commands print it: `IDLE`, `MIXED+DRAIN`, `DOWN*` (not responding),
 * `IDLE~` (powered down), `IDLE+CLOUD+POWERED_DOWN` → upper-case words.
 */
export function parseNodeState (s: string): string[] {
  const words: string[] = []
  let text = s.trim().toUpperCase()
  const suffix: Record<string, string> = { '*': 'NOT_RESPONDING', '~': 'POWERED_DOWN', '#': 'POWERING_UP', '%': 'POWERING_DOWN', '!': 'POWER_DOWN', '$': 'MAINT', '@': 'REBOOT_REQUESTED', '^': 'REBOOT_ISSUED', '-': 'PLANNED' }
  while (text.length > 0 && suffix[text[text.length - 1]] !== undefined) {
    words.push(suffix[text[text.length - 1]])
    text = text.slice(0, -1)
  }
  return [...text.split('+').filter((w) => w !== ''), ...words]
}

/** Node states in which a node takes no new job (or may never run one). */
const UNUSABLE = new Set([
  'DOWN', 'DRAIN', 'DRAINED', 'DRAINING', 'FAIL', 'FAILING', 'MAINT', 'NOT_RESPONDING', 'NO_RESPOND', 'FUTURE',
  'INVAL', 'INVALID', 'UNKNOWN', 'REBOOT_REQUESTED', 'REBOOT_ISSUED', 'POWER_DOWN', 'POWERING_DOWN', 'RESERVED', 'PLANNED'
])

/** Why a node cannot take a job now, or undefined when it can (idle, mixed, allocated, completing, powered down). */
export function unusableBecause (state: string[]): string | undefined {
  const bad = state.filter((w) => UNUSABLE.has(w))
  return bad.length > 0 ? bad.join('+') : undefined
}

const int = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^[0-9]+$/.test(v)) return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : undefined
}

/** A node record of `scontrol show nodes --oneliner`. */
export function nodeFromScontrol (r: Map<string, string>): SlurmNode | undefined {
  const name = r.get('NodeName')
  if (name === undefined) return undefined
  const cpus = int(r.get('CPUEfctv')) ?? int(r.get('CPUTot')) ?? 0
  const parts = r.get('Partitions')
  return {
    name,
    state: parseNodeState(r.get('State') ?? 'UNKNOWN'),
    cpus,
    realMemory: int(r.get('RealMemory')) ?? 0,
    memSpecLimit: int(r.get('MemSpecLimit')) ?? 0,
    tmpDisk: int(r.get('TmpDisk')) ?? 0,
    gres: parseGres(r.get('Gres')),
    partitions: parts === undefined || parts === '(null)' ? [] : parts.split(','),
    reason: r.get('Reason') ?? ''
  }
}

/** `MaxTime=UNLIMITED|INFINITE|[days-]hours:minutes:seconds|minutes` → minutes. */
export function parseTimeLimit (s: string | undefined): number | undefined {
  if (s === undefined || s === '' || /^(UNLIMITED|INFINITE|NONE|N\/A|Partition_Limit)$/i.test(s)) return undefined
  const m = /^(?:([0-9]+)-)?([0-9]+)(?::([0-9]+))?(?::([0-9]+))?$/.exec(s)
  if (m === null) return undefined
  const [, d, a, b, c] = m
  const days = Number(d ?? 0)
  // "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S"
  let h = 0; let min = 0; let sec = 0
  if (d !== undefined) { h = Number(a); min = Number(b ?? 0); sec = Number(c ?? 0) } else if (c !== undefined) { h = Number(a); min = Number(b); sec = Number(c) } else if (b !== undefined) { min = Number(a); sec = Number(b) } else { min = Number(a) }
  return days * 1440 + h * 60 + min + Math.ceil(sec / 60)
}

export function partitionFromScontrol (r: Map<string, string>): SlurmPartition | undefined {
  const name = r.get('PartitionName')
  if (name === undefined) return undefined
  return {
    name,
    state: (r.get('State') ?? 'UNKNOWN').toUpperCase(),
    maxTimeMin: parseTimeLimit(r.get('MaxTime')),
    maxMemPerNode: int(r.get('MaxMemPerNode')),
    maxCpusPerNode: int(r.get('MaxCPUsPerNode'))
  }
}

export function jobFromScontrol (r: Map<string, string>): SlurmJob | undefined {
  const jobId = r.get('JobId')
  if (jobId === undefined || !/^[0-9]+$/.test(jobId)) return undefined
  const [code, sig] = (r.get('ExitCode') ?? '').split(':')
  const nodes = r.get('NodeList')
  return {
    jobId,
    name: r.get('JobName') ?? '',
    state: (r.get('JobState') ?? 'UNKNOWN').toUpperCase().split('+')[0],
    reason: r.get('Reason') ?? '',
    nodes: nodes === undefined || nodes === '(null)' ? '' : nodes,
    exitCode: int(code),
    signal: int(sig),
    workDir: r.get('WorkDir') ?? '',
    comment: r.get('Comment') ?? ''
  }
}

/**
 * A provider's jobs never starve its node. The node must keep matching, signing and settling on
 * time on a machine its jobs keep busy, so the docker backend never offers all of the machine's
 * cores: it keeps a reserve for the node (and the OS) and offers the rest. The reserve is
 * enforced, not hoped for: every job container gets a CPU quota of the millicores its deal
 * bought (`NanoCpus`), and the matcher never puts more jobs on an offer than its capacity, so the
 * containers together can use at most `cores − reserve`. Job containers also run with a low CPU
 * weight (`CpuShares` JOB_CPU_SHARES, a quarter of Docker's default): where the node competes
 * with them in one cgroup (the node itself in a container on the same engine) the node wins.
 *
 * Reserve (`lilynode provider --reserve-cpu`): millicores (`1500`) or a percentage of the
 * machine (`25%`). Default: the larger of one core and 10 % of the machine, but at most half of
 * it (a one-core machine keeps 500 millicores and offers 500).
 */

/** Docker's CPU weight of a job container (the default is 1024). */
export const JOB_CPU_SHARES = 256

export type CpuReserve = { millicores: number } | { percent: number }

/** Parses `--reserve-cpu`: an integer number of millicores, or a percentage in [0, 90] such as `25%`. */
export function parseCpuReserve (text: string): CpuReserve {
  const pct = /^(\d{1,2}(?:\.\d+)?)%$/.exec(text)
  if (pct !== null) {
    const percent = Number(pct[1])
    if (percent > 90) throw new RangeError(`a CPU reserve of ${text} leaves jobs almost nothing; give at most 90%`)
    return { percent }
  }
  if (/^\d{1,9}$/.test(text)) return { millicores: Number(text) }
  throw new RangeError(`a CPU reserve is millicores (e.g. 1000) or a percentage of the machine (e.g. 25%), got '${text.slice(0, 40)}'`)
}

/** Millicores kept for the node out of `total` (the machine's cores × 1000). */
export function reservedMillicores (total: number, reserve?: CpuReserve): number {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError(`total millicores must be a non-negative integer, got ${String(total)}`)
  if (reserve === undefined) return Math.min(Math.max(1000, Math.ceil(total / 10)), Math.floor(total / 2))
  if ('percent' in reserve) return Math.min(total, Math.ceil(total * reserve.percent / 100))
  return Math.min(total, reserve.millicores)
}

/** Millicores a provider offers: the machine less the reserve. */
export function offeredMillicores (total: number, reserve?: CpuReserve): number {
  return total - reservedMillicores(total, reserve)
}

/** A job's result files, read from its stored result bundle (for `lilynode get`, the SDK and GET /jobs/{id}/outputs). */
import { decodeBundle, readTar } from '../../executor/index.js'
import type { Hash } from '../../protocol/index.js'
import type { DealStore } from '../roles/deals.js'
import type { JobRecord } from './records.js'

/** One file of a job's result: stdout, stderr, exitCode, outputs/<path>. */
export interface OutputFile { path: string, bytes: number }

/** The files a result bundle holds, with their bytes. */
export function bundleFiles (bundle: Uint8Array): Array<OutputFile & { data: Uint8Array }> {
  const b = decodeBundle(bundle)
  const out = [
    { path: 'stdout', bytes: b.stdout.length, data: b.stdout },
    { path: 'stderr', bytes: b.stderr.length, data: b.stderr },
    { path: 'exitCode', bytes: 0, data: new TextEncoder().encode(`${b.exitCode}\n`) }
  ]
  out[2].bytes = out[2].data.length
  if (b.outputTar.length > 0) {
    for (const t of readTar(b.outputTar)) if (t.type === 'file') out.push({ path: `outputs/${t.path}`, bytes: t.data.length, data: t.data })
  }
  return out
}

/** The deal whose bundle a job's outputs are: the last deal of the record that has one. */
export async function bundleOf (deals: DealStore, job: JobRecord | undefined, dealIds: Hash[]): Promise<{ dealId: Hash, bundle: Uint8Array } | undefined> {
  const ids = [...(job?.dealIds ?? dealIds)].reverse()
  for (const id of ids) {
    const bundle = await deals.getBlob(id, 'bundle').catch(() => undefined)
    if (bundle !== undefined) return { dealId: id, bundle }
  }
  return undefined
}


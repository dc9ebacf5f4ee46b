/** `lilynode describe`: reads the job record and its deals from the data dir (no node is started). */
import type { HandlerContext } from '../../command.js'
import { LilyJobs, type JobDescription } from '../../../sdk/index.js'
import { jsonLine } from '../jobs/handler.js'
import type { DescribeArgs } from './options.js'

function time (ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23)
}

/** The description as lines for people. */
export function describeText (d: JobDescription): string {
  const out: string[] = []
  const j = d.job
  if (j !== undefined) {
    out.push(`job       ${j.id} (${j.source})`)
    out.push(`module    ${j.moduleName}:${j.moduleVersion}${j.module !== `${j.moduleName}:${j.moduleVersion}` ? ` (${j.module})` : ''}`)
    const inputs = Object.entries(j.inputs).map(([k, v]) => `${k}=${String(v)}`).join(' ')
    if (inputs !== '') out.push(`inputs    ${inputs}`)
    out.push(`state     ${j.state}${j.exitCode !== undefined && j.exitCode !== null ? `, the job exited ${j.exitCode}` : ''}`)
    out.push(`started   ${time(j.createdAt)}, last change ${time(j.updatedAt)} (${((j.updatedAt - j.createdAt) / 1000).toFixed(1)} s)`)
    out.push(`bounds    max price ${j.maxPrice} wei, collateral ${j.collateral} wei, timeout ${j.timeoutS} s`)
    if (j.provider !== undefined) out.push(`provider  ${j.provider}${j.price !== undefined ? ` at ${j.price} wei` : ''}`)
    if (j.resultHash !== undefined) out.push(`result    ${j.resultHash}`)
    out.push(`gas       ${j.gasUsed} (this node's transactions)`)
    if (j.outDir !== undefined) out.push(`outputs   ${j.outDir}`)
    if (j.failure !== undefined) {
      const f = j.failure
      out.push(`failure   ${f.code}: ${f.message}${f.provider !== undefined ? ` (signed by provider ${f.provider})` : ''}`)
      if (f.stderrTail !== undefined && f.stderrTail !== '') out.push(...f.stderrTail.trimEnd().split('\n').slice(-20).map((l) => `  stderr | ${l}`))
    }
    out.push('stages')
    for (const s of j.stages) {
      const bits = [
        s.provider !== undefined && s.stage === 'matched' ? `provider ${s.provider}` : '',
        s.price !== undefined ? `${s.price} wei` : '',
        s.dealId !== undefined && s.stage === 'matched' ? `deal ${s.dealId}` : '',
        s.jobOfferHash !== undefined ? `offer ${s.jobOfferHash}` : '',
        s.tx !== undefined ? `tx ${s.tx}${s.gasUsed !== undefined ? ` (gas ${s.gasUsed})` : ''}` : '',
        s.resultHash !== undefined ? `result ${s.resultHash}` : '',
        s.exitCode !== undefined ? `exit code ${String(s.exitCode)}` : '',
        s.message ?? ''
      ].filter((b) => b !== '')
      out.push(`  ${time(s.at).slice(11)} +${(s.elapsedMs / 1000).toFixed(2).padStart(7)}s  ${s.stage.padEnd(10)} ${bits.join('; ')}`)
    }
  }
  for (const r of d.deals) {
    out.push(`deal      ${r.dealId} (${r.role}): ${r.state}`)
    out.push(`  creator ${r.deal.creator}, provider ${r.deal.provider}, price ${r.deal.price} wei, collateral ${r.deal.collateral} wei, timeout ${r.deal.timeout} s`)
    if (r.openTx !== undefined) out.push(`  open tx   ${r.openTx}`)
    if (r.settleTx !== undefined) out.push(`  settle tx ${r.settleTx}`)
    if (r.error !== undefined) out.push(`  note      ${r.error}`)
    for (const h of r.history) out.push(`  ${time(h.at).slice(11)} ${h.state.padEnd(10)} ${h.note ?? ''}`)
  }
  return `${out.join('\n')}\n`
}

export async function describe (args: DescribeArgs, { positionals }: HandlerContext): Promise<number> {
  const store = await LilyJobs.open(args.dataDir)
  try {
    const d = await store.describe(positionals[0])
    process.stdout.write(args.json ? `${jsonLine(d)}\n` : describeText(d))
    return 0
  } finally {
    await store.close()
  }
}

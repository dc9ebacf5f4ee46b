/**
 * bench:adversary — honest jobs on a devnet of real processes (anvil, bootstrap, one provider
 * with Docker, one creator) with and without a stranger attacking (src/devnet/attacks.ts: eight
 * throwaway identities, no ETH, no escrow). For the baseline (no attacker) and then each attack
 * alone and all at once, `--jobs` (default 3) trivial jobs run one after the other through
 * `lilynode run`; a job counts as paid when its run exits 0 after the `paid` stage.
 * `--json` prints one line: { baseline: { paid, sent, p50Ms }, attacks: { <kind>: { paid, sent,
 * p50Ms, p50Ratio, attackerMessages } } } (p50Ratio: the attack's p50 over the baseline's, same
 * run; target ≤ 1.5 with every job paid). Exit code 1 when a job was not paid.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Adversary, ATTACKS, Devnet, type AttackKind } from '../../src/devnet/index.js'

function arg (name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return def
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`)
  return v
}

const json = process.argv.includes('--json')
const jobs = arg('jobs', 3)
const say = (s: string): void => { if (!json) process.stdout.write(`${s}\n`) }

function p50 (xs: number[]): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]
}

interface Row { paid: number, sent: number, p50Ms: number }

async function honestJobs (net: Devnet, label: string): Promise<Row> {
  const ms: number[] = []
  let paid = 0
  for (let i = 0; i < jobs; i++) {
    const t0 = Date.now()
    const job = net.run('creator-1', 'cowsay:v0.0.4', [`Message=${label} ${i}`])
    const code = await job.done
    if (code === 0 && job.events.some((e) => e.stage === 'paid')) {
      paid++
      ms.push(Date.now() - t0)
    } else {
      say(`  ${label} job ${i}: not paid (exit ${String(code)}): ${job.stderrTail.trim().split('\n').slice(-2).join(' | ')}`)
    }
  }
  return { paid, sent: jobs, p50Ms: p50(ms) }
}

async function main (): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'lily-bench-adv-'))
  const net = new Devnet({ dataDir: join(dir, 'net'), providers: 1, mediators: 0, creators: 1, epochMs: 1000, challengeWindowS: 8 })
  try {
    await net.start()
    const provider = net.procs.get('provider-1')
    if (provider === undefined) throw new Error('no provider-1')
    const ready = await provider.waitFor((e) => e.event === 'ready', 60_000, 'ready')
    const targets = [net.profile.bootstrap[0], (ready.addrs as string[])[0]]
    say(`devnet up; ${jobs} honest jobs per configuration`)
    const baseline = await honestJobs(net, 'baseline')
    say(`baseline: ${baseline.paid}/${baseline.sent} paid, p50 ${baseline.p50Ms} ms`)
    const attacks: Record<string, Row & { p50Ratio: number, attackerMessages: number }> = {}
    const configs: Array<[string, readonly AttackKind[]]> = [...ATTACKS.map((k): [string, readonly AttackKind[]] => [k, [k]]), ['all', ATTACKS]]
    for (const [name, kinds] of configs) {
      const adversary = await Adversary.start({ profile: net.profile, targets, identities: 8, squat: { cpu: Number(ready.cpu), ram: Number(ready.ram) } })
      adversary.run(kinds)
      let row: Row
      try {
        await new Promise((resolve) => setTimeout(resolve, 3 * net.profile.epochMs))
        row = await honestJobs(net, name)
      } finally {
        await adversary.stop()
      }
      const attackerMessages = Object.values(adversary.sent).reduce((a, b) => a + b, 0)
      attacks[name] = { ...row, p50Ratio: baseline.p50Ms > 0 ? Math.round((row.p50Ms / baseline.p50Ms) * 100) / 100 : 0, attackerMessages }
      say(`${name}: ${row.paid}/${row.sent} paid, p50 ${row.p50Ms} ms (${attacks[name].p50Ratio}× the baseline), ${attackerMessages} attacker messages`)
    }
    if (json) process.stdout.write(`${JSON.stringify({ jobsPerConfig: jobs, baseline, attacks })}\n`)
    const unpaid = baseline.sent - baseline.paid + Object.values(attacks).reduce((a, r) => a + r.sent - r.paid, 0)
    return unpaid === 0 ? 0 : 1
  } finally {
    await net.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

main().then((code) => { process.exitCode = code }, (e: unknown) => {
  process.stderr.write(`bench:adversary failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
})

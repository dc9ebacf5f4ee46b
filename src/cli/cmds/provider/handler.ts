/** `lilynode provider`. */
import type { HandlerContext } from '../../command.js'
import { readProfile, runProvider } from '../../../node/index.js'
import { printer } from '../../output.js'
import type { ProviderArgs } from './options.js'
import { slurmSettings } from './slurm.js'
import { gasPriceOf, providerSummary, type OfferedResources } from './summary.js'
import { CliError } from '../../command.js'
import { parseCpuReserve, type CpuReserve } from '../../../executor/index.js'

function reserveCpu (text: string): CpuReserve {
  try {
    return parseCpuReserve(text)
  } catch (e) {
    throw new CliError(`option --reserve-cpu: ${(e as Error).message}`)
  }
}

export async function provider (args: ProviderArgs, { signal }: HandlerContext): Promise<number> {
  const slurm = slurmSettings(args, args.dataDir)
  const profile = await readProfile(args.profile)
  const prices = { priceCpu: args.priceCpu, priceRam: args.priceRam, priceGpu: args.priceGpu, priceDisk: args.priceDisk }
  const print = printer(args.json)
  // asked while the node starts; the summary follows the ready line
  const gasPrice = gasPriceOf(profile.rpcUrl)
  let offered: OfferedResources | undefined
  /** Deals seen and not settled: what a stop leaves for the next start. */
  const open = new Map<string, string>()
  const out = (e: Record<string, unknown>): void => {
    if (e.event === 'deal' && typeof e.dealId === 'string') {
      if (SETTLED.has(String(e.state))) open.delete(e.dealId)
      else open.set(e.dealId, String(e.state))
    }
    if (e.event === 'offer' && e.withdrawn !== true) offered = { cpu: Number(e.cpu), ram: Number(e.ram), gpus: Number(e.gpus), gpuVram: Number(e.gpuVram), gpuModel: String(e.gpuModel ?? ''), disk: Number(e.disk) }
    print(e)
    if (e.event === 'ready' && offered !== undefined) {
      const r = offered
      void gasPrice.then((g) => { print({ ...providerSummary(r, prices, args.collateral, g) }) })
    }
  }
  await runProvider({
    profile,
    dataDir: args.dataDir,
    listen: args.listen.length > 0 ? args.listen : undefined,
    prices,
    collateral: args.collateral,
    depositWei: args.deposit,
    modules: args.module,
    ...(args.maxCpu !== undefined ? { maxCpu: args.maxCpu } : {}),
    ...(args.maxRam !== undefined ? { maxRam: args.maxRam } : {}),
    ...(args.reserveCpu !== undefined ? { reserveCpu: reserveCpu(args.reserveCpu) } : {}),
    allowNetwork: args.allowNetwork,
    ...slurm
  }, signal, out)
  if (signal.aborted) process.stderr.write(`${stoppedProvider(String((signal.reason as Error | undefined)?.message ?? 'stopped'), open, args.dataDir)}\n`)
  return 0
}

const SETTLED = new Set(['completed', 'claimed', 'resolved', 'timed-out', 'expired', 'fulfilled'])

/** What stopping the provider left, and how it is picked up again. */
export function stoppedProvider (why: string, open: ReadonlyMap<string, string>, dataDir: string): string {
  if (open.size === 0) return `lilynode: provider ${why}: no deal was in progress; its offer lapses within its lifetime`
  const list = [...open].slice(0, 5).map(([id, state]) => `${id.slice(0, 10)}… (${state})`).join(', ')
  return `lilynode: provider ${why} with ${open.size} deal${open.size > 1 ? 's' : ''} in progress: ${list}${open.size > 5 ? ', …' : ''}; they are kept in ${dataDir} and resumed when 'lilynode provider --data-dir ${dataDir}' starts again (a running container is re-attached; a deal whose deadline passes meanwhile may cost its collateral)`
}

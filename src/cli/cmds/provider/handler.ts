/** `lilynode provider`. */
import type { HandlerContext } from '../../command.js'
import { readProfile, runProvider } from '../../../node/index.js'
import { printer } from '../../output.js'
import type { ProviderArgs } from './options.js'
import { slurmSettings } from './slurm.js'
import { gasPriceOf, providerSummary, type OfferedResources } from './summary.js'

export async function provider (args: ProviderArgs, { signal }: HandlerContext): Promise<number> {
  const slurm = slurmSettings(args, args.dataDir)
  const profile = await readProfile(args.profile)
  const prices = { priceCpu: args.priceCpu, priceRam: args.priceRam, priceGpu: args.priceGpu, priceDisk: args.priceDisk }
  const print = printer(args.json)
  // asked while the node starts; the summary follows the ready line
  const gasPrice = gasPriceOf(profile.rpcUrl)
  let offered: OfferedResources | undefined
  const out = (e: Record<string, unknown>): void => {
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
    allowNetwork: args.allowNetwork,
    ...slurm
  }, signal, out)
  return 0
}

/** `lilynode provider`. */
import type { HandlerContext } from '../../command.js'
import { readProfile, runProvider } from '../../../node/index.js'
import { printer } from '../../output.js'
import type { ProviderArgs } from './options.js'
import { slurmSettings } from './slurm.js'
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
  await runProvider({
    profile,
    dataDir: args.dataDir,
    listen: args.listen.length > 0 ? args.listen : undefined,
    prices: { priceCpu: args.priceCpu, priceRam: args.priceRam, priceGpu: args.priceGpu, priceDisk: args.priceDisk },
    collateral: args.collateral,
    depositWei: args.deposit,
    modules: args.module,
    ...(args.maxCpu !== undefined ? { maxCpu: args.maxCpu } : {}),
    ...(args.maxRam !== undefined ? { maxRam: args.maxRam } : {}),
    ...(args.reserveCpu !== undefined ? { reserveCpu: reserveCpu(args.reserveCpu) } : {}),
    allowNetwork: args.allowNetwork,
    ...slurm
  }, signal, printer(args.json))
  return 0
}

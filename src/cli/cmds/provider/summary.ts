/**
 * What a provider sells, said at start: the resources of its offer, its prices per unit (and
 * per hour, in ETH), what an example job pays at least (the offer's ask), and a warning when such a job's pay does not
 * cover the gas of the deal's two transactions (open + complete) at the chain's gas price.
 */
import { formatWei, groupDigits, humanWei, jobPrice } from '../../../matching/index.js'
import type { Prices } from '../../../protocol/index.js'

/** Gas of a deal's two transactions, the compact open + complete, as `npm run bench:gas` measures it (README: 101,967). */
export const DEAL_GAS = 101_967n

/** The example job the summary prices: one core, 1 GiB, 60 s (and one GPU when the offer has one). */
export const EXAMPLE_JOB = { cpu: 1000, ram: 1024, disk: 0, timeout: 60 } as const

export interface OfferedResources { cpu: number, ram: number, gpus: number, gpuVram: number, gpuModel: string, disk: number }

export interface ProviderSummary {
  event: 'summary'
  resources: OfferedResources
  prices: Record<keyof Prices, string>
  collateral: string
  exampleJob: { cpu: number, ram: number, gpus: number, disk: number, timeout: number, price: string }
  gasPerDeal: string
  /** null when the RPC did not answer. */
  gasPrice: string | null
  gasCost: string | null
  warning?: string
  lines: string[]
}

/** The summary event (`lines`: what the text output prints). */
export function providerSummary (r: OfferedResources, p: Prices, collateral: bigint, gasPrice: bigint | null): ProviderSummary {
  const gpus = r.gpus > 0 ? 1 : 0
  const job = { ...EXAMPLE_JOB, gpus }
  // the ask: a deal pays the midpoint of it and the job's max price (dealPrice), never less
  const price = jobPrice(job, p)
  const gasCost = gasPrice === null ? null : gasPrice * DEAL_GAS
  const hour = (perSecond: bigint, units: bigint): string => humanWei(perSecond * units * 3600n)
  const lines = [
    `selling: ${r.cpu} millicores, ${r.ram} MiB of memory, ${r.gpus} GPU${r.gpus === 1 ? '' : 's'}${r.gpus > 0 ? ` (${r.gpuModel !== '' ? `${r.gpuModel}, ` : ''}${r.gpuVram} MiB each)` : ''}, ${r.disk} MiB of disk`,
    `  prices: CPU ${groupDigits(p.priceCpu)} wei per millicore-second (${hour(p.priceCpu, 1000n)} per core-hour); memory ${groupDigits(p.priceRam)} wei per MiB-second (${hour(p.priceRam, 1024n)} per GiB-hour)`,
    `          GPU ${groupDigits(p.priceGpu)} wei per GPU-second (${hour(p.priceGpu, 1n)} per GPU-hour); disk ${groupDigits(p.priceDisk)} wei per MiB-second`,
    `  collateral per deal: ${formatWei(collateral)}`,
    `  example job (${job.cpu} millicores, ${job.ram} MiB${gpus > 0 ? ', 1 GPU' : ''}, ${job.timeout} s) pays at least ${formatWei(price)} (the ask; a deal pays the midpoint of the ask and the job's max price)`,
    gasCost === null
      ? `  gas of a deal's two transactions (open + complete): ${groupDigits(DEAL_GAS)} gas; the RPC gave no gas price`
      : `  gas of a deal's two transactions (open + complete): ${groupDigits(DEAL_GAS)} gas × ${groupDigits(gasPrice as bigint)} wei = ${formatWei(gasCost)}`
  ]
  let warning: string | undefined
  if (gasCost !== null && price < gasCost) {
    const factor = price === 0n ? 'any' : `${groupDigits((gasCost + price - 1n) / price)}×`
    warning = `the example job pays as little as ${groupDigits(price)} wei, less than the ${groupDigits(gasCost)} wei of gas its two transactions cost: raise the prices (${factor} --price-cpu/--price-ram) or expect to lose money on small jobs`
    lines.push(`  WARNING: ${warning}`)
  }
  return {
    event: 'summary',
    resources: r,
    prices: { priceCpu: p.priceCpu.toString(), priceRam: p.priceRam.toString(), priceGpu: p.priceGpu.toString(), priceDisk: p.priceDisk.toString() },
    collateral: collateral.toString(),
    exampleJob: { ...job, price: price.toString() },
    gasPerDeal: DEAL_GAS.toString(),
    gasPrice: gasPrice === null ? null : gasPrice.toString(),
    gasCost: gasCost === null ? null : gasCost.toString(),
    ...(warning !== undefined ? { warning } : {}),
    lines
  }
}

/** eth_gasPrice from `rpcUrl` (null when it does not answer within 3 s). */
export async function gasPriceOf (rpcUrl: string): Promise<bigint | null> {
  try {
    const r = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_gasPrice","params":[]}', signal: AbortSignal.timeout(3000) })
    const j = await r.json() as { result?: unknown }
    return typeof j.result === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(j.result) ? BigInt(j.result) : null
  } catch {
    return null
  }
}

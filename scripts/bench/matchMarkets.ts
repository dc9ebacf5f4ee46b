/** Generated markets for bench:match (deterministic: the same seed gives the same market). */
import type { Address, Hash, JobOffer, ResourceOffer } from '../../src/protocol/types.js'
import { DomainHasher } from '../../src/protocol/eip712.js'
import type { MatcherConfig, OfferRecord } from '../../src/matching/index.js'

export const EPOCH = 1000n
export const hasher = new DomainHasher({ name: 'lilynode', version: '1', chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' })
export const CONFIG: MatcherConfig = {
  seedPrefix: '0x6c696c796e6f64652d62656e63682d70726f66696c652d686173682d30303031',
  reserveEpochs: 3,
  openBy: (e) => 1_700_000_000n + (e + 4n) * 30n
}

/** Deterministic PRNG (mulberry32) so every run generates the same markets. */
export function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function hex (r: () => number, bytes: number): `0x${string}` {
  let s = '0x'
  for (let i = 0; i < bytes; i++) s += Math.floor(r() * 256).toString(16).padStart(2, '0')
  return s as `0x${string}`
}

export interface Market { jobs: Array<OfferRecord<JobOffer>>, resources: Array<OfferRecord<ResourceOffer>> }

export const GPU_MODELS: Array<[string, number]> = [['Tesla T4', 16384], ['NVIDIA A10', 24576], ['RTX 4090', 24576], ['A100-SXM4-40GB', 40960], ['A100-SXM4-80GB', 81920], ['H100 80GB HBM3', 81920]]
/** Reference market prices per resource-second, in wei. */
export const REF = { cpu: 20_000, ram: 2_000, gpu: 200_000_000, disk: 10 }

interface ModuleSpec { hash: Hash, cpu: number, ram: number, gpus: number, gpuVram: number, disk: number }

/**
 * A market like the one the network expects: jobs come from a catalogue of modules (their
 * default resources, sometimes doubled), providers are CPU boxes or 1–8 GPU machines that
 * publish one or two offers and sometimes a newer version; prices scatter ±50 % around a
 * reference, maxPrices ±70 %; a few percent of offers are expired or not yet effective.
 */
export function generate (nJobs: number, nProviders: number, seed: number): Market {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const modules: ModuleSpec[] = []
  for (let i = 0; i < 40; i++) {
    const gpu = i >= 24
    const gpus = gpu ? pick([1, 1, 1, 2, 2, 4, 8]) : 0
    modules.push({
      hash: hex(r, 32),
      cpu: pick([250, 500, 1000, 2000, 4000, 8000]),
      ram: pick([256, 512, 1024, 2048, 4096, 8192, 16384]),
      gpus,
      gpuVram: gpu ? pick([8192, 16384, 24576, 40960, 81920]) : 0,
      disk: pick([100, 1024, 4096, 10240])
    })
  }
  const nProviderAddrs = Math.max(1, Math.floor(nProviders / 2))
  const providers: Address[] = Array.from({ length: nProviderAddrs }, () => hex(r, 20))
  const creators: Address[] = Array.from({ length: Math.max(1, Math.floor(nJobs / 5)) }, (_, i) => i % 50 === 0 ? pick(providers) : hex(r, 20))

  const resources: Array<OfferRecord<ResourceOffer>> = []
  for (let i = 0; i < nProviders; i++) {
    const gpu = r() < 0.4
    const [gpuModel, gpuVram] = gpu ? pick(GPU_MODELS) : ['', 0]
    const gpus = gpu ? pick([1, 1, 2, 2, 4, 8]) : 0
    const scale = (x: number): bigint => BigInt(Math.max(1, Math.round(x * (0.5 + r()))))
    const offer: ResourceOffer = {
      provider: providers[i % nProviderAddrs],
      nonce: BigInt(Math.floor(i / nProviderAddrs)),
      version: 1,
      cpu: gpu ? pick([8000, 16000, 32000, 64000]) : pick([2000, 4000, 8000, 16000, 32000, 64000]),
      ram: gpu ? pick([32768, 65536, 131072, 262144]) : pick([4096, 8192, 16384, 32768, 65536]),
      gpus,
      gpuVram,
      disk: pick([20480, 51200, 102400, 512000]),
      gpuModel,
      priceCpu: scale(REF.cpu),
      priceRam: scale(REF.ram),
      priceGpu: gpu ? scale(REF.gpu) : 0n,
      priceDisk: scale(REF.disk),
      modules: r() < 0.7 ? [] : Array.from({ length: 4 + Math.floor(r() * 8) }, () => pick(modules).hash),
      collateral: pick([0n, 10n ** 15n, 10n ** 16n, 10n ** 17n]),
      epoch: EPOCH - BigInt(Math.floor(r() * 20)),
      expiryEpoch: EPOCH + BigInt(Math.floor(r() * 50)) - (r() < 0.03 ? 60n : 0n)
    }
    resources.push({ id: hasher.digest('ResourceOffer', offer), offer })
    if (r() < 0.1) {
      // a newer version of the same slot, effective now or only later
      const v2: ResourceOffer = { ...offer, version: 2, priceCpu: scale(REF.cpu), priceRam: scale(REF.ram), priceGpu: gpu ? scale(REF.gpu) : 0n, epoch: EPOCH + (r() < 0.7 ? 0n : 5n) }
      resources.push({ id: hasher.digest('ResourceOffer', v2), offer: v2 })
    }
  }

  const jobs: Array<OfferRecord<JobOffer>> = []
  for (let i = 0; i < nJobs; i++) {
    const m = r() < 0.7 ? modules[Math.floor(r() * 24)] : modules[24 + Math.floor(r() * 16)]
    const big = r() < 0.2 ? 2 : 1
    const cpu = m.cpu * big; const ram = m.ram * big; const disk = m.disk
    const timeout = pick([60, 300, 600, 1800, 3600])
    const ref = (REF.cpu * cpu + REF.ram * ram + REF.gpu * m.gpus + REF.disk * disk) * timeout
    const offer: JobOffer = {
      creator: pick(creators),
      nonce: BigInt(i),
      module: m.hash,
      inputsHash: hex(r, 32),
      cpu, ram, gpus: m.gpus, gpuVram: m.gpuVram, disk,
      maxPrice: BigInt(Math.round(ref * (0.3 + 1.4 * r()))),
      timeout,
      collateral: r() < 0.6 ? 0n : pick([10n ** 15n, 10n ** 16n]),
      epoch: EPOCH - BigInt(Math.floor(r() * 5)) + (r() < 0.02 ? 3n : 0n),
      expiryEpoch: EPOCH + BigInt(Math.floor(r() * 10))
    }
    jobs.push({ id: hasher.digest('JobOffer', offer), offer })
  }
  return { jobs, resources }
}

/** Small markets in which no provider offer fits two jobs (cpu and ram between 1× and 2× a job's). */
export function generateUnit (nJobs: number, nProviders: number, seed: number): Market {
  const r = rng(seed)
  const module = hex(r, 32)
  const jobs: Array<OfferRecord<JobOffer>> = []
  for (let i = 0; i < nJobs; i++) {
    const cpu = 2000 + Math.floor(r() * 2000); const ram = 2048 + Math.floor(r() * 2048)
    const timeout = 100 + Math.floor(r() * 900)
    const ref = (REF.cpu * cpu + REF.ram * ram) * timeout
    const offer: JobOffer = { creator: hex(r, 20), nonce: BigInt(i), module, inputsHash: hex(r, 32), cpu, ram, gpus: 0, gpuVram: 0, disk: 0, maxPrice: BigInt(Math.round(ref * (0.4 + 1.2 * r()))), timeout, collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH }
    jobs.push({ id: hasher.digest('JobOffer', offer), offer })
  }
  const resources: Array<OfferRecord<ResourceOffer>> = []
  for (let i = 0; i < nProviders; i++) {
    const offer: ResourceOffer = {
      provider: hex(r, 20), nonce: 0n, version: 1, cpu: 2000 + Math.floor(r() * 1999), ram: 2048 + Math.floor(r() * 2047), gpus: 0, gpuVram: 0, disk: 0, gpuModel: '',
      priceCpu: BigInt(Math.round(REF.cpu * (0.5 + r()))), priceRam: BigInt(Math.round(REF.ram * (0.5 + r()))), priceGpu: 0n, priceDisk: 0n, modules: [], collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH
    }
    resources.push({ id: hasher.digest('ResourceOffer', offer), offer })
  }
  return { jobs, resources }
}

/**
 * Small single-GPU markets: every provider offer is one GPU machine (one job at a time), jobs
 * need one GPU with at least some vram; feasibility is nested (more vram fits more jobs).
 */
export function generateUnitGpu (nJobs: number, nProviders: number, seed: number): Market {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const module = hex(r, 32)
  const jobs: Array<OfferRecord<JobOffer>> = []
  for (let i = 0; i < nJobs; i++) {
    const gpuVram = pick([8192, 16384, 24576, 40960, 81920])
    const timeout = 300 + Math.floor(r() * 3300)
    const ref = (REF.cpu * 4000 + REF.ram * 16384 + REF.gpu * (gpuVram / 16384)) * timeout
    const offer: JobOffer = { creator: hex(r, 20), nonce: BigInt(i), module, inputsHash: hex(r, 32), cpu: 4000, ram: 16384, gpus: 1, gpuVram, disk: 1024, maxPrice: BigInt(Math.round(ref * (0.4 + 1.2 * r()))), timeout, collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH }
    jobs.push({ id: hasher.digest('JobOffer', offer), offer })
  }
  const resources: Array<OfferRecord<ResourceOffer>> = []
  for (let i = 0; i < nProviders; i++) {
    const [gpuModel, gpuVram] = pick(GPU_MODELS)
    const offer: ResourceOffer = {
      provider: hex(r, 20), nonce: 0n, version: 1, cpu: 4000 + Math.floor(r() * 3999), ram: 16384 + Math.floor(r() * 16383), gpus: 1, gpuVram, disk: 102400, gpuModel,
      priceCpu: BigInt(Math.round(REF.cpu * (0.5 + r()))), priceRam: BigInt(Math.round(REF.ram * (0.5 + r()))), priceGpu: BigInt(Math.round(REF.gpu * (gpuVram / 16384) * (0.5 + r()))), priceDisk: 0n, modules: [], collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH
    }
    resources.push({ id: hasher.digest('ResourceOffer', offer), offer })
  }
  return { jobs, resources }
}

export type Family = 'generated' | 'het' | 'advShapes' | 'advCollateral' | 'advJunk'
export const FAMILIES: readonly Family[] = ['het', 'advShapes', 'advCollateral', 'advJunk']

/**
 * Heterogeneous markets (`het`): CPU boxes and 1–64-GPU machines of six GPU models, prices
 * spread over two orders of magnitude, 30 % of offers with module allow-lists, collateral of
 * thousands of distinct values; jobs of thousands of distinct shapes (cpu, ram, disk in fine
 * steps, 1–64 GPUs, a minimum vram), maxPrices ±5×, half with a collateral of its own. The
 * adversarial variants change only the jobs: `advShapes` every job a shape of its own,
 * `advCollateral` every job a collateral of its own, `advJunk` half the jobs free junk
 * (maxPrice 0, cpu 250 + i) from one creator.
 */
export function generateHet (n: number, seed: number, family: Family): Market {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const spread = (x: number, decades: number): number => x * 10 ** (decades * (2 * r() - 1))
  const modules: Hash[] = Array.from({ length: 60 }, () => hex(r, 32))
  const providers: Address[] = Array.from({ length: Math.max(1, Math.floor(n / 3)) }, () => hex(r, 20))
  const creators: Address[] = Array.from({ length: Math.max(1, Math.floor(n / 5)) }, () => hex(r, 20))
  const resources: Array<OfferRecord<ResourceOffer>> = []
  for (let i = 0; i < n; i++) {
    const gpu = r() < 0.55
    const [gpuModel, gpuVram] = gpu ? pick(GPU_MODELS) : ['', 0]
    const gpus = gpu ? pick([1, 1, 2, 4, 8, 8, 16, 32, 64]) : 0
    const scale = Math.max(1, gpus / 2)
    const offer: ResourceOffer = {
      provider: providers[i % providers.length],
      nonce: BigInt(Math.floor(i / providers.length)),
      version: 1,
      cpu: Math.round(pick([2000, 4000, 8000, 16000, 32000, 64000]) * scale),
      ram: Math.round(pick([4096, 8192, 16384, 32768, 65536, 131072]) * scale),
      gpus,
      gpuVram,
      disk: pick([20480, 51200, 102400, 512000, 2048000]),
      gpuModel,
      priceCpu: BigInt(Math.max(1, Math.round(spread(REF.cpu, 1)))),
      priceRam: BigInt(Math.max(1, Math.round(spread(REF.ram, 1)))),
      priceGpu: gpu ? BigInt(Math.max(1, Math.round(spread(REF.gpu * gpuVram / 16384, 1)))) : 0n,
      priceDisk: BigInt(Math.max(0, Math.round(spread(REF.disk, 1)))),
      modules: r() < 0.7 ? [] : Array.from({ length: 2 + Math.floor(r() * 9) }, () => pick(modules)),
      collateral: r() < 0.2 ? 0n : BigInt(Math.floor(r() * 5000)) * 10n ** 14n,
      epoch: EPOCH,
      expiryEpoch: EPOCH + 10n
    }
    resources.push({ id: hasher.digest('ResourceOffer', offer), offer })
  }
  const jobs: Array<OfferRecord<JobOffer>> = []
  const junkCreator = hex(r, 20)
  for (let i = 0; i < n; i++) {
    let offer: JobOffer
    if (family === 'advJunk' && i % 2 === 1) {
      offer = { creator: junkCreator, nonce: BigInt(i), module: pick(modules), inputsHash: hex(r, 32), cpu: 250 + i, ram: 1, gpus: 0, gpuVram: 0, disk: 0, maxPrice: 0n, timeout: 1, collateral: 0n, epoch: EPOCH, expiryEpoch: EPOCH }
    } else {
      const gpus = r() < 0.4 ? pick([1, 1, 1, 2, 2, 4, 8, 16, 32, 64]) : 0
      const cpu = family === 'advShapes' ? 250 + i : 250 * (1 + Math.floor(r() * 64))
      const ram = 256 * (1 + Math.floor(r() * 128))
      const disk = 1024 * Math.floor(r() * 64)
      const gpuVram = gpus > 0 ? pick([8192, 16384, 20000, 24576, 40960, 81920]) : 0
      const timeout = pick([60, 300, 600, 1800, 3600])
      const ref = (REF.cpu * cpu + REF.ram * ram + REF.gpu * gpus * (gpuVram / 16384) + REF.disk * disk) * timeout
      const collateral = family === 'advCollateral' ? BigInt(1 + i) * 10n ** 13n : r() < 0.5 ? 0n : BigInt(Math.floor(r() * 4000)) * 10n ** 14n
      offer = {
        creator: pick(creators), nonce: BigInt(i), module: pick(modules), inputsHash: hex(r, 32),
        cpu, ram, gpus, gpuVram, disk, maxPrice: BigInt(Math.round(spread(ref, 0.7))), timeout, collateral, epoch: EPOCH, expiryEpoch: EPOCH + 5n
      }
    }
    jobs.push({ id: hasher.digest('JobOffer', offer), offer })
  }
  return { jobs, resources }
}

/** Distinct (module, cpu, ram, gpus, vram, disk) keys among the jobs: what the old engine built one order each for. */
export function distinctShapes (m: Market): number {
  return new Set(m.jobs.map((j) => `${j.offer.module},${j.offer.cpu},${j.offer.ram},${j.offer.gpus},${j.offer.gpus > 0 ? j.offer.gpuVram : 0},${j.offer.disk}`)).size
}

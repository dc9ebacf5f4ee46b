/**
 * `POST /jobs?dryRun=1`: the job checked as POST /jobs checks it, then fitted against the live
 * resource offers of the node's pool (the matcher's admission rule, matching/fit.ts) — which
 * offers it fits, what each would charge, why the others do not. Nothing is published.
 */
import { fitOffers, fitResultJson, PRICE_FORMULA } from '../matching/index.js'
import { moduleHash, type ModuleSpec } from '../protocol/index.js'
import type { ResourceOffer, Resources } from '../protocol/index.js'
import type { RoleHost } from '../node/index.js'

export interface DryRunJob {
  spec: ModuleSpec
  resources: Resources
  timeoutS: number
  maxPrice: bigint
  collateral: bigint
}

export function dryRun (host: RoleHost, j: DryRunJob): Record<string, unknown> {
  const offers = []
  for (const o of host.node.pool.all()) if (o.kind === 'resource') offers.push({ id: o.id, offer: o.offer as ResourceOffer })
  const module = moduleHash(j.spec)
  const r = fitOffers({ module, ...j.resources, timeout: j.timeoutS, maxPrice: j.maxPrice, collateral: j.collateral, creator: host.identity.address }, offers, host.node.currentEpoch())
  return {
    dryRun: true,
    module: `${j.spec.name}:${j.spec.version}`,
    moduleHash: module,
    resources: j.resources,
    timeoutS: j.timeoutS,
    maxPrice: j.maxPrice.toString(),
    collateral: j.collateral.toString(),
    formula: PRICE_FORMULA,
    source: 'own node',
    ...fitResultJson(r)
  }
}

/**
 * Read-only views of the node for people (the web console polls them, and so may anyone): the
 * epochs and their roots beside the majority of peers' roots, the node's balances and what its
 * settled deals earned or cost, the mediation queue (this node's deals under challenge), and
 * offers' prices in ETH per unit. Nothing here changes the node; every list is bounded.
 */
import type { JobOffer, ResourceOffer } from '../protocol/index.js'
import { withTimeout } from '../protocol/index.js'
import { formatWei, groupDigits, humanWei, jobPrice } from '../matching/index.js'
import type { DealRecord } from '../node/index.js'
import { describe } from '../node/index.js'
import type { Route } from './routes.js'
import { ADDRESS, HASH, s, WEI } from './schema.js'

/** The example job offers are priced for: one core, 1 GiB, 60 s (and one GPU when the offer has one). */
export const EXAMPLE_JOB = { cpu: 1000, ram: 1024, disk: 0, timeout: 60 } as const

/** Deal states in which a deal waits for a mediator (challenged, then drawn). */
const DISPUTED = new Set(['challenged', 'drawn'])
/** Deal states in which the provider was paid without a ruling. */
const PAID = new Set(['completed', 'claimed'])
const MAX_DISPUTES_LOOKED_UP = 20
const CHAIN_TIMEOUT_MS = 3000

/** An offer's prices for people: per unit in wei, per hour in ETH, and (resource offers) an example job's ask. */
export function humanPrices (kind: 'job' | 'resource', offer: JobOffer | ResourceOffer): Record<string, string> {
  if (kind === 'job') {
    const j = offer as JobOffer
    return { maxPrice: formatWei(j.maxPrice), collateral: formatWei(j.collateral), timeout: `${j.timeout} s` }
  }
  const r = offer as ResourceOffer
  const hour = (perSecond: bigint, units: bigint): string => humanWei(perSecond * units * 3600n)
  const job = { ...EXAMPLE_JOB, gpus: r.gpus > 0 ? 1 : 0 }
  return {
    cpu: `${groupDigits(r.priceCpu)} wei per millicore-second (${hour(r.priceCpu, 1000n)} per core-hour)`,
    ram: `${groupDigits(r.priceRam)} wei per MiB-second (${hour(r.priceRam, 1024n)} per GiB-hour)`,
    gpu: `${groupDigits(r.priceGpu)} wei per GPU-second (${hour(r.priceGpu, 1n)} per GPU-hour)`,
    disk: `${groupDigits(r.priceDisk)} wei per MiB-second`,
    collateral: formatWei(r.collateral),
    exampleJob: `${job.cpu} millicores, ${job.ram} MiB${job.gpus > 0 ? ', 1 GPU' : ''}, ${job.timeout} s asks ${formatWei(jobPrice(job, r))}`
  }
}

async function chainRead<T> (what: () => Promise<T>): Promise<{ value: T | null, error: string | null }> {
  try {
    return { value: await withTimeout(async () => await what(), CHAIN_TIMEOUT_MS, { timeoutError: () => new Error(`no answer within ${CHAIN_TIMEOUT_MS / 1000} s`) }), error: null }
  } catch (e) {
    return { value: null, error: describe(e).slice(0, 300) }
  }
}

function sum (deals: DealRecord[]): { wei: string, human: string, deals: number } {
  const wei = deals.reduce((a, d) => a + d.deal.price, 0n)
  return { wei: wei.toString(), human: formatWei(wei), deals: deals.length }
}

const AMOUNT = s.obj({ wei: WEI, human: s.str(), deals: s.int() }, ['wei', 'human', 'deals'])
const WEI_OR_NULL = s.nullable(WEI)

export const VIEW_ROUTES: readonly Route[] = [
  {
    operationId: 'listEpochs',
    method: 'GET',
    path: '/epochs',
    summary: 'The clock, the head epoch and, newest first, the state root this node computed for each kept epoch beside the majority root of its peers\' heartbeats',
    query: s.obj({ limit: s.int({ minimum: 1, maximum: 100, description: 'epochs listed (default 20)' }) }),
    responses: {
      200: {
        description: 'the epochs',
        schema: s.open({
          currentEpoch: s.str(),
          headEpoch: s.nullable(s.str()),
          headRoot: s.nullable(HASH),
          participating: s.bool(),
          epochMs: s.int(),
          items: s.arr(s.obj({ epoch: s.str(), root: HASH, majority: s.nullable(s.obj({ root: HASH, count: s.int(), total: s.int() }, ['root', 'count', 'total'])), agrees: s.nullable(s.bool()) }, ['epoch', 'root', 'majority', 'agrees']))
        }, ['currentEpoch', 'headEpoch', 'headRoot', 'participating', 'items'])
      }
    },
    handler: async (i) => {
      const node = i.api.host.node
      const limit = (i.query.limit as number | undefined) ?? 20
      const items = await Promise.all([...node.roots].sort((a, b) => a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0).slice(0, limit).map(async ([epoch, root]) => {
        // the majority by on-chain weight (src/node/weights.ts); count and total are voters
        const m = await node.majorityRoot(epoch)
        const majority = m === undefined || m.voters === 0 ? null : { root: m.root, count: m.count, total: m.voters }
        return { epoch: epoch.toString(), root, majority, agrees: majority === null ? null : majority.root === root }
      }))
      return {
        status: 200,
        json: { currentEpoch: node.currentEpoch().toString(), headEpoch: node.headEpoch?.toString() ?? null, headRoot: node.headRoot ?? null, participating: node.isParticipating, epochMs: i.api.host.profile.epochMs, items }
      }
    }
  },
  {
    operationId: 'balances',
    method: 'GET',
    path: '/balances',
    summary: 'The node account\'s wallet and free escrow balance, what its settled deals earned (as provider) and cost (as creator), and the gas of its transactions',
    responses: {
      200: {
        description: 'the balances (a balance is null, with the reason in errors, when the chain did not answer)',
        schema: s.open({
          address: ADDRESS,
          wallet: WEI_OR_NULL,
          escrow: WEI_OR_NULL,
          human: s.open({}),
          earned: AMOUNT,
          spent: AMOUNT,
          disputed: AMOUNT,
          gas: s.obj({ gas: s.str(), txs: s.int() }, ['gas', 'txs']),
          errors: s.arr(s.str())
        }, ['address', 'wallet', 'escrow', 'earned', 'spent', 'disputed', 'gas', 'errors'])
      }
    },
    handler: async (i) => {
      const { host, gas } = i.api
      const address = host.identity.address
      const [wallet, escrow] = await Promise.all([
        chainRead(async () => await host.chain.public.getBalance({ address })),
        chainRead(async () => await host.escrow.freeBalance())
      ])
      const deals = await host.deals.list()
      const t = await gas.total()
      return {
        status: 200,
        json: {
          address,
          wallet: wallet.value?.toString() ?? null,
          escrow: escrow.value?.toString() ?? null,
          human: { wallet: wallet.value === null ? null : formatWei(wallet.value), escrow: escrow.value === null ? null : formatWei(escrow.value) },
          earned: sum(deals.filter((d) => d.role === 'provider' && PAID.has(d.state))),
          spent: sum(deals.filter((d) => d.role === 'creator' && PAID.has(d.state))),
          disputed: sum(deals.filter((d) => d.role !== 'mediator' && DISPUTED.has(d.state))),
          gas: { gas: t.gas.toString(), txs: t.txs },
          errors: [...(wallet.error !== null ? [`wallet: ${wallet.error}`] : []), ...(escrow.error !== null ? [`escrow: ${escrow.error}`] : [])]
        }
      }
    }
  },
  {
    operationId: 'mediationQueue',
    method: 'GET',
    path: '/mediation',
    summary: 'The mediation queue: this node\'s deals under challenge (any role), oldest first, with the drawn mediator and its deadline from the chain, and the mediation fee',
    responses: {
      200: {
        description: 'the queue',
        schema: s.open({
          mediationFee: WEI_OR_NULL,
          items: s.arr(s.open({ dealId: HASH, role: s.str(), state: s.str(), price: WEI, collateral: WEI, mediator: s.nullable(ADDRESS), round: s.nullable(s.int()), deadline: s.nullable(s.int()) }, ['dealId', 'role', 'state', 'price', 'collateral', 'mediator', 'round', 'deadline'])),
          total: s.int(),
          errors: s.arr(s.str())
        }, ['mediationFee', 'items', 'total', 'errors'])
      }
    },
    handler: async (i) => {
      const { host } = i.api
      const open = (await host.deals.list((r) => DISPUTED.has(r.state))).sort((a, b) => a.createdAt - b.createdAt)
      const errors: string[] = []
      const params = await chainRead(async () => await host.escrow.params())
      if (params.error !== null) errors.push(`escrow parameters: ${params.error}`)
      const items = await Promise.all(open.slice(0, MAX_DISPUTES_LOOKED_UP).map(async (d) => {
        const dispute = await chainRead(async () => await host.escrow.disputeOf(d.dealId))
        if (dispute.error !== null) errors.push(`dispute of ${d.dealId}: ${dispute.error}`)
        return {
          dealId: d.dealId,
          role: d.role,
          state: d.state,
          creator: d.deal.creator,
          provider: d.deal.provider,
          price: d.deal.price.toString(),
          collateral: d.deal.collateral.toString(),
          mediator: dispute.value?.mediator ?? null,
          round: dispute.value?.round ?? null,
          deadline: dispute.value?.deadline ?? null,
          since: d.updatedAt
        }
      }))
      return { status: 200, json: { mediationFee: params.value?.mediationFee.toString() ?? null, mediationFeeHuman: params.value === null ? null : formatWei(params.value.mediationFee), items, total: open.length, errors } }
    }
  }
]


/**
 * Every route of the API, once, as data: method, path, parameter/body/response schemas and the
 * handler. The router (server.ts) and the OpenAPI document (openapi.ts) are both generated from
 * this table, so they cannot disagree.
 */
import type { IncomingMessage } from 'node:http'
import { resolveInputs, type JobInputs, type ModuleSpec } from '../protocol/module.js'
import { networkTag } from '../protocol/profile.js'
import { TERMINAL_STATES, type DealRecord, type DealState } from '../node/roles/deals.js'
import type { RoleHost } from '../node/roles/host.js'
import { parseInputs, resolveModule } from '../node/roles/roles.js'
import { peerViews } from '../node/query.js'
import { describe } from '../node/roles/util.js'
import { isLoopback } from './auth.js'
import type { GasLedger } from '../node/roles/gas.js'
import { JOB_STATES, type JobManager, type JobState } from './jobs.js'
import { Exposition, type EpochWatch } from './metrics.js'
import { ADDRESS, ApiError, HASH, s, WEI, type ObjectSchema, type Schema } from './schema.js'

export interface ApiContext {
  host: RoleHost
  jobs: JobManager
  gas: GasLedger
  epochs: EpochWatch
  modulesDir?: string
  sseClients: () => number
  /** The OpenAPI document (built once from the routes). */
  openapi: () => unknown
}

export interface RouteInput {
  params: Record<string, string>
  query: Record<string, string | number>
  body: unknown
  req: IncomingMessage
  api: ApiContext
}

export type Reply =
  | { status: number, json: unknown, headers?: Record<string, string> }
  | { status: number, text: string, contentType: string }
  /** The server streams the job's progress as server-sent events. */
  | { sse: string }

export interface ResponseDef { description: string, schema: Schema, contentType?: string }

export interface Route {
  operationId: string
  method: 'GET' | 'POST'
  /** OpenAPI path template, e.g. /jobs/{id}. */
  path: string
  summary: string
  description?: string
  params?: ObjectSchema
  query?: ObjectSchema
  body?: ObjectSchema
  responses: Record<number, ResponseDef>
  handler: (i: RouteInput) => Promise<Reply>
}

// ---------------------------------------------------------------- defaults (as `lilynode run`)

export const DEFAULT_MAX_PRICE = 10n ** 15n
export const DEFAULT_COLLATERAL = 10n ** 14n
export const DEFAULT_TIMEOUT_S = 60

// ---------------------------------------------------------------- schemas

const JOB_ID = s.str({ pattern: '^job-[0-9a-f]{16}$', description: 'a job id as POST /jobs returned it' })
const INPUT_VALUE = s.oneOf(
  s.str({ maxLength: 65536 }),
  s.int(),
  s.bool(),
  s.obj({ base64: s.str({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 65536, description: 'file bytes, base64' }) }, ['base64'], { description: 'a file input' })
)
const JOB_BODY = s.obj({
  module: s.str({ minLength: 1, maxLength: 512, description: 'name:version of a module in the node\'s modules folder (e.g. cowsay:v0.0.4), or (loopback callers only) a path to a module.json on the node' }),
  inputs: { ...s.obj({}, [], { maxProperties: 32 }), additionalProperties: INPUT_VALUE, description: 'input name → value: a string, an integer, a boolean, or {"base64": …} for a file input' },
  maxPrice: { ...WEI, description: `most the job may cost, in wei (default ${DEFAULT_MAX_PRICE})` },
  collateral: { ...WEI, description: `collateral the provider must put up, in wei (default ${DEFAULT_COLLATERAL})` },
  timeoutS: s.int({ minimum: 1, maximum: 86400, description: `seconds the provider has to deliver (default: the module's timeoutS, else ${DEFAULT_TIMEOUT_S})` }),
  gpus: s.int({ minimum: 0, maximum: 64, description: 'GPUs the job needs (default: the module\'s resources.gpus)' }),
  gpuVram: s.int({ minimum: 0, maximum: 1_048_576, description: 'least memory per GPU in MiB (default: the module\'s resources.gpuVram; needs gpus > 0)' })
}, ['module'])

const ERROR = s.obj({ error: s.obj({ code: s.str({ pattern: '^API_[A-Z_]+$' }), message: s.str() }, ['code', 'message']) }, ['error'])
const EVENT = s.open({ stage: s.str(), at: s.int(), elapsedMs: s.int() }, ['stage', 'at', 'elapsedMs'], 'a CreatorEvent (wei amounts as decimal strings)')
const RESULT = s.obj({
  dealId: HASH,
  provider: ADDRESS,
  price: WEI,
  collateral: WEI,
  openTx: s.nullable(HASH),
  settleTx: s.nullable(HASH),
  resultHash: s.nullable(HASH),
  exitCode: s.nullable(s.int()),
  stdout: s.nullable(s.str()),
  outputs: s.arr(s.obj({ path: s.str(), bytes: s.int() }, ['path', 'bytes'])),
  outDir: s.nullable(s.str())
}, ['dealId', 'provider', 'price', 'collateral', 'resultHash', 'exitCode', 'stdout', 'outputs'])
const JOB_FIELDS = {
  id: JOB_ID,
  module: s.str(),
  moduleName: s.str(),
  moduleVersion: s.str(),
  maxPrice: WEI,
  collateral: WEI,
  timeoutS: s.int(),
  state: s.str({ enum: JOB_STATES }),
  stage: s.nullable(s.str()),
  createdAt: s.int(),
  updatedAt: s.int(),
  result: s.nullable(RESULT),
  error: s.nullable(s.obj({ code: s.str(), message: s.str() }, ['code', 'message']))
}
const JOB_REQUIRED = ['id', 'module', 'state', 'stage', 'createdAt', 'updatedAt', 'result', 'error']
const JOB = s.obj({ ...JOB_FIELDS, events: s.arr(EVENT) }, [...JOB_REQUIRED, 'events'])
const JOB_SUMMARY = s.obj(JOB_FIELDS, JOB_REQUIRED)
const PAGE_QUERY = {
  page: s.int({ minimum: 0, maximum: 1_000_000, description: 'page number, from 0' }),
  limit: s.int({ minimum: 1, maximum: 500, description: 'items per page (default 100)' })
}
const page = (items: Schema): ObjectSchema => s.obj({ items: s.arr(items), page: s.int(), limit: s.int(), total: s.int() }, ['items', 'page', 'limit', 'total'])
const DEAL_STATES: readonly DealState[] = ['matched', 'agreed', 'opening', 'opened', 'fetching', 'running', 'result', 'delivered', 'accepted', 'completed', 'submitted', 'claimed', 'challenged', 'drawn', 'resolved', 'timed-out', 'expired', 'failed']

function paged<T> (all: T[], q: Record<string, string | number>): { items: T[], page: number, limit: number, total: number } {
  const p = (q.page as number | undefined) ?? 0
  const limit = (q.limit as number | undefined) ?? 100
  return { items: all.slice(p * limit, p * limit + limit), page: p, limit, total: all.length }
}

// ---------------------------------------------------------------- jobs

async function jobRequestOf (body: { module: string, inputs?: Record<string, InputValueJson>, maxPrice?: string, collateral?: string, timeoutS?: number }, i: RouteInput): Promise<{ spec: ModuleSpec, inputs: JobInputs }> {
  const ref = body.module
  const isPath = ref.includes('/') || ref.endsWith('.json') || ref.startsWith('.')
  if (isPath && !isLoopback(i.req.socket.remoteAddress ?? '')) {
    throw new ApiError('API_BAD_MODULE', 400, 'a module given as a path is only accepted from loopback callers; name a module as name:version (e.g. cowsay:v0.0.4)')
  }
  let spec: ModuleSpec
  try {
    spec = await resolveModule(ref, i.api.modulesDir)
  } catch (e) {
    throw new ApiError('API_BAD_MODULE', 400, `module ${JSON.stringify(ref.slice(0, 128))}: ${describe(e)}`)
  }
  const pairs: string[] = []
  const files: JobInputs = {}
  for (const [k, v] of Object.entries(body.inputs ?? {})) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(k)) throw new ApiError('API_BAD_INPUT', 400, `input name ${JSON.stringify(k.slice(0, 64))} is malformed; ${spec.name} takes: ${Object.keys(spec.inputs).join(', ') || 'no inputs'}`)
    if (typeof v === 'object') {
      if (spec.inputs[k]?.type !== 'file') throw new ApiError('API_BAD_INPUT', 400, `input ${k}: {"base64": …} is only for file inputs; ${spec.name} takes ${k} as ${spec.inputs[k]?.type ?? 'nothing (no such input)'}`)
      files[k] = new Uint8Array(Buffer.from(v.base64, 'base64'))
      continue
    }
    if (spec.inputs[k]?.type === 'file') throw new ApiError('API_BAD_INPUT', 400, `input ${k} is a file: give it as {"base64": "<bytes>"}`)
    pairs.push(`${k}=${String(v)}`)
  }
  let inputs: JobInputs
  try {
    inputs = { ...await parseInputs(spec, pairs), ...files }
    resolveInputs(spec, inputs)
  } catch (e) {
    throw new ApiError('API_BAD_INPUT', 400, `${describe(e)} (module ${spec.name}:${spec.version} takes ${Object.entries(spec.inputs).map(([n, x]) => `${n}: ${x.type}`).join(', ') || 'no inputs'})`)
  }
  return { spec, inputs }
}

type InputValueJson = string | number | boolean | { base64: string }

function acceptsEventStream (req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').split(',').some((t) => t.trim().split(';')[0].toLowerCase() === 'text/event-stream')
}

// ---------------------------------------------------------------- node state

async function chainHead (host: RoleHost): Promise<{ reachable: boolean, headBlock: string | null, error: string | null }> {
  try {
    const n = await Promise.race([
      host.chain.public.getBlockNumber({ cacheTime: 0 }),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000).unref())
    ])
    return { reachable: true, headBlock: n.toString(), error: null }
  } catch (e) {
    return { reachable: false, headBlock: null, error: describe(e).slice(0, 300) }
  }
}

function dealView (r: DealRecord): Record<string, unknown> {
  return {
    dealId: r.dealId,
    role: r.role,
    state: r.state,
    terminal: TERMINAL_STATES.has(r.state),
    deal: r.deal,
    openTx: r.openTx ?? null,
    settleTx: r.settleTx ?? null,
    resultHash: r.resultHash ?? null,
    error: r.error ?? null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    history: r.history
  }
}

async function metricsText (api: ApiContext): Promise<string> {
  const { host, epochs } = api
  const node = host.node
  const x = new Exposition()
  let jobsO = 0
  let resO = 0
  for (const o of node.pool.all()) { if (o.kind === 'job') jobsO++; else resO++ }
  const deals = await host.deals.list()
  const byDeal = new Map<string, number>()
  for (const d of deals) {
    api.gas.note(d.openTx)
    api.gas.note(d.settleTx)
    const k = `${d.role}\u0000${d.state}`
    byDeal.set(k, (byDeal.get(k) ?? 0) + 1)
  }
  const gas = await api.gas.total()
  const chain = await chainHead(host)
  const jobs = api.jobs.countByState()
  x.family('lilynode_peers', 'gauge', 'Connected libp2p peers.', [{ value: node.libp2p.getPeers().length }])
    .family('lilynode_offers', 'gauge', 'Offers in the node\'s pool, by kind.', [{ labels: { kind: 'job' }, value: jobsO }, { labels: { kind: 'resource' }, value: resO }])
    .family('lilynode_epoch_current', 'gauge', 'The epoch of the clock.', [{ value: node.currentEpoch() }])
    .family('lilynode_epoch_head', 'gauge', 'The last epoch this node matched (-1 before the first).', [{ value: node.headEpoch ?? -1n }])
    .family('lilynode_epoch_participating', 'gauge', '1 once the node takes part in matching.', [{ value: node.isParticipating ? 1 : 0 }])
    .family('lilynode_epoch_offers', 'gauge', 'Offers in the input of the last epoch this node matched.', [{ value: epochs.lastOffers }])
    .family('lilynode_epochs_matched_total', 'counter', 'Epochs this node matched since the API started.', [{ value: epochs.epochsMatched }])
    .family('lilynode_epoch_offers_total', 'counter', 'Sum of the offers in the inputs of the epochs matched (divide by lilynode_epochs_matched_total for offers per epoch).', [{ value: epochs.offersTotal }])
    .family('lilynode_epoch_matches_total', 'counter', 'Deals derived by the matcher in the epochs matched.', [{ value: epochs.matchesTotal }])
    .family('lilynode_epoch_convergence_total', 'counter', 'Epochs judged against the peers\' heartbeats: own state root on the majority root (agree), not (disagree), or no peer root seen (alone).', (['agree', 'disagree', 'alone'] as const).map((r) => ({ labels: { result: r }, value: epochs.convergence[r] })))
    .family('lilynode_epoch_majority_share', 'gauge', 'For the last judged epoch: share of the state roots seen that are the majority root.', epochs.lastMajorityShare === undefined ? [] : [{ value: epochs.lastMajorityShare }])
    .family('lilynode_epoch_in_majority', 'gauge', 'For the last judged epoch: 1 if this node\'s state root is the majority root.', epochs.lastInMajority === undefined ? [] : [{ value: epochs.lastInMajority ? 1 : 0 }])
    .family('lilynode_resyncs_total', 'counter', 'Times the node adopted its peers\' state, by how.', [...epochs.resyncs].map(([how, n]) => ({ labels: { how }, value: n })))
    .family('lilynode_deals', 'gauge', 'Deals in the node\'s deal store, by role and state.', [...byDeal].map(([k, n]) => { const [role, state] = k.split('\u0000'); return { labels: { role, state }, value: n } }))
    .family('lilynode_jobs', 'gauge', 'Jobs started through this API, by outcome (running until settled).', JOB_STATES.map((st: JobState) => ({ labels: { outcome: st }, value: jobs[st] })))
    .family('lilynode_gas_used_total', 'counter', 'Gas used by the transactions this node sent that the API knows of.', [{ value: gas.gas }])
    .family('lilynode_transactions_total', 'counter', 'Transactions this node sent that the API knows of.', [{ value: gas.txs }])
    .family('lilynode_gossip_messages_total', 'counter', 'Gossip messages validated, by topic, action and code.', [...node.metrics.counts].map(([k, n]) => { const [topic, action, code] = k.split('/'); return { labels: { topic, action, code }, value: n } }))
    .family('lilynode_gossip_bytes_total', 'counter', 'Gossip payload bytes, received (every copy) and sent (per recipient).', [{ labels: { direction: 'in' }, value: node.metrics.bytesIn }, { labels: { direction: 'out' }, value: node.metrics.bytesOut }])
    .family('lilynode_chain_reachable', 'gauge', '1 when the chain RPC answered this scrape.', [{ value: chain.reachable ? 1 : 0 }])
    .family('lilynode_chain_head_block', 'gauge', 'Latest block number the RPC reported.', chain.headBlock === null ? [] : [{ value: BigInt(chain.headBlock) }])
    .family('lilynode_api_sse_clients', 'gauge', 'Open server-sent-event streams.', [{ value: api.sseClients() }])
  return x.text()
}

// ---------------------------------------------------------------- the table

export const ROUTES: readonly Route[] = [
  {
    operationId: 'createJob',
    method: 'POST',
    path: '/jobs',
    summary: 'Run a job on the network through this node\'s creator',
    description: 'Resolves the module and inputs, publishes the job offer and follows it to settlement in the background. Follow it with GET /jobs/{id} (Accept: text/event-stream for live progress).',
    body: JOB_BODY,
    responses: { 202: { description: 'the job started', schema: JOB } },
    handler: async (i) => {
      const body = i.body as { module: string, inputs?: Record<string, InputValueJson>, maxPrice?: string, collateral?: string, timeoutS?: number, gpus?: number, gpuVram?: number }
      const { spec, inputs } = await jobRequestOf(body, i)
      const resources = { ...spec.resources, ...(body.gpus !== undefined ? { gpus: body.gpus } : {}), ...(body.gpuVram !== undefined ? { gpuVram: body.gpuVram } : {}) }
      if (resources.gpus === 0 && resources.gpuVram > 0) throw new ApiError('API_BAD_VALUE', 400, `body.gpuVram ${resources.gpuVram} MiB asks for GPU memory but the job asks for no GPU: give body.gpus too`)
      const job = i.api.jobs.start({
        spec,
        inputs,
        resources,
        maxPrice: body.maxPrice === undefined ? DEFAULT_MAX_PRICE : BigInt(body.maxPrice),
        collateral: body.collateral === undefined ? DEFAULT_COLLATERAL : BigInt(body.collateral),
        timeoutS: body.timeoutS ?? spec.timeoutS ?? DEFAULT_TIMEOUT_S
      }, body.module)
      return { status: 202, json: job, headers: { location: `/jobs/${job.id}` } }
    }
  },
  {
    operationId: 'listJobs',
    method: 'GET',
    path: '/jobs',
    summary: 'Jobs started through this API (newest first, without their events)',
    query: s.obj({ state: s.str({ enum: JOB_STATES }), ...PAGE_QUERY }),
    responses: { 200: { description: 'a page of jobs', schema: page(JOB_SUMMARY) } },
    handler: async (i) => {
      const all = i.api.jobs.list().filter((j) => i.query.state === undefined || j.state === i.query.state).map(({ events: _e, ...rest }) => rest)
      return { status: 200, json: paged(all, i.query) }
    }
  },
  {
    operationId: 'getJob',
    method: 'GET',
    path: '/jobs/{id}',
    summary: 'A job\'s state, its events so far and its result; with Accept: text/event-stream, its progress as server-sent events',
    description: 'As server-sent events: one `progress` event per CreatorEvent (id = its sequence number; Last-Event-ID resumes), then one `end` event whose data is the final job, then the stream closes.',
    params: s.obj({ id: JOB_ID }, ['id']),
    responses: {
      200: { description: 'the job (application/json), or its progress (text/event-stream)', schema: JOB }
    },
    handler: async (i) => {
      const job = i.api.jobs.get(i.params.id)
      if (acceptsEventStream(i.req)) return { sse: job.id }
      return { status: 200, json: job }
    }
  },
  {
    operationId: 'listOffers',
    method: 'GET',
    path: '/offers',
    summary: 'The node\'s current offer pool (signed job and resource offers it holds)',
    query: s.obj({ kind: s.str({ enum: ['job', 'resource'] }), epoch: s.int({ minimum: 0, description: 'only offers effective at this epoch' }), ...PAGE_QUERY }),
    responses: { 200: { description: 'a page of offers, by id', schema: page(s.open({ id: HASH, kind: s.str({ enum: ['job', 'resource'] }), signer: ADDRESS, epoch: s.str(), expiryEpoch: s.str(), offer: s.open({}) }, ['id', 'kind', 'signer', 'epoch', 'expiryEpoch', 'offer'])) } },
    handler: async (i) => {
      const e = i.query.epoch === undefined ? undefined : BigInt(i.query.epoch)
      const all = [...i.api.host.node.pool.all()]
        .filter((o) => (i.query.kind === undefined || o.kind === i.query.kind) && (e === undefined || (o.epoch <= e && e <= o.expiry)))
        .sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
        .map((o) => ({ id: o.id, kind: o.kind, signer: o.signer, epoch: o.epoch, expiryEpoch: o.expiry, offer: o.offer }))
      return { status: 200, json: paged(all, i.query) }
    }
  },
  {
    operationId: 'listDeals',
    method: 'GET',
    path: '/deals',
    summary: 'Deals in this node\'s deal store (newest first)',
    query: s.obj({ state: s.str({ enum: DEAL_STATES }), role: s.str({ enum: ['creator', 'provider', 'mediator'] }), ...PAGE_QUERY }),
    responses: { 200: { description: 'a page of deal records', schema: page(s.open({ dealId: HASH, role: s.str(), state: s.str(), terminal: s.bool(), deal: s.open({}) }, ['dealId', 'role', 'state', 'terminal', 'deal'])) } },
    handler: async (i) => {
      const all = (await i.api.host.deals.list((r) => (i.query.state === undefined || r.state === i.query.state) && (i.query.role === undefined || r.role === i.query.role)))
        .sort((a, b) => b.createdAt - a.createdAt)
        .map(dealView)
      return { status: 200, json: paged(all, i.query) }
    }
  },
  {
    operationId: 'listPeers',
    method: 'GET',
    path: '/peers',
    summary: 'Connected libp2p peers, their address, gossip score and rejects',
    responses: { 200: { description: 'the peers', schema: s.obj({ items: s.arr(s.open({ peerId: s.str(), address: s.nullable(ADDRESS), addrs: s.arr(s.str()), score: s.nullable(s.num()), rejects: s.num() }, ['peerId', 'address', 'addrs'])), total: s.int() }, ['items', 'total']) } },
    handler: async (i) => {
      const items = peerViews(i.api.host.node)
      return { status: 200, json: { items, total: items.length } }
    }
  },
  {
    operationId: 'health',
    method: 'GET',
    path: '/health',
    summary: 'Peer count, epochs, chain reachability and head block; 503 when the chain is unreachable or the node has no peer',
    responses: {
      200: { description: 'healthy', schema: s.open({ ok: s.bool(), peers: s.int(), currentEpoch: s.str(), headEpoch: s.nullable(s.str()), chain: s.open({ reachable: s.bool(), headBlock: s.nullable(s.str()) }, ['reachable', 'headBlock']) }, ['ok', 'peers', 'currentEpoch', 'headEpoch', 'chain']) },
      503: { description: 'unhealthy (same body, ok false)', schema: s.open({ ok: s.bool() }, ['ok']) }
    },
    handler: async (i) => {
      const { host } = i.api
      const chain = await chainHead(host)
      const peers = host.node.libp2p.getPeers().length
      const ok = chain.reachable && peers > 0
      return {
        status: ok ? 200 : 503,
        json: {
          ok,
          address: host.identity.address,
          peerId: host.identity.peerId.toString(),
          network: host.profile.name,
          networkTag: networkTag(host.profile),
          peers,
          currentEpoch: host.node.currentEpoch(),
          headEpoch: host.node.headEpoch ?? null,
          participating: host.node.isParticipating,
          offers: host.node.pool.size,
          chain: { ...chain, chainId: host.profile.chainId, escrow: host.profile.escrow },
          jobs: { running: i.api.jobs.active },
          sseClients: i.api.sseClients()
        }
      }
    }
  },
  {
    operationId: 'metrics',
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    responses: { 200: { description: 'the metrics', contentType: 'text/plain; version=0.0.4', schema: s.str() } },
    handler: async (i) => ({ status: 200, text: await metricsText(i.api), contentType: 'text/plain; version=0.0.4; charset=utf-8' })
  },
  {
    operationId: 'openapi',
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API\'s OpenAPI 3.1 document (generated from the same route table as the router)',
    responses: { 200: { description: 'the OpenAPI document', schema: s.open({ openapi: s.str(), paths: s.open({}) }, ['openapi', 'paths']) } },
    handler: async (i) => ({ status: 200, json: i.api.openapi() })
  }
]

export { ERROR as ERROR_SCHEMA }

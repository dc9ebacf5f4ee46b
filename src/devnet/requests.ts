/**
 * On-chain job requests on a devnet: deploy a consumer contract (contracts/examples), make a
 * request from it, and wait for the companion to call it back, fulfil, settle or refund it.
 * `lilynode devnet` uses it for its demo and the e2e suite for its tests.
 */
import { parseEventLogs, type Abi, type Hex } from 'viem'
import { ANVIL_KEYS } from '../chain/index.js'
import { lilyRequestsAbi } from '../chain/index.js'
import {
  exampleConsumerAbi, exampleConsumerBytecode, gasBurnerConsumerAbi, gasBurnerConsumerBytecode, revertingConsumerAbi, revertingConsumerBytecode
} from '../chain/index.js'
import { createChainClients, type ChainClients } from '../chain/index.js'
import { getRequest } from '../chain/index.js'
import type { OnChainRequest, RequestParams, RequestStatusName } from '../chain/index.js'
import { inputsHash, moduleHash, resolveInputs, type JobInputs, type ModuleSpec } from '../protocol/index.js'
import type { Address, Hash } from '../protocol/index.js'
import type { Devnet } from './devnet.js'
import { sleep } from '../protocol/index.js'
import { DEFAULT_COLLATERAL, DEFAULT_MAX_PRICE } from '../protocol/constants.js'

/** ExampleConsumer.run(p); the test consumers' run(requests, p). */
export type ConsumerKind = 'ExampleConsumer' | 'RevertingConsumer' | 'GasBurnerConsumer'

export interface Consumer {
  kind: ConsumerKind
  address: Address
  abi: Abi
  /** The owner's wallet (anvil's third dev account unless given). */
  client: ChainClients
}

/** The committed artifacts (src/chain/exampleArtifacts.ts), so a fresh clone needs no solc run. */
const ARTIFACTS: Record<ConsumerKind, { abi: Abi, bytecode: Hex }> = {
  ExampleConsumer: { abi: exampleConsumerAbi, bytecode: exampleConsumerBytecode },
  RevertingConsumer: { abi: revertingConsumerAbi, bytecode: revertingConsumerBytecode },
  GasBurnerConsumer: { abi: gasBurnerConsumerAbi, bytecode: gasBurnerConsumerBytecode }
}

function artifact (kind: ConsumerKind): { abi: Abi, bytecode: Hex } {
  return ARTIFACTS[kind]
}

export async function deployConsumer (net: Devnet, kind: ConsumerKind, privateKey: Hex = ANVIL_KEYS[2]): Promise<Consumer> {
  const requests = net.profile.requests
  if (requests === undefined) throw new Error('the devnet profile names no LilyRequests contract')
  const client = await createChainClients({ rpcUrl: net.profile.rpcUrl, chainId: Number(net.profile.chainId), privateKey })
  const { abi, bytecode } = artifact(kind)
  const wallet = client.wallet
  if (wallet === undefined || client.account === undefined) throw new Error('no wallet')
  const hash = await wallet.deployContract({ abi, bytecode, account: client.account, chain: client.chain, args: kind === 'ExampleConsumer' ? [requests] : [] })
  const receipt = await client.public.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success' || receipt.contractAddress == null) throw new Error(`deploying ${kind} failed (tx ${hash})`)
  return { kind, address: receipt.contractAddress.toLowerCase() as Address, abi, client }
}

export interface RequestTerms {
  inputs?: JobInputs
  maxPrice?: bigint
  collateral?: bigint
  timeoutS?: number
  /** Seconds from now until the request's deadline (default 120). */
  deadlineInS?: number
  callbackGasLimit?: number
  /** The relay that alone may open the request's deal (default: requestFrom fills in the devnet's first relay). */
  agent?: Address
}

const NO_AGENT = '0x0000000000000000000000000000000000000000' as Address

/** The account of the devnet's first relay (`relay-1`), the agent of the devnet's requests. */
export function relayAgent (net: Devnet): Address {
  const p = net.parties.get('relay-1')
  if (p === undefined) throw new Error('the devnet runs no relay (relays: 0): name the agent of the request yourself')
  return p.address.toLowerCase() as Address
}

/** The request parameters for a module (its default resources; inputs resolved against the spec). */
export function requestParams (spec: ModuleSpec, t: RequestTerms, nowS: number): RequestParams {
  const r = spec.resources
  return {
    module: moduleHash(spec),
    inputsHash: inputsHash(resolveInputs(spec, t.inputs ?? {})),
    cpu: r.cpu,
    ram: r.ram,
    gpus: r.gpus,
    gpuVram: r.gpuVram,
    disk: r.disk,
    maxPrice: t.maxPrice ?? DEFAULT_MAX_PRICE,
    collateral: t.collateral ?? DEFAULT_COLLATERAL,
    timeout: t.timeoutS ?? 60,
    deadline: BigInt(nowS + (t.deadlineInS ?? 120)),
    callbackGasLimit: t.callbackGasLimit ?? 200_000,
    agent: t.agent ?? NO_AGENT
  }
}

/** The consumer contract requests a job, paying maxPrice; returns the request id. */
export async function requestFrom (net: Devnet, c: Consumer, params: RequestParams): Promise<bigint> {
  const requests = net.profile.requests as Address
  if (params.agent.toLowerCase() === NO_AGENT) params = { ...params, agent: relayAgent(net) }
  const { wallet, account } = c.client
  if (wallet === undefined || account === undefined) throw new Error('no wallet')
  const args = c.kind === 'ExampleConsumer' ? [params] : [requests, params]
  const { request } = await c.client.public.simulateContract({ abi: c.abi, address: c.address, functionName: 'run', args, value: params.maxPrice, account, chain: c.client.chain })
  const hash = await wallet.writeContract(request)
  const receipt = await c.client.public.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`request from ${c.kind} failed (tx ${hash})`)
  const ev = parseEventLogs({ abi: lilyRequestsAbi, logs: receipt.logs, eventName: 'JobRequested' })[0]
  if (ev === undefined) throw new Error(`no JobRequested in tx ${hash}`)
  return ev.args.requestId
}

/** Polls the request until its status is one of `statuses`. */
export async function waitForRequest (net: Devnet, requestId: bigint, statuses: RequestStatusName[], timeoutMs: number): Promise<OnChainRequest> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const r = await getRequest(net.chain, { requests: net.profile.requests as Address, requestId })
    if (statuses.includes(r.status)) return r
    if (Date.now() > end) throw new Error(`request ${requestId} is ${r.status}, not ${statuses.join('/')}, after ${timeoutMs} ms`)
    await sleep(500)
  }
}

export interface Fulfilment {
  dealId: Hash
  resultHash: Hash
  data: Hex
  /** The final callback's outcome (isFinal = true, after the challenge window). */
  callbackOk: boolean
  /** The provisional callback's outcome (isFinal = false, when the result was delivered). */
  provisionalOk: boolean
  provider: Address
}

/** The RequestFulfilled / CallbackResult / RequestOpened events of a fulfilled request. */
export async function fulfilmentOf (net: Devnet, requestId: bigint): Promise<Fulfilment> {
  const q = { abi: lilyRequestsAbi, address: net.profile.requests as Address, args: { requestId }, fromBlock: 0n, strict: true } as const
  const [f] = await net.chain.public.getContractEvents({ ...q, eventName: 'RequestFulfilled' })
  const cbs = await net.chain.public.getContractEvents({ ...q, eventName: 'CallbackResult' })
  const cb = cbs.find((e) => e.args.isFinal)
  const first = cbs.find((e) => !e.args.isFinal)
  const [o] = await net.chain.public.getContractEvents({ ...q, eventName: 'RequestOpened' })
  if (f === undefined || cb === undefined || first === undefined || o === undefined) throw new Error(`request ${requestId} was not fulfilled (no result delivered, or not final yet)`)
  return { dealId: f.args.dealId, resultHash: f.args.resultHash, data: f.args.data, callbackOk: cb.args.ok, provisionalOk: first.args.ok, provider: o.args.provider.toLowerCase() as Address }
}

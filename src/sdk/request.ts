/**
 * `lilynode request`: an on-chain job request from this node's account (an EOA consumer, so no
 * callback): pays maxPrice into LilyRequests, waits for a relay and a provider to serve it,
 * prints the result data from the RequestFulfilled event (or the refund / settlement).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hexToString, type Hex } from 'viem'
import { lilyRequestsAbi } from '../chain/index.js'
import { createChainClients } from '../chain/index.js'
import { getRequest } from '../chain/index.js'
import { requestJob } from '../chain/index.js'
import type { RequestParams } from '../chain/index.js'
import { loadOrCreateIdentity } from '../protocol/index.js'
import { encodeInputs, inputsHash, moduleHash, resolveInputs, type JobInputs, type ModuleSpec } from '../protocol/index.js'
import type { Profile } from '../protocol/index.js'
import type { Address, Hash } from '../protocol/index.js'
import { RoleError, type RoleOutput } from '../node/index.js'
import { sleep } from '../node/index.js'

export interface RequestCommandOptions {
  profile: Profile
  dataDir: string
  spec: ModuleSpec
  inputs: JobInputs
  maxPrice: bigint
  collateral: bigint
  timeoutS: number
  /** Seconds from now until unserved means refundable. */
  deadlineS: number
  /** Also write the encoded inputs here, named by their hash (a relay's inputs folder). */
  inputsDir?: string
  /** Return once requested instead of waiting for the outcome. */
  noWait?: boolean
  /**
   * The relay (its account address) that alone may open the request's deal: it opens only the
   * deal its matcher derived. Default: LILYNODE_REQUEST_AGENT from the environment.
   */
  agent?: Address
}

export interface RequestOutcome { requestId: bigint, status: string, data?: Hex, resultHash?: Hash }

export async function runRequest (o: RequestCommandOptions, signal: AbortSignal, out: RoleOutput): Promise<RequestOutcome> {
  const requests = o.profile.requests
  if (requests === undefined) throw new RoleError('ROLE_BAD_PROFILE', 'the profile names no LilyRequests contract ("requests"); on-chain requests need one (npm run devnet writes it)')
  const agentText = o.agent ?? process.env.LILYNODE_REQUEST_AGENT
  if (agentText === undefined || !/^0x[0-9a-fA-F]{40}$/.test(agentText)) {
    throw new RoleError('ROLE_BAD_PROFILE', `a request needs the relay that may open its deal: set LILYNODE_REQUEST_AGENT (or pass agent) to the relay node's account address${agentText !== undefined ? `; got ${agentText}` : ''}`)
  }
  const agent = agentText.toLowerCase() as Address
  const resolved = resolveInputs(o.spec, o.inputs)
  const hash = inputsHash(resolved)
  if (o.inputsDir !== undefined) {
    await mkdir(o.inputsDir, { recursive: true })
    await writeFile(join(o.inputsDir, hash), encodeInputs(resolved))
  }
  const id = await loadOrCreateIdentity(o.dataDir)
  const chain = await createChainClients({ rpcUrl: o.profile.rpcUrl, chainId: o.profile.chainId, privateKey: id.privateKey })
  const now = Number((await chain.public.getBlock()).timestamp)
  const r = o.spec.resources
  const params: RequestParams = {
    module: moduleHash(o.spec),
    inputsHash: hash,
    cpu: r.cpu, ram: r.ram, gpus: r.gpus, gpuVram: r.gpuVram, disk: r.disk,
    maxPrice: o.maxPrice,
    collateral: o.collateral,
    timeout: o.timeoutS,
    deadline: BigInt(now + o.deadlineS),
    // an account cannot be called back: the result is read from the RequestFulfilled event
    callbackGasLimit: 0,
    agent
  }
  const tx = await requestJob(chain, { requests, params })
  out({ event: 'requested', requestId: tx.requestId, tx: tx.hash, consumer: id.address, requests, module: `${o.spec.name}:${o.spec.version}`, inputsHash: hash, maxPrice: o.maxPrice, deadline: params.deadline })
  if (o.noWait === true) return { requestId: tx.requestId, status: 'Pending' }
  let last = 'Pending'
  for (;;) {
    signal.throwIfAborted()
    const req = await getRequest(chain, { requests, requestId: tx.requestId })
    if (req.status !== last) {
      last = req.status
      if (req.status === 'Open') out({ event: 'opened', requestId: tx.requestId, dealId: req.dealId })
      if (req.status === 'Delivered') out({ event: 'delivered', requestId: tx.requestId, message: 'result delivered; final once the challenge window passes' })
    }
    if (req.status === 'Fulfilled') {
      const [f] = await chain.public.getContractEvents({ abi: lilyRequestsAbi, address: requests, eventName: 'RequestFulfilled', args: { requestId: tx.requestId }, fromBlock: tx.blockNumber, strict: true })
      out({ event: 'fulfilled', requestId: tx.requestId, dealId: f.args.dealId, resultHash: f.args.resultHash, data: f.args.data, text: hexToString(f.args.data) })
      return { requestId: tx.requestId, status: 'Fulfilled', data: f.args.data, resultHash: f.args.resultHash }
    }
    if (req.status === 'Refunded' || req.status === 'Settled') {
      out({ event: req.status.toLowerCase(), requestId: tx.requestId, message: `credit at LilyRequests: withdraw it with its withdraw(to) (${id.address as Address})` })
      return { requestId: tx.requestId, status: req.status }
    }
    await sleep(500, signal)
  }
}

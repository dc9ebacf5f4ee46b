/**
 * The EscrowPort over src/chain's viem actions: the roles' view of LilyEscrow as this node's
 * account. Transitions are idempotent there (a step already done sends nothing), which is
 * what lets a restarted role simply re-send the step its store says comes next.
 */
import { decodeFunctionData, type Hex } from 'viem'
import { lilyEscrowAbi } from '../../chain/index.js'
import { getBalances } from '../../chain/index.js'
import { challenge } from '../../chain/index.js'
import { claim } from '../../chain/index.js'
import type { ChainClients } from '../../chain/index.js'
import { completeDeal } from '../../chain/index.js'
import { getDealState, type DealTxReturnType } from '../../chain/index.js'
import { deposit } from '../../chain/index.js'
import { drawMediator, getDispute } from '../../chain/index.js'
import { openDeal } from '../../chain/index.js'
import { decodeOpenDealPacked } from '../../chain/index.js'
import { redraw } from '../../chain/index.js'
import { getMediator, registerMediator } from '../../chain/index.js'
import { resolve } from '../../chain/index.js'
import type { DealStatusName } from '../../chain/index.js'
import { submitResult } from '../../chain/index.js'
import { timeoutDeal } from '../../chain/index.js'
import { guardRead } from '../../chain/index.js'
import type { DomainHasher } from '../../protocol/index.js'
import type { Address, Deal, Hash, Signature } from '../../protocol/index.js'
import type { ChainStatus, ChallengedDeal, EscrowParams, EscrowPort, TxResult } from './ports.js'

const STATUS: Record<DealStatusName, ChainStatus> = {
  None: 'none',
  Open: 'open',
  Submitted: 'submitted',
  Challenged: 'challenged',
  Completed: 'completed',
  Claimed: 'claimed',
  TimedOut: 'timed-out',
  ProviderWon: 'provider-won',
  CreatorWon: 'creator-won',
  DisputeExpired: 'dispute-expired',
  Settled: 'settled',
  ProviderForfeited: 'provider-forfeited',
  CreatorForfeited: 'creator-forfeited'
}

const ZERO_HASH = `0x${'0'.repeat(64)}` as Hash

function tx (r: DealTxReturnType | { hash: Hex, gasUsed: bigint }): TxResult {
  if ('hash' in r) return { hash: r.hash, gasUsed: r.gasUsed }
  return r.tx !== undefined ? { hash: r.tx.hash, gasUsed: r.tx.gasUsed } : { gasUsed: 0n }
}

/** Largest block range one getLogs call asks for. */
const LOG_RANGE = 5000n

/** Deal acceptances this node has seen (gossip), to fill in approvals a party did not put in calldata. */
export type KnownAcceptances = (dealId: Hash) => { creator?: Signature, provider?: Signature }

/**
 * `openDeal` leaves out the sender's own signature ('0x': the contract takes msg.sender as that
 * party's approval), which saves its calldata and ecrecover (~4.5k gas). The deal's opening
 * calldata then lacks that party's signature; `openingSignatures` fills it in from `known`
 * (the gossiped acceptances), and answers undefined when it cannot — callers then reach the
 * party by address (NetworkPort.peerOf) instead of by signature.
 */
/** Where to look for a deal's DealOpened event. */
export interface OpenedLookup {
  /** The block and transaction of the deal's DealOpened event, when this node's event log has it. */
  openedIn?: (dealId: Hash) => Promise<{ blockNumber: bigint, transactionHash: Hash } | undefined>
  /** First block a getLogs search for it reads (the escrow's deployment block; default 0). */
  fromBlock?: bigint
}

export function escrowPort (client: ChainClients, escrow: Address, hasher: DomainHasher, known: KnownAcceptances = () => ({}), lookup: OpenedLookup = {}): EscrowPort {
  const account = client.account?.address.toLowerCase() as Address | undefined
  if (account === undefined) throw new TypeError('escrowPort needs a signing client')
  let params: EscrowParams | undefined
  const read = async <T>(action: string, fn: () => Promise<T>): Promise<T> => await guardRead(client, action, fn)

  /** Both approvals, the empty one ('0x': the sender's own) taken from the gossiped acceptances; undefined if one is unknown. */
  function complete (dealId: Hash, sigCreator: Hex, sigProvider: Hex): { sigCreator: Signature, sigProvider: Signature } | undefined {
    const k = known(dealId)
    const c = sigCreator.length > 2 ? sigCreator as Signature : k.creator
    const p = sigProvider.length > 2 ? sigProvider as Signature : k.provider
    return c !== undefined && p !== undefined ? { sigCreator: c, sigProvider: p } : undefined
  }

  /** The parties' signatures over a deal, from the calldata of the transaction that opened it. */
  async function openingSignatures (dealId: Hash): Promise<{ sigCreator: Signature, sigProvider: Signature } | undefined> {
    const indexed = await lookup.openedIn?.(dealId)
    const txs = indexed !== undefined
      ? [indexed.transactionHash]
      : (await read('getLogs', async () => await client.public.getContractEvents({
          abi: lilyEscrowAbi, address: escrow, eventName: 'DealOpened', args: { dealId }, fromBlock: lookup.fromBlock ?? 0n, strict: true
        }))).map((log) => log.transactionHash)
    for (const hash of txs) {
      const t = await read('getTransaction', async () => await client.public.getTransaction({ hash }))
      try {
        const call = decodeFunctionData({ abi: lilyEscrowAbi, data: t.input })
        if (call.functionName === 'openDeal') return complete(dealId, call.args[1], call.args[2])
        if (call.functionName === 'openDealPacked_XMg') {
          // the sender's own approval is the call itself ('0x'); the other party's is the compact signature
          const opened = decodeOpenDealPacked(t.from, call.args)
          if (hasher.digest('Deal', opened.deal) === dealId) return complete(dealId, opened.sigCreator, opened.sigProvider)
        }
        if (call.functionName === 'openDeals') {
          const i = call.args[0].findIndex((d) => hasher.digest('Deal', d as Deal) === dealId)
          if (i >= 0) return complete(dealId, call.args[1][i], call.args[2][i])
        }
      } catch {}
    }
    return undefined
  }

  return {
    account,
    dealId: (deal) => hasher.digest('Deal', deal),
    openingSignatures: async (dealId) => await openingSignatures(dealId),
    dealState: async (deal) => {
      const s = await getDealState(client, { escrow, deal })
      return { status: STATUS[s.status], deadline: Number(s.deadline) }
    },
    resultOf: async (dealId) => {
      const h = await read('resultOf', async () => await client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'resultOf', args: [dealId] }))
      return h === ZERO_HASH ? undefined : h.toLowerCase() as Hash
    },
    disputeOf: async (dealId) => {
      const d = await getDispute(client, { escrow, dealId })
      return { mediator: d.mediator === null ? undefined : d.mediator.toLowerCase() as Address, round: d.round, deadline: Number(d.deadline) }
    },
    freeBalance: async (who) => (await getBalances(client, { escrow, account: who ?? account })).escrow,
    params: async () => {
      if (params === undefined) {
        const get = async (functionName: 'challengeWindow' | 'mediationFee' | 'minStake' | 'mediatorTimeout'): Promise<bigint> =>
          await read(functionName, async () => await client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName }))
        const [w, f, s, t] = await Promise.all([get('challengeWindow'), get('mediationFee'), get('minStake'), get('mediatorTimeout')])
        params = { challengeWindowS: Number(w), mediationFee: f, minStake: s, mediatorTimeoutS: Number(t) }
      }
      return params
    },
    blockTime: async () => Number((await read('getBlock', async () => await client.public.getBlock({ blockTag: 'latest' }))).timestamp),
    deposit: async (amount) => tx(await deposit(client, { escrow, amount })),
    openDeal: async (deal, sigCreator, sigProvider) => tx(await openDeal(client, {
      escrow,
      deal,
      sigCreator: deal.creator.toLowerCase() === account ? '0x' : sigCreator,
      sigProvider: deal.provider.toLowerCase() === account ? '0x' : sigProvider
    })),
    complete: async (deal, resultHash, sig) => tx(await completeDeal(client, { escrow, deal, resultHash, sigCreator: sig })),
    submitResult: async (deal, resultHash) => tx(await submitResult(client, { escrow, deal, resultHash })),
    claim: async (deal) => tx(await claim(client, { escrow, deal })),
    challenge: async (deal) => tx(await challenge(client, { escrow, deal })),
    draw: async (deal) => {
      const r = await drawMediator(client, { escrow, deal })
      return r.tx !== undefined ? { hash: r.tx.hash, gasUsed: r.tx.gasUsed } : { gasUsed: 0n }
    },
    resolve: async (deal, providerWins) => tx(await resolve(client, { escrow, deal, providerWins })),
    redraw: async (deal) => tx(await redraw(client, { escrow, deal })),
    timeout: async (deal) => tx(await timeoutDeal(client, { escrow, deal })),
    registerMediator: async (amount) => tx(await registerMediator(client, { escrow, amount })),
    mediatorStake: async (who) => (await getMediator(client, { escrow, mediator: who })).stake,
    challengedSince: async (fromBlock) => {
      const latest = await read('getBlockNumber', async () => await client.public.getBlockNumber({ cacheTime: 0 }))
      const toBlock = latest - fromBlock > LOG_RANGE ? fromBlock + LOG_RANGE : latest
      if (toBlock < fromBlock) return { deals: [], toBlock: fromBlock - 1n }
      const logs = await read('getLogs', async () => await client.public.getContractEvents({
        abi: lilyEscrowAbi, address: escrow, eventName: 'DealChallenged', fromBlock, toBlock, strict: true
      }))
      const deals: ChallengedDeal[] = []
      for (const log of logs) {
        const t = await read('getTransaction', async () => await client.public.getTransaction({ hash: log.transactionHash }))
        let deal: Deal
        try {
          const call = decodeFunctionData({ abi: lilyEscrowAbi, data: t.input })
          if (call.functionName !== 'challenge') continue
          deal = call.args[0] as Deal
        } catch {
          continue // challenged through a contract: the deal is not in the calldata
        }
        const dealId = log.args.dealId.toLowerCase() as Hash
        const norm: Deal = { ...deal, creator: deal.creator.toLowerCase() as Address, provider: deal.provider.toLowerCase() as Address }
        const sigCreator = (await openingSignatures(dealId))?.sigCreator
        deals.push({ dealId, deal: norm, blockNumber: log.blockNumber, ...(sigCreator !== undefined ? { sigCreator } : {}) })
      }
      return { deals, toBlock }
    }
  }
}

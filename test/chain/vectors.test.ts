/**
 * The foundation's EIP-712 vectors (test/protocol/vectors.json) against the contract: the
 * escrow, deployed as anvil account 0's first transaction, sits at the vectors'
 * verifyingContract, so its domain separator, dealId and ResultAcceptance digest must be the
 * vectors' bytes, and it must accept the vectors' signatures.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import type { Address, Hex } from 'viem'
import type { Deal } from '../../src/protocol/types.js'
import { lilyEscrowAbi } from '../../src/chain/artifacts.js'
import { startAnvil, type Anvil } from '../../src/chain/anvil.js'
import { createChainClients, type ChainClients } from '../../src/chain/client.js'
import { deploy } from '../../src/chain/deploy.js'
import { deposit } from '../../src/chain/deposit.js'
import { openDeal } from '../../src/chain/openDeal.js'
import { completeDeal } from '../../src/chain/complete.js'

interface Vector {
  name: string
  primaryType: string
  typeHash: Hex
  message: Record<string, string | number>
  structHash: Hex
  domainSeparator: Hex
  digest: Hex
  signer: Address
  signature: Hex
}

interface VectorsFile {
  domain: { name: string, version: string, chainId: string, verifyingContract: Address }
  domainSeparator: Hex
  types: Record<string, { typeString: string, typeHash: Hex }>
  vectors: Vector[]
}

function toDeal (m: Record<string, string | number>): Deal {
  return {
    jobOfferHash: m.jobOfferHash as Hex,
    resourceOfferHash: m.resourceOfferHash as Hex,
    creator: m.creator as Address,
    provider: m.provider as Address,
    price: BigInt(m.price),
    collateral: BigInt(m.collateral),
    timeout: Number(m.timeout),
    matchEpoch: BigInt(m.matchEpoch),
    openBy: BigInt(m.openBy)
  }
}

describe('chain: the shared EIP-712 vectors give the same digests in the contract', function () {
  this.timeout(60_000)
  let anvil: Anvil
  let client: ChainClients
  let escrow: Address
  let file: VectorsFile

  before(async () => {
    file = JSON.parse(await readFile(new URL('../../../test/protocol/vectors.json', import.meta.url), 'utf8')) as VectorsFile
    anvil = await startAnvil({ chainId: Number(file.domain.chainId) })
    client = await createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: anvil.privateKeys[0] })
    escrow = (await deploy(client, {})).address
  })
  after(async () => { await anvil?.stop() })

  it('deploys at the vectors\' verifyingContract with the same domain separator', async () => {
    assert.equal(escrow.toLowerCase(), file.domain.verifyingContract.toLowerCase())
    assert.equal(file.domain.name, 'lilynode')
    assert.equal(file.domain.version, '1')
    const sep = await client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'domainSeparator' })
    assert.equal(sep, file.domainSeparator)
  })

  it('dealId(Deal) and hashResultAcceptance equal every vector\'s digest', async () => {
    const deals = file.vectors.filter((v) => v.primaryType === 'Deal')
    const acceptances = file.vectors.filter((v) => v.primaryType === 'ResultAcceptance')
    assert.ok(deals.length > 0 && acceptances.length > 0, 'the vectors file has Deal and ResultAcceptance vectors')
    for (const v of deals) {
      assert.equal(v.typeHash, file.types.Deal.typeHash)
      const id = await client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'dealId', args: [toDeal(v.message)] })
      assert.equal(id, v.digest, v.name)
    }
    for (const v of acceptances) {
      const d = await client.public.readContract({
        abi: lilyEscrowAbi, address: escrow, functionName: 'hashResultAcceptance', args: [v.message.dealId as Hex, v.message.resultHash as Hex]
      })
      assert.equal(d, v.digest, v.name)
    }
  })

  it('accepts the vectors\' signatures: opens the vector deal and completes it with the vector acceptance (the provider sends both: the compact calls)', async () => {
    const creatorSig = file.vectors.find((v) => v.name === 'Deal/creator')
    const providerSig = file.vectors.find((v) => v.name === 'Deal/provider')
    assert.ok(creatorSig !== undefined && providerSig !== undefined)
    const deal = toDeal(creatorSig.message)
    const acceptance = file.vectors.find((v) => v.primaryType === 'ResultAcceptance' && v.message.dealId === creatorSig.digest)
    assert.ok(acceptance !== undefined, 'a ResultAcceptance vector over the Deal vector\'s id')
    await deposit(client, { escrow, amount: deal.price, for: deal.creator })
    await deposit(client, { escrow, amount: deal.collateral, for: deal.provider })
    const opened = await openDeal(client, { escrow, deal, sigCreator: creatorSig.signature, sigProvider: providerSig.signature })
    assert.equal(opened.dealId, creatorSig.digest)
    assert.equal(opened.status, 'Open')
    const done = await completeDeal(client, { escrow, deal, resultHash: acceptance.message.resultHash as Hex, sigCreator: acceptance.signature })
    assert.equal(done.status, 'Completed')
    // the client is anvil0, the vector deal's provider: both went through the compact calls, with
    // the vectors' signatures in EIP-2098 form
    assert.equal(client.account?.address.toLowerCase(), deal.provider.toLowerCase())
    const selector = async (hash: Hex | undefined): Promise<string> => (await client.public.getTransaction({ hash: hash ?? '0x' })).input.slice(0, 10)
    assert.equal(await selector(opened.tx?.hash), '0x0000f875', 'openDealPacked_XMg')
    assert.equal(await selector(done.tx?.hash), '0x000086a8', 'completePacked_TWd')
    const paid = await client.public.readContract({ abi: lilyEscrowAbi, address: escrow, functionName: 'balanceOf', args: [deal.provider] })
    assert.equal(paid, deal.price + deal.collateral)
  })
})

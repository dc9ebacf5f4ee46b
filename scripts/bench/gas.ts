/**
 * Gas of the escrow's happy path on a real anvil: openDeal + complete for one deal, and 20 deals
 * opened in one openDeals.
 *
 * The happy path is the protocol's (DESIGN §5): a party sends openDeal with the other party's
 * signature (its own approval is the transaction itself, so it passes '0x'), and the provider
 * sends complete with the creator's ResultAcceptance signature. src/chain sends these as the
 * compact `openDealPacked_XMg` and `completePacked_TWd`; the same two steps through the full ABI
 * (`openDeal(Deal, …)`, `complete(Deal, …)`: what a contract party or an EIP-1271 signature
 * needs) and the same deal sent by a third party (a relayer) with both signatures are measured too. The batch is sent by a relayer with
 * both signatures for all 20 deals, between 40 distinct parties (no warm storage shared).
 * Calldata bytes are printed because they dominate the cost on Arbitrum.
 *
 *   npm run bench:gas            a table
 *   npm run bench:gas -- --json  one JSON line
 */
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { privateKeyToAddress, randomPrivateKey } from '../../src/protocol/crypto.js'
import { DomainHasher } from '../../src/protocol/eip712.js'
import type { Deal } from '../../src/protocol/types.js'
import { startAnvil } from '../../src/chain/anvil.js'
import { createChainClients, type ChainClients } from '../../src/chain/client.js'
import { deploy } from '../../src/chain/deploy.js'
import { deposit } from '../../src/chain/deposit.js'
import { openDeal } from '../../src/chain/openDeal.js'
import { openDeals } from '../../src/chain/openDeals.js'
import { completeDeal } from '../../src/chain/complete.js'
import { dealIdOf, escrowDomain, signDeal, signResultAcceptance } from '../../src/chain/signing.js'
import { requireWallet } from '../../src/chain/tx.js'

const LILYPAD_V1 = 1_768_831n
const LILYPAD_V2 = 1_080_088n
const BATCH = 20

interface Party { key: Uint8Array, address: Address }

function party (): Party {
  const key = randomPrivateKey()
  return { key, address: privateKeyToAddress(key) }
}

let nonce = 0
function makeDeal (creator: Party, provider: Party, now: bigint): Deal {
  nonce++
  return {
    jobOfferHash: keccak256(toHex(`job-${nonce}`)),
    resourceOfferHash: keccak256(toHex(`resource-${nonce}`)),
    creator: creator.address,
    provider: provider.address,
    price: 1_234_567_890_000n,
    collateral: 500_000_000_000n,
    timeout: 3600,
    matchEpoch: 123_456n,
    openBy: now + 3600n
  }
}

/**
 * Arbitrum's L1 data units of a transaction (Nitro's l1pricing, docs/arbos/l1-pricing.md): the
 * signed, serialized transaction compressed with brotli at quality 0 ("brotli-zero"), plus the
 * fixed per-transaction estimate of 140 bytes, times 16 (L1 gas per byte).
 */
const ARBITRUM_TX_FIXED_BYTES = 140
async function arbitrumL1Units (client: ChainClients, hash: Hex): Promise<number> {
  const raw = await client.public.request({ method: 'eth_getRawTransactionByHash', params: [hash] }) as Hex
  const compressed = brotliCompressSync(Buffer.from(raw.slice(2), 'hex'), {
    params: { [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_GENERIC, [zlibConstants.BROTLI_PARAM_QUALITY]: 0 }
  })
  return (compressed.byteLength + ARBITRUM_TX_FIXED_BYTES) * 16
}

async function inputOf (client: ChainClients, hash: Hex): Promise<Hex> {
  return (await client.public.getTransaction({ hash })).input
}

async function inputBytes (client: ChainClients, hash: Hex): Promise<number> {
  return ((await inputOf(client, hash)).length - 2) / 2
}

async function main (): Promise<void> {
  const json = process.argv.includes('--json')
  const anvil = await startAnvil({ accounts: 2 })
  try {
    const relayer = await createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: anvil.privateKeys[0] })
    const { address: escrow } = await deploy(relayer, {})
    const hasher = new DomainHasher(escrowDomain(anvil.chainId, escrow))
    const now = (await relayer.public.getBlock()).timestamp

    // happy path, averaged over a few deals between the same two parties
    const creator = party()
    const provider = party()
    await deposit(relayer, { escrow, amount: 10n ** 18n, for: creator.address })
    await deposit(relayer, { escrow, amount: 10n ** 18n, for: provider.address })
    const { wallet, account } = requireWallet(relayer, 'bench')
    await relayer.public.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ account, chain: relayer.chain, to: provider.address, value: 10n ** 18n })
    })
    const providerClient = await createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: provider.key })
    const runs = 5
    type Kind = 'packed' | 'full' | 'relayed'
    const kinds: Kind[] = ['packed', 'full', 'relayed']
    const sum = { open: { packed: 0n, full: 0n, relayed: 0n }, complete: { packed: 0n, full: 0n, relayed: 0n } }
    const bytes = { open: { packed: 0, full: 0, relayed: 0 }, complete: { packed: 0, full: 0, relayed: 0 } }
    const l1Units = { open: 0, complete: 0 }
    for (let i = 0; i < kinds.length * runs; i++) {
      const kind = kinds[i % kinds.length]
      const relayed = kind === 'relayed'
      const packed = kind === 'packed'
      const sender = relayed ? relayer : providerClient
      const deal = makeDeal(creator, provider, now)
      const opened = await openDeal(sender, { escrow, deal, sigCreator: signDeal(hasher, deal, creator.key), sigProvider: relayed ? signDeal(hasher, deal, provider.key) : '0x', packed })
      const resultHash = keccak256(toHex(`result-${i}`))
      const done = await completeDeal(sender, { escrow, deal, resultHash, sigCreator: signResultAcceptance(hasher, dealIdOf(hasher, deal), resultHash, creator.key), packed })
      if (opened.tx === undefined || done.tx === undefined || done.status !== 'Completed') throw new Error('happy path did not run')
      const [openInput, completeInput] = await Promise.all([inputOf(relayer, opened.tx.hash), inputOf(relayer, done.tx.hash)])
      const expect = packed ? ['0x0000f875', '0x000086a8'] : ['0x27101528', '0xbcaabaa7'] // openDealPacked_XMg, completePacked_TWd / openDeal, complete
      if (openInput.slice(0, 10) !== expect[0] || completeInput.slice(0, 10) !== expect[1]) throw new Error(`${kind} happy path sent ${openInput.slice(0, 10)}, ${completeInput.slice(0, 10)}`)
      sum.open[kind] += opened.tx.gasUsed
      sum.complete[kind] += done.tx.gasUsed
      bytes.open[kind] = (openInput.length - 2) / 2
      bytes.complete[kind] = (completeInput.length - 2) / 2
      if (packed) {
        l1Units.open = await arbitrumL1Units(relayer, opened.tx.hash)
        l1Units.complete = await arbitrumL1Units(relayer, done.tx.hash)
      }
    }
    const openGas = sum.open.packed / BigInt(runs)
    const completeGas = sum.complete.packed / BigInt(runs)
    const openFullGas = sum.open.full / BigInt(runs)
    const completeFullGas = sum.complete.full / BigInt(runs)
    const openRelayedGas = sum.open.relayed / BigInt(runs)
    const completeRelayedGas = sum.complete.relayed / BigInt(runs)
    const openBytes = bytes.open.packed
    const completeBytes = bytes.complete.packed

    // 20 deals, 40 distinct parties, one transaction
    const parties = Array.from({ length: BATCH }, () => [party(), party()] as const)
    for (const [c, p] of parties) {
      await deposit(relayer, { escrow, amount: 10n ** 16n, for: c.address })
      await deposit(relayer, { escrow, amount: 10n ** 16n, for: p.address })
    }
    const batch = parties.map(([c, p]) => {
      const deal = makeDeal(c, p, now)
      return { deal, sigCreator: signDeal(hasher, deal, c.key), sigProvider: signDeal(hasher, deal, p.key) }
    })
    const res = await openDeals(relayer, { escrow, deals: batch })
    if (res.opened.length !== BATCH) throw new Error(`batch opened ${res.opened.length} of ${BATCH}`)
    const batchedPerDealGas = res.tx.gasUsed / BigInt(BATCH)
    const batchedBytesPerDeal = Math.round(await inputBytes(relayer, res.tx.hash) / BATCH)

    const happyPathGas = openGas + completeGas
    const out = {
      openDealGas: Number(openGas),
      completeGas: Number(completeGas),
      happyPathGas: Number(happyPathGas),
      batchedPerDealGas: Number(batchedPerDealGas),
      calldataBytesPerDeal: openBytes + completeBytes,
      arbitrumL1UnitsPerDeal: l1Units.open + l1Units.complete,
      openDealCalldataBytes: openBytes,
      completeCalldataBytes: completeBytes,
      batchedCalldataBytesPerDeal: batchedBytesPerDeal,
      openDealFullAbiGas: Number(openFullGas),
      completeFullAbiGas: Number(completeFullGas),
      happyPathFullAbiGas: Number(openFullGas + completeFullGas),
      fullAbiCalldataBytesPerDeal: bytes.open.full + bytes.complete.full,
      openDealRelayedGas: Number(openRelayedGas),
      happyPathRelayedGas: Number(openRelayedGas + completeRelayedGas),
      relayedCalldataBytesPerDeal: bytes.open.relayed + bytes.complete.relayed,
      lilypadV1HappyPathGas: Number(LILYPAD_V1),
      lilypadV2HappyPathGas: Number(LILYPAD_V2)
    }
    if (json) {
      process.stdout.write(JSON.stringify(out) + '\n')
      return
    }
    const rows: Array<[string, string, string]> = [
      ['openDealPacked_XMg (sent by the provider)', String(out.openDealGas), `${openBytes} B calldata; creator's signature checked`],
      ['completePacked_TWd (sent by the provider)', String(out.completeGas), `${completeBytes} B calldata; creator's acceptance checked`],
      ['happy path = open + complete', String(out.happyPathGas), `target ≤ 100000; ${out.calldataBytesPerDeal} B calldata (target ≤ 500); ${(Number(LILYPAD_V1) / out.happyPathGas).toFixed(1)}× less than Lilypad v1, ${(Number(LILYPAD_V2) / out.happyPathGas).toFixed(1)}× less than v2`],
      ['Arbitrum L1 data units, open + complete', String(out.arbitrumL1UnitsPerDeal), 'brotli-zero of the signed transactions + 140 B each, × 16 (Nitro l1pricing)'],
      ['openDeal + complete, full ABI (sent by the provider)', String(out.happyPathFullAbiGas), `open ${out.openDealFullAbiGas} + complete ${out.completeFullAbiGas}; ${out.fullAbiCalldataBytesPerDeal} B calldata`],
      ['openDeal (relayed, 2 signatures)', String(out.openDealRelayedGas), `${bytes.open.relayed} B calldata`],
      ['happy path, relayed', String(out.happyPathRelayedGas), `${out.relayedCalldataBytesPerDeal} B calldata`],
      [`openDeals, ${BATCH} deals, per deal`, String(out.batchedPerDealGas), `target ≤ 50000; ${batchedBytesPerDeal} B calldata per deal`],
      ['Lilypad v1 happy path', String(LILYPAD_V1), 'agree, agree, addResult, acceptResult'],
      ['Lilypad v2 happy path', String(LILYPAD_V2), 'setDeal, setResult']
    ]
    const w0 = Math.max(...rows.map((r) => r[0].length))
    const w1 = Math.max(...rows.map((r) => r[1].length), 3)
    process.stdout.write(`${'step'.padEnd(w0)}  ${'gas'.padStart(w1)}  notes\n`)
    for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}\n`)
  } finally {
    await anvil.stop()
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:gas failed: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})

#!/usr/bin/env node
// Runs cowsay on a lilynode network through the SDK and prints each stage as it happens.
//
//   npm run devnet                                   # terminal 1: anvil, bootstrap, providers, mediator
//   npx node examples/sdk/run.mjs                    # terminal 2: uses .devnet/profile.json
//   npx node examples/sdk/run.mjs path/to/profile.json "hello from the SDK"
//
// The creator key defaults to the devnet's funded creator-1 (next to the profile); set
// LILYNODE_DATA_DIR to use another (its account needs ETH for the escrow deposit and gas).
// `lilynode` resolves to this repository's dist/ (a package may import itself by name);
// run `npm run build` first. Elsewhere: npm i lilynode.
import { dirname, join, resolve } from 'node:path'
import { LilyClient } from 'lilynode'

const profile = resolve(process.argv[2] ?? '.devnet/profile.json')
const message = process.argv[3] ?? 'moo from the lilynode SDK'
const dataDir = process.env.LILYNODE_DATA_DIR ?? join(dirname(profile), 'creator-1')

const stop = new AbortController()
process.once('SIGINT', () => stop.abort(new Error('interrupted')))

await using client = await LilyClient.connect({ profile, dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], signal: stop.signal })
console.log(`client ${client.address} (peer ${client.peerId})`)
const { escrowBalance } = await client.balance()
console.log(`escrow balance before: ${escrowBalance} wei`)

const job = client.run('cowsay:v0.0.4', { Message: message }, { maxPrice: 10n ** 15n, timeoutS: 60, outDir: join(dataDir, 'sdk-out'), signal: stop.signal })
for await (const e of job) {
  const extra = e.stage === 'matched' ? `provider ${e.provider} at ${e.price} wei`
    : e.stage === 'opened' ? (e.tx ?? 'opened by the provider')
      : e.stage === 'result' ? `exit code ${e.exitCode}, result ${e.resultHash}`
        : e.stage === 'paid' ? `${e.price} wei` : (e.message ?? '')
  console.log(`[${(e.elapsedMs / 1000).toFixed(2).padStart(6)}s] ${e.stage.padEnd(10)} ${extra}`)
}
const r = await job.result
console.log(r.stdout)
console.log(`outcome ${r.outcome}: deal ${r.dealId}, provider ${r.provider}, price ${r.price} wei, outputs in ${r.outDir}`)
console.log(`escrow balance after: ${(await client.balance()).escrowBalance} wei`)
process.exitCode = r.exitStatus

/** What `lilynode devnet` does, as a function the CLI calls. */
import { resolve } from 'node:path'
import { formatEther } from 'viem'
import { hexToString } from 'viem'
import { Devnet } from './devnet.js'
import { deployConsumer, fulfilmentOf, requestFrom, requestParams, waitForRequest } from './requests.js'
import { resolveModule } from '../node/index.js'

export interface DevnetMainOptions {
  dataDir: string
  providers: number
  epochMs: number
  module: string
  inputs: string[]
  exitAfterJob: boolean
  json: boolean
  /** relay-1's local HTTP API (host:port), or undefined for none. */
  api?: string
  /** relay-1's API also serves the web console. */
  console?: boolean
}

/** Returns the exit code: 0 when the example job was paid (and, unless exitAfterJob, after Ctrl-C). */
export async function runDevnet (o: DevnetMainOptions, signal: AbortSignal): Promise<number> {
  const print = (line: string): void => { if (!o.json) process.stdout.write(`${line}\n`) }
  const emit = (e: Record<string, unknown>): void => {
    if (o.json) process.stdout.write(`${JSON.stringify({ at: Date.now(), ...e }, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)}\n`)
  }
  const net = new Devnet({
    dataDir: resolve(o.dataDir),
    providers: o.providers,
    mediators: 1,
    creators: 1,
    relays: 1,
    ...(o.api !== undefined ? { relayApi: o.api, relayApiConsole: o.console === true } : {}),
    epochMs: o.epochMs,
    log: (l) => { print(`devnet: ${l}`); emit({ event: 'devnet', message: l }) }
  })
  let code = 1
  try {
    await net.start()
    print(`devnet: the network is up; running ${o.module} as creator-1 …`)
    const job = net.run('creator-1', o.module, o.inputs, ['--out', resolve(o.dataDir, 'creator-1', 'out')])
    job.on('event', (e) => {
      emit({ event: 'job', ...e })
      if (!o.json) {
        const secs = ((Number(e.elapsedMs ?? 0)) / 1000).toFixed(2).padStart(7)
        print(`[${secs}s] ${String(e.stage).padEnd(10)} ${e.provider !== undefined ? `provider ${String(e.provider)} ` : ''}${e.price !== undefined ? `${String(e.price)} wei ` : ''}${e.tx !== undefined ? `tx ${String(e.tx)} ` : ''}${e.resultHash !== undefined ? `result ${String(e.resultHash)} ` : ''}${e.message !== undefined ? String(e.message) : ''}`)
        if (e.stage === 'result' && typeof e.stdout === 'string') print(e.stdout.replace(/\n$/, '').split('\n').map((l) => `            | ${l}`).join('\n'))
      }
    })
    const exit = await job.done
    code = exit ?? 1
    print(code === 0 ? 'devnet: the example job was paid' : `devnet: the example job failed (exit ${String(exit)}); see ${resolve(o.dataDir, 'creator-1.log')}`)
    if (code === 0 && !signal.aborted) code = await demoRequest(net, print, emit)
    const balances = await net.balances()
    emit({ event: 'balances', balances })
    print('\nbalances (escrow = free balance in LilyEscrow, wallet = ETH):')
    for (const b of balances) print(`  ${b.name.padEnd(11)} ${b.address}  escrow ${formatEther(b.escrow).padStart(22)}  wallet ${formatEther(b.wallet)}`)
    if (!o.exitAfterJob && !signal.aborted) {
      print(`\nthe devnet keeps running; run more jobs (from this folder) with:\n  npx lilynode run cowsay:v0.0.4 -i Message="moo" --profile ${net.profilePath} --data-dir ${resolve(o.dataDir, 'creator-1')}\non-chain requests go to LilyRequests at ${String(net.profile.requests)} (relayed by relay-1).${o.api !== undefined ? `\nrelay-1 serves the HTTP API: curl -s http://${o.api}/health (see the README for POST /jobs)${o.console === true ? `; the web console: http://${o.api}/console` : ''}` : ''}\nCtrl-C stops it.`)
      emit({ event: 'ready', profile: net.profilePath, creatorDataDir: resolve(o.dataDir, 'creator-1'), ...(o.api !== undefined ? { api: `http://${o.api}` } : {}), ...(o.api !== undefined && o.console === true ? { console: `http://${o.api}/console` } : {}) })
      await new Promise<void>((resolve) => { if (signal.aborted) resolve(); else signal.addEventListener('abort', () => resolve(), { once: true }) })
    }
  } finally {
    print('devnet: stopping')
    await net.stop()
  }
  return code
}

/**
 * After the example job: an ExampleConsumer contract requests cowsay on-chain (default inputs),
 * relay-1 offers it, a provider runs it and fulfils; prints what the callback received.
 */
async function demoRequest (net: Devnet, print: (l: string) => void, emit: (e: Record<string, unknown>) => void): Promise<number> {
  try {
    const spec = await resolveModule('cowsay:v0.0.4')
    const consumer = await deployConsumer(net, 'ExampleConsumer')
    const now = Number((await net.chain.public.getBlock()).timestamp)
    const requestId = await requestFrom(net, consumer, requestParams(spec, {}, now))
    print(`\ndevnet: ExampleConsumer ${consumer.address} requested cowsay:v0.0.4 on-chain (request ${requestId}, LilyRequests ${String(net.profile.requests)}) …`)
    const t0 = Date.now()
    await waitForRequest(net, requestId, ['Fulfilled', 'Settled', 'Refunded'], 180_000)
    const f = await fulfilmentOf(net, requestId)
    const text = hexToString(f.data)
    emit({ event: 'request', requestId, consumer: consumer.address, dealId: f.dealId, provider: f.provider, resultHash: f.resultHash, data: f.data, callbackOk: f.callbackOk })
    print(`devnet: request ${requestId} fulfilled in ${((Date.now() - t0) / 1000).toFixed(1)} s by ${f.provider}; onLilyResult(${requestId}, ${f.resultHash}, data) ${f.callbackOk ? 'ran' : 'FAILED'}; data (${(f.data.length - 2) / 2} bytes):`)
    print(text.replace(/\n$/, '').split('\n').map((l) => `            | ${l}`).join('\n'))
    return f.callbackOk ? 0 : 1
  } catch (e) {
    print(`devnet: the on-chain request demo failed: ${(e as Error).message}; see ${net.dataDir}/relay-1.log`)
    return 1
  }
}

/** `lilynode creator`, with the HTTP API attached when --api is given. */
import { join, resolve } from 'node:path'
import { CliError, type HandlerContext } from '../../command.js'
import { readProfile, runCreatorNode } from '../../../node/index.js'
import { printer } from '../../output.js'
import type { CreatorArgs } from './options.js'

export async function creator (args: CreatorArgs, { signal }: HandlerContext): Promise<number> {
  if (args.apiConsole && args.api === undefined) throw new CliError('--api-console serves the console on the HTTP API: give --api host:port too (e.g. --api 127.0.0.1:7070 --api-console)')
  const profile = await readProfile(args.profile)
  const modulesDir = args.modulesDir !== undefined ? resolve(args.modulesDir) : undefined
  const apiToken = process.env.LILYNODE_API_TOKEN
  const print = printer(args.json)
  // the HTTP API (fastify, prom-client) is loaded only when it is served
  const api = args.api !== undefined ? await import('../../../api/index.js') : undefined
  const metrics = api?.createNodeMetrics()
  await runCreatorNode({
    profile,
    dataDir: args.dataDir,
    listen: args.listen.length > 0 ? args.listen : undefined,
    ...(args.requests !== undefined ? { requests: args.requests } : {}),
    ...(modulesDir !== undefined ? { modulesDir } : {}),
    ...(args.inputsDir !== undefined ? { inputsDir: resolve(args.inputsDir) } : {}),
    ...(args.fromBlock !== undefined ? { fromBlock: args.fromBlock } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(api !== undefined && args.api !== undefined
      ? {
          attach: async ({ host, creator, gas, signal }) => {
            const server = await api.startApi({
              host,
              creator,
              gas,
              listen: args.api,
              ...(metrics !== undefined ? { metrics } : {}),
              allowedOrigins: args.apiAllowOrigin,
              console: args.apiConsole,
              ...(apiToken !== undefined && apiToken !== '' ? { token: apiToken } : {}),
              ...(modulesDir !== undefined ? { modulesDir } : {}),
              outputsDir: join(args.dataDir, 'api-outputs'),
              log: host.log.child('api'),
              signal
            })
            return { ready: { api: server.url, ...(server.consoleUrl !== undefined ? { console: server.consoleUrl } : {}) }, stop: async () => { await server.stop() } }
          }
        }
      : {})
  }, signal, (e) => {
    if (args.json || e.event !== 'request') { print(e); return }
    print({ ...e, message: `request ${String(e.requestId)}${e.provider !== undefined ? ` provider ${String(e.provider)}` : ''}: ${String(e.message ?? '')}` })
  })
  return 0
}

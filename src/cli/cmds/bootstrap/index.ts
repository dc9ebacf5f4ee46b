/** `lilynode bootstrap`: a DHT server and gossip relay with a stable key and address. */
import { defineCommand } from '../../command.js'
import { bootstrapOptions } from './options.js'

export const bootstrapCommand = defineCommand({
  name: 'bootstrap',
  summary: 'run a bootstrap node: DHT server and gossip relay with a stable key and address',
  usage: 'lilynode bootstrap --profile <profile.json> --listen <multiaddr> [--data-dir <dir>] | lilynode bootstrap --show-id [--data-dir <dir>]',
  options: bootstrapOptions,
  handler: async (args, ctx) => await (await import('./handler.js')).bootstrap(args, ctx)
})

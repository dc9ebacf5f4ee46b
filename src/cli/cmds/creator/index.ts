/** `lilynode creator`: a long-running creator node; with a LilyRequests companion it relays on-chain job requests. */
import { defineCommand } from '../../command.js'
import { creatorOptions } from './options.js'

export const creatorCommand = defineCommand({
  name: 'creator',
  summary: 'run a creator node until Ctrl-C; with --requests (or the profile\'s "requests") it turns on-chain job requests into offers and serves them; with --api it serves the local HTTP API',
  usage: 'lilynode creator --profile <profile.json> [--requests <LilyRequests address>] [options]',
  options: creatorOptions,
  handler: async (args, ctx) => await (await import('./handler.js')).creator(args, ctx)
})

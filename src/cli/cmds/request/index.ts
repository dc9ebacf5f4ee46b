/** `lilynode request`: an on-chain job request (LilyRequests) from this node's account; prints the result data. */
import { defineCommand } from '../../command.js'
import { requestOptions } from './options.js'

export const requestCommand = defineCommand({
  name: 'request',
  summary: 'request a job on-chain through LilyRequests (paid from this account\'s wallet); a relay (lilynode creator) serves it',
  usage: 'lilynode request <module> [-i KEY=VALUE]... --profile <profile.json> [options]',
  options: requestOptions,
  args: { names: '<module>', min: 1, max: 1, hint: 'exactly one module: name:version (e.g. cowsay:v0.0.4) or a path to a module.json' },
  handler: async (args, ctx) => await (await import('./handler.js')).request(args, ctx)
})

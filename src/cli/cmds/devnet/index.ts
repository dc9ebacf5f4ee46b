/**
 * `lilynode devnet`: the whole network on this machine — anvil, the escrow, a bootstrap node,
 * providers and a mediator as separate processes — then one example job end to end, every
 * party's balance, and the network kept up for more `lilynode run … --profile` until Ctrl-C.
 */
import { defineCommand } from '../../command.js'
import { devnetOptions } from './options.js'

export const devnetCommand = defineCommand({
  name: 'devnet',
  summary: 'start a local network (anvil, escrow + LilyRequests, bootstrap, providers, mediator, a creator node relaying on-chain requests and serving the HTTP API), run an example job and an on-chain request, keep it up',
  usage: 'lilynode devnet [--data-dir .devnet] [options]',
  options: devnetOptions,
  handler: async (args, ctx) => await (await import('./handler.js')).devnet(args, ctx)
})

/** `lilynode mediator`: stakes, watches for challenged deals, re-runs the drawn ones and rules. */
import { defineCommand } from '../../command.js'
import { mediatorOptions } from './options.js'

export const mediatorCommand = defineCommand({
  name: 'mediator',
  summary: 'stake as a mediator: get drawn for challenged deals, re-run the job, rule on-chain',
  usage: 'lilynode mediator --profile <profile.json> [options]',
  options: mediatorOptions,
  handler: async (args, ctx) => await (await import('./handler.js')).mediator(args, ctx)
})

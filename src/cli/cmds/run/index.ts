/** `lilynode run <module> [-i K=V]...`: run one job on the network, from offer to paid result. */
import { defineCommand } from '../../command.js'
import { runOptions } from './options.js'

export const runCommand = defineCommand({
  name: 'run',
  summary: 'run a job: publish the offer, open the deal, get the result, pay (prints each stage with its time)',
  usage: 'lilynode run <name:version | path/to/module.json | path/to/lilypad-module-folder> [-i KEY=VALUE]... [options]',
  options: runOptions,
  args: { names: '<module>', min: 1, max: 1, hint: 'exactly one module: name:version (e.g. cowsay:v0.0.4), a path to a module.json or a Lilypad module folder' },
  handler: async (args, ctx) => await (await import('./handler.js')).run(args, ctx)
})

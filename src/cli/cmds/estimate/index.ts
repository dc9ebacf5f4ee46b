/** `lilynode estimate <module> [-i K=V]...`: which live offers a job fits, at what price, and why the others do not. */
import { defineCommand } from '../../command.js'
import { estimateOptions } from './options.js'

export const estimateCommand = defineCommand({
  name: 'estimate',
  summary: 'price a job before running it: the live offers it fits, what each would charge (the formula with its numbers), why the others do not (exit 1 when none fits)',
  usage: 'lilynode estimate <name:version | path/to/module.json | path/to/lilypad-module-folder> [-i KEY=VALUE]... (--profile <profile.json> | --node <multiaddr>) [options]',
  options: estimateOptions,
  args: { names: '<module>', min: 1, max: 1, hint: 'exactly one module: name:version (e.g. cowsay:v0.0.4), a path to a module.json or a Lilypad module folder' },
  handler: async (args, ctx) => await (await import('./handler.js')).estimateCmd(args, ctx)
})

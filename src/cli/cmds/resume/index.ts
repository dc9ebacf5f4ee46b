/**
 * `lilynode resume`: settles the deals that earlier `lilynode run`s of a data dir left
 * unfinished (stopped with Ctrl-C, or crashed, before the deal closed): the result is fetched,
 * checked and accepted (or challenged), or the timeout refund is taken.
 */
import { defineCommand } from '../../command.js'
import { resumeOptions } from './options.js'

export const resumeCommand = defineCommand({
  name: 'resume',
  summary: 'settle the deals earlier runs of a data dir left unfinished (stopped or crashed): accept or challenge the result, or take the timeout refund',
  usage: 'lilynode resume --profile <profile.json> [--data-dir <dir>] [--deal <dealId>]... [options]',
  options: resumeOptions,
  handler: async (args, ctx) => await (await import('./handler.js')).resume(args, ctx)
})

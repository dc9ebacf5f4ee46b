/** `lilynode get <job> --out DIR`: a job's outputs again, from the data dir's store or from the provider while it keeps them. */
import { defineCommand } from '../../command.js'
import { getOptions } from './options.js'

export const getCommand = defineCommand({
  name: 'get',
  summary: 'write a job\'s outputs (stdout, stderr, exit code, files) again: from the data dir, or from its provider while it keeps them',
  usage: 'lilynode get <job id|deal id> --out <dir> [--data-dir <dir>] [--profile <profile.json>]',
  options: getOptions,
  args: { names: '<job|deal>', min: 1, max: 1, hint: 'a job id (job-…, from `lilynode jobs`), a deal id or a job offer hash' },
  handler: async (args, ctx) => await (await import('./handler.js')).get(args, ctx)
})

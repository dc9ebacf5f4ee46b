/** `lilynode logs <job> [--follow]`: a job's stdout and stderr, live while it runs, from its provider (to the job's creator only). */
import { defineCommand } from '../../command.js'
import { logsOptions } from './options.js'

export const logsCommand = defineCommand({
  name: 'logs',
  summary: 'print a job\'s stdout and stderr: live from its provider while it runs (--follow: until it ends), or from the stored result',
  usage: 'lilynode logs <job id|deal id> [--follow] [--data-dir <dir>] [--profile <profile.json>] [--json]',
  options: logsOptions,
  args: { names: '<job|deal>', min: 1, max: 1, hint: 'a job id (job-…, from `lilynode jobs` or the `offered` line of `lilynode run`), a deal id or a job offer hash' },
  handler: async (args, ctx) => await (await import('./handler.js')).logs(args, ctx)
})

/** `lilynode describe <job|deal>`: every stage of a job with its time, provider, price, transactions and gas, the outcome and the failure reason. */
import { defineCommand } from '../../command.js'
import { describeOptions } from './options.js'

export const describeCommand = defineCommand({
  name: 'describe',
  summary: 'tell one job (or deal) stage by stage: times, provider, price, transactions and gas, outcome, failure reason',
  usage: 'lilynode describe <job id|deal id|job offer hash> [--data-dir <dir>] [--json]',
  options: describeOptions,
  args: { names: '<job|deal>', min: 1, max: 1, hint: 'a job id (job-…, from `lilynode jobs`), a deal id or a job offer hash' },
  handler: async (args, ctx) => await (await import('./handler.js')).describe(args, ctx)
})

/** `lilynode jobs`: the job records of a data dir (every run from it: CLI, SDK, API), newest first. */
import { defineCommand } from '../../command.js'
import { jobsOptions } from './options.js'

export const jobsCommand = defineCommand({
  name: 'jobs',
  summary: 'list the jobs a data dir ran (lilynode run, the SDK, the API), filtered by state, module or date',
  usage: 'lilynode jobs [--data-dir <dir>] [--state S] [--module M] [--since WHEN] [--until WHEN] [--json]',
  options: jobsOptions,
  handler: async (args) => await (await import('./handler.js')).jobs(args)
})

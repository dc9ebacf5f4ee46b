/**
 * `lilynode provider`: offers this machine's CPU, RAM, GPUs and disk (`--backend docker`), or a
 * Slurm partition's (`--backend slurm`), runs matched jobs, gets paid.
 */
import { defineCommand } from '../../command.js'
import { providerOptions } from './options.js'

export const providerCommand = defineCommand({
  name: 'provider',
  summary: 'offer this machine\'s compute (or a Slurm cluster\'s): publish resource offers, run matched jobs in containers, get paid',
  usage: 'lilynode provider --profile <profile.json> [options]',
  options: providerOptions,
  handler: async (args, ctx) => await (await import('./handler.js')).provider(args, ctx)
})

export { parseGpuTypes, slurmSettings } from './slurm.js'

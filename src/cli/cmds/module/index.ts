/** `lilynode module init|build|check <dir>`: write a module, build its image with no registry, check its spec. */
import { defineCommand } from '../../command.js'
import { buildOptions, checkOptions, initOptions } from './options.js'

const handlers = async (): Promise<typeof import('./handler.js')> => await import('./handler.js')
const dir = (cmd: string): { names: string, min: number, max: number, hint: string } => ({ names: '<dir>', min: 1, max: 1, hint: `exactly one folder, e.g. lilynode module ${cmd} ./my-module` })

export const moduleCommand = defineCommand({
  name: 'module',
  summary: 'write modules: init a module folder, build its image with no registry, check its spec',
  usage: 'lilynode module <init|build|check> <dir> [options]',
  options: {},
  subcommands: [
    defineCommand({
      name: 'init',
      summary: 'create a module folder: module.json (or a Lilypad template), a Dockerfile and a program',
      usage: 'lilynode module init <dir> [--kind busybox|python|lilypad] [--name NAME]',
      options: initOptions,
      args: dir('init'),
      handler: async (args, ctx) => await (await handlers()).init(args, ctx)
    }),
    defineCommand({
      name: 'build',
      summary: 'build a module folder\'s image locally, with no registry (busybox-style, ML-base or any Dockerfile)',
      usage: 'lilynode module build <dir>',
      options: buildOptions,
      args: dir('build'),
      handler: async (args, ctx) => await (await handlers()).build(args, ctx)
    }),
    defineCommand({
      name: 'check',
      summary: 'validate a module folder (module.json, or lilypad_module.json.tmpl rendered with -i inputs) and show what offers will name',
      usage: 'lilynode module check <dir> [-i KEY=VALUE]... [--json]',
      options: checkOptions,
      args: dir('check'),
      handler: async (args, ctx) => await (await handlers()).check(args, ctx)
    })
  ]
})

import { jsonOption } from '../../sharedOptions.js'
import { choice, flag, pairs, str, type Values } from '../../typedOptions.js'

export const INIT_KINDS = ['busybox', 'python', 'lilypad'] as const
export type InitKind = typeof INIT_KINDS[number]

export const initOptions = {
  kind: choice({ description: 'busybox (a shell script, tiny image), python (over the ML base) or lilypad (lilypad_module.json.tmpl)', choices: INIT_KINDS, default: 'busybox' }),
  name: str({ description: 'module name (default: the folder\'s name)', pattern: /^[a-z0-9][a-z0-9._-]{0,63}$/, hint: 'lower-case letters, digits, ".", "_" or "-"' })
}
export const buildOptions = {}
export const checkOptions = {
  input: pairs({ short: 'i', description: 'sample input KEY=VALUE to render a Lilypad template with' }),
  spec: flag({ description: 'also print the normalized spec (canonical JSON)' }),
  json: jsonOption('one JSON object')
}

export type InitArgs = Values<typeof initOptions>
export type BuildArgs = Values<typeof buildOptions>
export type CheckArgs = Values<typeof checkOptions>

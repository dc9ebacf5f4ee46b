/**
 * Strict argument parsing for the lilynode binary, on `node:util` parseArgs (its tokens; the
 * checks are ours): sub-commands resolved first, then the command's options. Unknown options
 * and commands are errors with a "did you mean"; a single-valued option given twice is an
 * error, not a silent override; values are parsed and bounded by their typed options;
 * `--help` is understood everywhere.
 */
import { parseArgs as tokenize } from 'node:util'
import { CliError, type CommandModule } from './command.js'
import { camel, closest, type Opt, type Options } from './typedOptions.js'

export interface Resolved {
  /** The command chain, e.g. [lilynode, chain, deposit]. */
  path: CommandModule[]
  /** Parsed option values, keyed in camelCase. */
  values: Record<string, unknown>
  positionals: string[]
  help: boolean
}

export function commandName (path: readonly CommandModule[]): string {
  return path.map((c) => c.name).join(' ')
}

/** The error for a command with sub-commands given none or an unknown one: names them all. */
function commandError (path: CommandModule[], given: string | undefined): CliError {
  const cmd = path[path.length - 1]
  const names = (cmd.subcommands ?? []).map((c) => c.name)
  const list = `commands: ${names.join(', ')}`
  if (given === undefined) return new CliError(`${commandName(path)} needs a command; ${list} (run '${commandName(path)} --help' for what each does)`)
  const near = closest(given, names)
  return new CliError(`unknown command '${given}' for '${commandName(path)}'${near !== undefined ? `; did you mean '${near}'?` : ''}\n${list}`)
}

/** Resolves sub-commands, then parses the innermost command's options and positionals. */
export function parseArgs (root: CommandModule, argv: string[]): Resolved {
  const path: CommandModule[] = [root]
  let cmd = root
  let i = 0
  let help = false
  while (cmd.subcommands !== undefined) {
    const tok = argv[i]
    if (tok === '--help' || tok === '-h') { help = true; i++; continue }
    if (tok === undefined) {
      if (help) return { path, values: {}, positionals: [], help }
      throw commandError(path, undefined)
    }
    const sub = cmd.subcommands.find((c) => c.name === tok)
    if (sub === undefined) {
      if (tok.startsWith('-')) throw new CliError(`unknown option '${tok}' for '${commandName(path)}'; give a command first (${cmd.subcommands.map((c) => c.name).join(', ')})`)
      throw commandError(path, tok)
    }
    path.push(sub)
    cmd = sub
    i++
  }
  const parsed = parseOptions(path, argv.slice(i))
  return { path, ...parsed, help: help || parsed.help }
}

/** Options and positionals of one command (`--` ends the options). */
export function parseOptions (path: CommandModule[], argv: string[]): { values: Record<string, unknown>, positionals: string[], help: boolean } {
  const cmd = path[path.length - 1]
  const specs: Options = cmd.options
  const config: Record<string, { type: 'string' | 'boolean', short?: string, multiple?: boolean }> = { help: { type: 'boolean', short: 'h', multiple: true } }
  for (const [name, o] of Object.entries(specs)) config[name] = { type: o.kind === 'flag' ? 'boolean' : 'string', multiple: true, ...(o.short !== undefined ? { short: o.short } : {}) }
  const { tokens } = tokenize({ args: argv, options: config, strict: false, allowPositionals: true, tokens: true })
  const raw = new Map<string, string[]>()
  const positionals: string[] = []
  // --help anywhere shows the help, whatever else is wrong
  const help = tokens.some((t) => t.kind === 'option' && t.name === 'help')
  const where = commandName(path)
  for (const t of tokens) {
    if (t.kind === 'positional') { positionals.push(t.value); continue }
    if (t.kind === 'option-terminator' || help) continue
    const o: Opt<unknown> | undefined = Object.hasOwn(specs, t.name) ? specs[t.name] : undefined
    if (o === undefined) {
      const near = closest(t.name, Object.keys(specs))
      throw new CliError(`unknown option '${t.rawName}' for '${where}'${near !== undefined ? `; did you mean --${near}?` : ''} (run '${where} --help' to see its options)`)
    }
    const flagText = `--${t.name}`
    if (o.kind === 'flag') {
      if (t.inlineValue === true) throw new CliError(`option ${flagText} takes no value, got '${String(t.value)}'`)
      raw.set(t.name, [...(raw.get(t.name) ?? []), 'true'])
      continue
    }
    if (t.value === undefined) throw new CliError(`option ${flagText} needs a value (${o.placeholder})`)
    // parseArgs takes the next word as the value whatever it is: `--out --json` is a mistake
    if (t.inlineValue === false && /^--?[A-Za-z]/.test(t.value)) throw new CliError(`option ${flagText} needs a value, got the option '${t.value}' (write ${flagText}=${t.value} if that is the value)`)
    raw.set(t.name, [...(raw.get(t.name) ?? []), t.value])
  }
  if (help) return { values: {}, positionals, help }
  checkPositionals(cmd, where, positionals)
  const values: Record<string, unknown> = {}
  for (const [name, o] of Object.entries(specs)) {
    const texts = raw.get(name)
    if (texts === undefined) {
      if (o.required) throw new CliError(`missing option --${name} (${o.description}); run '${where} --help' to see its options`)
      values[camel(name)] = o.absent()
    } else {
      values[camel(name)] = o.parse(texts, `--${name}`)
    }
  }
  return { values, positionals, help }
}

function checkPositionals (cmd: CommandModule, where: string, positionals: string[]): void {
  const spec = cmd.args ?? { names: '', min: 0, max: 0, hint: '' }
  if (positionals.length < spec.min) throw new CliError(`${where} needs ${spec.hint}`)
  if (positionals.length > spec.max) {
    const extra = positionals[spec.max]
    if (Object.hasOwn(cmd.options, 'input') && /^[A-Za-z][A-Za-z0-9_]*=/.test(extra)) {
      throw new CliError(`unexpected argument '${extra}': give job inputs with -i (${where} ${positionals.slice(0, spec.max).join(' ')} -i ${extra})`)
    }
    throw new CliError(spec.max === 0 ? `${where} takes no arguments, got '${extra}'` : `unexpected argument '${extra}'; ${where} takes ${spec.hint}`)
  }
}

// ---------------------------------------------------------------- help

function optionLabel (name: string, o: Opt<unknown>): string {
  return `${o.short !== undefined ? `-${o.short}, ` : '    '}--${name}${o.kind === 'flag' ? '' : ` <${o.placeholder}>`}`
}

/** The help text of a command: usage, summary, sub-commands, options with their defaults and bounds. */
export function helpText (path: readonly CommandModule[]): string {
  const cmd = path[path.length - 1]
  const lines = [`usage: ${cmd.usage}`, '', cmd.summary]
  if (cmd.subcommands !== undefined && cmd.subcommands.length > 0) {
    lines.push('', 'commands:')
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length))
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(w)}  ${c.summary}`)
    lines.push('', `run '${commandName(path)} <command> --help' for a command's options`)
  }
  lines.push('', 'options:')
  const entries = Object.entries(cmd.options as Options)
  const labels = entries.map(([name, o]) => optionLabel(name, o))
  const w = Math.max('-h, --help'.length, ...labels.map((l) => l.length))
  entries.forEach(([, o], k) => {
    const extra = [o.required ? 'required' : '', o.rangeText ?? '', o.defaultText !== undefined ? `default: ${o.defaultText}` : ''].filter((x) => x !== '').join('; ')
    lines.push(`  ${labels[k].padEnd(w)}  ${o.description}${extra !== '' ? ` (${extra})` : ''}`)
  })
  lines.push(`  ${'-h, --help'.padEnd(w)}  show this help`)
  return lines.join('\n')
}

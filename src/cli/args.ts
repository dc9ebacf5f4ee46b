/**
 * Strict argument parsing for the lilynode binary: unknown flags are errors, values are
 * checked against the command's FlagSpec, and `--help` is understood everywhere.
 */
import { CliError, type Command, type FlagSpec, type ParsedArgs } from './command.js'

export interface Resolved {
  /** The command chain, e.g. [chain, deposit]. */
  path: Command[]
  args: ParsedArgs
  help: boolean
}

function findFlag (specs: FlagSpec[], token: string): FlagSpec | undefined {
  if (token.startsWith('--')) return specs.find((f) => f.name === token.slice(2))
  return specs.find((f) => f.short !== undefined && f.short === token.slice(1))
}

/** Resolves sub-commands, then parses flags and positionals of the innermost command. */
export function parseArgs (root: Command, argv: string[]): Resolved {
  const path: Command[] = [root]
  let i = 0
  let cmd = root
  let help = false
  while (cmd.subcommands !== undefined && i < argv.length) {
    const tok = argv[i]
    if (tok === '--help' || tok === '-h') { help = true; i++; continue }
    const sub = cmd.subcommands.find((c) => c.name === tok)
    if (sub === undefined) {
      if (tok.startsWith('-')) break
      throw new CliError(`unknown command '${tok}' for '${commandName(path)}'; run '${commandName(path)} --help' to see the commands`)
    }
    path.push(sub)
    cmd = sub
    i++
  }
  const flags: ParsedArgs['flags'] = {}
  const positionals: string[] = []
  for (const f of cmd.flags) if (f.default !== undefined) flags[f.name] = f.default
  let onlyPositionals = false
  for (; i < argv.length; i++) {
    const tok = argv[i]
    if (onlyPositionals || !tok.startsWith('-') || tok === '-') { positionals.push(tok); continue }
    if (tok === '--') { onlyPositionals = true; continue }
    if (tok === '--help' || tok === '-h') { help = true; continue }
    const eq = tok.indexOf('=')
    const name = tok.startsWith('--') && eq > 0 ? tok.slice(0, eq) : tok
    const spec = findFlag(cmd.flags, name)
    if (spec === undefined) {
      throw new CliError(`unknown option '${name}' for '${commandName(path)}'; run '${commandName(path)} --help' to see its options`)
    }
    let value: string | boolean
    if (spec.type === 'boolean') {
      if (eq > 0 && tok.startsWith('--')) {
        const v = tok.slice(eq + 1)
        if (v !== 'true' && v !== 'false') throw new CliError(`option --${spec.name} takes no value or true/false, got '${v}'`)
        value = v === 'true'
      } else {
        value = true
      }
    } else if (eq > 0 && tok.startsWith('--')) {
      value = tok.slice(eq + 1)
    } else {
      const next = argv[i + 1]
      if (next === undefined) throw new CliError(`option --${spec.name} needs a value`)
      value = next
      i++
    }
    if (spec.multiple === true) {
      const prev = flags[spec.name]
      flags[spec.name] = [...(Array.isArray(prev) ? prev : []), String(value)]
    } else {
      flags[spec.name] = value
    }
  }
  return { path, args: { positionals, flags }, help }
}

export function commandName (path: Command[]): string {
  return path.map((c) => c.name).join(' ')
}

/** The help text of a command: usage, summary, sub-commands, options. */
export function helpText (path: Command[]): string {
  const cmd = path[path.length - 1]
  const lines = [`usage: ${cmd.usage}`, '', cmd.summary]
  if (cmd.subcommands !== undefined && cmd.subcommands.length > 0) {
    lines.push('', 'commands:')
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length))
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(w)}  ${c.summary}`)
    lines.push('', `run '${commandName(path)} <command> --help' for a command's options`)
  }
  lines.push('', 'options:')
  if (cmd.flags.length > 0) {
    const label = (f: FlagSpec): string => `${f.short !== undefined ? `-${f.short}, ` : ''}--${f.name}${f.type === 'string' ? ' <value>' : ''}`
    const w = Math.max(...cmd.flags.map((f) => label(f).length))
    for (const f of cmd.flags) {
      const extra = [f.multiple === true ? 'repeatable' : '', f.default !== undefined ? `default: ${String(f.default)}` : ''].filter((s) => s !== '').join('; ')
      lines.push(`  ${label(f).padEnd(w)}  ${f.description}${extra !== '' ? ` (${extra})` : ''}`)
    }
  }
  lines.push(`  ${'-h, --help'}  show this help`)
  return lines.join('\n')
}

/** Reads a string flag, or throws a CliError naming it when required and missing. */
export function stringFlag (args: ParsedArgs, name: string, required: true): string
export function stringFlag (args: ParsedArgs, name: string, required?: false): string | undefined
export function stringFlag (args: ParsedArgs, name: string, required = false): string | undefined {
  const v = args.flags[name]
  if (v === undefined) {
    if (required) throw new CliError(`missing option --${name}`)
    return undefined
  }
  if (typeof v !== 'string') throw new CliError(`option --${name} needs a value`)
  return v
}

export function listFlag (args: ParsedArgs, name: string): string[] {
  const v = args.flags[name]
  if (v === undefined) return []
  return Array.isArray(v) ? v : [String(v)]
}

export function boolFlag (args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true
}

/**
 * A logger per component. Level from env LILYNODE_LOG (error|warn|info|debug|trace, default
 * warn), one line per entry on stderr: `ISO-time LEVEL component message {fields}`.
 * Fields whose name looks like a secret are replaced, so a key can never reach the log.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace'

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 }
const SECRET_RE = /key|secret|password|mnemonic|seed/i

export interface Logger {
  readonly component: string
  error: (msg: string, fields?: Record<string, unknown>) => void
  warn: (msg: string, fields?: Record<string, unknown>) => void
  info: (msg: string, fields?: Record<string, unknown>) => void
  debug: (msg: string, fields?: Record<string, unknown>) => void
  trace: (msg: string, fields?: Record<string, unknown>) => void
  enabled: (level: LogLevel) => boolean
  child: (component: string) => Logger
}

export function logLevelFromEnv (value = process.env.LILYNODE_LOG): LogLevel {
  const v = (value ?? '').toLowerCase()
  return v in LEVELS ? v as LogLevel : 'warn'
}

function render (fields: Record<string, unknown>): string {
  return JSON.stringify(fields, (k, v: unknown) => {
    if (k !== '' && SECRET_RE.test(k)) return '[redacted]'
    if (typeof v === 'bigint') return v.toString()
    if (v instanceof Uint8Array) return `<${v.length} bytes>`
    if (v instanceof Error) return { name: v.name, message: v.message, code: (v as { code?: unknown }).code }
    return v
  })
}

export interface LoggerOptions {
  level?: LogLevel
  /** Where lines go (default stderr). */
  sink?: (line: string) => void
}

export function createLogger (component: string, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? logLevelFromEnv()
  const sink = opts.sink ?? ((line: string) => { process.stderr.write(line) })
  const max = LEVELS[level]
  const make = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[lvl] > max) return
    const extra = fields === undefined ? '' : ` ${render(fields)}`
    sink(`${new Date().toISOString()} ${lvl.toUpperCase()} ${component} ${msg}${extra}\n`)
  }
  return {
    component,
    error: make('error'),
    warn: make('warn'),
    info: make('info'),
    debug: make('debug'),
    trace: make('trace'),
    enabled: (lvl) => LEVELS[lvl] <= max,
    child: (sub) => createLogger(`${component}:${sub}`, { level, sink })
  }
}

/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to check that
 * /metrics parses: HELP/TYPE before a family's samples, each family once and contiguous,
 * names and label names well-formed, label values correctly escaped, values numeric.
 */
export interface PromSample { name: string, labels: Record<string, string>, value: number }
export interface PromFamily { name: string, type: string, help: string, samples: PromSample[] }

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?[0-9]+)?$`)
const LABEL_RE = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/

function parseValue (s: string, line: number): number {
  if (s === '+Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (s === 'NaN') return NaN
  if (!/^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(s)) throw new Error(`line ${line}: value ${s} is not a number`)
  return Number(s)
}

function parseLabels (s: string, line: number): Record<string, string> {
  const out: Record<string, string> = {}
  let rest = s
  while (rest.length > 0) {
    const m = LABEL_RE.exec(rest)
    if (m === null) throw new Error(`line ${line}: bad labels {${s}}`)
    if (Object.hasOwn(out, m[1])) throw new Error(`line ${line}: label ${m[1]} repeated`)
    out[m[1]] = m[2].replace(/\\(["\\n])/g, (_x, c: string) => c === 'n' ? '\n' : c)
    rest = rest.slice(m[0].length)
  }
  return out
}

export function parsePrometheus (text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline')
  const fams = new Map<string, PromFamily>()
  let current: PromFamily | undefined
  const lines = text.slice(0, -1).split('\n')
  lines.forEach((l, i) => {
    const n = i + 1
    if (l.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(l)
      if (m === null) return
      let f = fams.get(m[2])
      if (f === undefined) {
        f = { name: m[2], type: '', help: '', samples: [] }
        fams.set(m[2], f)
      } else if (current !== f) {
        throw new Error(`line ${n}: family ${m[2]} is not contiguous`)
      }
      current = f
      if (m[1] === 'TYPE') {
        if (f.type !== '') throw new Error(`line ${n}: TYPE of ${m[2]} given twice`)
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3])) throw new Error(`line ${n}: unknown type ${m[3]}`)
        if (f.samples.length > 0) throw new Error(`line ${n}: TYPE after samples of ${m[2]}`)
        f.type = m[3]
      } else {
        f.help = m[3]
      }
      return
    }
    if (l.trim() === '') return
    const m = SAMPLE_RE.exec(l)
    if (m === null) throw new Error(`line ${n}: not a sample: ${l}`)
    const f = fams.get(m[1])
    if (f === undefined || f !== current || f.type === '') throw new Error(`line ${n}: sample of ${m[1]} outside its family (no TYPE line before it)`)
    f.samples.push({ name: m[1], labels: m[2] === undefined ? {} : parseLabels(m[2], n), value: parseValue(m[3], n) })
  })
  return fams
}

/** The value of one sample (undefined when absent). */
export function sampleValue (fams: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = fams.get(name)
  const s = f?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v))
  return s?.value
}

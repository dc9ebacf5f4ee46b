/**
 * A bounded subset of Go's text/template, enough for Lilypad's `lilypad_module.json.tmpl`
 * files, with Go's semantics where it has them:
 *
 *   text, {{/* comments *\/}}, trim markers ({{- and -}}), {{ pipeline }},
 *   {{ if p }} … {{ else if p }} … {{ else }} … {{ end }}, {{ with p }} … {{ else }} … {{ end }};
 *   a pipeline is commands joined by `|` (the value of each is the last argument of the next);
 *   operands: `.`, `.Field` (a key of the data map), string literals ("…" with Go escapes, `raw`),
 *   integers, true, false, and parenthesised pipelines;
 *   functions: and, or, not, eq, ne, len, print, js, html, urlquery, and `subst` (Lilypad's).
 *
 * Truth follows Go: a missing key is "no value" (false; printed as `<no value>`), a string is
 * true when non-empty, a number when non-zero. `or` and `and` short-circuit and return an
 * argument, not a boolean. `js` escapes as Go's JSEscapeString does. No loops (no `range`,
 * `template`, `define`): execution is linear in the template, and the template, its nesting,
 * its number of nodes and the output are all bounded.
 */
import { ProtocolError } from '../errors.js'

export const MAX_TEMPLATE_BYTES = 64 * 1024
export const MAX_TEMPLATE_OUTPUT_BYTES = 256 * 1024
export const MAX_TEMPLATE_DEPTH = 32
export const MAX_TEMPLATE_NODES = 20_000

/** A value while a template runs: `undefined` is Go's invalid reflect.Value ("no value"). */
export type TemplateValue = string | number | boolean | undefined | TemplateData
export type TemplateData = Readonly<Record<string, string>>

function fail (message: string): never {
  throw new ProtocolError('PROTOCOL_BAD_MODULE', 'reject', `template: ${message}`)
}

// ---------------------------------------------------------------- AST

type Operand =
  | { t: 'dot' }
  | { t: 'field', path: string[] }
  | { t: 'str', v: string }
  | { t: 'num', v: number }
  | { t: 'bool', v: boolean }
  | { t: 'pipe', p: Pipeline }

interface Command { fn?: string, args: Operand[] }
type Pipeline = Command[]

type Node =
  | { t: 'text', v: string }
  | { t: 'print', p: Pipeline }
  | { t: 'if' | 'with', p: Pipeline, then: Node[], else: Node[] }

export interface Template { nodes: Node[] }

const FUNCS = new Set(['and', 'or', 'not', 'eq', 'ne', 'len', 'print', 'js', 'html', 'urlquery', 'subst'])

// ---------------------------------------------------------------- lexing actions

type Tok = { k: 'field', v: string[] } | { k: 'dot' } | { k: 'str', v: string } | { k: 'num', v: number } | { k: 'ident', v: string } | { k: '|' | '(' | ')' }

const SPACE = /[ \t\r\n]/

function lexAction (src: string, where: number): Tok[] {
  const toks: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (SPACE.test(c)) { i++; continue }
    if (c === '|' || c === '(' || c === ')') { toks.push({ k: c }); i++; continue }
    if (c === '.') {
      let j = i
      const path: string[] = []
      while (src[j] === '.' && /[A-Za-z_]/.test(src[j + 1] ?? '')) {
        let e = j + 1
        while (e < src.length && /[A-Za-z0-9_]/.test(src[e])) e++
        path.push(src.slice(j + 1, e))
        j = e
      }
      if (path.length === 0) { toks.push({ k: 'dot' }); i++ } else { toks.push({ k: 'field', v: path }); i = j }
      continue
    }
    if (c === '"') {
      const { v, end } = lexString(src, i, where)
      toks.push({ k: 'str', v })
      i = end
      continue
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1)
      if (end < 0) fail(`unterminated raw string at ${where}`)
      toks.push({ k: 'str', v: src.slice(i + 1, end) })
      i = end + 1
      continue
    }
    if (/[-0-9]/.test(c)) {
      const m = /^-?[0-9]{1,15}/.exec(src.slice(i))
      if (m === null) fail(`bad number at ${where}`)
      toks.push({ k: 'num', v: Number(m[0]) })
      i += m[0].length
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      let e = i
      while (e < src.length && /[A-Za-z0-9_]/.test(src[e])) e++
      toks.push({ k: 'ident', v: src.slice(i, e) })
      i = e
      continue
    }
    fail(`unexpected "${c}" in action at ${where}`)
  }
  return toks
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'" }

function lexString (src: string, start: number, where: number): { v: string, end: number } {
  let out = ''
  let i = start + 1
  for (;;) {
    const c = src[i]
    if (c === undefined || c === '\n') fail(`unterminated string at ${where}`)
    if (c === '"') return { v: out, end: i + 1 }
    if (c !== '\\') { out += c; i++; continue }
    const e = src[i + 1]
    if (e !== undefined && e in SIMPLE_ESCAPES) { out += SIMPLE_ESCAPES[e]; i += 2; continue }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0
    if (hexLen > 0) {
      const h = src.slice(i + 2, i + 2 + hexLen)
      if (!new RegExp(`^[0-9A-Fa-f]{${hexLen}}$`).test(h)) fail(`bad \\${e} escape at ${where}`)
      const cp = parseInt(h, 16)
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(`escape \\${e}${h} is not a character at ${where}`)
      out += String.fromCodePoint(cp)
      i += 2 + hexLen
      continue
    }
    fail(`unknown escape \\${e ?? ''} at ${where}`)
  }
}

// ---------------------------------------------------------------- parsing

class Parser {
  private i = 0
  constructor (private readonly toks: Tok[], private readonly where: number) {}

  pipeline (): Pipeline {
    const cmds: Pipeline = [this.command()]
    while (this.peek()?.k === '|') { this.i++; cmds.push(this.command()) }
    return cmds
  }

  private command (): Command {
    const first = this.peek()
    if (first === undefined) fail(`missing value at ${this.where}`)
    const cmd: Command = { args: [] }
    if (first.k === 'ident' && FUNCS.has(first.v)) { cmd.fn = first.v; this.i++ }
    for (let t = this.peek(); t !== undefined && t.k !== '|' && t.k !== ')'; t = this.peek()) cmd.args.push(this.operand())
    if (cmd.fn === undefined && cmd.args.length !== 1) fail(`${cmd.args.length === 0 ? 'empty command' : 'a value cannot take arguments'} at ${this.where}`)
    return cmd
  }

  private operand (): Operand {
    const t = this.toks[this.i++]
    switch (t.k) {
      case 'dot': return { t: 'dot' }
      case 'field': return { t: 'field', path: t.v }
      case 'str': return { t: 'str', v: t.v }
      case 'num': return { t: 'num', v: t.v }
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { t: 'bool', v: t.v === 'true' }
        if (FUNCS.has(t.v)) fail(`function ${t.v} must come first in its command (or be in parentheses) at ${this.where}`)
        return fail(`unknown function "${t.v}" at ${this.where} (this subset has ${[...FUNCS].join(', ')})`)
      case '(': {
        const p = this.pipeline()
        if (this.toks[this.i++]?.k !== ')') fail(`unclosed "(" at ${this.where}`)
        return { t: 'pipe', p }
      }
      default:
        return fail(`unexpected "${t.k}" at ${this.where}`)
    }
  }

  peek (): Tok | undefined { return this.toks[this.i] }
  done (): boolean { return this.i >= this.toks.length }
}

function parsePipeline (src: string, where: number): Pipeline {
  const p = new Parser(lexAction(src, where), where)
  const out = p.pipeline()
  if (!p.done()) fail(`unexpected "${String((p.peek() as Tok).k)}" after the pipeline at ${where}`)
  return out
}

interface Action { body: string, at: number }

/** Splits text and actions, applying the trim markers. */
function scan (src: string): Array<string | Action> {
  const parts: Array<string | Action> = []
  let i = 0
  let trimNext = false
  while (i < src.length) {
    const open = src.indexOf('{{', i)
    let text = src.slice(i, open < 0 ? src.length : open)
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '')
    trimNext = false
    if (open < 0) { parts.push(text); break }
    let start = open + 2
    if (src.startsWith('- ', start) || src.startsWith('-\t', start) || src.startsWith('-\n', start) || src.startsWith('-\r', start)) {
      text = text.replace(/[ \t\r\n]+$/, '')
      start += 1
    }
    parts.push(text)
    let end: number
    if (src.slice(start).trimStart().startsWith('/*')) {
      const c = src.indexOf('*/', start)
      if (c < 0) fail(`unterminated comment at ${open}`)
      end = src.indexOf('}}', c + 2)
    } else {
      end = findClose(src, start, open)
    }
    if (end < 0) fail(`unclosed action at ${open}`)
    let body = src.slice(start, end)
    if (/[ \t\r\n]-$/.test(body)) { body = body.slice(0, -1); trimNext = true }
    if (!body.trimStart().startsWith('/*')) parts.push({ body, at: open })
    i = end + 2
  }
  return parts
}

/** The `}}` that closes an action, skipping quoted strings. */
function findClose (src: string, from: number, open: number): number {
  let i = from
  while (i < src.length) {
    const c = src[i]
    if (c === '"') {
      i++
      while (i < src.length && src[i] !== '"') { if (src[i] === '\\') i++; if (src[i] === '\n') fail(`unterminated string in action at ${open}`); i++ }
      i++
      continue
    }
    if (c === '`') { const e = src.indexOf('`', i + 1); if (e < 0) fail(`unterminated raw string at ${open}`); i = e + 1; continue }
    if (c === '}' && src[i + 1] === '}') return i
    i++
  }
  return -1
}

/** Parses a template (PROTOCOL_BAD_MODULE with the position on error). */
export function parseTemplate (src: string): Template {
  if (typeof src !== 'string') fail('must be text')
  if (new TextEncoder().encode(src).length > MAX_TEMPLATE_BYTES) fail(`larger than ${MAX_TEMPLATE_BYTES} bytes`)
  const parts = scan(src)
  let nodes = 0
  let k = 0
  const block = (depth: number, closers: ReadonlySet<string>): { nodes: Node[], closer: string, at: number } => {
    if (depth > MAX_TEMPLATE_DEPTH) fail(`nested deeper than ${MAX_TEMPLATE_DEPTH}`)
    const out: Node[] = []
    while (k < parts.length) {
      const part = parts[k++]
      if (++nodes > MAX_TEMPLATE_NODES) fail(`more than ${MAX_TEMPLATE_NODES} nodes`)
      if (typeof part === 'string') { if (part !== '') out.push({ t: 'text', v: part }); continue }
      const body = part.body.trim()
      const word = /^[a-z]+/.exec(body)?.[0] ?? ''
      if (word === 'end' && body === 'end') {
        if (closers.has('end')) return { nodes: out, closer: 'end', at: part.at }
        fail(`unexpected {{end}} at ${part.at}`)
      }
      if (word === 'else') {
        if (!closers.has('else')) fail(`unexpected {{else}} at ${part.at}`)
        return { nodes: out, closer: body, at: part.at }
      }
      if (word === 'if' || word === 'with') {
        out.push(conditional(word, body.slice(word.length), part.at, depth))
        continue
      }
      if (['range', 'template', 'define', 'block', 'break', 'continue'].includes(word) && /^[a-z]+(\s|$)/.test(body)) {
        fail(`{{${word}}} is not supported (this subset has no loops or sub-templates) at ${part.at}`)
      }
      out.push({ t: 'print', p: parsePipeline(body, part.at) })
    }
    if (closers.size > 0) fail('missing {{end}}')
    return { nodes: out, closer: '', at: src.length }
  }
  const conditional = (t: 'if' | 'with', cond: string, at: number, depth: number): Node => {
    const p = parsePipeline(cond, at)
    const then = block(depth + 1, new Set(['else', 'end']))
    let els: Node[] = []
    if (then.closer !== 'end') {
      const rest = then.closer.slice(4).trim()
      if (rest.startsWith('if ') || rest.startsWith('with ')) {
        const w = rest.startsWith('if ') ? 'if' : 'with'
        // `else if` shares the outer {{end}}
        els = [conditional(w, rest.slice(w.length), then.at, depth + 1)]
      } else {
        if (rest !== '') fail(`unexpected "${rest.slice(0, 20)}" after else at ${then.at}`)
        const e = block(depth + 1, new Set(['end']))
        els = e.nodes
      }
    }
    return { t, p, then: then.nodes, else: els }
  }
  return { nodes: block(0, new Set()).nodes }
}

// ---------------------------------------------------------------- evaluation

export function truth (v: TemplateValue): boolean {
  if (v === undefined) return false
  if (typeof v === 'string') return v.length > 0
  if (typeof v === 'number') return v !== 0
  if (typeof v === 'boolean') return v
  return Object.keys(v).length > 0
}

function show (v: TemplateValue): string {
  if (v === undefined) return '<no value>'
  if (typeof v === 'object') return fail('cannot print the whole input map (use .Name)')
  return String(v)
}

const utf8 = new TextEncoder()
const HEX = '0123456789ABCDEF'
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u

/** Go's template.JSEscapeString. */
export function jsEscape (s: string): string {
  let out = ''
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number
    switch (ch) {
      case '\\': out += '\\\\'; continue
      case "'": out += "\\'"; continue
      case '"': out += '\\"'; continue
      case '<': out += '\\u003C'; continue
      case '>': out += '\\u003E'; continue
      case '&': out += '\\u0026'; continue
      case '=': out += '\\u003D'; continue
      default: break
    }
    if (cp < 0x20) out += `\\u00${HEX[cp >> 4]}${HEX[cp & 15]}`
    else if (cp < 0x80 || PRINTABLE.test(ch)) out += ch
    else out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`
  }
  return out
}

/** Go's template.HTMLEscapeString. */
export function htmlEscape (s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string)
}

/** Go's url.QueryEscape. */
function queryEscape (s: string): string {
  let out = ''
  for (const b of utf8.encode(s)) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c
    else if (c === ' ') out += '+'
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`
  }
  return out
}

/** Go's fmt.Sprint of several operands: a space between two operands when neither is a string. */
function sprint (args: TemplateValue[]): string {
  let out = ''
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' '
    out += show(a)
  })
  return out
}

export interface ExecuteOptions {
  /** Lilypad's `subst FORMAT ARGS…`: each ARG is a JSON-encoded string; see `lilypad/module.ts`. */
  subst?: (format: string, args: string[]) => string
}

/** Runs a parsed template over `data` (each key a string value). */
export function executeTemplate (tpl: Template, data: TemplateData, opts: ExecuteOptions = {}): string {
  let out = ''
  let size = 0
  const emit = (s: string): void => {
    size += utf8.encode(s).length
    if (size > MAX_TEMPLATE_OUTPUT_BYTES) fail(`output larger than ${MAX_TEMPLATE_OUTPUT_BYTES} bytes`)
    out += s
  }
  const operand = (o: Operand, dot: TemplateValue): TemplateValue => {
    switch (o.t) {
      case 'dot': return dot
      case 'str': return o.v
      case 'num': return o.v
      case 'bool': return o.v
      case 'pipe': return pipeline(o.p, dot)
      case 'field': {
        let v: TemplateValue = data
        for (const name of o.path) {
          if (v === undefined) return fail(`nil data; no entry for key "${name}"`)
          if (typeof v !== 'object') return fail(`can't evaluate field ${name} in type string`)
          v = Object.hasOwn(v, name) ? v[name] : undefined
        }
        return v
      }
    }
  }
  const call = (fn: string, args: Operand[], piped: TemplateValue[] | undefined, dot: TemplateValue): TemplateValue => {
    // arguments are evaluated lazily so that and/or short-circuit as in Go ≥ 1.18
    const vals = (): TemplateValue[] => [...args.map((a) => operand(a, dot)), ...(piped ?? [])]
    const n = args.length + (piped?.length ?? 0)
    const need = (min: number, max = min): void => { if (n < min || n > max) fail(`wrong number of args for ${fn}: want ${min === max ? min : `${min}..${max}`} got ${n}`) }
    switch (fn) {
      case 'and':
      case 'or': {
        if (n < 1) fail(`wrong number of args for ${fn}: want at least 1 got 0`)
        const all = [...args.map((a) => () => operand(a, dot)), ...(piped ?? []).map((p) => () => p)]
        let v: TemplateValue
        for (const get of all) {
          v = get()
          if (truth(v) === (fn === 'or')) return v
        }
        return v
      }
      case 'not': need(1); return !truth(vals()[0])
      case 'eq':
      case 'ne': {
        need(2, fn === 'eq' ? 64 : 2)
        const [a, ...rest] = vals()
        for (const v of [a, ...rest]) if (v === undefined || typeof v === 'object') fail(`incompatible types for comparison in ${fn}`)
        const same = rest.some((b) => {
          if (typeof a !== typeof b) fail(`incompatible types for comparison in ${fn}`)
          return a === b
        })
        return fn === 'eq' ? same : !same
      }
      case 'len': {
        need(1)
        const v = vals()[0]
        if (typeof v === 'string') return utf8.encode(v).length
        if (typeof v === 'object') return Object.keys(v).length
        return fail(`len of ${v === undefined ? 'no value' : typeof v}`)
      }
      case 'print': return sprint(vals())
      case 'js': return jsEscape(sprint(vals()))
      case 'html': return htmlEscape(sprint(vals()))
      case 'urlquery': return queryEscape(sprint(vals()))
      case 'subst': {
        if (n < 1) fail('wrong number of args for subst: want at least 1 got 0')
        const [format, ...rest] = vals()
        if (typeof format !== 'string' || !rest.every((r) => typeof r === 'string')) fail('subst takes a format and string arguments')
        if (opts.subst === undefined) fail('subst is not available here')
        return opts.subst(format, rest as string[])
      }
      default: return fail(`unknown function ${fn}`)
    }
  }
  const pipeline = (p: Pipeline, dot: TemplateValue): TemplateValue => {
    let v: TemplateValue
    p.forEach((cmd, i) => {
      const piped = i > 0 ? [v] : undefined
      if (cmd.fn !== undefined) v = call(cmd.fn, cmd.args, piped, dot)
      else {
        if (piped !== undefined) fail('a value cannot take a piped argument (only functions can)')
        v = operand(cmd.args[0], dot)
      }
    })
    return v
  }
  const run = (nodes: Node[], dot: TemplateValue): void => {
    for (const n of nodes) {
      if (n.t === 'text') emit(n.v)
      else if (n.t === 'print') emit(show(pipeline(n.p, dot)))
      else {
        const v = pipeline(n.p, dot)
        if (truth(v)) run(n.then, n.t === 'with' ? v : dot)
        else run(n.else, dot)
      }
    }
  }
  run(tpl.nodes, data)
  return out
}

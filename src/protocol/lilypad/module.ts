/**
 * Lilypad's module format, unchanged: a folder with `lilypad_module.json.tmpl`, a Go
 * text/template that renders, from the job's inputs (strings), a JSON document naming the
 * `machine` (gpu, cpu millicores, ram MiB) and a Bacalhau job spec (`job.Spec`: `Docker` or
 * `EngineSpec.Params` with Image, Entrypoint, Parameters, EnvironmentVariables;
 * `Network`, `Outputs`, `Resources`, `Timeout`).
 *
 * As in Lilypad, every input value is JSON-encoded (Go's json.Marshal, HTML characters
 * escaped) before the template sees it, so `{{ .Message }}` yields one quoted JSON string.
 * The creator renders the template and the result becomes an ordinary module spec with the
 * values fixed in it (no inputs): that spec is what offers hash and providers run, so the
 * wire protocol is the same. The rendered JSON is then read field by field with strict
 * checks, so a hostile input value can at worst make the rendering fail: it can never add an
 * argv element, an environment variable, a mount, a different image or network access.
 */
import { ProtocolError } from '../errors.js'
import { parseModuleSpec, type ModuleSpec } from '../module.js'
import { executeTemplate, parseTemplate, type Template } from './template.js'

export const LILYPAD_TEMPLATE_FILE = 'lilypad_module.json.tmpl'
export const MAX_LILYPAD_INPUTS = 32
export const MAX_LILYPAD_VALUE_BYTES = 64 * 1024

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

function bad (message: string): ProtocolError {
  return new ProtocolError('PROTOCOL_BAD_MODULE', 'reject', `lilypad module: ${message}`)
}

/** A parsed Lilypad module template with the name and version it is known by. */
export interface LilypadModule {
  name: string
  version: string
  template: Template
  /** The template text (for `module check`). */
  source: string
}

export function parseLilypadModule (source: string, name: string, version: string): LilypadModule {
  return { name, version, template: parseTemplate(source), source }
}

/** Go's json.Marshal of a string (HTML-safe escaping, as Lilypad's inputs get). */
export function goJsonString (s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (cp < 0x20 || ch === '<' || ch === '>' || ch === '&' || cp === 0x2028 || cp === 0x2029) out += `\\u${cp.toString(16).padStart(4, '0')}`
    else out += ch
  }
  return out + '"'
}

/**
 * Lilypad's `subst FORMAT ARGS…`: each ARG is a JSON-encoded input, decoded and put in place of
 * a `%s`. Lilypad inserts the raw value (a quote in it would end the JSON string it sits in);
 * here the result is escaped as JSON string content, so `"{{ subst "P=%s" .Prompt }}"` stays one
 * string whatever the prompt holds.
 */
function subst (format: string, args: string[]): string {
  const decoded = args.map((a) => {
    try {
      const v: unknown = JSON.parse(a)
      if (typeof v === 'string') return v
    } catch {}
    throw bad('subst takes JSON-encoded inputs (fields of the template\'s data)')
  })
  let k = 0
  const text = format.replace(/%[sv%]/g, (m) => {
    if (m === '%%') return '%'
    if (k >= decoded.length) return '%!s(MISSING)'
    return decoded[k++]
  })
  const extra = decoded.slice(k).map((d) => `%!(EXTRA string=${d})`).join('')
  return goJsonString(text + extra).slice(1, -1)
}

function checkInputs (inputs: Record<string, string>): Record<string, string> {
  const keys = Object.keys(inputs)
  if (keys.length > MAX_LILYPAD_INPUTS) throw bad(`at most ${MAX_LILYPAD_INPUTS} inputs, got ${keys.length}`)
  const out: Record<string, string> = {}
  for (const k of keys.sort()) {
    const v = inputs[k]
    if (!KEY_RE.test(k)) throw bad(`input name "${k.slice(0, 64)}" must be a letter or _ then letters, digits or _`)
    if (typeof v !== 'string') throw bad(`input ${k} must be a string (Lilypad inputs are text)`)
    if (new TextEncoder().encode(v).length > MAX_LILYPAD_VALUE_BYTES) throw bad(`input ${k} is longer than ${MAX_LILYPAD_VALUE_BYTES} bytes`)
    if (v.includes('\0')) throw bad(`input ${k} must not contain NUL`)
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v)) throw bad(`input ${k} is not valid Unicode (a lone surrogate)`)
    out[k] = goJsonString(v)
  }
  return out
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function field (o: Obj, key: string, _where?: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined
}

function strings (v: unknown, where: string): string[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) throw bad(`${where} must be an array of strings`)
  return v as string[]
}

function count (v: unknown, where: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'string' && /^[0-9]{1,9}$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(`${where} must be a non-negative integer, got ${JSON.stringify(v).slice(0, 40)}`)
  return n
}

/** Fields of a Bacalhau spec this node cannot honour: refused rather than silently dropped. */
const REFUSED_SPEC_FIELDS = ['Inputs', 'InputSources', 'Contexts', 'Annotations', 'NodeSelectors', 'Wasm_']

/**
 * Renders a Lilypad module with `inputs` and maps it to a module spec (PROTOCOL_BAD_MODULE,
 * naming the field, when the template or what it renders is not acceptable).
 */
export function renderLilypadModule (m: LilypadModule, inputs: Record<string, string>): ModuleSpec {
  const text = executeTemplate(m.template, checkInputs(inputs), { subst })
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw bad(`the rendered template is not JSON (${(e as Error).message}); an input value may have broken it: ${text.slice(0, 200)}`)
  }
  if (!isObj(doc)) throw bad('the rendered template must be a JSON object with "machine" and "job"')
  const machine = field(doc, 'machine', 'machine') ?? {}
  if (!isObj(machine)) throw bad('machine must be an object {gpu, cpu, ram}')
  const job = field(doc, 'job', 'job')
  if (!isObj(job)) throw bad('the rendered template has no "job" object')
  const spec = field(job, 'Spec', 'job.Spec')
  if (!isObj(spec)) throw bad('job.Spec must be an object')
  for (const k of REFUSED_SPEC_FIELDS) {
    const v = field(spec, k, k)
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) throw bad(`job.Spec.${k} is not supported here (pass files as job inputs instead of URLs or CIDs)`)
  }
  const engine = field(spec, 'Engine', 'Engine')
  const engineSpec = field(spec, 'EngineSpec', 'EngineSpec')
  const docker = field(spec, 'Docker', 'Docker')
  let params: Obj | undefined
  if (isObj(engineSpec) && Object.keys(engineSpec).length > 0) {
    const type = field(engineSpec, 'Type', 'EngineSpec.Type')
    if (typeof type === 'string' && type.toLowerCase() !== 'docker') throw bad(`job.Spec.EngineSpec.Type ${type} is not supported (only docker)`)
    const p = field(engineSpec, 'Params', 'EngineSpec.Params')
    if (!isObj(p)) throw bad('job.Spec.EngineSpec.Params must be an object')
    params = p
  }
  if (params === undefined && isObj(docker) && Object.keys(docker).length > 0) params = docker
  if (params === undefined) throw bad('job.Spec has neither Docker nor EngineSpec.Params with an Image')
  if (typeof engine === 'string' && engine.toLowerCase() !== 'docker') throw bad(`job.Spec.Engine ${engine} is not supported (only Docker)`)

  const image = field(params, 'Image', 'Image')
  if (typeof image !== 'string' || image === '') throw bad('the job names no Image')
  const workDir = field(params, 'WorkingDirectory', 'WorkingDirectory')
  if (workDir !== undefined && workDir !== null && workDir !== '' && workDir !== '/') throw bad('WorkingDirectory is not supported; use absolute paths in the Entrypoint')
  const entrypoint = strings(field(params, 'Entrypoint', 'Entrypoint'), 'Entrypoint')
  const parameters = strings(field(params, 'Parameters', 'Parameters'), 'Parameters')
  const env: Record<string, string> = {}
  for (const e of strings(field(params, 'EnvironmentVariables', 'EnvironmentVariables'), 'EnvironmentVariables')) {
    const eq = e.indexOf('=')
    if (eq <= 0) throw bad(`environment variable "${e.slice(0, 60)}" must be NAME=value`)
    const k = e.slice(0, eq)
    if (Object.hasOwn(env, k)) throw bad(`environment variable ${k.slice(0, 60)} is set twice`)
    env[k] = e.slice(eq + 1)
  }

  const network = field(spec, 'Network', 'Network')
  const netType = isObj(network) ? field(network, 'Type', 'Network.Type') : undefined
  if (netType !== undefined && typeof netType !== 'string') throw bad('Network.Type must be a string')
  const wantsNetwork = typeof netType === 'string' && netType.toLowerCase() !== 'none' && netType !== ''

  const outputs = field(spec, 'Outputs', 'Outputs') ?? []
  if (!Array.isArray(outputs) || outputs.length > 1) throw bad('Outputs must list at most one output folder (this node returns one)')
  let outputPath = '/outputs'
  if (outputs.length === 1) {
    const o: unknown = outputs[0]
    const path = isObj(o) ? field(o, 'Path', 'Outputs[0].Path') : undefined
    if (typeof path !== 'string') throw bad('Outputs[0].Path must be a path')
    outputPath = path.length > 1 ? path.replace(/\/+$/, '') : path
  }

  const res = field(spec, 'Resources', 'Resources')
  const resGpu = isObj(res) ? count(field(res, 'GPU', 'Resources.GPU'), 'Resources.GPU') : undefined
  const gpus = count(field(machine, 'gpu', 'machine.gpu'), 'machine.gpu') ?? resGpu ?? 0
  const cpu = count(field(machine, 'cpu', 'machine.cpu'), 'machine.cpu')
  const ram = count(field(machine, 'ram', 'machine.ram'), 'machine.ram')
  const timeout = count(field(spec, 'Timeout', 'Timeout'), 'Timeout')

  return parseModuleSpec({
    name: m.name,
    version: m.version,
    description: `Lilypad module ${m.name}:${m.version} (rendered from ${LILYPAD_TEMPLATE_FILE})`,
    image,
    ...(entrypoint.length > 0 ? { entrypoint } : {}),
    cmd: parameters,
    env,
    inputs: {},
    outputPath,
    resources: { ...(cpu !== undefined ? { cpu } : {}), ...(ram !== undefined ? { ram } : {}), gpus },
    network: wantsNetwork,
    ...(timeout !== undefined && timeout > 0 ? { timeoutS: timeout } : {})
  })
}

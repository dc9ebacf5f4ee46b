/** Loading module specs from files (the example modules live in the repository's modules/), lilynode's or Lilypad's. */
import { readdir, readFile, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { basename, dirname, join, resolve as resolvePath } from 'node:path'
import { MAX_MODULE_SPEC_BYTES, parseModuleSpec, type ModuleSpec } from '../protocol/index.js'
import { ProtocolError } from '../protocol/errors.js'
import { LILYPAD_TEMPLATE_FILE, MAX_TEMPLATE_BYTES, parseLilypadModule, renderLilypadModule, type LilypadModule } from '../protocol/index.js'
import { LilyError } from '../protocol/errors.js'

/** The repository's modules/ folder (from dist/src/executor or src/executor). */
export function exampleModulesDir (): string {
  const here = fileURLToPath(new URL('.', import.meta.url))
  return here.includes(`${'/dist/'}`) ? join(here, '..', '..', '..', 'modules') : join(here, '..', '..', 'modules')
}

/** Reads and validates a module.json (PROTOCOL_BAD_MODULE with the file name on error). */
export async function loadModule (path: string): Promise<ModuleSpec> {
  const bytes = await readFile(path)
  if (bytes.length > MAX_MODULE_SPEC_BYTES) throw new ProtocolError('PROTOCOL_TOO_LARGE', 'reject', `${path} is larger than ${MAX_MODULE_SPEC_BYTES} bytes`)
  try {
    return parseModuleSpec(bytes)
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(e.code, e.action, `${path}: ${e.message}`, { cause: e })
    throw e
  }
}

/** The example modules by name (`modules/<name>/module.json`). */
export async function loadExampleModules (dir = exampleModulesDir()): Promise<Map<string, ModuleSpec>> {
  const out = new Map<string, ModuleSpec>()
  for (const name of (await readdir(dir)).sort()) {
    try {
      out.set(name, await loadModule(join(dir, name, 'module.json')))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') continue
      throw e
    }
  }
  return out
}

// ---------------------------------------------------------------- module references

/** A module found on disk: a lilynode spec, or a Lilypad template still to be rendered with the job's inputs. */
export type FoundModule =
  | { kind: 'spec', spec: ModuleSpec, path: string }
  | { kind: 'lilypad', module: LilypadModule, path: string }

export class ModuleNotFoundError extends LilyError<'MODULE_NOT_FOUND'> {
  override readonly name = 'ModuleNotFoundError'
  constructor (message: string, options?: { cause?: unknown }) { super('MODULE_NOT_FOUND', message, options) }
}

const REF_RE = /^([a-z0-9][a-z0-9._-]{0,63})(?::([A-Za-z0-9][A-Za-z0-9._+-]{0,63}))?$/

async function kindOf (p: string): Promise<'file' | 'dir' | undefined> {
  const s = await stat(p).catch(() => undefined)
  return s === undefined ? undefined : s.isDirectory() ? 'dir' : 'file'
}

async function loadLilypad (path: string, name: string, version: string): Promise<FoundModule> {
  const bytes = await readFile(path)
  if (bytes.length > MAX_TEMPLATE_BYTES) throw new ProtocolError('PROTOCOL_TOO_LARGE', 'reject', `${path} is larger than ${MAX_TEMPLATE_BYTES} bytes`)
  try {
    return { kind: 'lilypad', module: parseLilypadModule(new TextDecoder('utf-8', { fatal: true }).decode(bytes), name, version), path }
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(e.code, e.action, `${path}: ${e.message}`, { cause: e })
    throw new ProtocolError('PROTOCOL_BAD_MODULE', 'reject', `${path} is not UTF-8 text`, { cause: e })
  }
}

/** A module name from a folder name: lower-case, other characters as "-". */
export function moduleNameOf (folder: string): string {
  const n = folder.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64)
  return n === '' ? 'module' : n
}

/**
 * A module folder: its module.json, else its lilypad_module.json.tmpl (named after the folder,
 * version `version` or "local"). undefined when the folder holds neither.
 */
export async function loadModuleFolder (dir: string, name?: string, version?: string): Promise<FoundModule | undefined> {
  const json = join(dir, 'module.json')
  if (await kindOf(json) === 'file') return { kind: 'spec', spec: await loadModule(json), path: json }
  const tmpl = join(dir, LILYPAD_TEMPLATE_FILE)
  if (await kindOf(tmpl) === 'file') return await loadLilypad(tmpl, name ?? moduleNameOf(basename(resolvePath(dir))), version ?? 'local')
  return undefined
}

/**
 * Resolves a module reference: a path (a module.json, a lilypad_module.json.tmpl, or a folder
 * holding one), or `name[:version]` in `modulesDir`: `<name>/module.json` (whose version must
 * match), else a Lilypad folder `<name>/<version>/`, `<name>-<version>/` or `<name>/`.
 */
export async function findModule (ref: string, modulesDir = exampleModulesDir()): Promise<FoundModule> {
  if (typeof ref !== 'string' || ref === '' || ref.length > 1024) throw new ModuleNotFoundError('a module reference is name:version or a path')
  if (ref.includes('/') || ref.endsWith('.json') || ref.endsWith('.tmpl') || ref.startsWith('.')) {
    const p = resolvePath(ref)
    const k = await kindOf(p)
    if (k === undefined) throw new ModuleNotFoundError(`no module at ${p}`)
    if (k === 'file') return basename(p) === LILYPAD_TEMPLATE_FILE ? await loadLilypad(p, moduleNameOf(basename(dirname(p))), 'local') : { kind: 'spec', spec: await loadModule(p), path: p }
    const found = await loadModuleFolder(p)
    if (found === undefined) throw new ModuleNotFoundError(`${p} holds neither module.json nor ${LILYPAD_TEMPLATE_FILE}`)
    return found
  }
  const m = REF_RE.exec(ref)
  if (m === null) throw new ModuleNotFoundError(`module '${ref.slice(0, 80)}' is neither name:version nor a path to a module folder`)
  const [, name, version] = m
  const json = join(modulesDir, name, 'module.json')
  if (await kindOf(json) === 'file') {
    const spec = await loadModule(json)
    if (version !== undefined && spec.version !== version) throw new ModuleNotFoundError(`module ${name} in ${modulesDir} is version ${spec.version}, not ${version}`)
    return { kind: 'spec', spec, path: json }
  }
  const candidates = version !== undefined ? [join(modulesDir, name, version), join(modulesDir, `${name}-${version}`), join(modulesDir, name)] : [join(modulesDir, name)]
  for (const dir of candidates) {
    const tmpl = join(dir, LILYPAD_TEMPLATE_FILE)
    if (await kindOf(tmpl) === 'file') return await loadLilypad(tmpl, name, version ?? 'local')
  }
  throw new ModuleNotFoundError(`no module '${name}'${version !== undefined ? ` (version ${version})` : ''} in ${modulesDir} (looked for ${name}/module.json${version !== undefined ? `, ${name}/${version}/${LILYPAD_TEMPLATE_FILE}, ${name}-${version}/${LILYPAD_TEMPLATE_FILE}` : ''} and ${name}/${LILYPAD_TEMPLATE_FILE})`)
}

/**
 * The spec a job runs: a lilynode spec as it is (its typed inputs travel beside it), or a
 * Lilypad template rendered with `lilypadInputs` (strings; they are fixed in the spec, which
 * then takes no inputs).
 */
export function jobSpec (found: FoundModule, lilypadInputs: Record<string, string> = {}): ModuleSpec {
  return found.kind === 'spec' ? found.spec : renderLilypadModule(found.module, lilypadInputs)
}

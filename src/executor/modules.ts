/** Loading module specs from files (the example modules live in the repository's modules/). */
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { MAX_MODULE_SPEC_BYTES, parseModuleSpec, type ModuleSpec } from '../protocol/module.js'
import { ProtocolError } from '../protocol/errors.js'

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

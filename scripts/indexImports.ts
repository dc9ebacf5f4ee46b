/**
 * Rewrites imports of another layer's deep paths (`../p2p/wire.js` from src/node) to that
 * layer's index.ts (`../p2p/index.js`), adding to the index the names it does not export yet,
 * so that code written against deep paths passes `npm run lint` (DESIGN §9: another layer only
 * through its index.ts). Prints what it changed; run `npx tsc` and `npm run lint` after it.
 *
 *   node dist/scripts/indexImports.js [--check]     (--check: list, change nothing; exit 1 if any)
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, posix, relative, resolve } from 'node:path'

const SRC = resolve('src')
const STATEMENT = /(import|export)(\s+type)?\s+(\{[^}]*\}|\*\s+as\s+\w+|\w+)\s+from\s+'(\.[^']+)'/g

async function files (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await files(p))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

function layerOf (abs: string): string | undefined {
  const rel = relative(SRC, abs).split('/')
  return rel.length > 1 ? rel[0] : undefined
}

function rel (from: string, to: string): string {
  const r = posix.normalize(relative(dirname(from), to).split('\\').join('/'))
  return r.startsWith('.') ? r : `./${r}`
}

/** `{ a, type B, c as d }` → [{ name: 'a', type: false }, …] (the exported name, before `as`). */
function namesOf (clause: string, allType: boolean): Array<{ name: string, type: boolean }> {
  return clause.replace(/[{}]/g, '').split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => {
    const type = allType || x.startsWith('type ')
    const name = x.replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim()
    return { name, type }
  })
}

/** Whether index.ts (text) already exports `name` (directly, by a list, or by `export *` of `sub`). */
function indexExports (index: string, name: string, sub: string): boolean {
  if (index.includes(`export * from '${sub}'`)) return true
  const lists = [...index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) => namesOf(m[1], false).map((n) => n.name))
  const asNames = [...index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) => m[1].split(',').map((x) => x.trim().split(/\s+as\s+/)[1]?.trim()).filter((x): x is string => x !== undefined))
  if (lists.includes(name) || asNames.includes(name)) return true
  return new RegExp(`export\\s+(?:declare\\s+)?(?:async\\s+)?(?:function|class|const|let|type|interface|enum)\\s+${name}\\b`).test(index)
}

async function main (): Promise<void> {
  const check = process.argv.includes('--check')
  // per index.ts: name → where it comes from and whether every importer uses it as a type only
  const additions = new Map<string, Map<string, { sub: string, type: boolean }>>()
  let changed = 0
  for (const file of await files(SRC)) {
    const layer = layerOf(file)
    if (layer === undefined) continue
    const text = await readFile(file, 'utf8')
    let out = text
    for (const m of text.matchAll(STATEMENT)) {
      const [whole, kind, typeKw, clause, spec] = m
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts')
      const tLayer = layerOf(target)
      if (tLayer === undefined || tLayer === layer) continue
      const indexTs = join(SRC, tLayer, 'index.ts')
      // index.ts, and the light leaf modules constants.ts/errors.ts, are a layer's public entry points
      if (target === indexTs || /\/(constants|errors)\.ts$/.test(target)) continue
      if (!clause.startsWith('{')) {
        console.error(`${relative('.', file)}: cannot rewrite '${whole}' (not a named import); import the names from ${rel(file, indexTs).replace(/\.ts$/, '.js')}`)
        continue
      }
      const sub = rel(indexTs, target).replace(/\.ts$/, '.js')
      const index = await readFile(indexTs, 'utf8')
      const added = additions.get(indexTs) ?? new Map<string, { sub: string, type: boolean }>()
      additions.set(indexTs, added)
      for (const n of namesOf(clause, typeKw !== undefined)) {
        const prior = added.get(n.name)
        if (prior !== undefined) prior.type = prior.type && n.type
        else if (!indexExports(index, n.name, sub)) added.set(n.name, { sub, type: n.type })
      }
      const replaced = whole.replace(`'${spec}'`, `'${rel(file, indexTs).replace(/\.ts$/, '.js')}'`)
      console.log(`${relative('.', file)}: ${kind} from '${spec}' → '${rel(file, indexTs).replace(/\.ts$/, '.js')}'`)
      out = out.replace(whole, replaced)
      changed++
    }
    if (!check && out !== text) await writeFile(file, out)
  }
  for (const [indexTs, added] of additions) {
    if (added.size === 0) continue
    const lines = [...added].map(([name, a]) => `export ${a.type ? 'type ' : ''}{ ${name} } from '${a.sub}'`)
    console.log(`${relative('.', indexTs)}: + ${lines.length} export(s)`)
    if (!check) await writeFile(indexTs, `${(await readFile(indexTs, 'utf8')).trimEnd()}\n${lines.join('\n')}\n`)
  }
  console.log(`${changed} import(s) ${check ? 'to rewrite' : 'rewritten'}`)
  if (check && changed > 0) process.exitCode = 1
}

await main()

/**
 * The import rules of DESIGN §9, checked by `npm run lint` (dependency-cruiser):
 *
 *   protocol ← matching, chain, executor ← p2p ← node ← api, sdk, devnet ← cli
 *
 * Arrows point down only; a layer imports another layer only through that layer's index.ts,
 * or through its leaf modules constants.ts and errors.ts (kept light, so a command that needs
 * only a default or an error class, e.g. `--version`/`--help`, loads no libp2p; test/cli/bin checks it);
 * nothing imports the CLI; no import circles.
 */
const layer = (name) => `^src/${name}/`
const below = {
  protocol: [],
  matching: ['protocol'],
  chain: ['protocol'],
  executor: ['protocol'],
  p2p: ['protocol'],
  node: ['protocol', 'matching', 'chain', 'executor', 'p2p'],
  api: ['protocol', 'matching', 'chain', 'executor', 'p2p', 'node'],
  sdk: ['protocol', 'matching', 'chain', 'executor', 'p2p', 'node'],
  devnet: ['protocol', 'matching', 'chain', 'executor', 'p2p', 'node'],
  cli: ['protocol', 'matching', 'chain', 'executor', 'p2p', 'node', 'api', 'sdk', 'devnet']
}
const layers = Object.keys(below)

module.exports = {
  forbidden: [
    ...layers.map((name) => ({
      name: `layer-${name}`,
      comment: `src/${name} may import only ${below[name].length === 0 ? 'itself' : below[name].map((l) => `src/${l}`).join(', ')} (DESIGN §9: arrows point down only)`,
      severity: 'error',
      from: { path: layer(name) },
      to: { path: `^src/(${layers.filter((l) => l !== name && !below[name].includes(l)).join('|')})/` }
    })),
    {
      name: 'other-layer-through-index',
      comment: 'another layer is imported through its index.ts, never a deep path (DESIGN §9)',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/.+', pathNot: ['^src/$1/', '^src/[^/]+/(index|constants|errors)\\.ts$'] }
    },
    {
      name: 'nothing-imports-cli',
      comment: 'nothing outside src/cli imports the CLI',
      severity: 'error',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' }
    },
    {
      name: 'no-circular',
      comment: 'no import circles (a type-only or lazy dynamic import does not run at load time)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only', 'dynamic-import'] } }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] }
  }
}

#!/usr/bin/env node
/**
 * A `solc` command over solc-js (npm `solc`) for forge, which needs a native compiler it can run:
 * it answers `--version` and `--standard-json` (input on stdin, output on stdout), the two things
 * forge asks of a compiler. Imports are read from the file system relative to the working folder
 * (forge inlines sources, so this is only a fallback). Configured in foundry.toml (`solc`).
 */
import { readFileSync, existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const solc = require('solc')
const args = process.argv.slice(2)

if (args.includes('--version')) {
  // the format of native solc, which forge parses: "Version: <semver>+commit.<hash>.<platform>"
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`)
  process.exit(0)
}
if (!args.includes('--standard-json')) {
  process.stderr.write(`solc-js wrapper: only --version and --standard-json are supported (got: ${args.join(' ') || 'no arguments'})\n`)
  process.exit(2)
}
const chunks = []
for await (const c of process.stdin) chunks.push(c)
const input = Buffer.concat(chunks).toString('utf8')
const findImports = (path) => {
  const abs = resolve(path)
  return existsSync(abs) ? { contents: readFileSync(abs, 'utf8') } : { error: `file not found: ${path}` }
}
process.stdout.write(solc.compile(input, { import: findImports }))

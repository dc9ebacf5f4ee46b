#!/usr/bin/env node
// lilynode needs Node.js ≥ 22 (libp2p's dependencies do; the repository pins Node 24 as a
// devDependency, which npm scripts and npx use). Checked here rather than in package.json's
// `engines`: npm itself often runs on an older system Node, and would warn on every npx call.
const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(`lilynode: error: Node.js 22 or later is needed, this is ${process.version}; run it with npx lilynode (the repository's Node 24) or install a newer Node\n`)
  process.exit(1)
}
// A long-running role re-executes itself once, in place, with memory-lean V8 flags and glibc
// settings that only take effect at process start (see src/node/leanProcess.ts).
const { leanExec, useCompileCache } = await import('../dist/src/node/leanProcess.js')
if (typeof process.execve === 'function') {
  const lean = leanExec(process.argv, process.execArgv, process.env)
  if (lean !== undefined) process.execve(lean.file, lean.args, lean.env)
}
// Cache compiled code between runs (Node ≥ 22.1; in the OS temp dir unless NODE_COMPILE_CACHE
// names one): a `lilynode run` spends most of its start-up compiling viem and libp2p. Not for
// the long-running roles: code loaded from the cache is compiled eagerly and stays resident
// (+8 MB measured on a bootstrap node), for a start-up that happens once.
if (useCompileCache(process.argv)) {
  const { default: module } = await import('node:module')
  module.enableCompileCache?.()
}
await import('../dist/src/cli/main.js')

#!/usr/bin/env node
// Cache compiled code between runs (Node ≥ 22.1; in the OS temp dir unless NODE_COMPILE_CACHE
// names one): a `lilynode run` spends most of its start-up compiling viem and libp2p.
import module from 'node:module'
module.enableCompileCache?.()
await import('../dist/src/cli/main.js')

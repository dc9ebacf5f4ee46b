/**
 * bench:soak `--split`: preloaded into every role process (NODE_OPTIONS=--import), writes the
 * process's memory split to `$LILYNODE_SOAK_SPLIT_DIR/split-<pid>.json` every
 * `$LILYNODE_SOAK_SPLIT_S` seconds: VmRSS = RssFile (the node binary's and libraries' pages) +
 * RssAnon, and RssAnon = V8's heap (heapTotal) + external memory + the rest (malloc outside
 * V8's accounting: leveldb, libuv, thread stacks, glibc's retained free memory).
 * Only in a role process once it is lean (bin/lilynode.js re-executes itself first).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import v8 from 'node:v8'

const ROLES = new Set(['bootstrap', 'provider', 'mediator', 'creator'])
const dir = process.env.LILYNODE_SOAK_SPLIT_DIR
const lean = process.env.LILYNODE_LEAN_EXEC === '1' || process.env.LILYNODE_LEAN === '0'

if (dir !== undefined && lean && ROLES.has(process.argv[2] ?? '')) {
  const file = join(dir, `split-${process.pid}.json`)
  const mb = (b: number): number => Math.round(b / 104857.6) / 10
  const write = (): void => {
    const status = readFileSync('/proc/self/status', 'utf8')
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024
    const m = process.memoryUsage()
    const h = v8.getHeapStatistics()
    const anon = kb('RssAnon')
    writeFileSync(file, JSON.stringify({
      t: Date.now(),
      rss: mb(kb('VmRSS')),
      file: mb(kb('RssFile')),
      anon: mb(anon),
      heapTotal: mb(m.heapTotal),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      rest: mb(anon - m.heapTotal - m.external),
      peakMalloced: mb(h.peak_malloced_memory)
    }))
  }
  setInterval(write, Number(process.env.LILYNODE_SOAK_SPLIT_S ?? 10) * 1000).unref()
}

/** The CPU burners of the loaded benchmarks and tests: they burn, and nothing outlives stop(). */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { startCpuBurners } from '../../src/devnet/load.js'

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** CPU seconds a process has used (utime + stime from /proc). */
function cpuSeconds (pid: number): number {
  const out = execFileSync('ps', ['-o', 'cputimes=', '-p', String(pid)], { encoding: 'utf8' })
  return Number(out.trim())
}

describe('devnet: CPU burners', function () {
  this.timeout(30_000)
  it('starts the processes asked for, which take CPU, and stops every one of them', async () => {
    const b = startCpuBurners(2)
    try {
      assert.equal(b.pids.length, 2)
      for (const pid of b.pids) assert.ok(pid > 0 && alive(pid), `burner ${pid} runs`)
      // they burn: within a few seconds each has used CPU time of its own (however busy the machine)
      const by = Date.now() + 20_000
      while (!b.pids.every((pid) => cpuSeconds(pid) >= 1) && Date.now() < by) await new Promise((resolve) => setTimeout(resolve, 250))
      for (const pid of b.pids) assert.ok(cpuSeconds(pid) >= 1, `burner ${pid} used ${cpuSeconds(pid)} s of CPU`)
    } finally {
      await b.stop()
    }
    for (const pid of b.pids) assert.ok(!alive(pid), `burner ${pid} is gone after stop()`)
    await b.stop()
    assert.equal(startCpuBurners(0).count, 0)
    assert.throws(() => startCpuBurners(65), /from 0 to 64/)
    assert.throws(() => startCpuBurners(1.5), RangeError)
  })
})

/**
 * Test helper (run as a separate process): starts a probe `slowecho` job and prints
 * "STARTED <containerId>" once the container runs, so the test can SIGKILL this runner
 * mid-job and check that `reattach` collects the result after a "restart".
 * Usage: node runJob.js <dealId> <seconds> <message> <workDir>
 */
import { join } from 'node:path'
import Docker from 'dockerode'
import { loadModule, runJob } from '../../../src/executor/index.js'
import { REPO_ROOT } from '../helpers.js'

const [dealId, seconds, message, workDir] = process.argv.slice(2)
const spec = await loadModule(join(REPO_ROOT, 'modules', 'probe', 'module.json'))
const outcome = await runJob(new Docker(), {
  dealId: dealId as `0x${string}`,
  spec,
  inputs: { action: 'slowecho', n: Number(seconds), arg: message },
  timeoutS: 60,
  limits: { maxLogBytes: 65536, maxOutputBytes: 1 << 20 },
  allowNetwork: false,
  workDir
}, {
  onProgress: (e) => { if (e.kind === 'started') process.stdout.write(`STARTED ${e.containerId}\n`) }
})
process.stdout.write(`DONE ${outcome.status}\n`)

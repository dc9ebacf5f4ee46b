/**
 * GPUs from the job's interface to Docker: `lilynode run --gpus N --gpu-vram MiB` and the SDK's
 * `gpus`/`gpuVram` over the module's defaults, the provider's GPUs discovered from recorded
 * nvidia-smi output, the DeviceRequests a GPU job sends to Docker, and the refusals (bad
 * counts, VRAM without a GPU, an engine without the NVIDIA runtime).
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from '../../src/cli/parse.js'
import { CliError } from '../../src/cli/command.js'
import { root } from '../../src/cli/main.js'
import { containerCreateOptions, discoverGpus, gpuCapacity, loadExampleModules, type ContainerPlan } from '../../src/executor/index.js'
import { executorPort } from '../../src/node/roles/adapters.js'
import { gpuRequestFor } from '../../src/executor/index.js'
import { jobResources, LilyError } from '../../src/sdk/index.js'
import type { ModuleSpec } from '../../src/protocol/module.js'
import { dealId, dockerProblem, REPO_ROOT, requireDocker } from './helpers.js'

const fixture = async (name: string): Promise<string> => await readFile(join(REPO_ROOT, 'test', 'executor', 'fixtures', name), 'utf8')
const replay = (text: string) => async (): Promise<string> => text

describe('executor: GPU jobs from --gpus to DeviceRequests', function () {
  this.timeout(120_000)
  let modules: Map<string, ModuleSpec>
  before(async () => { modules = await loadExampleModules(join(REPO_ROOT, 'modules')) })

  it('--gpus and --gpu-vram (SDK gpus, gpuVram) go over the module\'s default resources', () => {
    const train = modules.get('train') as ModuleSpec
    assert.deepEqual(jobResources(train), train.resources)
    assert.deepEqual(jobResources(train, { gpus: 1, gpuVram: 40_000 }), { ...train.resources, gpus: 1, gpuVram: 40_000 })
    const gpuModule = { ...train, resources: { ...train.resources, gpus: 2, gpuVram: 16_000 } }
    assert.deepEqual(jobResources(gpuModule, { gpuVram: 80_000 }), { ...gpuModule.resources, gpuVram: 80_000 }, 'a GPU module\'s count stays')
    assert.equal(jobResources(gpuModule, { gpus: 0, gpuVram: 0 }).gpus, 0)
  })

  it('refuses VRAM without a GPU, and counts out of bounds, naming the option', () => {
    const train = modules.get('train') as ModuleSpec
    const bad = (o: Parameters<typeof jobResources>[1], re: RegExp): void => {
      assert.throws(() => jobResources(train, o), (e: unknown) => e instanceof LilyError && e.code === 'SDK_BAD_OPTION' && re.test(e.message))
    }
    bad({ gpuVram: 1000 }, /gpuVram 1000 MiB asks for GPU memory but the job asks for no GPU/)
    bad({ gpus: 65 }, /gpus must be an integer from 0 to 64/)
    bad({ gpus: 1.5 }, /gpus must be an integer/)
    bad({ gpus: 1, gpuVram: 2_000_000 }, /gpuVram must be an integer from 0 to 1048576/)
  })

  it('lilynode run checks --gpus/--gpu-vram before it starts a node', async () => {
    const runCmd = async (argv: string[]): Promise<unknown> => {
      const { path, values, positionals } = parseArgs(root, ['run', 'cowsay:v0.0.4', '--profile', '/nonexistent/profile.json', ...argv])
      return await path[path.length - 1].handler?.(values, { positionals, signal: new AbortController().signal })
    }
    await assert.rejects(runCmd(['--gpus', 'two']), (e: unknown) => e instanceof CliError && /--gpus must be a whole number from 0 to 64/.test(e.message))
    await assert.rejects(runCmd(['--gpu-vram', '8000']), (e: unknown) => e instanceof LilyError && /asks for no GPU/.test(e.message))
    // valid options get as far as reading the profile, which does not exist here
    await assert.rejects(runCmd(['--gpus', '1', '--gpu-vram', '8000']), (e: unknown) => e instanceof Error && /nonexistent\/profile\.json/.test(e.message))
  })

  it('a provider offers the GPUs nvidia-smi reports (recorded on an H100), and a job gets them by UUID in DeviceRequests', async () => {
    const csv = await fixture('nvidia-smi-h100.csv')
    const dir = await mkdtemp(join(tmpdir(), 'lilynode-gpu-'))
    try {
      const cap = await executorPort({ dataDir: dir, nvidiaSmi: replay(csv) }).capacity()
      assert.ok(cap !== undefined)
      assert.equal(cap.gpus, 1)
      assert.equal(cap.gpuVram, 81559)
      assert.equal(cap.gpuModel, 'NVIDIA H100 80GB HBM3')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    const ids = gpuCapacity(await discoverGpus(replay(csv))).deviceIds
    const gpus = gpuRequestFor(1, ids)
    assert.deepEqual(gpus, { deviceIds: ['GPU-7b185828-28c9-2b92-e965-6827d8ec75f4'] })
    assert.equal(gpuRequestFor(2, ids), undefined, 'more GPUs than found: none by id (the runner asks Docker by count)')
    assert.equal(gpuRequestFor(0, ids), undefined)
    const train = modules.get('train') as ModuleSpec
    const plan: ContainerPlan = {
      dealId: dealId(0x77), imageId: 'sha256:x', rendered: { cmd: [], env: [], files: [] },
      resources: jobResources(train, { gpus: 1, gpuVram: 80_000 }), network: false, gpus,
      inputDir: '/j/in', outputDir: '/j/out', inputPath: '/inputs', outputPath: '/outputs', user: '65534:65534',
      meta: { v: 1, deadlineMs: 1, maxLogBytes: 10, maxOutputBytes: 10, jobDir: '/j' }
    }
    assert.deepEqual(containerCreateOptions(plan).HostConfig?.DeviceRequests, [{ Driver: 'nvidia', DeviceIDs: ['GPU-7b185828-28c9-2b92-e965-6827d8ec75f4'], Capabilities: [['gpu']] }])
  })

  it('a GPU job on an engine without the NVIDIA runtime is refused before a container starts, saying how to fix it', async function () {
    await requireDocker(this)
    if (await dockerProblem() !== undefined) this.skip()
    const info = await (await import('./helpers.js')).docker.info() as { Runtimes?: Record<string, unknown>, CDISpecDirs?: string[] }
    if (info.Runtimes?.nvidia !== undefined || (info.CDISpecDirs?.length ?? 0) > 0) this.skip() // a GPU engine: nothing to refuse
    const dir = await mkdtemp(join(tmpdir(), 'lilynode-gpu-'))
    try {
      const port = executorPort({ dataDir: dir, workDir: join(dir, 'jobs'), nvidiaSmi: replay(await fixture('nvidia-smi-h100.csv')) })
      await port.capacity()
      const cowsay = modules.get('cowsay') as ModuleSpec
      await assert.rejects(port.run({ dealId: dealId(0x78), spec: cowsay, inputs: {}, resources: { ...cowsay.resources, gpus: 1, gpuVram: 80_000 }, timeoutS: 30 }, new AbortController().signal),
        (e: unknown) => (e as { code?: string }).code === 'EXECUTOR_GPU_UNAVAILABLE' && /install nvidia-container-toolkit/.test((e as Error).message))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

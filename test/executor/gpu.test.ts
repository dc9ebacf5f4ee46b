import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  containerCreateOptions, deviceRequests, discoverGpus, ExecutorError, gpuCapacity, NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, type ContainerPlan
} from '../../src/executor/index.js'
import { REPO_ROOT } from './helpers.js'

const fixture = async (name: string): Promise<string> => await readFile(join(REPO_ROOT, 'test', 'executor', 'fixtures', name), 'utf8')

const H100 = { index: 0, uuid: 'GPU-7b185828-28c9-2b92-e965-6827d8ec75f4', name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 }

describe('executor: GPUs', () => {
  it('parses nvidia-smi --query-gpu output recorded on an H100 (noheader,nounits)', async () => {
    assert.deepEqual(parseNvidiaSmiCsv(await fixture('nvidia-smi-h100.csv')), [H100])
  })

  it('parses the exact query discoverGpus runs, recorded on an H200', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('nvidia-smi-h200.csv'))
    assert.deepEqual(gpus, [{ index: 0, uuid: 'GPU-f82b40a6-4547-98fe-b221-25fc993f041f', name: 'NVIDIA H200', memoryMiB: 143771 }])
    assert.deepEqual(gpuCapacity(gpus), { gpus: 1, gpuVram: 143771, gpuModel: 'NVIDIA H200', deviceIds: ['GPU-f82b40a6-4547-98fe-b221-25fc993f041f'] })
  })

  it('parses the same query with a header line and units', async () => {
    assert.deepEqual(parseNvidiaSmiCsv(await fixture('nvidia-smi-h100-header.csv')), [H100])
  })

  it('agrees with the GPU list and the table nvidia-smi printed on the same card', async () => {
    const list = await fixture('nvidia-smi-L.txt')
    const table = await fixture('nvidia-smi.txt')
    assert.ok(list.includes(`GPU 0: ${H100.name} (UUID: ${H100.uuid})`))
    assert.match(table, new RegExp(`/\\s+${H100.memoryMiB}MiB`))
  })

  it('refuses malformed lines instead of inventing GPUs', () => {
    for (const bad of ['0, GPU-x, H100', 'x, GPU-1, H100, 80', '0, GPU-1, H100, [N/A]', '0, not-a-uuid, H100, 80']) {
      assert.throws(() => parseNvidiaSmiCsv(bad), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_NVIDIA_SMI')
    }
  })

  it('discoverGpus runs the documented query, and returns [] when nvidia-smi is absent', async () => {
    const csv = await fixture('nvidia-smi-h100.csv')
    let called: [string, readonly string[]] | undefined
    assert.deepEqual(await discoverGpus(async (file, args) => { called = [file, args]; return csv }), [H100])
    assert.deepEqual(called, ['nvidia-smi', ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits']])
    assert.deepEqual(NVIDIA_SMI_ARGS, called?.[1])
    const enoent = Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' })
    assert.deepEqual(await discoverGpus(async () => { throw enoent }), [])
    await assert.rejects(discoverGpus(async () => { throw Object.assign(new Error('NVIDIA-SMI has failed'), { code: 9 }) }),
      (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_NVIDIA_SMI')
  })

  it('discoverGpus on this machine: the real nvidia-smi when installed, [] otherwise', async () => {
    const gpus = await discoverGpus()
    for (const g of gpus) assert.match(g.uuid, /^(GPU|MIG)-/)
  })

  it('offers the largest group of identical GPUs with the smallest VRAM', () => {
    assert.deepEqual(gpuCapacity([]), { gpus: 0, gpuVram: 0, gpuModel: '', deviceIds: [] })
    const a = { ...H100, index: 1, uuid: 'GPU-a', memoryMiB: 81000 }
    const t4 = { index: 2, uuid: 'GPU-t4', name: 'Tesla T4', memoryMiB: 15360 }
    assert.deepEqual(gpuCapacity([t4, a, H100]), { gpus: 2, gpuVram: 81000, gpuModel: H100.name, deviceIds: [H100.uuid, 'GPU-a'] })
  })

  it('sends GPUs to Docker as DeviceRequests (driver nvidia, by count or device id)', () => {
    const plan: ContainerPlan = {
      dealId: `0x${'ab'.repeat(32)}`,
      imageId: 'sha256:x',
      rendered: { cmd: ['a'], env: [], files: [] },
      resources: { cpu: 2000, ram: 1024, gpus: 1, gpuVram: 80000, disk: 0 },
      network: false,
      gpus: { count: 1 },
      inputDir: '/j/in',
      outputDir: '/j/out',
      inputPath: '/inputs',
      outputPath: '/outputs',
      user: '65534:65534',
      meta: { v: 1, deadlineMs: 1, maxLogBytes: 10, maxOutputBytes: 10, jobDir: '/j' }
    }
    const byCount = containerCreateOptions(plan)
    assert.deepEqual(byCount.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', Count: 1, Capabilities: [['gpu']] }])
    const byId = containerCreateOptions({ ...plan, gpus: { deviceIds: [H100.uuid] } })
    assert.deepEqual(byId.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', DeviceIDs: [H100.uuid], Capabilities: [['gpu']] }])
    assert.equal(containerCreateOptions({ ...plan, gpus: undefined }).HostConfig?.DeviceRequests, undefined)
    assert.equal(deviceRequests({ count: 0 }), undefined)
    const h = byCount.HostConfig
    assert.equal(h?.NetworkMode, 'none')
    assert.deepEqual(h?.CapDrop, ['ALL'])
    assert.deepEqual(h?.SecurityOpt, ['no-new-privileges'])
    assert.equal(h?.ReadonlyRootfs, true)
    assert.equal(h?.Memory, 1024 * 1024 * 1024)
    assert.equal(h?.NanoCpus, 2_000_000_000)
    assert.deepEqual(h?.Mounts?.map((m) => [m.Target, m.ReadOnly]), [['/inputs', true], ['/outputs', false]])
    assert.equal(byCount.Labels?.['lilynode.deal'], plan.dealId)
  })
})

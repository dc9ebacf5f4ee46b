/**
 * The Slurm backend's pure parts, without a cluster: what the Slurm commands print, the
 * offer a partition gives (drained and failed nodes left out, GRES GPUs by type), the batch
 * script, and the provider's --slurm-* flags.
 */
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  allocatedGpus, batchScript, ensureDir, clusterCapacity, jobFromScontrol, nodeFromScontrol, parseGres, parseNodeState, parseOneliner,
  parseOneliners, parseTimeLimit, partitionFromScontrol, shQuote, unusableBecause, type SlurmNode, type SlurmPartition
} from '../../src/executor/index.js'
import { parseOptions } from '../../src/cli/parse.js'
import { CliError } from '../../src/cli/command.js'
import { providerCommand, parseGpuTypes, slurmSettings } from '../../src/cli/cmds/provider/index.js'
import type { ProviderArgs } from '../../src/cli/cmds/provider/options.js'
import type { CommandModule } from '../../src/cli/command.js'

// captured from Slurm 22.05 (scontrol show nodes/partition/job --oneliner)
const NODE = 'NodeName=gpu07 Arch=x86_64 CoresPerSocket=32  CPUAlloc=16 CPUEfctv=62 CPUTot=64 CPULoad=12.01 AvailableFeatures=a100 ActiveFeatures=a100 Gres=gpu:a100:4(S:0-1),gpu:v100:2 NodeAddr=gpu07 NodeHostName=gpu07 Version=22.05.8 OS=Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)  RealMemory=515000 AllocMem=64000 FreeMem=400000 Sockets=2 Boards=1 MemSpecLimit=8000 State=MIXED+DRAIN ThreadsPerCore=1 TmpDisk=900000 Weight=1 Owner=N/A MCS_label=N/A Partitions=gpu,long  BootTime=2026-11-30T09:12:44 SlurmdStartTime=2026-11-30T09:13:10 LastBusyTime=2026-12-03T18:00:00 CfgTRES=cpu=64,mem=515000M,billing=64,gres/gpu=6 AllocTRES=cpu=16,mem=64000M CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s Reason=bad dimm in slot 3 [root@2026-12-03T17:00:00]'
const PART = 'PartitionName=gpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=NO QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=2-00:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=48 Nodes=gpu[01-08] PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=512 TotalNodes=8 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=400000'
const JOB = 'JobId=4242 JobName=lily-0123456789abcdef UserId=prov(1001) GroupId=prov(1001) MCS_label=N/A Priority=4294901759 Nice=0 Account=lab QOS=normal JobState=NODE_FAIL Reason=NodeDown Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:00:07 TimeLimit=00:06:00 TimeMin=N/A NodeList=gpu07 BatchHost=gpu07 NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2 ReqB:S:C:T=0:0:*:* TRES=cpu=2,mem=288M,node=1,billing=2 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=2 MinMemoryNode=288M MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=/scratch/lily/0123/job.sh WorkDir=/scratch/lily/0123 Comment=lilynode deal 0x0123 StdErr=/scratch/lily/0123/slurm-4242.log StdIn=/dev/null StdOut=/scratch/lily/0123/slurm-4242.log Power='

function node (name: string, over: Partial<SlurmNode> = {}): SlurmNode {
  return { name, state: ['IDLE'], cpus: 4, realMemory: 4096, memSpecLimit: 0, tmpDisk: 0, gres: [], partitions: ['p'], reason: '', ...over }
}
const PART_P: SlurmPartition = { name: 'p', state: 'UP', maxTimeMin: undefined, maxMemPerNode: undefined, maxCpusPerNode: undefined }
const OPTS = { gpuTypes: { a100: { vramMiB: 81920, model: 'NVIDIA A100 80GB' } }, runnerMemMiB: 256 }

describe('slurm: parsing what the commands print', () => {
  it('reads a node record: effective CPUs, memory less MemSpecLimit stays separate, GRES by type, drain flag, spaced values', () => {
    const r = parseOneliner(NODE)
    assert.equal(r.get('OS'), 'Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)')
    assert.equal(r.get('Reason'), 'bad dimm in slot 3 [root@2026-12-03T17:00:00]')
    assert.equal(r.get('CfgTRES'), 'cpu=64,mem=515000M,billing=64,gres/gpu=6')
    const n = nodeFromScontrol(r)
    assert.ok(n !== undefined)
    assert.deepEqual({ ...n, reason: undefined }, {
      name: 'gpu07', state: ['MIXED', 'DRAIN'], cpus: 62, realMemory: 515000, memSpecLimit: 8000, tmpDisk: 900000,
      gres: [{ name: 'gpu', type: 'a100', count: 4 }, { name: 'gpu', type: 'v100', count: 2 }], partitions: ['gpu', 'long'], reason: undefined
    })
    assert.equal(unusableBecause(n.state), 'DRAIN')
  })

  it('reads GRES strings in their every form', () => {
    assert.deepEqual(parseGres('(null)'), [])
    assert.deepEqual(parseGres('gpu:2'), [{ name: 'gpu', type: undefined, count: 2 }])
    assert.deepEqual(parseGres('gpu:tgpu:2(S:0,2),mps:1K,shard:h100:8'), [
      { name: 'gpu', type: 'tgpu', count: 2 }, { name: 'mps', type: undefined, count: 1024 }, { name: 'shard', type: 'h100', count: 8 }
    ])
    assert.deepEqual(parseGres('gpu:h100'), [{ name: 'gpu', type: 'h100', count: 1 }])
  })

  it('reads node states, flags and their one-character suffixes', () => {
    assert.deepEqual(parseNodeState('idle'), ['IDLE'])
    assert.deepEqual(parseNodeState('DOWN*'), ['DOWN', 'NOT_RESPONDING'])
    assert.deepEqual(parseNodeState('IDLE~'), ['IDLE', 'POWERED_DOWN'])
    assert.deepEqual(parseNodeState('IDLE+CLOUD+POWERED_DOWN'), ['IDLE', 'CLOUD', 'POWERED_DOWN'])
    for (const ok of ['IDLE', 'MIXED', 'ALLOCATED', 'COMPLETING', 'IDLE~', 'IDLE+CLOUD+POWERED_DOWN']) assert.equal(unusableBecause(parseNodeState(ok)), undefined, ok)
    for (const bad of ['DOWN', 'IDLE+DRAIN', 'MIXED*', 'FAIL', 'IDLE$', 'FUTURE', 'INVAL', 'ALLOCATED+DRAIN', 'IDLE+MAINT', 'UNKNOWN']) assert.notEqual(unusableBecause(parseNodeState(bad)), undefined, bad)
  })

  it('reads partitions (time limits in every format) and jobs', () => {
    assert.deepEqual(partitionFromScontrol(parseOneliner(PART)), { name: 'gpu', state: 'UP', maxTimeMin: 2880, maxMemPerNode: 400000, maxCpusPerNode: 48 })
    assert.equal(parseTimeLimit('UNLIMITED'), undefined)
    assert.equal(parseTimeLimit('60'), 60)
    assert.equal(parseTimeLimit('1:30'), 2)
    assert.equal(parseTimeLimit('02:00:00'), 120)
    assert.equal(parseTimeLimit('1-12'), 2160)
    assert.equal(parseTimeLimit('1-00:30:00'), 1470)
    const j = jobFromScontrol(parseOneliner(JOB))
    assert.deepEqual(j, { jobId: '4242', name: 'lily-0123456789abcdef', state: 'NODE_FAIL', reason: 'NodeDown', nodes: 'gpu07', exitCode: 0, signal: 15, workDir: '/scratch/lily/0123', comment: 'lilynode deal 0x0123' })
    assert.equal(parseOneliners(`${NODE}\n\n${NODE.replace('gpu07', 'gpu08')}\n`).length, 2)
  })
})

describe('slurm: the offer a partition gives', () => {
  it('is one node\'s worth: the largest usable node, after the partition limits and the runner\'s memory', () => {
    const c = clusterCapacity([node('a', { cpus: 8, realMemory: 32768 }), node('b', { cpus: 16, realMemory: 65536, tmpDisk: 100000 }), node('x', { partitions: ['other'], cpus: 128 })],
      { ...PART_P, maxCpusPerNode: 12, maxMemPerNode: 60000 }, OPTS)
    assert.equal(c.shape?.node, 'b')
    assert.deepEqual({ ...c.capacity, source: undefined }, { cpu: 12000, ram: 60000 - 256, gpus: 0, gpuVram: 0, disk: 100000, gpuModel: '', source: undefined })
    assert.equal(c.usable.length, 2)
  })

  it('leaves out drained, down and unresponsive nodes — and offers nothing when no node is left or the partition is down', () => {
    const nodes = [node('a', { cpus: 32, state: ['IDLE', 'DRAIN'], reason: 'maintenance' }), node('b', { cpus: 16, state: ['DOWN', 'NOT_RESPONDING'] }), node('c', { cpus: 2 })]
    const c = clusterCapacity(nodes, PART_P, OPTS)
    assert.equal(c.capacity?.cpu, 2000)
    assert.deepEqual(c.skipped.map((s) => s.node), ['a', 'b'])
    assert.match(c.capacity?.source ?? '', /a \(DRAIN \(maintenance\)\)/)
    assert.equal(clusterCapacity(nodes.slice(0, 2), PART_P, OPTS).capacity, undefined)
    assert.equal(clusterCapacity(nodes, { ...PART_P, state: 'DOWN' }, OPTS).capacity, undefined)
    assert.equal(clusterCapacity([node('tiny', { realMemory: 200 })], PART_P, OPTS).capacity, undefined, 'a node whose memory the runner takes offers nothing')
  })

  it('sells GRES GPUs only of the types it was told the VRAM of, the most numerous type of the node', () => {
    const gpuNode = node('g', { cpus: 8, gres: [{ name: 'gpu', type: 'v100', count: 8 }, { name: 'gpu', type: 'a100', count: 2 }, { name: 'gpu', type: undefined, count: 1 }] })
    const c = clusterCapacity([node('big', { cpus: 64 }), gpuNode], PART_P, OPTS)
    assert.equal(c.shape?.node, 'g', 'a node with GPUs comes first')
    assert.deepEqual([c.capacity?.gpus, c.capacity?.gpuVram, c.capacity?.gpuModel, c.shape?.gpuType], [2, 81920, 'NVIDIA A100 80GB', 'a100'])
    const both = clusterCapacity([gpuNode], PART_P, { ...OPTS, gpuTypes: { ...OPTS.gpuTypes, v100: { vramMiB: 32768 } } })
    assert.deepEqual([both.capacity?.gpus, both.capacity?.gpuModel, both.shape?.gpuType], [8, 'v100', 'v100'])
    assert.equal(clusterCapacity([gpuNode], PART_P, { ...OPTS, gpuTypes: {} }).capacity?.gpus, 0, 'unknown VRAM: no GPU offered')
  })
})

describe('slurm: the batch script and the compute node', () => {
  it('execs the runner with quoted paths and a fixed environment', () => {
    const s = batchScript({ node: '/opt/node 24/bin/node', runner: "/srv/lily's/nodeRunner.js", dealDir: '/scratch/d', dockerHost: 'unix:///run/user/1001/podman/podman.sock' })
    assert.match(s, /^#!\/bin\/sh\n/)
    assert.ok(s.includes(`exec '/opt/node 24/bin/node' '/srv/lily'\\''s/nodeRunner.js' '/scratch/d'`), s)
    assert.ok(s.includes("DOCKER_HOST='unix:///run/user/1001/podman/podman.sock'; export DOCKER_HOST"))
    assert.throws(() => shQuote('a\nb'))
  })

  it('keeps the deal folders private: a folder others could write is closed, a link refused', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lily-stage-'))
    try {
      const open = join(root, 'open')
      await mkdir(open)
      await chmod(open, 0o777)
      await ensureDir(open)
      assert.equal((await stat(open)).mode & 0o777, 0o700)
      await symlink(open, join(root, 'link'))
      await assert.rejects(ensureDir(join(root, 'link')), /must be a folder owned by this user .*not a link/)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it('gives the container the GPUs Slurm allocated (global indexes first)', () => {
    assert.deepEqual(allocatedGpus({ SLURM_JOB_GPUS: '2,5', CUDA_VISIBLE_DEVICES: '0,1' }), ['2', '5'])
    assert.deepEqual(allocatedGpus({ CUDA_VISIBLE_DEVICES: 'GPU-1a2b,GPU-3c4d' }), ['GPU-1a2b', 'GPU-3c4d'])
    assert.deepEqual(allocatedGpus({ SLURM_JOB_GPUS: '0;rm -rf /' }), [])
  })
})

describe('slurm: lilynode provider --backend slurm', () => {
  const parse = (...argv: string[]): ReturnType<typeof slurmSettings> =>
    slurmSettings(parseOptions([providerCommand as CommandModule], ['--profile', 'p.json', ...argv]).values as unknown as ProviderArgs, '/data/prov')

  it('builds the settings, with defaults, from the flags', () => {
    assert.deepEqual(parse(), {})
    const s = parse('--backend', 'slurm', '--slurm-partition', 'gpu', '--slurm-account', 'lab1', '--slurm-gpu', 'a100=81920:NVIDIA A100 80GB', '--slurm-gpu', 'tgpu=1024').slurm
    assert.deepEqual(s, {
      partition: 'gpu', account: 'lab1', workDir: '/data/prov/slurm-jobs', gpuTypes: { a100: { vramMiB: 81920, model: 'NVIDIA A100 80GB' }, tgpu: { vramMiB: 1024 } },
      pollMs: 2000, capacityRefreshMs: 30000, maxAttempts: 3, overheadS: 300
    })
    assert.equal(parse('--backend', 'slurm', '--slurm-partition', 'p', '--slurm-rest-url', 'http://head:6820', '--slurm-token-file', '/etc/lily/jwt').slurm?.restUrl, 'http://head:6820')
  })

  it('refuses what does not make sense, saying how to fix it', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--slurm-partition', 'p'], /--slurm-partition needs --backend slurm/],
      [['--backend', 'kubernetes'], /--backend must be one of docker, slurm/],
      [['--backend', 'slurm'], /needs --slurm-partition/],
      [['--backend', 'slurm', '--slurm-partition', 'p;rm'], /needs a Slurm name/],
      [['--backend', 'slurm', '--slurm-partition', 'p', '--slurm-token-file', '/t'], /need --slurm-rest-url/],
      [['--backend', 'slurm', '--slurm-partition', 'p', '--slurm-rest-url', 'head:6820'], /needs http\(s\)/],
      [['--backend', 'slurm', '--slurm-partition', 'p', '--slurm-poll-ms', '5'], /--slurm-poll-ms must be a whole number from 100/],
      [['--backend', 'slurm', '--slurm-partition', 'p', '--slurm-gpu', 'a100'], /TYPE=VRAM_MIB/],
      [['--backend', 'slurm', '--slurm-partition', 'p', '--slurm-docker-host', '/var/run/docker.sock'], /unix:\/\/\//]
    ]
    for (const [argv, re] of bad) assert.throws(() => parse(...argv), (e: unknown) => e instanceof CliError && re.test(e.message), argv.join(' '))
    assert.throws(() => parseGpuTypes(['a100=0']), /VRAM must be in/)
  })
})

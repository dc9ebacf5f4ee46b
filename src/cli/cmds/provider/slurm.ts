/** `lilynode provider --backend slurm`: the --slurm-* options and the Slurm settings they make. */
import { isAbsolute, join, resolve } from 'node:path'
import { CliError } from '../../command.js'
import { choice, int, list, str } from '../../typedOptions.js'
import type { ProviderRunOptions } from '../../../node/index.js'

const NAME = { pattern: /^[A-Za-z0-9_.-]{1,64}$/, hint: 'a Slurm name (letters, digits, _ . -)' }

/** `--slurm-gpu TYPE=VRAM_MIB[:MODEL]` → the GRES types sold. */
export function parseGpuTypes (values: string[]): Record<string, { vramMiB: number, model?: string }> {
  const out: Record<string, { vramMiB: number, model?: string }> = {}
  for (const v of values) {
    const m = /^([A-Za-z0-9_.-]{1,64})=([0-9]{1,7})(?::(.{1,64}))?$/.exec(v)
    if (m === null || !/^[\x20-\x7e]*$/.test(m[3] ?? '')) throw new CliError(`--slurm-gpu wants TYPE=VRAM_MIB[:MODEL NAME] (e.g. a100=81920:NVIDIA A100 80GB), got '${v}'`)
    const vramMiB = Number(m[2])
    if (vramMiB < 1 || vramMiB > 1_048_576) throw new CliError(`--slurm-gpu ${m[1]}: VRAM must be in [1, 1048576] MiB, got ${vramMiB}`)
    out[m[1]] = { vramMiB, ...(m[3] !== undefined ? { model: m[3] } : {}) }
  }
  return out
}

export const slurmOptionSpecs = {
  backend: choice({ description: 'where jobs run: docker (this machine) or slurm (a cluster, see docs/slurm.md)', choices: ['docker', 'slurm'] as const, default: 'docker' }),
  'slurm-partition': str({ description: 'slurm: the partition deals run in (required with --backend slurm)', ...NAME }),
  'slurm-account': str({ description: 'slurm: the account jobs are charged to (sbatch --account)', ...NAME }),
  'slurm-qos': str({ description: 'slurm: the QOS of the jobs (sbatch --qos)', ...NAME }),
  'slurm-rest-url': str({ description: 'slurm: reach the controller through slurmrestd at this URL (JWT in SLURM_JWT or --slurm-token-file) instead of the Slurm commands', placeholder: 'url', pattern: /^https?:\/\/\S+$/, hint: 'http(s)://host:port' }),
  'slurm-token-file': str({ description: 'slurm: file holding the slurmrestd JWT (read again for every request)', placeholder: 'file' }),
  'slurm-user': str({ description: 'slurm: the user the slurmrestd token belongs to (default: this user)', ...NAME }),
  'slurm-conf': str({ description: 'slurm: slurm.conf for the Slurm commands (SLURM_CONF)', placeholder: 'file' }),
  'slurm-work-dir': str({ description: 'slurm: deal folders, on a file system the compute nodes mount at the same path (default <data-dir>/slurm-jobs)', placeholder: 'dir' }),
  'slurm-gpu': list({ description: 'slurm: sell GRES GPUs of a type: TYPE=VRAM_MIB[:MODEL NAME], e.g. a100=81920:NVIDIA A100 80GB', placeholder: 'TYPE=MIB[:MODEL]' }),
  'slurm-poll-ms': int({ description: 'slurm: how often a job\'s state is read (default 2000)', placeholder: 'ms', min: 100, max: 600_000 }),
  'slurm-refresh-ms': int({ description: 'slurm: how often the partition\'s nodes are read again for the offer (default 30000)', placeholder: 'ms', min: 500, max: 3_600_000 }),
  'slurm-attempts': int({ description: 'slurm: jobs submitted per deal at most; a node failure or preemption submits the next (default 3)', min: 1, max: 20 }),
  'slurm-overhead': int({ description: 'slurm: seconds added to the deal\'s timeout in the time limit: image pull, staging (default 300)', placeholder: 's', min: 0, max: 86_400 }),
  'slurm-node': str({ description: 'slurm: Node.js on the compute nodes (default: this one)', placeholder: 'path' }),
  'slurm-runner': str({ description: 'slurm: the job runner (dist/src/executor/backends/slurm/nodeRunner.js) as the compute nodes see it (default: this installation\'s)', placeholder: 'path' }),
  'slurm-docker-host': str({ description: 'slurm: DOCKER_HOST of the compute nodes\' container engine (e.g. a rootless Podman socket)', placeholder: 'url', pattern: /^(unix|tcp|ssh):\/\/[^\s']+$/, hint: 'unix:///path/to.sock or tcp://host:port' })
}

/** The parsed --backend and --slurm-* values (camelCase). */
export interface SlurmArgs {
  backend: 'docker' | 'slurm'
  slurmPartition?: string
  slurmAccount?: string
  slurmQos?: string
  slurmRestUrl?: string
  slurmTokenFile?: string
  slurmUser?: string
  slurmConf?: string
  slurmWorkDir?: string
  slurmGpu: string[]
  slurmPollMs?: number
  slurmRefreshMs?: number
  slurmAttempts?: number
  slurmOverhead?: number
  slurmNode?: string
  slurmRunner?: string
  slurmDockerHost?: string
}

function absolutePath (name: string, v: string): string {
  if (v === '' || v.includes('\n') || v.includes('\0')) throw new CliError(`--${name} must be a path, got '${v}'`)
  return isAbsolute(v) ? v : resolve(v)
}

/** The Slurm settings of `--backend slurm`; {} for docker (where any --slurm-* option is an error). */
export function slurmSettings (a: SlurmArgs, dataDir: string): Pick<ProviderRunOptions, 'slurm'> {
  if (a.backend === 'docker') {
    const given = Object.keys(slurmOptionSpecs).filter((k) => k !== 'backend' && (() => {
      const v = (a as unknown as Record<string, unknown>)[k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())]
      return Array.isArray(v) ? v.length > 0 : v !== undefined
    })())
    if (given.length > 0) throw new CliError(`--${given[0]} needs --backend slurm`)
    return {}
  }
  if (a.slurmPartition === undefined) throw new CliError('--backend slurm needs --slurm-partition <name> (the partition deals run in; see `sinfo -s`)')
  if ((a.slurmTokenFile !== undefined || a.slurmUser !== undefined) && a.slurmRestUrl === undefined) throw new CliError('--slurm-token-file and --slurm-user need --slurm-rest-url')
  if (a.slurmConf !== undefined && a.slurmRestUrl !== undefined) throw new CliError('--slurm-conf is for the Slurm commands; with --slurm-rest-url the controller is reached through slurmrestd')
  return {
    slurm: {
      partition: a.slurmPartition,
      ...(a.slurmAccount !== undefined ? { account: a.slurmAccount } : {}),
      ...(a.slurmQos !== undefined ? { qos: a.slurmQos } : {}),
      ...(a.slurmRestUrl !== undefined ? { restUrl: a.slurmRestUrl } : {}),
      ...(a.slurmTokenFile !== undefined ? { tokenFile: absolutePath('slurm-token-file', a.slurmTokenFile) } : {}),
      ...(a.slurmUser !== undefined ? { restUser: a.slurmUser } : {}),
      ...(a.slurmConf !== undefined ? { conf: absolutePath('slurm-conf', a.slurmConf) } : {}),
      workDir: absolutePath('slurm-work-dir', a.slurmWorkDir ?? join(dataDir, 'slurm-jobs')),
      gpuTypes: parseGpuTypes(a.slurmGpu),
      pollMs: a.slurmPollMs ?? 2000,
      capacityRefreshMs: a.slurmRefreshMs ?? 30_000,
      maxAttempts: a.slurmAttempts ?? 3,
      overheadS: a.slurmOverhead ?? 300,
      ...(a.slurmNode !== undefined ? { node: absolutePath('slurm-node', a.slurmNode) } : {}),
      ...(a.slurmRunner !== undefined ? { runner: absolutePath('slurm-runner', a.slurmRunner) } : {}),
      ...(a.slurmDockerHost !== undefined ? { dockerHost: a.slurmDockerHost } : {})
    }
  }
}

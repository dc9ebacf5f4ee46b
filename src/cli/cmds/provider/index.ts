/**
 * `lilynode provider`: offers this machine's CPU, RAM, GPUs and disk (`--backend docker`), or a
 * Slurm partition's (`--backend slurm`), runs matched jobs, gets paid.
 */
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { boolFlag, listFlag, stringFlag } from '../../args.js'
import { CliError, type Command, type FlagSpec, type ParsedArgs } from '../../command.js'
import { readProfile, runProvider, parseWei, parseCount, type ProviderRunOptions } from '../../../node/index.js'
import { printer } from '../../output.js'
import type { Hash } from '../../../node/index.js'

const SLURM_FLAGS: FlagSpec[] = [
  { name: 'slurm-partition', type: 'string', description: 'slurm: the partition deals run in (required with --backend slurm)' },
  { name: 'slurm-account', type: 'string', description: 'slurm: the account jobs are charged to (sbatch --account)' },
  { name: 'slurm-qos', type: 'string', description: 'slurm: the QOS of the jobs (sbatch --qos)' },
  { name: 'slurm-rest-url', type: 'string', description: 'slurm: reach the controller through slurmrestd at this URL (JWT in SLURM_JWT or --slurm-token-file) instead of the Slurm commands' },
  { name: 'slurm-token-file', type: 'string', description: 'slurm: file holding the slurmrestd JWT (read again for every request)' },
  { name: 'slurm-user', type: 'string', description: 'slurm: the user the slurmrestd token belongs to (default: this user)' },
  { name: 'slurm-conf', type: 'string', description: 'slurm: slurm.conf for the Slurm commands (SLURM_CONF)' },
  { name: 'slurm-work-dir', type: 'string', description: 'slurm: deal folders, on a file system the compute nodes mount at the same path (default <data-dir>/slurm-jobs)' },
  { name: 'slurm-gpu', type: 'string', multiple: true, description: 'slurm: sell GRES GPUs of a type: TYPE=VRAM_MIB[:MODEL NAME], e.g. a100=81920:NVIDIA A100 80GB' },
  { name: 'slurm-poll-ms', type: 'string', description: 'slurm: how often a job\'s state is read', default: '2000' },
  { name: 'slurm-refresh-ms', type: 'string', description: 'slurm: how often the partition\'s nodes are read again for the offer', default: '30000' },
  { name: 'slurm-attempts', type: 'string', description: 'slurm: jobs submitted per deal at most (a node failure or preemption submits the next)', default: '3' },
  { name: 'slurm-overhead', type: 'string', description: 'slurm: seconds added to the deal\'s timeout in the time limit (image pull, staging)', default: '300' },
  { name: 'slurm-node', type: 'string', description: 'slurm: Node.js on the compute nodes (default: this one)' },
  { name: 'slurm-runner', type: 'string', description: 'slurm: the job runner (dist/src/executor/backends/slurm/nodeRunner.js) as the compute nodes see it (default: this installation\'s)' },
  { name: 'slurm-docker-host', type: 'string', description: 'slurm: DOCKER_HOST of the compute nodes\' container engine (e.g. a rootless Podman socket)' }
]

export const providerCommand: Command = {
  name: 'provider',
  summary: 'offer this machine\'s compute (or a Slurm cluster\'s): publish resource offers, run matched jobs in containers, get paid',
  usage: 'lilynode provider --profile <profile.json> [options]',
  flags: [
    { name: 'profile', type: 'string', description: 'network profile JSON (e.g. .devnet/profile.json)' },
    { name: 'data-dir', type: 'string', description: 'key, database and job files', default: join(homedir(), '.lilynode', 'provider') },
    { name: 'listen', type: 'string', multiple: true, description: 'libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/0)' },
    { name: 'price-cpu', type: 'string', description: 'wei per millicore-second', default: '1000' },
    { name: 'price-ram', type: 'string', description: 'wei per MiB-second of memory', default: '100' },
    { name: 'price-gpu', type: 'string', description: 'wei per GPU-second', default: '1000000' },
    { name: 'price-disk', type: 'string', description: 'wei per MiB-second of disk', default: '0' },
    { name: 'collateral', type: 'string', description: 'collateral put up per deal, in wei', default: '1000000000000000' },
    { name: 'deposit', type: 'string', description: 'keep this much free in escrow for collateral, in wei (tops up on start)', default: '10000000000000000' },
    { name: 'module', type: 'string', multiple: true, description: 'accept only this module hash (default: any module)' },
    { name: 'max-cpu', type: 'string', description: 'offer at most this many millicores' },
    { name: 'max-ram', type: 'string', description: 'offer at most this many MiB of memory' },
    { name: 'allow-network', type: 'boolean', description: 'let modules that ask for network access have it' },
    { name: 'backend', type: 'string', description: 'where jobs run: docker (this machine) or slurm (a cluster, see docs/slurm.md)', default: 'docker' },
    ...SLURM_FLAGS,
    { name: 'json', type: 'boolean', description: 'one JSON event per line' }
  ],
  run: async (args, signal) => {
    if (args.positionals.length > 0) throw new CliError(`lilynode provider takes no arguments, got '${args.positionals[0]}'`)
    const slurm = slurmOptions(args, stringFlag(args, 'data-dir', true))
    const profile = await readProfile(stringFlag(args, 'profile', true))
    const modules = listFlag(args, 'module').map((m) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(m)) throw new CliError(`--module needs a 32-byte module hash (0x + 64 hex), got '${m}'`)
      return m.toLowerCase() as Hash
    })
    const maxCpu = stringFlag(args, 'max-cpu')
    const maxRam = stringFlag(args, 'max-ram')
    await runProvider({
      profile,
      dataDir: stringFlag(args, 'data-dir', true),
      listen: listFlag(args, 'listen').length > 0 ? listFlag(args, 'listen') : undefined,
      prices: {
        priceCpu: parseWei('price-cpu', stringFlag(args, 'price-cpu', true)),
        priceRam: parseWei('price-ram', stringFlag(args, 'price-ram', true)),
        priceGpu: parseWei('price-gpu', stringFlag(args, 'price-gpu', true)),
        priceDisk: parseWei('price-disk', stringFlag(args, 'price-disk', true))
      },
      collateral: parseWei('collateral', stringFlag(args, 'collateral', true)),
      depositWei: parseWei('deposit', stringFlag(args, 'deposit', true)),
      modules,
      ...(maxCpu !== undefined ? { maxCpu: parseCount('max-cpu', maxCpu) } : {}),
      ...(maxRam !== undefined ? { maxRam: parseCount('max-ram', maxRam) } : {}),
      allowNetwork: boolFlag(args, 'allow-network'),
      ...slurm
    }, signal, printer(boolFlag(args, 'json')))
    return 0
  }
}

export default providerCommand

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/

function boundedInt (name: string, v: string, lo: number, hi: number): number {
  if (!/^[0-9]{1,10}$/.test(v) || Number(v) < lo || Number(v) > hi) throw new CliError(`--${name} must be an integer in [${lo}, ${hi}], got '${v}'`)
  return Number(v)
}

function absolutePath (name: string, v: string): string {
  if (v === '' || v.includes('\n') || v.includes('\0')) throw new CliError(`--${name} must be a path, got '${v}'`)
  return isAbsolute(v) ? v : resolve(v)
}

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

/** The Slurm settings of `--backend slurm`; {} for docker (where any --slurm-* flag is an error). */
export function slurmOptions (args: ParsedArgs, dataDir: string): Pick<ProviderRunOptions, 'slurm'> {
  const backend = stringFlag(args, 'backend') ?? 'docker'
  const given = SLURM_FLAGS.filter((f) => args.flags[f.name] !== undefined && args.flags[f.name] !== f.default)
  if (backend === 'docker') {
    if (given.length > 0) throw new CliError(`--${given[0].name} needs --backend slurm`)
    return {}
  }
  if (backend !== 'slurm') throw new CliError(`--backend must be docker or slurm, got '${backend}'`)
  const partition = stringFlag(args, 'slurm-partition')
  if (partition === undefined) throw new CliError('--backend slurm needs --slurm-partition <name> (the partition deals run in; see `sinfo -s`)')
  const name = (flag: string): string | undefined => {
    const v = stringFlag(args, flag)
    if (v !== undefined && !NAME_RE.test(v)) throw new CliError(`--${flag} must be a Slurm name (letters, digits, _ . -), got '${v}'`)
    return v
  }
  if (!NAME_RE.test(partition)) throw new CliError(`--slurm-partition must be a Slurm name (letters, digits, _ . -), got '${partition}'`)
  const account = name('slurm-account')
  const qos = name('slurm-qos')
  const user = name('slurm-user')
  const restUrl = stringFlag(args, 'slurm-rest-url')
  if (restUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(restUrl)) throw new CliError(`--slurm-rest-url must be http(s)://host:port, got '${restUrl}'`)
  const tokenFile = stringFlag(args, 'slurm-token-file')
  if ((tokenFile !== undefined || user !== undefined) && restUrl === undefined) throw new CliError('--slurm-token-file and --slurm-user need --slurm-rest-url')
  const conf = stringFlag(args, 'slurm-conf')
  if (conf !== undefined && restUrl !== undefined) throw new CliError('--slurm-conf is for the Slurm commands; with --slurm-rest-url the controller is reached through slurmrestd')
  const opt = (flag: string): string | undefined => stringFlag(args, flag)
  const node = opt('slurm-node')
  const runner = opt('slurm-runner')
  const dockerHost = opt('slurm-docker-host')
  if (dockerHost !== undefined && !/^(unix|tcp|ssh):\/\/[^\s']+$/.test(dockerHost)) throw new CliError(`--slurm-docker-host must look like unix:///path/to.sock or tcp://host:port, got '${dockerHost}'`)
  return {
    slurm: {
      partition,
      ...(account !== undefined ? { account } : {}),
      ...(qos !== undefined ? { qos } : {}),
      ...(restUrl !== undefined ? { restUrl } : {}),
      ...(tokenFile !== undefined ? { tokenFile: absolutePath('slurm-token-file', tokenFile) } : {}),
      ...(user !== undefined ? { restUser: user } : {}),
      ...(conf !== undefined ? { conf: absolutePath('slurm-conf', conf) } : {}),
      workDir: absolutePath('slurm-work-dir', opt('slurm-work-dir') ?? join(dataDir, 'slurm-jobs')),
      gpuTypes: parseGpuTypes(listFlag(args, 'slurm-gpu')),
      pollMs: boundedInt('slurm-poll-ms', opt('slurm-poll-ms') ?? '2000', 100, 600_000),
      capacityRefreshMs: boundedInt('slurm-refresh-ms', opt('slurm-refresh-ms') ?? '30000', 500, 3_600_000),
      maxAttempts: boundedInt('slurm-attempts', opt('slurm-attempts') ?? '3', 1, 20),
      overheadS: boundedInt('slurm-overhead', opt('slurm-overhead') ?? '300', 0, 86_400),
      ...(node !== undefined ? { node: absolutePath('slurm-node', node) } : {}),
      ...(runner !== undefined ? { runner: absolutePath('slurm-runner', runner) } : {}),
      ...(dockerHost !== undefined ? { dockerHost } : {})
    }
  }
}

/**
 * The controller through the Slurm commands of this host (sbatch, scontrol, squeue, scancel),
 * as a login node uses them. Arguments go to execFile as a list (no shell), each command has
 * a time bound, and a missing command or an unreachable controller is SLURM_UNREACHABLE.
 */
import { execFile } from 'node:child_process'
import { userInfo } from 'node:os'
import { jobFromScontrol, nodeFromScontrol, parseOneliners, partitionFromScontrol } from './parse.js'
import { SlurmError, type SlurmClient, type SlurmJob, type SlurmNode, type SlurmPartition, type SubmitRequest } from './types.js'

export interface SlurmCliOptions {
  /** slurm.conf to use (exported as SLURM_CONF); the commands' default when omitted. */
  conf?: string
  /** Folder of the commands; found on PATH when omitted. */
  binDir?: string
  /** Bound on each command, ms (default 30 s). */
  timeoutMs?: number
}

interface Ran { stdout: string, stderr: string }

export class SlurmCli implements SlurmClient {
  readonly via = 'cli' as const
  private readonly user = userInfo().username

  constructor (private readonly o: SlurmCliOptions = {}) {}

  private async exec (cmd: string, args: string[]): Promise<Ran> {
    const file = this.o.binDir !== undefined ? `${this.o.binDir}/${cmd}` : cmd
    const env = { ...process.env, ...(this.o.conf !== undefined ? { SLURM_CONF: this.o.conf } : {}) }
    return await new Promise((resolve, reject) => {
      execFile(file, args, { env, timeout: this.o.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err === null) { resolve({ stdout, stderr }); return }
        const code = (err as NodeJS.ErrnoException).code
        const why = (stderr.trim() || stdout.trim() || err.message).split('\n').slice(0, 3).join(' | ').slice(0, 400)
        if (code === 'ENOENT') reject(new SlurmError('SLURM_UNREACHABLE', `${file} is not installed (install slurm-client, or point --slurm-bin at the Slurm commands)`, { cause: err }))
        else if (/Unable to contact slurm controller|Connection refused|Zero Bytes were transmitted|Socket timed out|Invalid authentication credential|Munge/i.test(why) || err.killed) reject(new SlurmError('SLURM_UNREACHABLE', `${cmd}: the Slurm controller does not answer: ${why}`, { cause: err }))
        else reject(Object.assign(new SlurmError('SLURM_BAD_REPLY', `${cmd} ${args[0] ?? ''}: ${why}`, { cause: err }), { stderr }))
      })
    })
  }

  async nodes (): Promise<SlurmNode[]> {
    const { stdout } = await this.exec('scontrol', ['show', 'nodes', '--oneliner'])
    return parseOneliners(stdout).map(nodeFromScontrol).filter((n): n is SlurmNode => n !== undefined)
  }

  async partition (name: string): Promise<SlurmPartition | undefined> {
    try {
      const { stdout } = await this.exec('scontrol', ['show', 'partition', name, '--oneliner'])
      return parseOneliners(stdout).map(partitionFromScontrol).find((p) => p?.name === name)
    } catch (e) {
      if (e instanceof SlurmError && e.code === 'SLURM_BAD_REPLY' && /invalid partition|not found/i.test(e.message)) return undefined
      throw e
    }
  }

  private static resourceArgs (r: Omit<SubmitRequest, 'script' | 'scriptPath' | 'output' | 'workDir' | 'comment' | 'name'>): string[] {
    return [
      `--partition=${r.partition}`,
      ...(r.account !== undefined ? [`--account=${r.account}`] : []),
      ...(r.qos !== undefined ? [`--qos=${r.qos}`] : []),
      '--nodes=1', '--ntasks=1', `--cpus-per-task=${r.cpusPerTask}`,
      `--mem=${r.memMiB}M`,
      ...(r.tmpMiB > 0 ? [`--tmp=${r.tmpMiB}M`] : []),
      `--time=${r.timeMin}`,
      ...(r.gres !== undefined ? [`--gres=${r.gres}`] : [])
    ]
  }

  async submit (req: SubmitRequest): Promise<string> {
    const args = [
      '--parsable', `--job-name=${req.name}`, `--comment=${req.comment}`,
      ...SlurmCli.resourceArgs(req),
      '--no-requeue', '--export=NONE', `--chdir=${req.workDir}`, `--output=${req.output}`, '--open-mode=append',
      req.scriptPath
    ]
    let out: Ran
    try {
      out = await this.exec('sbatch', args)
    } catch (e) {
      if (e instanceof SlurmError && e.code === 'SLURM_BAD_REPLY') throw new SlurmError('SLURM_SUBMIT', `sbatch refused the job: ${e.message.replace(/^sbatch\s+\S*:\s*/, '')}`, { cause: e })
      throw e
    }
    const id = out.stdout.trim().split(';')[0]
    if (!/^[0-9]+$/.test(id)) throw new SlurmError('SLURM_BAD_REPLY', `sbatch printed '${out.stdout.trim().slice(0, 100)}', not a job id`)
    return id
  }

  async testSubmit (req: Omit<SubmitRequest, 'script' | 'scriptPath' | 'output' | 'workDir' | 'comment' | 'name'>): Promise<void> {
    try {
      await this.exec('sbatch', ['--test-only', ...SlurmCli.resourceArgs(req), '--output=/dev/null', '--wrap=true'])
    } catch (e) {
      if (e instanceof SlurmError && e.code === 'SLURM_BAD_REPLY') throw new SlurmError('SLURM_SUBMIT', `the scheduler would refuse such a job: ${e.message.replace(/^sbatch\s+\S*:\s*/, '')}`, { cause: e })
      throw e
    }
  }

  async job (jobId: string): Promise<SlurmJob | undefined> {
    if (!/^[0-9]+$/.test(jobId)) return undefined
    try {
      const { stdout } = await this.exec('scontrol', ['show', 'job', jobId, '--oneliner'])
      return parseOneliners(stdout).map(jobFromScontrol).find((j) => j?.jobId === jobId)
    } catch (e) {
      if (e instanceof SlurmError && e.code === 'SLURM_BAD_REPLY' && /Invalid job id/i.test(e.message)) return undefined
      throw e
    }
  }

  async jobsByName (name: string): Promise<SlurmJob[]> {
    const { stdout } = await this.exec('squeue', ['--noheader', '--states=all', `--name=${name}`, `--user=${this.user}`, '--format=%i'])
    const ids = stdout.split('\n').map((l) => l.trim()).filter((l) => /^[0-9]+$/.test(l))
    const out: SlurmJob[] = []
    for (const id of ids) {
      const j = await this.job(id)
      if (j !== undefined && j.name === name) out.push(j)
    }
    return out
  }

  async cancel (jobId: string): Promise<void> {
    if (!/^[0-9]+$/.test(jobId)) throw new SlurmError('SLURM_CANCEL', `not a job id: ${jobId}`)
    try {
      await this.exec('scancel', [jobId])
    } catch (e) {
      // already over: nothing to cancel
      if (e instanceof SlurmError && e.code === 'SLURM_BAD_REPLY' && /already completing or completed|Invalid job id/i.test(e.message)) return
      throw e
    }
  }
}

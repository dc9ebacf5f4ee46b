/**
 * The controller through slurmrestd (OpenAPI v0.0.38, the version Slurm 22.05 serves), with
 * JWT authentication: X-SLURM-USER-NAME and X-SLURM-USER-TOKEN on every request. The token is
 * read again for each request when it comes from a file, so that a rotated token is picked up.
 */
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { parseGres, parseNodeState } from './parse.js'
import { SlurmError, type SlurmClient, type SlurmJob, type SlurmNode, type SlurmPartition, type SubmitRequest } from './types.js'

export interface SlurmRestOptions {
  /** e.g. http://slurm-head:6820 */
  url: string
  /** The JWT (`scontrol token`), or a file holding it; default the SLURM_JWT environment variable. */
  token?: string
  tokenFile?: string
  /** The Slurm user the token belongs to; default this process's user. */
  user?: string
  /** OpenAPI plugin version; default v0.0.38. */
  version?: string
  timeoutMs?: number
}

/** The shapes of the v0.0.38 replies the backend reads (everything else is ignored). */
interface RestError { error?: string, description?: string, error_number?: number }
interface RestNode { name?: string, state?: string, state_flags?: string[], cpus?: number, real_memory?: number, specialized_memory?: number, temporary_disk?: number, gres?: string, partitions?: string[], reason?: string }
interface RestPartition { name?: string, state?: string, max_time_limit?: number | null, maximum_memory_per_node?: number | null, maximum_cpus_per_node?: number | null }
interface RestJob { job_id?: number, name?: string, job_state?: string, state_reason?: string, nodes?: string, exit_code?: number, current_working_directory?: string, comment?: string, user_name?: string }

const num = (v: number | null | undefined): number | undefined => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined

export class SlurmRest implements SlurmClient {
  readonly via = 'rest' as const
  private readonly base: string
  private readonly user: string

  constructor (private readonly o: SlurmRestOptions) {
    let u: URL
    try { u = new URL(o.url) } catch { throw new SlurmError('SLURM_CONFIG', `--slurm-rest-url '${o.url}' is not a URL (e.g. http://slurm-head:6820)`) }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SlurmError('SLURM_CONFIG', `--slurm-rest-url must be http(s)://…, got '${o.url}'`)
    this.base = `${o.url.replace(/\/+$/, '')}/slurm/${o.version ?? 'v0.0.38'}`
    this.user = o.user ?? userInfo().username
  }

  private async token (): Promise<string> {
    const t = this.o.tokenFile !== undefined ? (await readFile(this.o.tokenFile, 'utf8')).trim().replace(/^SLURM_JWT=/, '') : (this.o.token ?? process.env.SLURM_JWT ?? '')
    if (t === '') throw new SlurmError('SLURM_CONFIG', 'slurmrestd needs a JWT: set SLURM_JWT (from `scontrol token`) or --slurm-token-file')
    return t
  }

  private async call<T> (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T & { errors?: RestError[] }> {
    let res: Response
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { 'X-SLURM-USER-NAME': this.user, 'X-SLURM-USER-TOKEN': await this.token(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000)
      })
    } catch (cause) {
      if (cause instanceof SlurmError) throw cause
      throw new SlurmError('SLURM_UNREACHABLE', `slurmrestd at ${this.o.url} does not answer: ${(cause as Error).message}`, { cause })
    }
    const text = await res.text()
    if (res.status === 401 || res.status === 403) throw new SlurmError('SLURM_UNREACHABLE', `slurmrestd refused the token for user ${this.user} (HTTP ${res.status}): renew it with \`scontrol token username=${this.user}\``)
    let json: T & { errors?: RestError[] }
    try {
      json = JSON.parse(text) as T & { errors?: RestError[] }
    } catch {
      throw new SlurmError('SLURM_BAD_REPLY', `slurmrestd ${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`)
    }
    return json
  }

  private static why (errors: RestError[] | undefined): string {
    return (errors ?? []).map((e) => e.description ?? e.error ?? `error ${String(e.error_number)}`).join('; ')
  }

  async nodes (): Promise<SlurmNode[]> {
    const r = await this.call<{ nodes?: RestNode[] }>('GET', '/nodes')
    if (!Array.isArray(r.nodes)) throw new SlurmError('SLURM_BAD_REPLY', `slurmrestd /nodes: ${SlurmRest.why(r.errors) || 'no node list'}`)
    return r.nodes.filter((n) => typeof n.name === 'string').map((n) => ({
      name: n.name as string,
      state: [...parseNodeState(n.state ?? 'UNKNOWN'), ...(n.state_flags ?? []).map((f) => f.toUpperCase())],
      cpus: num(n.cpus) ?? 0,
      realMemory: num(n.real_memory) ?? 0,
      memSpecLimit: num(n.specialized_memory) ?? 0,
      tmpDisk: num(n.temporary_disk) ?? 0,
      gres: parseGres(n.gres),
      partitions: Array.isArray(n.partitions) ? n.partitions : [],
      reason: n.reason ?? ''
    }))
  }

  async partition (name: string): Promise<SlurmPartition | undefined> {
    const r = await this.call<{ partitions?: RestPartition[] }>('GET', `/partition/${encodeURIComponent(name)}`)
    const p = r.partitions?.find((x) => x.name === name)
    if (p === undefined) return undefined
    return { name, state: (p.state ?? 'UNKNOWN').toUpperCase(), maxTimeMin: num(p.max_time_limit), maxMemPerNode: num(p.maximum_memory_per_node), maxCpusPerNode: num(p.maximum_cpus_per_node) }
  }

  async submit (req: SubmitRequest): Promise<string> {
    const job = {
      name: req.name,
      partition: req.partition,
      ...(req.account !== undefined ? { account: req.account } : {}),
      ...(req.qos !== undefined ? { qos: req.qos } : {}),
      nodes: 1,
      tasks: 1,
      cpus_per_task: req.cpusPerTask,
      memory_per_node: req.memMiB,
      ...(req.tmpMiB > 0 ? { temporary_disk_per_node: req.tmpMiB } : {}),
      time_limit: req.timeMin,
      ...(req.gres !== undefined ? { gres: req.gres } : {}),
      requeue: false,
      current_working_directory: req.workDir,
      standard_output: req.output,
      standard_error: req.output,
      comment: req.comment,
      // the batch script sets what it needs; nothing of this process's environment travels
      environment: { PATH: '/usr/local/bin:/usr/bin:/bin' }
    }
    const r = await this.call<{ job_id?: number }>('POST', '/job/submit', { script: req.script, job })
    if (typeof r.job_id !== 'number' || (r.errors ?? []).length > 0) throw new SlurmError('SLURM_SUBMIT', `slurmrestd refused the job: ${SlurmRest.why(r.errors) || 'no job id in the reply'}`)
    return String(r.job_id)
  }

  private static job (j: RestJob): SlurmJob | undefined {
    if (typeof j.job_id !== 'number') return undefined
    return {
      jobId: String(j.job_id),
      name: j.name ?? '',
      state: (j.job_state ?? 'UNKNOWN').toUpperCase().split('+')[0],
      reason: j.state_reason ?? '',
      nodes: j.nodes ?? '',
      exitCode: num(j.exit_code),
      signal: undefined,
      workDir: j.current_working_directory ?? '',
      comment: j.comment ?? ''
    }
  }

  async job (jobId: string): Promise<SlurmJob | undefined> {
    if (!/^[0-9]+$/.test(jobId)) return undefined
    const r = await this.call<{ jobs?: RestJob[] }>('GET', `/job/${jobId}`)
    if ((r.errors ?? []).some((e) => e.error_number === 2017 || /Invalid job id/i.test(e.error ?? ''))) return undefined
    const j = r.jobs?.map(SlurmRest.job).find((x) => x?.jobId === jobId)
    if (j === undefined && (r.errors ?? []).length > 0) throw new SlurmError('SLURM_BAD_REPLY', `slurmrestd /job/${jobId}: ${SlurmRest.why(r.errors)}`)
    return j
  }

  async jobsByName (name: string): Promise<SlurmJob[]> {
    const r = await this.call<{ jobs?: RestJob[] }>('GET', '/jobs')
    if (!Array.isArray(r.jobs)) throw new SlurmError('SLURM_BAD_REPLY', `slurmrestd /jobs: ${SlurmRest.why(r.errors) || 'no job list'}`)
    return r.jobs.filter((j) => j.name === name && j.user_name === this.user).map(SlurmRest.job).filter((j): j is SlurmJob => j !== undefined)
  }

  async cancel (jobId: string): Promise<void> {
    if (!/^[0-9]+$/.test(jobId)) throw new SlurmError('SLURM_CANCEL', `not a job id: ${jobId}`)
    const r = await this.call<Record<string, unknown>>('DELETE', `/job/${jobId}`)
    const why = SlurmRest.why(r.errors)
    if (why !== '' && !/already completing or completed|Invalid job id|Job\/step already/i.test(why)) throw new SlurmError('SLURM_CANCEL', `slurmrestd could not cancel job ${jobId}: ${why}`)
  }
}

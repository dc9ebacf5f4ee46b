/**
 * Live progress of `lilynode run` on a terminal: the stage lines as when piped, and below them
 * one status line — a spinner, the elapsed time, what the job waits on — redrawn in place
 * (carriage return, erase to end of line) a few times a second. Piped output, and `--json`,
 * get the plain lines only, so scripts and logs read the same as before.
 */
import type { CreatorEvent } from '../node/index.js'
import { creatorPrinter } from './output.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
/** Redraws per second at most. */
export const PROGRESS_INTERVAL_MS = 125

/** What a job waits on after each stage. */
export function waitingOn (stage: string | undefined): string {
  switch (stage) {
    case undefined: return 'starting the node and funding the escrow'
    case 'offered': return 'waiting for a provider to be matched'
    case 'matched': return 'waiting for the deal to open on-chain'
    case 'opened': return 'waiting for the provider to fetch the module and inputs'
    case 'running': return 'the job is running on the provider'
    case 'result': return 'checking the result'
    case 'accepted': return 'waiting for the provider to be paid on-chain'
    case 'outputs': return 'settling the deal'
    case 'challenged': return 'waiting for the mediator to rule'
    default: return 'settling'
  }
}

export interface ProgressOptions {
  /** Whether the output is a terminal (the status line is drawn only then). */
  tty: boolean
  json: boolean
  write?: (s: string) => void
  now?: () => number
  intervalMs?: number
  /** Terminal width: the status line is cut to fit it (a wrapped line could not be redrawn in place). */
  columns?: number
}

export class Progress {
  private readonly write: (s: string) => void
  private readonly now: () => number
  private readonly print: (e: CreatorEvent) => void
  private timer: NodeJS.Timeout | undefined
  private frame = 0
  private readonly t0: number
  private drawn = false
  /** The last stage seen (what Ctrl-C reports). */
  last: CreatorEvent | undefined

  constructor (private readonly o: ProgressOptions) {
    this.write = o.write ?? ((s) => { process.stdout.write(s) })
    this.now = o.now ?? Date.now
    this.t0 = this.now()
    this.print = creatorPrinter(o.json, this.write)
  }

  get live (): boolean { return this.o.tty && !this.o.json }

  /** Starts redrawing the status line (on a terminal only). */
  start (): void {
    if (!this.live || this.timer !== undefined) return
    this.draw()
    this.timer = setInterval(() => { this.draw() }, this.o.intervalMs ?? PROGRESS_INTERVAL_MS)
    this.timer.unref()
  }

  /** A stage: its line above the status line. */
  event (e: CreatorEvent): void {
    this.last = e
    this.clear()
    this.print(e)
    if (this.timer !== undefined) this.draw()
  }

  /** Removes the status line and stops redrawing. */
  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.clear()
  }

  /** The status line's text (without the spinner's control codes). */
  status (): string {
    const s = ((this.now() - this.t0) / 1000).toFixed(1)
    return `${FRAMES[this.frame % FRAMES.length]} ${s}s ${this.last?.stage ?? 'starting'}: ${waitingOn(this.last?.stage)} (Ctrl-C stops following; the deal is kept for lilynode resume)`
  }

  private draw (): void {
    this.frame++
    const width = Math.max(20, (this.o.columns ?? 100) - 1)
    const text = this.status()
    this.write(`\r${text.length > width ? `${text.slice(0, width - 1)}…` : text}\x1b[K`)
    this.drawn = true
  }

  private clear (): void {
    if (!this.drawn) return
    this.write('\r\x1b[K')
    this.drawn = false
  }
}

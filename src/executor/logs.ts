/**
 * Docker's multiplexed log stream (no TTY): frames of [stream, 0, 0, 0, u32 size] ‖ payload.
 * The collector keeps at most `cap` bytes per stream and reports the first stream that
 * goes over it, so the runner can stop the job (output_too_large) instead of truncating:
 * a truncated log would make the result depend on when the kill landed.
 */
export type LogStream = 'stdout' | 'stderr'

export class LogCollector {
  readonly chunks: Record<LogStream, Buffer[]> = { stdout: [], stderr: [] }
  readonly sizes: Record<LogStream, number> = { stdout: 0, stderr: 0 }
  /** The first stream that went over the cap. */
  over: LogStream | undefined
  private pending: Buffer = Buffer.alloc(0)

  constructor (private readonly cap: number, private readonly onOver?: (stream: LogStream) => void) {}

  push (chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4)
      if (buf.length < 8 + size) break
      const type = buf[0]
      // 0 = stdin (never sent), 1 = stdout, 2 = stderr, 3 = system error
      if (type === 1 || type === 2) this.add(type === 1 ? 'stdout' : 'stderr', buf.subarray(8, 8 + size))
      buf = buf.subarray(8 + size)
    }
    this.pending = Buffer.from(buf)
  }

  private add (stream: LogStream, payload: Buffer): void {
    const room = this.cap - this.sizes[stream]
    if (room > 0) this.chunks[stream].push(Buffer.from(payload.subarray(0, Math.min(room, payload.length))))
    this.sizes[stream] += payload.length
    if (this.sizes[stream] > this.cap && this.over === undefined) {
      this.over = stream
      this.onOver?.(stream)
    }
  }

  stdout (): Uint8Array { return Buffer.concat(this.chunks.stdout) }
  stderr (): Uint8Array { return Buffer.concat(this.chunks.stderr) }
}

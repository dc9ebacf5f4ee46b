/** Small waiting helpers shared by the roles. */

export { sleep } from '../../protocol/index.js'

/** A short, single-line description of an error for logs and stored records. */
export function describe (e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    return `${typeof code === 'string' ? `[${code}] ` : ''}${e.message}`.slice(0, 500)
  }
  return String(e).slice(0, 500)
}

/** Unix seconds now. */
export function nowS (): number {
  return Math.floor(Date.now() / 1000)
}

/** Per-deal wake-ups: a driver sleeps until its poll interval ends or something happens to its deal. */
export class Kicks {
  private readonly waiting = new Map<string, () => void>()

  async sleep (key: string, ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(t)
        signal?.removeEventListener('abort', onAbort)
        if (this.waiting.get(key) === done) this.waiting.delete(key)
        resolve()
      }
      const onAbort = (): void => {
        done()
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
      }
      const t = setTimeout(done, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.set(key, done)
    })
  }

  kick (key: string): void {
    this.waiting.get(key)?.()
  }
}

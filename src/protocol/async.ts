/**
 * The one sleep and the one timeout of the code base. Both honour an AbortSignal; a timeout
 * aborts the work that lost the race (the function gets a signal that fires), it never leaves
 * it running.
 */

/** The signal's reason as an Error (AbortSignal.abort() without a reason gives a DOMException, which is one). */
export function abortReason (signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(signal.reason === undefined ? 'aborted' : String(signal.reason))
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first (or already has). */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) throw abortReason(signal)
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t)
      reject(abortReason(signal as AbortSignal))
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Like sleep, but resolves (never rejects) when the signal aborts: for loops that check the signal themselves. */
export async function pause (ms: number, signal?: AbortSignal): Promise<void> {
  await sleep(ms, signal).catch(() => {})
}

export interface WithTimeoutOptions {
  /** The caller's signal: aborting it aborts the work (and rejects with its reason). */
  signal?: AbortSignal
  /** What timed out, for the error message (default 'operation'). */
  what?: string
  /** The error to reject with on timeout (default: an Error naming `what` and `ms`). */
  timeoutError?: (message: string, cause: unknown) => Error
}

/**
 * Runs `fn` with a signal that fires when the caller's signal aborts or after `ms`, whichever is
 * first, and settles as soon as either happens — even if `fn` ignores its signal. On timeout it
 * rejects with `timeoutError` (else an Error '<what> timed out after <ms> ms'); on the caller's
 * abort with the caller's reason. `fn` sees its signal fire either way, so the losing work stops.
 */
export async function withTimeout<T> (fn: (signal: AbortSignal) => Promise<T>, ms: number, opts: WithTimeoutOptions = {}): Promise<T> {
  const { signal } = opts
  if (signal?.aborted === true) throw abortReason(signal)
  const local = new AbortController()
  const what = opts.what ?? 'operation'
  let timedOut = false
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const guard = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      timedOut = true
      const message = `${what} timed out after ${ms} ms`
      const err = opts.timeoutError?.(message, undefined) ?? new Error(message)
      local.abort(err)
      reject(err)
    }, ms)
    if (signal !== undefined) {
      onAbort = () => {
        local.abort(signal.reason)
        reject(abortReason(signal))
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }
  })
  try {
    return await Promise.race([fn(local.signal).catch((e: unknown) => {
      // the work's own failure after the timeout fired is the timeout's
      if (timedOut) throw opts.timeoutError?.(`${what} timed out after ${ms} ms`, e) ?? new Error(`${what} timed out after ${ms} ms`, { cause: e })
      throw e
    }), guard])
  } finally {
    clearTimeout(timer)
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
  }
}

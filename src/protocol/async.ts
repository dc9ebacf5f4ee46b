/**
 * The one sleep of the code base: it honours an AbortSignal, rejecting with the signal's reason.
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

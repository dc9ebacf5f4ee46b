/**
 * Typed errors of the SDK (`LilyClient`): `SdkError`, a `LilyError` (the base of every typed
 * error of lilynode, re-exported here) with the codes below.
 */
import { LilyError } from '../protocol/errors.js'

export { LilyError }

export type SdkErrorCode =
  /** The module is neither a known name:version, a path to a module.json, nor a valid ModuleSpec. */
  | 'SDK_BAD_MODULE'
  /** The inputs do not fit the module's input spec (unknown, missing, wrong type, out of bounds). */
  | 'SDK_BAD_INPUT'
  /** An option (price, collateral, timeout, amount, profile…) is out of range or malformed. */
  | 'SDK_BAD_OPTION'
  /** The client was closed (or never connected) when the call was made. */
  | 'SDK_CLOSED'
  /** No provider matched the job in its offer lifetime. */
  | 'SDK_NO_MATCH'
  /** The job stopped before its deal settled (aborted, or an unexpected failure). */
  | 'SDK_JOB_FAILED'
  /** `resume` named a deal that is not an unsettled deal of this client's data dir. */
  | 'SDK_UNKNOWN_DEAL'
  /** No job record or deal of this data dir has that id. */
  | 'SDK_UNKNOWN_JOB'
  /** The job's result is neither stored here nor to be had from its provider. */
  | 'SDK_NO_OUTPUTS'
  /** A node of the data dir runs and holds its database. */
  | 'SDK_DATA_DIR_BUSY'

/** @deprecated the SDK's codes are SdkErrorCode; kept for code written against the earlier name. */
export type LilyErrorCode = SdkErrorCode

export class SdkError extends LilyError<SdkErrorCode> {
  override readonly name = 'SdkError'
}

/** Typed errors of the executor (codes EXECUTOR_*). Job outcomes are values, not errors. */
import { LilyError } from '../protocol/errors.js'
export type ExecutorErrorCode =
  | 'EXECUTOR_BAD_BUNDLE'
  | 'EXECUTOR_BAD_TAR'
  | 'EXECUTOR_UNSAFE_PATH'
  | 'EXECUTOR_OUTPUT_TOO_LARGE'
  | 'EXECUTOR_NVIDIA_SMI'
  | 'EXECUTOR_BAD_REQUEST'
  | 'EXECUTOR_DOCKER_UNREACHABLE'
  | 'EXECUTOR_NOT_STARTED'

export class ExecutorError extends LilyError<ExecutorErrorCode> {
  override readonly name = 'ExecutorError'
}

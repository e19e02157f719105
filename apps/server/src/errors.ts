/** Typed errors that the API's error handler maps to the contract's error body. */
import type { ErrorCode } from '@eventline/shared'

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** A 400 naming the parameter; the message starts with the field so it reads on its own. */
export const invalidArgument = (field: string, message: string) => new ApiError('invalid_argument', `${field}: ${message}`, field)
export const notFound = (message: string) => new ApiError('not_found', message)

/** Seconds a client is asked to wait (`Retry-After`) before trying an unavailable operation again. */
export const RETRY_AFTER_SECONDS = 5

/**
 * The store cannot do this now, and trying again later may work: a query cut off at its time
 * budget, a write refused for a full disk, a lock not obtained within the busy timeout, an I/O
 * error, a store thread that stopped. Answered 503 `unavailable` with `Retry-After`. `code` is the
 * SQLite result code when there is one (`SQLITE_FULL`), for logs and `/readyz`.
 */
export class UnavailableError extends ApiError {
  constructor(
    message: string,
    readonly storeCode?: string,
  ) {
    super('unavailable', message)
    this.name = 'UnavailableError'
  }
}

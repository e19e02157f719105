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

/**
 * A 503 with `Retry-After`: the store could not answer now (a query over its time budget, a write
 * it cannot make, the database out of reach). Not the client's fault; trying again later may work.
 */
export class UnavailableError extends ApiError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super('unavailable', message)
    this.name = 'UnavailableError'
  }
}

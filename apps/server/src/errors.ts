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

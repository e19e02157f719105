/** Maps thrown errors to the contract's error body; a 5xx never carries internals. */
import type { ErrorBody, ErrorCode } from '@eventline/shared'
import { ERROR_CODES } from '@eventline/shared'
import type { ErrorRequestHandler, RequestHandler } from 'express'
import { ApiError, UnavailableError } from '../errors.ts'
import type { Logger } from '../log.ts'

export function sendError(res: Parameters<RequestHandler>[1], code: ErrorCode, message: string, field?: string): void {
  const body: ErrorBody = { error: field === undefined ? { code, message } : { code, message, field } }
  res.status(ERROR_CODES[code]).json(body)
}

/** Unknown `/api` paths answer the contract's 404 body rather than the SPA. */
export const apiNotFound: RequestHandler = (req, res) => sendError(res, 'not_found', `no such endpoint: ${req.method} ${req.baseUrl}${req.path}`)

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    if (error instanceof UnavailableError) res.set('Retry-After', String(error.retryAfterSeconds))
    if (error instanceof ApiError) return sendError(res, error.code, error.message, error.field)
    // body-parser's errors carry a status and an `expose` flag for messages safe to show.
    const status = (error as { status?: unknown }).status
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (error as { type?: string }).type
      if (type === 'entity.too.large') return sendError(res, 'invalid_argument', 'request body is too large (at most 5 MB)', 'body')
      return sendError(res, 'invalid_argument', type === 'entity.parse.failed' ? 'request body is not valid JSON' : 'malformed request', 'body')
    }
    log.error('request failed', { method: req.method, path: req.path, error })
    sendError(res, 'internal', 'internal error; the server log has the details')
  }
}

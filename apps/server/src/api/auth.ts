/** Bearer-token check for `/api` (CONTRACT `EVENTLINE_TOKEN`). */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { RequestHandler } from 'express'
import { sendError } from './errorHandler.ts'

const digest = (text: string) => createHash('sha256').update(text).digest()

/** When a token is configured, every request needs `Authorization: Bearer <token>`. */
export function requireToken(token: string | undefined): RequestHandler {
  if (token === undefined) return (_req, _res, next) => next()
  const expected = digest(token)
  return (req, res, next) => {
    const header = req.get('authorization') ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    // EventSource cannot set headers, so the live stream may carry the token in the query.
    const queryToken = req.path.endsWith('/stream') && typeof req.query.token === 'string' ? req.query.token : undefined
    const given = match?.[1] ?? queryToken
    if (given === undefined) return sendError(res, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)')
    if (!timingSafeEqual(digest(given), expected)) return sendError(res, 'unauthorized', 'invalid bearer token')
    next()
  }
}

/** Writes are refused while no token is configured: an open write endpoint is never the default. */
export function requireConfiguredToken(token: string | undefined): RequestHandler {
  return (_req, res, next) => {
    if (token === undefined) return sendError(res, 'forbidden', 'writes are disabled: set EVENTLINE_TOKEN to accept posted events')
    next()
  }
}

/**
 * Reads JSON request bodies under a size limit, refusing an oversized one as early as it can be
 * told: from its `Content-Length` before a byte of it is read, and for a chunked body at the chunk
 * that passes the limit. Either way the answer is a 413 `payload_too_large` and the connection is
 * closed, so a client cannot make the server read (or buffer) 200 MB to learn it sent too much.
 *
 * Why not `express.json()`: body-parser reads the rest of an oversized body to the end ("dump")
 * before it answers, which is exactly the cost this avoids.
 *
 * Known limits (candidly): bodies are read whole into memory up to the limit, then parsed with
 * `JSON.parse` on this thread (bounded by the limit); compressed bodies (`Content-Encoding`) and
 * charsets other than UTF-8 are refused with a 400 rather than decoded. After a 413 the connection
 * half-closes and the client's remaining bytes are left unread for a short linger, then the socket is
 * destroyed; a client that has not read the answer by then sees a reset.
 */
import type { Request, RequestHandler, Response } from 'express'
import { sendError } from './errorHandler.ts'

/** How long a refused client has to read the 413 before its connection is dropped. */
const LINGER_MS = 2_000
const JSON_TYPES = ['application/json', 'application/*+json']

/** `true` when the request carries a body (RFC 9112: a length or a transfer coding). */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function refuse(req: Request, res: Response, limitBytes: number): void {
  // Stop reading: what the client still sends stays in the kernel's buffers, not in ours.
  req.pause()
  res.set('Connection', 'close')
  // Node closes a `Connection: close` socket the moment the answer is written (`destroySoon`). With
  // the client's unread bytes still in the kernel that close is a reset, which can reach the client
  // before it has read the 413, and its TCP stack then drops the answer: the client sees EPIPE or
  // ECONNRESET instead of the 413. So this socket only half-closes after the answer (a FIN after the
  // 413), and is destroyed once the client has had LINGER_MS to read it.
  const socket = req.socket
  socket.destroySoon = () => {
    socket.end()
    setTimeout(() => socket.destroy(), LINGER_MS).unref()
  }
  sendError(res, 'payload_too_large', `request body is larger than ${limitBytes} bytes`, 'body')
}

/** Parses a JSON body of at most `limitBytes` into `req.body`; other bodies are left unread. */
export function jsonBody(limitBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > limitBytes) return refuse(req, res, limitBytes)
    if (!hasBody(req) || !req.is(JSON_TYPES)) return next()
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase()
    if (encoding !== 'identity') return sendError(res, 'invalid_argument', `compressed request bodies are not accepted (Content-Encoding: ${encoding})`, 'body')
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase()
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return sendError(res, 'invalid_argument', `request body must be UTF-8, not ${charset}`, 'body')

    const chunks: Buffer[] = []
    let size = 0
    const stop = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limitBytes) return void chunks.push(chunk)
      stop()
      chunks.length = 0
      refuse(req, res, limitBytes)
    }
    const onEnd = () => {
      stop()
      if (size === 0) return next()
      try {
        req.body = JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown
      } catch {
        return sendError(res, 'invalid_argument', 'request body is not valid JSON', 'body')
      }
      next()
    }
    // The client went away mid-body: nothing to answer, nobody to answer to.
    const onError = () => {
      stop()
      req.socket.destroy()
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  }
}

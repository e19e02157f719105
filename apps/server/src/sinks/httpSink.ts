/**
 * What the HTTP sinks (webhook, Loki, Elasticsearch) share: a TCP reachability check when the sink
 * opens, one request with a timeout and the shutdown signal, and one reading of an error status.
 *
 * The reading, for all of them (an operator wants an outage to delay delivery, never to lose it,
 * and one bad entry not to block the rest behind it):
 * - 3xx: a redirected POST turns into a GET elsewhere; reported, retried until the URL is fixed.
 * - the statuses a sink names as "refused body" (400, 413, 415, 422 by default): the receiver
 *   refuses the body itself, `SinkError.rejected`; the loop narrows the batch to the one entry.
 * - 429 and 503 honour `Retry-After`; every other status is retried with backoff, with a hint for
 *   the 4xx that point at the URL or the credentials (401, 403, 404, ...).
 */
import { connect as tcpConnect } from 'node:net'
import { reasonOf, SinkError } from './sink.ts'

/** Statuses that refuse the body itself: sending it again cannot succeed. */
export const REFUSED_BODY: ReadonlySet<number> = new Set([400, 413, 415, 422])

/**
 * Checks that the URL's host resolves and accepts a TCP connection within `timeoutMs`. No HTTP
 * request: nothing is posted. The error names host and port, never the URL (chat webhook URLs
 * carry their token).
 */
export async function checkReachable(urlText: string, timeoutMs: number, what: string): Promise<void> {
  let url: URL
  try {
    url = new URL(urlText)
  } catch {
    throw new SinkError(`the ${what} url is not a URL`)
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  await new Promise<void>((resolve, reject) => {
    const socket = tcpConnect({ host, port, timeout: timeoutMs })
    const fail = (reason: string) => {
      socket.destroy()
      reject(new SinkError(`cannot reach the ${what} host ${url.hostname}:${port}: ${reason}`))
    }
    socket.once('connect', () => {
      socket.destroy() // only whether it connects matters: nothing is written
      resolve()
    })
    socket.once('timeout', () => fail(`no TCP connection within ${timeoutMs} ms`))
    socket.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message))
  })
}

export interface HttpAnswer {
  status: number
  text: string
  headers: Headers
}

/**
 * One request. Resolves with any status; throws a `SinkError` for what never produced one (a
 * timeout, a refused connection, an abort on shutdown).
 */
export async function httpRequest(
  url: string,
  init: { method: string; headers: Headers; body?: string | Uint8Array },
  timeoutMs: number,
  stop: AbortSignal,
): Promise<HttpAnswer> {
  if (stop.aborted) throw new SinkError('abandoned on shutdown')
  const timeout = AbortSignal.timeout(timeoutMs)
  let response: Response
  try {
    // A redirected POST turns into a GET elsewhere: report it rather than follow it.
    response = await fetch(url, { ...init, signal: AbortSignal.any([stop, timeout]), redirect: 'manual' })
  } catch (error) {
    if (stop.aborted) throw new SinkError('abandoned on shutdown')
    if (timeout.aborted) throw new SinkError(`no answer within ${timeoutMs} ms`)
    throw new SinkError(connectionReason(error))
  }
  try {
    return { status: response.status, text: await response.text(), headers: response.headers }
  } catch (error) {
    if (stop.aborted) throw new SinkError('abandoned on shutdown')
    throw new SinkError(timeout.aborted ? `no complete answer within ${timeoutMs} ms` : connectionReason(error))
  }
}

/** The error a non-2xx answer means (see the module header). */
export function statusError(answer: HttpAnswer, refused: ReadonlySet<number> = REFUSED_BODY): SinkError {
  const { status } = answer
  const excerpt = truncate(answer.text.trim(), 200)
  if (status >= 300 && status < 400) return new SinkError(`HTTP ${status}: redirected to ${answer.headers.get('location') ?? '?'}; configure the final URL`)
  if (refused.has(status)) return new SinkError(`HTTP ${status}: ${excerpt}`, true)
  const wait = status === 429 || status === 503 ? retryAfterMs(answer.headers.get('retry-after')) : undefined
  // Not the message's fault but the endpoint's (a wrong URL, a revoked token): keep it until fixed.
  const hint = status >= 400 && status < 500 && status !== 408 && status !== 429 ? ' (check the URL and credentials)' : ''
  return new SinkError(`HTTP ${status}${hint}: ${excerpt}`, false, wait)
}

/** `Retry-After` in ms: delay-seconds or an HTTP date. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** fetch reports every network failure as "fetch failed"; the cause names it (ECONNREFUSED, ...). */
function connectionReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined
  return cause?.code ?? cause?.message ?? reasonOf(error)
}

/** `Authorization` for basic credentials. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

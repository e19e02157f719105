/**
 * The one HTTP client of the console: builds `/api/v1` URLs, parses JSON and turns every failed
 * answer into an {@link ApiError}. It has no UI side effects; callers decide what a failure shows.
 */
import type { ErrorBody, ErrorCode } from '@eventline/shared'

// A literal rather than `API_PREFIX` from @eventline/shared: a value import would pull the shared
// package's runtime schemas (zod) into the browser bundle.
const API_PREFIX = '/api/v1'

let accessToken: string | undefined
const unauthorizedListeners = new Set<() => void>()

/** The bearer token sent with every request (`EVENTLINE_TOKEN` of the server), or none. */
export function setAccessToken(token: string | undefined): void {
  accessToken = token || undefined
}

export function getAccessToken(): string | undefined {
  return accessToken
}

/** Calls `listener` whenever the server answers 401; returns the unsubscribe function. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

/** Query parameters; `undefined` and empty values are left out, so callers can pass optional filters as they are. */
export type QueryParams = Record<string, string | number | undefined>

export interface RequestOptions {
  query?: QueryParams
  signal?: AbortSignal
}

/** A non-2xx answer, carrying the contract's error body (`{ error: { code, message, field? } }`). */
export class ApiError extends Error {
  override readonly name = 'ApiError'

  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.error.message)
  }

  get code(): ErrorCode {
    return this.body.error.code
  }

  /** The query parameter or body field the server refused, when it named one. */
  get field(): string | undefined {
    return this.body.error.field
  }
}

/**
 * GETs `/api/v1<path>` and returns the parsed JSON as `T`.
 * Throws {@link ApiError} for a non-2xx answer; network failures and aborts reject with the
 * browser's own error (`TypeError`, `AbortError`), since they carry no contract body.
 */
export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`
  const response = await fetch(apiUrl(path, options.query), { headers, signal: options.signal })
  if (!response.ok) {
    const error = new ApiError(response.status, await readErrorBody(response))
    if (response.status === 401) for (const listener of unauthorizedListeners) listener()
    throw error
  }
  return (await response.json()) as T
}

/**
 * GETs a download (`P/export`) with the token header and returns its body and the file name the
 * server suggests. The whole body is held in memory: only for a console that must send a token,
 * which a plain link cannot (see `ExportButton.vue`).
 */
export async function getBlob(url: string): Promise<{ blob: Blob; filename: string | undefined }> {
  const headers: Record<string, string> = {}
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`
  const response = await fetch(url, { headers })
  if (!response.ok) throw new ApiError(response.status, await readErrorBody(response))
  const disposition = response.headers.get('content-disposition') ?? ''
  const filename = /filename="?([^";]+)"?/i.exec(disposition)?.[1]
  return { blob: await response.blob(), filename }
}

/** `/api/v1<path>?<query>`, with each path segment the caller interpolated already encoded by them. */
export function apiUrl(path: string, query: QueryParams = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value))
  }
  const search = params.toString()
  return `${API_PREFIX}${path}${search ? `?${search}` : ''}`
}

// A proxy or a crashed server may answer with HTML or nothing; keep the status readable anyway.
async function readErrorBody(response: Response): Promise<ErrorBody> {
  const fallback: ErrorBody = {
    error: { code: codeForStatus(response.status), message: `${response.status} ${response.statusText}`.trim() },
  }
  try {
    const body: unknown = await response.json()
    return isErrorBody(body) ? body : fallback
  } catch {
    return fallback
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false
  const error: unknown = value.error
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  )
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'invalid_argument'
    case 401:
      return 'unauthorized'
    case 403:
      return 'forbidden'
    case 404:
      return 'not_found'
    default:
      return 'internal'
  }
}

/** Starts real Eventline instances on ephemeral ports over temp SQLite files, for integration tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEventline } from '../eventline.ts'
import type { Eventline, EventlineConfig } from '../eventline.ts'
import { silentLogger } from '../log.ts'

export const TEST_TOKEN = 'test-token-123'

export interface TestServer extends Eventline {
  /** `fetch` against the server with the test token, parsing JSON. */
  get<T = unknown>(path: string): Promise<{ status: number; body: T }>
  post<T = unknown>(path: string, body: unknown, token?: string | null): Promise<{ status: number; body: T }>
}

/** A temp directory removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-test-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export async function startTestServer(overrides: Partial<EventlineConfig> & { db: string }): Promise<TestServer> {
  const eventline = await startEventline(
    { port: 0, host: '127.0.0.1', retentionMs: 14 * 86_400_000, demo: false, token: TEST_TOKEN, ...overrides },
    silentLogger,
  )
  const token = overrides.token === undefined && !('token' in overrides) ? TEST_TOKEN : overrides.token
  const request = async <T>(method: string, path: string, body?: unknown, bearer: string | null | undefined = token) => {
    const headers: Record<string, string> = {}
    if (bearer) headers.authorization = `Bearer ${bearer}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${eventline.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    const text = await response.text()
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T }
  }
  return {
    ...eventline,
    get: (path) => request('GET', path),
    post: (path, body, bearer) => request('POST', path, body, bearer === undefined ? token : bearer),
  }
}

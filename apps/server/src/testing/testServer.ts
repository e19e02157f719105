/** Starts real Eventline instances on ephemeral ports over temp SQLite files, for integration tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEventline } from '../eventline.ts'
import type { Eventline, EventlineConfig } from '../eventline.ts'
import { silentLogger } from '../log.ts'

export const TEST_TOKEN = 'test-token-123'
/** The test servers' retention: ten years (see `startTestServer`). */
export const TEST_RETENTION_MS = 3650 * 86_400_000

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
    // Ten years: tests post events at fixed dates (2026-11-20), which a retention of days purges
    // once the calendar passes it; a test of retention sets its own.
    { port: 0, host: '127.0.0.1', retentionMs: TEST_RETENTION_MS, demo: false, token: TEST_TOKEN, ...overrides },
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

/**
 * One Eventline at a time over one temp database, which a test may stop and start again (to see a
 * restart resume from what it stored). `close` stops it, if running, and removes the database.
 */
export interface RestartableTestServer {
  /** The running server; throws when none runs. */
  readonly current: TestServer
  /** Starts Eventline on this database with `overrides` (stop the running one first). */
  start(overrides: Partial<EventlineConfig>): Promise<TestServer>
  /** Stops the running server, keeping the database. */
  stop(): Promise<void>
  close(): Promise<void>
}

export function restartableTestServer(): RestartableTestServer {
  const tmp = tempDir()
  let running: TestServer | undefined
  const server: RestartableTestServer = {
    get current() {
      if (!running) throw new Error('Eventline is not running: start it first')
      return running
    },
    async start(overrides) {
      running = await startTestServer({ ...overrides, db: `${tmp.dir}/eventline.db` })
      return running
    },
    async stop() {
      await server.current.stop()
      running = undefined
    },
    async close() {
      await running?.stop()
      running = undefined
      tmp.cleanup()
    },
  }
  return server
}

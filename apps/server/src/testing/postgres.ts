/**
 * The machine's PostgreSQL for tests: each test gets its own schema, created by the store and
 * dropped afterwards, so runs never see each other's rows. Locally a missing server skips the
 * PostgreSQL tests with a warning; with `CI=true` it fails them.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** Where the tests find PostgreSQL (trust auth on the machine; override with EVENTLINE_TEST_PG). */
export const TEST_PG_URL = process.env.EVENTLINE_TEST_PG ?? 'postgres://root@127.0.0.1:5432/test'

/** Why PostgreSQL cannot be reached, or undefined when it can. */
export async function postgresUnreachable(url = TEST_PG_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** True when PostgreSQL tests should be skipped: only locally, never with CI=true. */
export async function skipWithoutPostgres(): Promise<boolean> {
  const problem = await postgresUnreachable()
  if (!problem) return false
  if (process.env.CI === 'true') throw new Error(`PostgreSQL tests need a server at ${TEST_PG_URL}: ${problem}`)
  console.warn(`[postgres] tests skipped: no server at ${TEST_PG_URL} (${problem})`)
  return true
}

/** A fresh schema name, unique across parallel test files and runs. */
export function testSchema(): string {
  return `t_${process.pid}_${randomBytes(4).toString('hex')}`
}

/** Drops a schema created for a test, with everything in it. */
export async function dropSchema(schema: string, url = TEST_PG_URL): Promise<void> {
  if (!/^t_[0-9a-z_]+$/.test(schema)) throw new Error(`refusing to drop schema ${schema}`)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await client.end()
  }
}

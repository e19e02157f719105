/**
 * A query over its time budget, or a database out of reach, is the API's 503 `unavailable`
 * (UnavailableError, with Retry-After), never a 500 or a hang; other errors pass through.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UnavailableError } from '../../errors.ts'
import { skipWithoutPostgres, TEST_PG_URL } from '../../testing/postgres.ts'
import { PgStore } from './pgStore.ts'
import { query } from './query.ts'

const skip = await skipWithoutPostgres()

describe.skipIf(skip)('PostgreSQL query budget and errors', () => {
  let pool: pg.Pool
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: TEST_PG_URL, options: '-c statement_timeout=100', max: 1 })
  })
  afterAll(() => pool.end())

  it('cuts a query off at statement_timeout as an UnavailableError (503)', async () => {
    const error = await query(pool, 'SELECT pg_sleep($1::float8)', [5]).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(UnavailableError)
    expect(error).toMatchObject({ code: 'unavailable', storeCode: '57014' })
    // The connection is fine afterwards: the budget cancels the statement, not the session.
    expect(await query<{ n: number }>(pool, 'SELECT 1 AS n')).toEqual([{ n: 1 }])
  })

  it('passes a bug (a syntax error) through as it is', async () => {
    await expect(query(pool, 'SELEC 1')).rejects.toThrow(/syntax/)
    await expect(query(pool, 'SELEC 1')).rejects.not.toBeInstanceOf(UnavailableError)
  })

  it('refuses to open on a server that cannot be reached, as unavailable', async () => {
    const error = await PgStore.open('postgres://root@127.0.0.1:1/test').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(UnavailableError)
  })
})

/**
 * How the PostgreSQL store runs SQL: always with bound parameters, as a named (prepared)
 * statement named after a hash of its text so each connection parses and plans it once, and with
 * the errors that mean "over budget" or "cannot write now" turned into the API's 503.
 */
import { createHash } from 'node:crypto'
import type { Pool, PoolClient, QueryResultRow } from 'pg'
import { UnavailableError } from '../../errors.ts'

export type Queryable = Pool | PoolClient

const names = new Map<string, string>()

/** A stable statement name per SQL text (the same text is the same prepared statement). */
function statementName(text: string): string {
  let name = names.get(text)
  if (!name) {
    name = `el_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`
    // Timeline filters combine into a bounded but large set of shapes; keep the memo bounded.
    if (names.size >= 4096) names.delete(names.keys().next().value!)
    names.set(text, name)
  }
  return name
}

/** SQLSTATEs of a query cut off by `statement_timeout`, or a write that cannot be made now. */
const UNAVAILABLE_CODES: Record<string, string> = {
  '57014': 'the query took longer than its time budget',
  '55P03': 'a lock could not be obtained in time',
  '53100': 'the database server is out of disk space',
  '53200': 'the database server is out of memory',
  '53300': 'the database server has too many connections',
  '57P01': 'the database server is shutting down',
  '57P03': 'the database server is starting up',
  '08006': 'the connection to the database failed',
  '08001': 'the database server cannot be reached',
}

/** Whether `error` is PostgreSQL's, with this SQLSTATE. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && codes.includes(code)
}

/**
 * The API's `unavailable` (503 with Retry-After) for errors that are about capacity or budget
 * rather than a bug; anything else is rethrown as is.
 */
export function translateError(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && code in UNAVAILABLE_CODES) return new UnavailableError(`database: ${UNAVAILABLE_CODES[code]}`, code)
  if (error instanceof Error && /ECONNREFUSED|ECONNRESET|timeout exceeded when trying to connect|Connection terminated/.test(error.message)) {
    return new UnavailableError('database: the server cannot be reached')
  }
  return error
}

/** Runs `text` with `values` as a named prepared statement and returns its rows. */
export async function query<R extends QueryResultRow>(db: Queryable, text: string, values: readonly unknown[] = []): Promise<R[]> {
  try {
    const result = await db.query<R>({ name: statementName(text), text, values: values as unknown[] })
    return result.rows
  } catch (error) {
    throw translateError(error)
  }
}

/** Like `query`, resolving with the number of rows the statement changed. */
export async function execute(db: Queryable, text: string, values: readonly unknown[] = []): Promise<number> {
  try {
    const result = await db.query({ name: statementName(text), text, values: values as unknown[] })
    return result.rowCount ?? 0
  } catch (error) {
    throw translateError(error)
  }
}

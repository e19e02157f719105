/**
 * Opens the store `EVENTLINE_DB` names: a `postgres://` or `postgresql://` URL selects
 * PostgreSQL, anything else is a SQLite file path (or `:memory:`). The only place that knows
 * which engines exist; everything else sees `EventStore`.
 */
import { PgStore } from './postgres/pgStore.ts'
import type { PgStoreOptions } from './postgres/pgStore.ts'
import { openStore as openSqliteStore } from './sqlite/threadedStore.ts'
import type { ThreadedStoreOptions } from './sqlite/threadedStore.ts'
import type { EventStore } from './types.ts'

/** Whether `db` is a PostgreSQL connection URL. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db)
}

/** Options either engine reads (the query budget, the log); the rest are the engine's own. */
export type OpenStoreOptions = PgStoreOptions & ThreadedStoreOptions

export async function openStore(db: string, options: OpenStoreOptions = {}): Promise<EventStore> {
  if (isPostgresUrl(db)) {
    const { log: _log, readers: _readers, maxAbandoned: _abandoned, timings: _timings, ...pg } = options
    return PgStore.open(db, pg)
  }
  const { schema: _schema, writeTimeoutMs: _write, maxConnections: _connections, histogramRowBudget: _budget, ...sqlite } = options
  return openSqliteStore(db, sqlite)
}

/** `db` for logs: a URL's password is replaced, so credentials never reach the log. */
export function redactDbUrl(db: string): string {
  if (!isPostgresUrl(db)) return db
  try {
    const url = new URL(db)
    if (url.password) url.password = '***'
    return url.toString()
  } catch {
    return db.replace(/\/\/[^@/]*@/, '//***@')
  }
}

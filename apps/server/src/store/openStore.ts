/**
 * Opens the store `EVENTLINE_DB` names: a `postgres://` or `postgresql://` URL selects
 * PostgreSQL, anything else is a SQLite file path (or `:memory:`). The only place that knows
 * which engines exist; everything else sees `EventStore`.
 */
import { PgStore } from './postgres/pgStore.ts'
import type { PgStoreOptions } from './postgres/pgStore.ts'
import { openStore as openSqliteStore } from './sqlite/threadedStore.ts'
import type { EventStore } from './types.ts'

/** Whether `db` is a PostgreSQL connection URL. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db)
}

export async function openStore(db: string, options: PgStoreOptions = {}): Promise<EventStore> {
  if (isPostgresUrl(db)) return PgStore.open(db, options)
  return openSqliteStore(db)
}

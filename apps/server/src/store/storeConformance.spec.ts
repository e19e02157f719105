/**
 * The conformance suite (storeConformance.ts) on every engine: SQLite through the threaded store
 * production uses, on a temp file per test; PostgreSQL on the machine's server, in a schema per
 * test (skipped locally without a server, failing with CI=true).
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, describe } from 'vitest'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { tempDir } from '../testing/testServer.ts'
import { PgStore } from './postgres/pgStore.ts'
import { SqliteStore } from './sqlite/sqliteStore.ts'
import { openStore } from './sqlite/threadedStore.ts'
import { describeStoreConformance } from './storeConformance.ts'
import type { EventStore } from './types.ts'

const { dir, cleanup } = tempDir()

/** Reads the SQLite file through a connection of its own (the store's live on its threads). */
function readSqlite<T>(path: string, read: (db: Database.Database) => T): Promise<T> {
  const db = new Database(path, { readonly: true })
  try {
    return Promise.resolve(read(db))
  } finally {
    db.close()
  }
}

/** Runs one query on a connection of its own, outside the store. */
async function readPostgres<R extends pg.QueryResultRow>(sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_PG_URL })
  await client.connect()
  try {
    return (await client.query<R>(sql)).rows
  } finally {
    await client.end()
  }
}
afterAll(cleanup)
let databases = 0

describe('EventStore conformance: SQLite', () => {
  describeStoreConformance(async () => {
    const path = join(dir, `store-${databases++}.db`)
    const opened: EventStore[] = []
    return {
      open: async (options) => {
        // The threaded store keeps the default histogram budget; a lower one needs the store itself.
        const store = options?.histogramRowBudget === undefined ? await openStore(path) : new SqliteStore(path, options)
        opened.push(store)
        return store
      },
      linkRows: () => readSqlite(path, (db) => db.prepare('SELECT count(*) FROM event_links').pluck().get() as number),
      podIntervals: () => readSqlite(path, (db) => db.prepare('SELECT pod FROM pod_ips ORDER BY since').pluck().all() as string[]),
      dispose: async () => {
        for (const store of opened) await store.close()
      },
    }
  })
})

const skipPostgres = await skipWithoutPostgres()

describe.skipIf(skipPostgres)('EventStore conformance: PostgreSQL', () => {
  describeStoreConformance(async () => {
    const schema = testSchema()
    const opened: EventStore[] = []
    return {
      open: async (options) => {
        const store = await PgStore.open(TEST_PG_URL, { schema, maxConnections: 3, ...options })
        opened.push(store)
        return store
      },
      linkRows: async () => (await readPostgres<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.event_links`))[0]!.n,
      podIntervals: async () => (await readPostgres<{ pod: string }>(`SELECT pod FROM ${schema}.pod_ips ORDER BY since`)).map(({ pod }) => pod),
      dispose: async () => {
        for (const store of opened) await store.close()
        await dropSchema(schema)
      },
    }
  })
})

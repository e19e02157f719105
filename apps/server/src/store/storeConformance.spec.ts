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
import { openStore } from './sqlite/threadedStore.ts'
import { describeStoreConformance } from './storeConformance.ts'
import type { EventStore } from './types.ts'

const { dir, cleanup } = tempDir()
afterAll(cleanup)
let databases = 0

describe('EventStore conformance: SQLite', () => {
  describeStoreConformance(async () => {
    const path = join(dir, `store-${databases++}.db`)
    const opened: EventStore[] = []
    return {
      open: async () => {
        const store = openStore(path)
        opened.push(store)
        return store
      },
      linkRows: async () => {
        const db = new Database(path, { readonly: true })
        try {
          return db.prepare('SELECT count(*) FROM event_links').pluck().get() as number
        } finally {
          db.close()
        }
      },
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
      open: async () => {
        const store = await PgStore.open(TEST_PG_URL, { schema, maxConnections: 3 })
        opened.push(store)
        return store
      },
      linkRows: async () => {
        const client = new pg.Client({ connectionString: TEST_PG_URL })
        await client.connect()
        try {
          const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.event_links`)
          return rows[0]!.n
        } finally {
          await client.end()
        }
      },
      dispose: async () => {
        for (const store of opened) await store.close()
        await dropSchema(schema)
      },
    }
  })
})

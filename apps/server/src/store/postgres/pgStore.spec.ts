/**
 * PostgreSQL-only store behaviour the conformance suite cannot reach through the interface: a
 * write the database cannot make in time (another session holds a lock past the write budget) is
 * `UnavailableError` (a 503), reported by `writeFailure()` for `/readyz` until a write commits,
 * and leaves nothing behind; and a write held up in one schema never holds up a store in another
 * schema of the same database.
 */
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { UnavailableError } from '../../errors.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../../testing/postgres.ts'
import type { IngestEvent, WriteBatch } from '../types.ts'
import { PgStore } from './pgStore.ts'

const skip = await skipWithoutPostgres()

const event = (id: string): IngestEvent => ({
  id,
  time: Date.parse('2026-11-20T08:00:00Z'),
  type: 'warning',
  reason: 'BackOff',
  message: 'Back-off restarting failed container',
  source: 'kubernetes',
  component: 'kubelet',
  mesh: 'k8s-prod',
  object: { kind: 'Pod', name: 'order-1', namespace: 'shop' },
  application: 'locked-app',
})
const batch = (events: IngestEvent[]): WriteBatch => ({ events, catalog: [], checkpoints: [], outbox: [] })

describe.skipIf(skip)('PgStore write failures', () => {
  const schema = testSchema()
  afterAll(() => dropSchema(schema))

  it('answers a write a lock keeps out past the write budget with UnavailableError, reported until a write commits', async () => {
    const store = await PgStore.open(TEST_PG_URL, { schema, maxConnections: 2, writeTimeoutMs: 300 })
    const other = new pg.Client({ connectionString: TEST_PG_URL })
    await other.connect()
    try {
      await other.query('BEGIN')
      await other.query(`LOCK TABLE ${schema}.events IN ACCESS EXCLUSIVE MODE`)
      const failed = await store.writeBatch(batch([event('k:locked')])).catch((error: unknown) => error)
      expect(failed).toBeInstanceOf(UnavailableError)
      expect((failed as UnavailableError).storeCode).toBe('57014')
      expect(store.writeFailure()).toMatch(/writes failing since .*time budget/)
      await other.query('ROLLBACK')

      // Nothing of the failed batch is there; the retry writes it and clears the failure.
      expect(await store.event('k:locked')).toBeUndefined()
      await store.writeBatch(batch([event('k:locked')]))
      expect(store.writeFailure()).toBeUndefined()
      expect(await store.event('k:locked')).toMatchObject({ id: 'k:locked' })
      expect(await store.application('locked-app')).toMatchObject({ name: 'locked-app' })
    } finally {
      await other.end()
      await store.close()
    }
  })

  it('never holds up a write in another schema of the same database behind a write that waits', async () => {
    const otherSchema = testSchema()
    const held = await PgStore.open(TEST_PG_URL, { schema: otherSchema, maxConnections: 2 })
    const store = await PgStore.open(TEST_PG_URL, { schema, maxConnections: 2 })
    const locker = new pg.Client({ connectionString: TEST_PG_URL })
    await locker.connect()
    try {
      // The held store's write reads its events, takes its sequence numbers, then waits to insert
      // its links; holding its sequence order must not hold anyone else's.
      await locker.query('BEGIN')
      await locker.query(`LOCK TABLE ${otherSchema}.event_links IN EXCLUSIVE MODE`)
      let heldDone = false
      const heldWrite = held.writeBatch(batch([event('k:held')])).finally(() => (heldDone = true))
      const waiting = async () =>
        (await locker.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = $1::regclass", [`${otherSchema}.event_links`])).rows[0]!.n
      while ((await waiting()) === 0) await new Promise((resolve) => setImmediate(resolve))

      await store.writeBatch(batch([event('k:free')]))
      expect(await store.event('k:free')).toMatchObject({ id: 'k:free' })
      expect(heldDone).toBe(false)

      await locker.query('ROLLBACK')
      await heldWrite
      expect(await held.event('k:held')).toMatchObject({ id: 'k:held' })
    } finally {
      await locker.end()
      await held.close()
      await store.close()
      await dropSchema(otherSchema)
    }
  })
})

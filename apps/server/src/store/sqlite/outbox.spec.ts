import { describe, expect, it } from 'vitest'
import { PENDING_OUTBOX, SqliteStore } from './sqliteStore.ts'

// Behaviour of the outbox on every engine: store/storeConformance.ts. Here: SQLite's plan.
describe('outbox on SQLite', () => {
  it('reads a sink queue from the primary key in order, joining events by their unique id', () => {
    const store = new SqliteStore(':memory:')
    const plan = (query: string, ...params: unknown[]) =>
      (store.database.prepare(`EXPLAIN QUERY PLAN ${query}`).all(...params) as Array<{ detail: string }>).map(({ detail }) => detail).join('\n')
    const pending = plan(PENDING_OUTBOX, 'nats', 100)
    expect(pending).toMatch(/SEARCH o USING PRIMARY KEY \(sink=\?\)/)
    expect(pending).toMatch(/SEARCH e USING (COVERING )?INDEX sqlite_autoindex_events_1 \(id=\?\)/)
    expect(pending).not.toMatch(/TEMP B-TREE/)
    expect(plan('DELETE FROM outbox WHERE sink = ? AND seq = ?', 'nats', 1)).toMatch(/SEARCH outbox USING PRIMARY KEY \(sink=\? AND seq=\?\)/)
    void store.close()
  })
})

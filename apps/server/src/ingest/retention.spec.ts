import { describe, expect, it } from 'vitest'
import { silentLogger } from '../log.ts'
import { createMetrics } from '../metrics.ts'
import { SqliteStore } from '../store/sqlite/sqliteStore.ts'
import type { IngestEvent } from '../store/types.ts'
import { Retention } from './retention.ts'

const NOW = Date.parse('2026-11-23T12:00:00Z')
const HOUR = 3_600_000

const event = (id: string, hoursAgo: number): IngestEvent => ({
  id,
  time: NOW - hoursAgo * HOUR,
  type: 'normal',
  reason: 'R',
  message: 'm',
  source: 'api',
  component: 'test',
  mesh: 'm',
  object: { kind: 'Event', name: id },
  application: 'app',
})

describe('Retention', () => {
  it('purges, in small batches, events whose last occurrence is older than the retention', async () => {
    const store = new SqliteStore(':memory:')
    const old = Array.from({ length: 1234 }, (_, i) => event(`old-${i}`, 25 + i / 100))
    const fresh = Array.from({ length: 10 }, (_, i) => event(`fresh-${i}`, i))
    await store.writeBatch({ events: [...old, ...fresh], catalog: [], checkpoints: [] })
    // An old event that occurred again recently is kept: retention looks at the last occurrence.
    await store.writeBatch({ events: [{ ...event('old-0', 1), count: 2 }], catalog: [], checkpoints: [] })

    const batches: number[] = []
    const purgeBefore = store.purgeBefore.bind(store)
    store.purgeBefore = async (cutoff, size) => {
      const deleted = await purgeBefore(cutoff, size)
      batches.push(deleted)
      return deleted
    }
    const metrics = createMetrics()
    const retention = new Retention(store, silentLogger, metrics, { retentionMs: 24 * HOUR, batchSize: 200, now: () => NOW })
    expect(await retention.purge()).toBe(1233)
    expect(Math.max(...batches)).toBe(200)
    expect(batches).toHaveLength(7)
    const left = await store.timeline({ application: 'app' }, 200)
    expect(left.total).toBe(11)
    expect(left.items.map((item) => item.id)).toContain('old-0')
    expect(await metrics.registry.getSingleMetricAsString('eventline_events_purged_total')).toMatch(/eventline_events_purged_total 1233/)
    await store.close()
  })
})

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
    await store.writeBatch({ events: [...old, ...fresh], catalog: [], checkpoints: [], outbox: [] })
    // An old event that occurred again recently is kept: retention looks at the last occurrence.
    await store.writeBatch({ events: [{ ...event('old-0', 1), count: 2 }], catalog: [], checkpoints: [], outbox: [] })

    const batches: number[] = []
    const purgeBefore = store.purgeBefore.bind(store)
    store.purgeBefore = async (cutoff, size) => {
      const deleted = await purgeBefore(cutoff, size)
      batches.push(deleted)
      return deleted
    }
    const metrics = createMetrics()
    // A generous budget lets batches grow from 100 towards the 1,000 cap, never beyond.
    const retention = new Retention(store, silentLogger, metrics, { retentionMs: 24 * HOUR, batchSize: 100, batchBudgetMs: 10_000, now: () => NOW })
    expect(await retention.purge()).toBe(1233)
    expect(batches.slice(0, 3)).toEqual([100, 200, 400])
    expect(batches.reduce((a, b) => a + b, 0)).toBe(1233)
    const left = await store.timeline({ application: 'app' }, 200)
    expect(left.items.every((item) => !item.id.startsWith('old-') || item.id === 'old-0')).toBe(true)
    expect(left.total).toBe(11)
    expect(left.items.map((item) => item.id)).toContain('old-0')
    expect(await metrics.registry.getSingleMetricAsString('eventline_events_purged_total')).toMatch(/eventline_events_purged_total 1233/)
    await store.close()
  })
})

it('shrinks purge batches that take longer than the budget', async () => {
  const store = new SqliteStore(':memory:')
  await store.writeBatch({ events: Array.from({ length: 300 }, (_, i) => event(`old-${i}`, 48)), catalog: [], checkpoints: [], outbox: [] })
  const batches: number[] = []
  const purgeBefore = store.purgeBefore.bind(store)
  store.purgeBefore = async (cutoff, size) => {
    batches.push(size)
    await new Promise((resolve) => setTimeout(resolve, 3)) // every batch "takes" longer than the budget
    return purgeBefore(cutoff, size)
  }
  const retention = new Retention(store, silentLogger, createMetrics(), { retentionMs: 24 * HOUR, batchSize: 64, batchBudgetMs: 1, now: () => NOW })
  expect(await retention.purge()).toBe(300)
  expect(batches.slice(0, 4)).toEqual([64, 32, 16, 8])
  await store.close()
})

import { describe, expect, it } from 'vitest'
import { EventBus } from '../bus.ts'
import { silentLogger } from '../log.ts'
import { createMetrics } from '../metrics.ts'
import { SqliteStore } from '../store/sqlite/sqliteStore.ts'
import type { IngestEvent, StoredEvent, WriteBatch } from '../store/types.ts'
import { BatchWriter } from './batchWriter.ts'

const event = (i: number): IngestEvent => ({
  id: `e${i}`,
  time: 1_763_600_000_000 + i,
  type: 'normal',
  reason: 'R',
  message: `m${i}`,
  source: 'api',
  component: 'test',
  mesh: 'm',
  object: { kind: 'Event', name: `e${i}` },
})

/** A store that records the size of each transaction it is asked to write. */
function recordingStore() {
  const store = new SqliteStore(':memory:')
  const batches: number[] = []
  const write = store.writeBatch.bind(store)
  store.writeBatch = (batch: WriteBatch) => {
    batches.push(batch.events.length)
    return write(batch)
  }
  return { store, batches }
}

describe('BatchWriter', () => {
  it('writes up to 1000 events per transaction and settles each publisher when stored', async () => {
    const { store, batches } = recordingStore()
    const bus = new EventBus()
    new BatchWriter(store, bus, silentLogger, createMetrics())
    const stored: StoredEvent[] = []
    bus.onStored((events) => stored.push(...events))
    const publications = Array.from({ length: 25 }, (_, p) => bus.publish({ events: Array.from({ length: 100 }, (_, i) => event(p * 100 + i)) }))
    await Promise.all(publications)
    expect(batches.reduce((a, b) => a + b, 0)).toBe(2500)
    expect(Math.max(...batches)).toBeLessThanOrEqual(1000)
    expect(batches.length).toBeGreaterThanOrEqual(3)
    expect(stored).toHaveLength(2500)
    expect((await store.timeline({}, 1)).total).toBe(2500)
  })

  it('groups small publications that arrive within the flush interval into one transaction', async () => {
    const { store, batches } = recordingStore()
    const bus = new EventBus()
    new BatchWriter(store, bus, silentLogger, createMetrics(), { flushIntervalMs: 50 })
    await Promise.all([bus.publish({ events: [event(1)] }), bus.publish({ events: [event(2)] }), bus.publish({ events: [event(3)] })])
    expect(batches).toEqual([3])
  })

  it('flushes what is queued on close and refuses later writes', async () => {
    const { store, batches } = recordingStore()
    const bus = new EventBus()
    const writer = new BatchWriter(store, bus, silentLogger, createMetrics(), { flushIntervalMs: 60_000 })
    const pending = bus.publish({ events: [event(1), event(2)] })
    await writer.close()
    await pending
    expect(batches).toEqual([2])
    await expect(bus.publish({ events: [event(3)] })).rejects.toThrow(/closed/)
  })

  it('rejects the publishers of a failed transaction and keeps writing later ones', async () => {
    const { store } = recordingStore()
    const bus = new EventBus()
    new BatchWriter(store, bus, silentLogger, createMetrics(), { flushIntervalMs: 1 })
    await expect(bus.publish({ events: [{ ...event(1), type: 'fatal' as 'normal' }] })).rejects.toThrow()
    await bus.publish({ events: [event(2)] })
    expect((await store.timeline({}, 10)).items.map((item) => item.id)).toEqual(['e2'])
  })
})

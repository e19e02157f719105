import type { EventItem } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import { EventBus } from '../bus.ts'
import { silentLogger } from '../log.ts'
import { createMetrics } from '../metrics.ts'
import type { AlertNotice } from '../sinks/types.ts'
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

  it('writes what a commit listener publishes during the last flush on close (alert notices of the final events)', async () => {
    const { store } = recordingStore()
    const bus = new EventBus()
    const notices: Array<Promise<void>> = []
    const notice = { rule: 'r', sink: 'pager' } as AlertNotice
    const writer = new BatchWriter(store, bus, silentLogger, createMetrics(), {
      flushIntervalMs: 10_000,
      onCommitted: (stored) => {
        if (stored.some(({ item }) => item.id === 'e1')) notices.push(bus.publish({ outbox: [{ sink: 'pager', alert: notice }] }))
      },
    })
    const published = bus.publish({ events: [event(1)] })
    await writer.close()
    await published
    expect(notices).toHaveLength(1)
    await expect(notices[0]).resolves.toBeUndefined()
    expect((await store.outboxCounts()).get('pager')).toBe(1)
    await expect(bus.publish({ events: [event(2)] })).rejects.toThrow('writer is closed')
  })

  it('rejects the publishers of a failed transaction and keeps writing later ones', async () => {
    const { store } = recordingStore()
    const bus = new EventBus()
    new BatchWriter(store, bus, silentLogger, createMetrics(), { flushIntervalMs: 1 })
    await expect(bus.publish({ events: [{ ...event(1), type: 'fatal' as 'normal' }] })).rejects.toThrow()
    await bus.publish({ events: [event(2)] })
    expect((await store.timeline({}, 10)).items.map((item) => item.id)).toEqual(['e2'])
  })

  it('adds an outbox entry per routed sink and event to the same batch, then nudges those sinks', async () => {
    const store = new SqliteStore(':memory:')
    const bus = new EventBus()
    const written: WriteBatch[] = []
    const write = store.writeBatch.bind(store)
    store.writeBatch = (batch: WriteBatch) => {
      written.push(batch)
      return write(batch)
    }
    const routeEvent = (e: IngestEvent) => (e.id === 'e1' ? ['nats', 'hook'] : e.id === 'e2' ? ['hook'] : [])
    new BatchWriter(store, bus, silentLogger, createMetrics(), { flushIntervalMs: 20, routeEvent })
    const nudges: string[][] = []
    bus.onOutbox((sinks) => nudges.push([...sinks].sort()))
    const item: EventItem = { id: 'e0', time: '2026-11-20T08:00:00.000Z', firstTime: '2026-11-20T08:00:00.000Z', count: 1, type: 'warning', reason: 'R', message: 'm', source: 'api', component: 'test', mesh: 'm', object: { kind: 'Event', name: 'e0' } }
    const alert: AlertNotice = { rule: 'r', sink: 'chat', kind: 'first', group: 'g', count: 1, windowStart: 0, windowEnd: 1, event: item, title: 't', text: 'x' }
    // An alert notice rides along with the events published in the same flush interval.
    await Promise.all([bus.publish({ events: [event(1), event(2), event(3)] }), bus.publish({ outbox: [{ sink: 'chat', alert }] })])
    expect(written).toHaveLength(1)
    expect(written[0]!.outbox.map((entry) => ('eventId' in entry ? `${entry.sink}:${entry.eventId}` : `${entry.sink}:alert`))).toEqual(['nats:e1', 'hook:e1', 'hook:e2', 'chat:alert'])
    expect(nudges).toEqual([['chat', 'hook', 'nats']])
    expect((await store.pendingOutbox('hook', 10)).map((entry) => ('eventId' in entry ? entry.eventId : 'alert'))).toEqual(['e1', 'e2'])
  })

  it('stores an event whose routing throws, forwarded nowhere', async () => {
    const store = new SqliteStore(':memory:')
    const bus = new EventBus()
    new BatchWriter(store, bus, silentLogger, createMetrics(), { flushIntervalMs: 1, routeEvent: () => { throw new Error('bad rule') } })
    await bus.publish({ events: [event(1)] })
    expect((await store.timeline({}, 10)).total).toBe(1)
    expect(await store.outboxCounts()).toEqual(new Map())
  })

  it('stores an event whose ingestion filter throws, and settles its publisher (a filter never stalls a batch)', async () => {
    const store = new SqliteStore(':memory:')
    const bus = new EventBus()
    const keep = (e: IngestEvent) => {
      if (e.id === 'e1') throw new Error('bad filter')
      return e.id !== 'e3'
    }
    new BatchWriter(store, bus, silentLogger, createMetrics(), { flushIntervalMs: 1, keep })
    await bus.publish({ events: [event(1), event(2), event(3)] })
    expect((await store.timeline({}, 10)).items.map((item) => item.id)).toEqual(['e2', 'e1'])
  })
})

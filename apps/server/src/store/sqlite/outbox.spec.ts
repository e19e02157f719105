import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { AlertNotice } from '../../sinks/types.ts'
import { tempDir } from '../../testing/testServer.ts'
import type { IngestEvent, PendingEntry, WriteBatch } from '../types.ts'
import { PENDING_OUTBOX, SqliteStore } from './sqliteStore.ts'
import { openStore } from './threadedStore.ts'

const T0 = Date.parse('2026-11-20T08:00:00Z')

const event = (id: string, overrides: Partial<IngestEvent> = {}): IngestEvent => ({
  id,
  time: T0,
  type: 'warning',
  reason: 'BackOff',
  message: 'Back-off restarting failed container',
  source: 'kubernetes',
  component: 'kubelet',
  mesh: 'k8s-prod',
  object: { kind: 'Pod', name: 'order-1', namespace: 'shop' },
  ...overrides,
})

const batch = (parts: Partial<WriteBatch>): WriteBatch => ({ events: [], catalog: [], checkpoints: [], outbox: [], ...parts })

const alert = (rule: string): AlertNotice => ({
  rule,
  sink: 'chat',
  kind: 'first',
  group: `${rule}\u0000Pod/shop/order-1\u0000BackOff`,
  count: 1,
  windowStart: T0,
  windowEnd: T0 + 60_000,
  event: {
    id: 'k:1',
    time: new Date(T0).toISOString(),
    firstTime: new Date(T0).toISOString(),
    count: 1,
    type: 'warning',
    reason: 'BackOff',
    message: 'm',
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'k8s-prod',
    object: { kind: 'Pod', name: 'order-1', namespace: 'shop' },
  },
  title: 'BackOff on order-1',
  text: 'Back-off restarting failed container',
})

/** What a sink would be sent: event id and count, or the alert's rule. */
const summary = (entries: PendingEntry[]) =>
  entries.map((entry) => ('alert' in entry ? `alert:${entry.alert.rule}` : entry.event ? `${entry.eventId}#${entry.event.count}` : `${entry.eventId}#purged`))

const { dir, cleanup } = tempDir()
afterAll(cleanup)

describe('outbox', () => {
  it('is written in the same transaction as the events: a failing batch leaves neither', async () => {
    const store = new SqliteStore(':memory:')
    await store.writeBatch(batch({ events: [event('k:1')], outbox: [{ sink: 'nats', eventId: 'k:1' }, { sink: 'chat', alert: alert('r1') }] }))
    expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:1#1'])
    expect(summary(await store.pendingOutbox('chat', 10))).toEqual(['alert:r1'])

    // The second event breaks a CHECK constraint (a type no source may send): the whole
    // transaction rolls back, outbox included.
    const broken = batch({
      events: [event('k:2'), event('k:3', { type: 'fatal' as unknown as IngestEvent['type'] })],
      outbox: [{ sink: 'nats', eventId: 'k:2' }, { sink: 'chat', alert: alert('r2') }],
    })
    await expect(store.writeBatch(broken)).rejects.toThrow(/CHECK/)
    expect((await store.timeline({}, 10)).items.map(({ id }) => id)).toEqual(['k:1'])
    expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:1#1'])
    expect(summary(await store.pendingOutbox('chat', 10))).toEqual(['alert:r1'])
    expect(await store.outboxCounts()).toEqual(new Map([['chat', 1], ['nats', 1]]))
    await store.close()
  })

  it('survives reopening the database, written and deleted through the writer thread', async () => {
    const path = join(dir, 'outbox.db')
    const first = await openStore(path)
    await first.writeBatch(batch({ events: [event('k:1'), event('k:2', { time: T0 + 1 })], outbox: [{ sink: 'nats', eventId: 'k:1' }, { sink: 'nats', eventId: 'k:2' }] }))
    await first.writeBatch(batch({ outbox: [{ sink: 'chat', alert: alert('r1') }] }))
    const [delivered] = await first.pendingOutbox('nats', 1)
    await first.deleteOutbox('nats', [delivered!.seq])
    await first.close()

    const second = await openStore(path)
    expect(summary(await second.pendingOutbox('nats', 10))).toEqual(['k:2#1'])
    const [notice] = await second.pendingOutbox('chat', 10)
    expect(notice).toMatchObject({ alert: { rule: 'r1', event: { id: 'k:1' }, title: 'BackOff on order-1' } })
    // Numbering goes on after the entries that are still there.
    await second.writeBatch(batch({ events: [event('k:3', { time: T0 + 2 })], outbox: [{ sink: 'nats', eventId: 'k:3' }] }))
    const pending = await second.pendingOutbox('nats', 10)
    expect(summary(pending)).toEqual(['k:2#1', 'k:3#1'])
    expect(pending[1]!.seq).toBeGreaterThan(pending[0]!.seq)
    await second.close()
  })

  it('forwards a retry that changes nothing only once, and an update in its current state', async () => {
    const store = new SqliteStore(':memory:')
    const route = (ids: string[]) => ids.map((eventId) => ({ sink: 'nats', eventId }))
    await store.writeBatch(batch({ events: [event('k:1', { count: 1 })], outbox: route(['k:1']) }))
    const [before] = await store.pendingOutbox('nats', 10)
    // The same event again (a watch re-list): stored as is, so nothing more to forward.
    await store.writeBatch(batch({ events: [event('k:1', { count: 1 })], outbox: route(['k:1']) }))
    expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:1#1'])

    // A count bump while pending, after the sink read the entry: one entry, at a new seq, newest state.
    await store.writeBatch(batch({ events: [event('k:2', { time: T0 + 1 })], outbox: route(['k:2']) }))
    await store.writeBatch(batch({ events: [event('k:1', { count: 4, time: T0 + 5000 })], outbox: route(['k:1']) }))
    const after = await store.pendingOutbox('nats', 10)
    expect(summary(after)).toEqual(['k:2#1', 'k:1#4'])
    // Deleting what the sink was sent (count 1) keeps the newer state for delivery.
    await store.deleteOutbox('nats', [before!.seq])
    expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:2#1', 'k:1#4'])
    await store.close()
  })

  it('reads an entry whose event retention purged as purged, and discards old entries of a sink', async () => {
    const store = new SqliteStore(':memory:')
    await store.writeBatch(
      batch({
        events: [event('old', { time: T0 - 86_400_000 }), event('new')],
        outbox: [{ sink: 'nats', eventId: 'old' }, { sink: 'nats', eventId: 'new' }, { sink: 'gone', eventId: 'new' }],
      }),
    )
    expect(await store.purgeBefore(T0 - 1000, 100)).toBe(1)
    const pending = await store.pendingOutbox('nats', 10)
    expect(summary(pending)).toEqual(['old#purged', 'new#1'])
    expect(pending[0]).toEqual({ seq: pending[0]!.seq, eventId: 'old', event: undefined })
    expect(await store.discardOutbox('gone', Date.now() - 60_000)).toBe(0)
    expect(await store.discardOutbox('gone', Date.now() + 1)).toBe(1)
    expect(await store.outboxCounts()).toEqual(new Map([['nats', 2]]))
    await store.close()
  })

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

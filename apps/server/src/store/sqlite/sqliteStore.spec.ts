import { describe, expect, it } from 'vitest'
import type { IngestEvent, TimelineFilter, TimelinePosition, TimelineResult, WriteBatch } from '../types.ts'
import { SqliteStore } from './sqliteStore.ts'
import type { SearchTuning } from './sqliteStore.ts'

const T0 = Date.parse('2026-11-20T08:00:00Z')

function podEvent(overrides: Partial<IngestEvent> & { id: string }): IngestEvent {
  return {
    time: T0,
    type: 'normal',
    reason: 'Started',
    message: 'Started container app',
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'k8s-prod',
    object: { kind: 'Pod', name: 'order-7d9f-x2k4q', namespace: 'shop' },
    application: 'order-service',
    instance: 'order-7d9f-x2k4q',
    ip: '10.1.2.3',
    ...overrides,
  }
}

const batch = (parts: Partial<WriteBatch>): WriteBatch => ({ events: [], catalog: [], checkpoints: [], outbox: [], ...parts })
const ids = async (store: SqliteStore, filter: Parameters<SqliteStore['timeline']>[0]) => (await store.timeline(filter, 200)).items.map((item) => item.id)

describe('SqliteStore upsert', () => {
  it('takes an explicit count as is and moves the event to its new time', async () => {
    const store = new SqliteStore(':memory:')
    await store.writeBatch(batch({ events: [podEvent({ id: 'k:1', count: 1, reason: 'BackOff', type: 'warning' }), podEvent({ id: 'k:2', time: T0 + 1000 })] }))
    expect(await ids(store, { mesh: 'k8s-prod' })).toEqual(['k:2', 'k:1'])
    const stored = await store.writeBatch(batch({ events: [podEvent({ id: 'k:1', count: 5, time: T0 + 60_000, firstTime: T0, reason: 'BackOff', type: 'warning' })] }))
    expect(stored).toHaveLength(1)
    expect(stored[0]!.created).toBe(false)
    expect(await ids(store, { mesh: 'k8s-prod' })).toEqual(['k:1', 'k:2'])
    expect(await ids(store, { application: 'order-service', mesh: 'k8s-prod' })).toEqual(['k:1', 'k:2'])
    const [item] = (await store.timeline({ instance: 'order-7d9f-x2k4q' }, 1)).items
    expect(item).toMatchObject({ count: 5, time: '2026-11-20T08:01:00.000Z', firstTime: '2026-11-20T08:00:00.000Z' })
    await store.close()
  })

  it('ignores a re-list of what it has and an older copy of an event', async () => {
    const store = new SqliteStore(':memory:')
    const event = podEvent({ id: 'k:1', count: 3, time: T0 + 5000, firstTime: T0 - 1000 })
    const [first] = await store.writeBatch(batch({ events: [event] }))
    expect(await store.writeBatch(batch({ events: [event] }))).toEqual([])
    expect(await store.writeBatch(batch({ events: [{ ...event, count: 2, time: T0 }] }))).toEqual([])
    const page = await store.timeline({}, 10)
    expect(page.items).toHaveLength(1)
    expect(page.items[0]).toMatchObject({ count: 3, time: new Date(T0 + 5000).toISOString() })
    expect(first!.seq).toBeGreaterThan(0)
    await store.close()
  })

  it('grows the sequence with every insert and update, across reopen', async () => {
    const store = new SqliteStore(':memory:')
    const a = await store.writeBatch(batch({ events: [podEvent({ id: 'a' }), podEvent({ id: 'b' })] }))
    const b = await store.writeBatch(batch({ events: [podEvent({ id: 'a', count: 2, time: T0 + 1 })] }))
    expect([...a, ...b].map((stored) => stored.seq)).toEqual([1, 2, 3])
    // Updates are not new events; a re-post into another mesh moves the count with it.
    await store.writeBatch(batch({ events: [podEvent({ id: 'b', mesh: 'k8s-test', time: T0 + 2 })] }))
    expect((await store.meshes()).map((mesh) => [mesh.name, mesh.counts.events])).toEqual([
      ['k8s-prod', 1],
      ['k8s-test', 1],
    ])
    await store.close()
  })

  it('stores checkpoints in the same transaction as the events', async () => {
    const store = new SqliteStore(':memory:')
    const bad = batch({ events: [podEvent({ id: 'x' }), { ...podEvent({ id: 'y' }), type: 'fatal' as 'normal' }], checkpoints: [{ key: 'k8s:events', value: '42' }] })
    await expect(store.writeBatch(bad)).rejects.toThrow()
    expect(await store.readCheckpoint('k8s:events')).toBeUndefined()
    expect((await store.timeline({}, 10)).items).toEqual([])
    await store.writeBatch(batch({ events: [podEvent({ id: 'x' })], checkpoints: [{ key: 'k8s:events', value: '43' }] }))
    expect(await store.readCheckpoint('k8s:events')).toBe('43')
    await store.close()
  })

  it('deletes a checkpoint written as null and reads checkpoints by key prefix', async () => {
    const store = new SqliteStore(':memory:')
    const checkpoints = [
      { key: 'zk:node:/dubbo/a', value: '1' },
      { key: 'zk:node:/dubbo/b', value: '2' },
      { key: 'zk:nodeless', value: 'other' },
      { key: 'zk2:node:/dubbo/a', value: 'other mesh' },
    ]
    await store.writeBatch(batch({ checkpoints }))
    expect(await store.readCheckpoints('zk:node:')).toEqual(new Map([['/dubbo/a', '1'], ['/dubbo/b', '2']]))
    await store.writeBatch(batch({ checkpoints: [{ key: 'zk:node:/dubbo/a', value: null }] }))
    expect(await store.readCheckpoints('zk:node:')).toEqual(new Map([['/dubbo/b', '2']]))
    expect(await store.readCheckpoint('zk:node:/dubbo/a')).toBeUndefined()
    await store.close()
  })
})

describe('SqliteStore correlation', () => {
  it('shows Kubernetes pod events in the registry application whose instance has the pod IP', async () => {
    const store = new SqliteStore(':memory:')
    await store.writeBatch(
      batch({
        catalog: [
          { op: 'mesh', name: 'zk-prod', kind: 'zookeeper', address: 'zookeeper://zk:2181' },
          { op: 'instance', instance: { mesh: 'zk-prod', name: '10.1.2.3:20880', ip: '10.1.2.3', port: 20880, application: 'orders', registered: true, source: 'zookeeper' } },
          { op: 'service-instance', mesh: 'zk-prod', service: 'org.example.OrderService', instance: '10.1.2.3:20880', side: 'provider', application: 'orders' },
        ],
      }),
    )
    await store.writeBatch(batch({ events: [podEvent({ id: 'k:pod', application: 'order-service' })] }))
    expect(await ids(store, { mesh: 'zk-prod', application: 'orders' })).toEqual(['k:pod'])
    expect(await ids(store, { mesh: 'zk-prod', instance: '10.1.2.3:20880' })).toEqual(['k:pod'])
    expect(await ids(store, { mesh: 'zk-prod', service: 'org.example.OrderService' })).toEqual(['k:pod'])
    expect(await ids(store, { mesh: 'k8s-prod', application: 'order-service' })).toEqual(['k:pod'])
    // The every-mesh view lists it once although three meshes' views hold it.
    expect(await ids(store, { ip: '10.1.2.3' })).toEqual(['k:pod'])
    await store.close()
  })

  it('links pod events stored before the registry instance appeared at their IP', async () => {
    const store = new SqliteStore(':memory:')
    await store.writeBatch(batch({ events: [podEvent({ id: 'k:early', ip: '10.1.2.3', time: T0 }), podEvent({ id: 'k:other-ip', ip: '10.9.9.9', time: T0 + 1 })] }))
    expect(await ids(store, { mesh: 'zk-prod', application: 'orders' })).toEqual([])
    // A registry source reports the instance...
    await store.writeBatch(
      batch({ catalog: [{ op: 'instance', instance: { mesh: 'zk-prod', name: '10.1.2.3:20880', ip: '10.1.2.3', application: 'orders', registered: true, source: 'zookeeper' } }] }),
    )
    expect(await ids(store, { mesh: 'zk-prod', application: 'orders' })).toEqual(['k:early'])
    expect(await ids(store, { mesh: 'zk-prod', instance: '10.1.2.3:20880' })).toEqual(['k:early'])
    // ...or an event names one (as posted events do).
    await store.writeBatch(
      batch({ events: [{ ...podEvent({ id: 'api:registered', time: T0 + 2 }), source: 'api', mesh: 'nacos', object: { kind: 'Instance', name: '10.9.9.9:8080' }, instance: '10.9.9.9:8080', ip: '10.9.9.9', application: 'billing' }] }),
    )
    expect(await ids(store, { mesh: 'nacos', application: 'billing' })).toEqual(['api:registered', 'k:other-ip'])
    // The added views are recorded with the event, so retention removes them too.
    expect(await store.purgeBefore(T0 + 10, 10)).toBe(3)
    expect(store.database.prepare('SELECT count(*) FROM event_links').pluck().get()).toBe(0)
    await store.close()
  })

  it('shows pod events in another mesh application named by the pod label, but not other sources', async () => {
    const store = new SqliteStore(':memory:')
    await store.writeBatch(batch({ catalog: [{ op: 'application', mesh: 'nacos-test', name: 'order-service' }] }))
    await store.writeBatch(
      batch({
        events: [
          podEvent({ id: 'k:labelled', ip: '10.9.9.9' }),
          { ...podEvent({ id: 'api:pod', ip: '10.9.9.9' }), source: 'api', mesh: 'elsewhere' },
        ],
      }),
    )
    expect(await ids(store, { mesh: 'nacos-test', application: 'order-service' })).toEqual(['k:labelled'])
    expect(await ids(store, { application: 'order-service' })).toEqual(['k:labelled', 'api:pod'].sort().reverse())
    await store.close()
  })
})

describe('SqliteStore retention', () => {
  it('purges events older than the cutoff in batches, with their links', async () => {
    const store = new SqliteStore(':memory:')
    const events = Array.from({ length: 25 }, (_, i) => podEvent({ id: `e${String(i).padStart(2, '0')}`, time: T0 + i * 1000 }))
    await store.writeBatch(batch({ events }))
    expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(5)
    expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(5)
    expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(2)
    expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(0)
    const left = await store.timeline({ application: 'order-service' }, 100)
    expect(left.total).toBe(13)
    expect(left.items.at(-1)!.id).toBe('e12')
    const links = store.database.prepare("SELECT count(*) FROM event_links WHERE event_id < 'e12'").pluck().get()
    expect(links).toBe(0)
    const fts = await store.timeline({ q: 'started' }, 100)
    expect(fts.total).toBe(13)
    expect((await store.meshes()).map((mesh) => [mesh.name, mesh.counts.events])).toEqual([['k8s-prod', 13]])
    await store.close()
  })
})

describe('SqliteStore catalog', () => {
  it('keeps a gone instance listed but leaves it out of counts, details and IP correlation', async () => {
    const store = new SqliteStore(':memory:')
    const instance = (name: string, ip: string) => ({ op: 'instance' as const, instance: { mesh: 'zk', name, ip, application: 'orders', registered: true, source: 'zookeeper' } })
    await store.writeBatch(batch({ catalog: [{ op: 'mesh', name: 'zk', kind: 'zookeeper', address: 'zookeeper://zk:2181' }, instance('10.0.0.1:20880', '10.0.0.1'), instance('10.0.0.2:20880', '10.0.0.2')] }))
    await store.writeBatch(batch({ catalog: [{ op: 'instance-gone', mesh: 'zk', name: '10.0.0.1:20880' }] }))

    expect((await store.applications({ mesh: 'zk', limit: 10 }, T0)).items[0]).toMatchObject({ name: 'orders', instanceCount: 1 })
    expect((await store.application('orders', 'zk'))!.instances.map((i) => i.name)).toEqual(['10.0.0.2:20880'])
    expect((await store.instances({ mesh: 'zk', limit: 10 })).items.map((i) => [i.name, i.registered])).toEqual([
      ['10.0.0.1:20880', false],
      ['10.0.0.2:20880', true],
    ])
    expect((await store.meshes())[0]!.counts.instances).toBe(1)
    // A pod that now has the gone instance's IP is not that instance.
    await store.writeBatch(batch({ events: [podEvent({ id: 'k:reused-ip', ip: '10.0.0.1', application: 'other' })] }))
    expect(await ids(store, { mesh: 'zk', instance: '10.0.0.1:20880' })).toEqual([])
    // Reported again: present again.
    await store.writeBatch(batch({ catalog: [instance('10.0.0.1:20880', '10.0.0.1')] }))
    expect((await store.applications({ mesh: 'zk', limit: 10 }, T0)).items[0]!.instanceCount).toBe(2)
    await store.close()
  })
})

describe('SqliteStore search combined with other filters', () => {
  // 600 events over two services and two meshes; words spread so that a word is common overall
  // but rare in one service ("zebra" is in svc-b only, once every 50 events).
  const WORDS = ['alpha', 'timeout', 'apple', 'connection', 'refused', '连接超时']
  const events: IngestEvent[] = Array.from({ length: 600 }, (_, i) => ({
    id: `e${String(i).padStart(4, '0')}`,
    // Several events share a millisecond, so the (time, id) tie-break is exercised.
    time: T0 + Math.floor(i / 3) * 1000,
    type: i % 4 === 0 ? 'warning' : 'normal',
    reason: i % 2 === 0 ? 'DeployFailed' : 'ConfigChanged',
    message: `${WORDS[i % WORDS.length]} ${WORDS[Math.floor(i / 6) % WORDS.length]}${i % 100 === 1 ? ' zebra' : ''} request ${i}`,
    source: 'api',
    component: 'ci',
    mesh: i % 5 === 0 ? 'other' : 'api',
    object: { kind: 'Service', name: `svc-${i % 2 === 0 ? 'a' : 'b'}`, namespace: i % 3 === 0 ? 'prod' : 'dev' },
    service: `svc-${i % 2 === 0 ? 'a' : 'b'}`,
  }))
  const expected = (filter: TimelineFilter) =>
    events
      .filter((event) => {
        const words = `${event.reason} ${event.message}`.toLowerCase().split(/[^\p{L}\p{N}]+/u)
        const matches = filter.q!.toLowerCase().split(/\s+/).every((word) => words.some((token) => token.startsWith(word)))
        return (
          matches &&
          (filter.service === undefined || event.service === filter.service) &&
          (filter.mesh === undefined || event.mesh === filter.mesh) &&
          (filter.type === undefined || event.type === filter.type) &&
          (filter.namespace === undefined || event.object.namespace === filter.namespace) &&
          (filter.since === undefined || event.time >= filter.since) &&
          (filter.until === undefined || event.time < filter.until)
        )
      })
      .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1))
      .map((event) => event.id)
  const filters: TimelineFilter[] = [
    { q: 'timeout' },
    { q: 'a', service: 'svc-a' },
    { q: 'zebra', service: 'svc-b', mesh: 'api' },
    { q: 'zebra', service: 'svc-a' },
    { q: 'conn refused', mesh: 'api', type: 'normal' },
    { q: '连接超时', since: T0 + 50_000, until: T0 + 150_000 },
    { q: 'req', mesh: 'other', namespace: 'prod' },
  ]
  // Each tuning forces one plan for every search here; the small scan budget makes pages short.
  const tunings: Array<[string, Partial<SearchTuning>]> = [
    ['FTS-driven', { searchFirstMax: 1_000_000 }],
    ['index-driven with the FTS set', { searchFirstMax: 0, setMax: 1_000_000, scanBudget: { set: 37, probe: 37 } }],
    ['index-driven with FTS probes', { searchFirstMax: 0, setMax: 0, scanBudget: { set: 37, probe: 37 } }],
  ]

  it.each(tunings)('%s: following the cursors yields every match once, newest first', async (_name, search) => {
    const store = new SqliteStore(':memory:', { search })
    await store.writeBatch(batch({ events }))
    for (const filter of filters) {
      const seen: string[] = []
      let after: TimelinePosition | undefined
      let first: TimelineResult | undefined
      for (let pages = 0; pages < 1000; pages++) {
        const page = await store.timeline(filter, 7, after)
        first ??= page
        expect(page.items.length).toBeLessThanOrEqual(7)
        seen.push(...page.items.map((item) => item.id))
        if (!page.next) break
        after = page.next
      }
      const want = expected(filter)
      // Every filter matches something but the one that is empty by construction.
      expect(want.length === 0, JSON.stringify(filter)).toBe(filter.q === 'zebra' && filter.service === 'svc-a')
      expect(seen, JSON.stringify(filter)).toEqual(want)
      // Exact when the count saw everything; otherwise a lower bound, flagged.
      if (first!.totalCapped) expect(first!.total).toBeLessThanOrEqual(want.length)
      else expect(first!.total, JSON.stringify(filter)).toBe(want.length)
    }
    await store.close()
  })
})

/**
 * One conformance suite for every `EventStore`: what the API relies on (upsert and count rules,
 * the store sequence, checkpoints and outbox in the write transaction, correlation, retention,
 * catalog, keyset paging exactly once, search, and the stream filter selecting what the SQL
 * selects; reads by id, the histogram and facets, the ingestion activity record, pod-to-IP
 * correlation). `storeConformance.spec.ts` runs it once per engine; an engine passes it or it does not
 * ship. Tests assert through the interface only, except `linkRows`, a storage check the harness
 * answers for its engine.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AlertNotice } from '../sinks/types.ts'
import { streamFilter } from '../services/streamFilter.ts'
import { encodeCursor } from './cursor.ts'
import type { EventStore, IngestEvent, PendingEntry, StoredEvent, TimelineFilter, WriteBatch } from './types.ts'

export interface StoreHarness {
  /**
   * Opens a store on this test's database; opening again opens the same database (a restart).
   * `histogramRowBudget` lowers the rows a row-filtered histogram reads, to reach the cap on little data.
   */
  open(options?: { histogramRowBudget?: number }): Promise<EventStore>
  /** Rows of the correlation link table: retention must remove an event's links with it. */
  linkRows(): Promise<number>
  /** Pods of the pod-to-IP history, oldest interval first: retention must forget ended ones. */
  podIntervals(): Promise<string[]>
  /** Closes what `open` opened and drops the test's database. */
  dispose(): Promise<void>
}

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

const warning = (id: string, overrides: Partial<IngestEvent> = {}): IngestEvent => ({
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

/** Every page of a timeline, following `next` with `limit` per page. */
async function walk(store: EventStore, filter: TimelineFilter, limit = 200) {
  const ids: string[] = []
  let after
  let total = 0
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.timeline(filter, limit, after)
    if (pages === 0) total = page.total
    ids.push(...page.items.map((item) => item.id))
    if (!page.next) return { ids, total }
    after = page.next
  }
  throw new Error('paging did not end')
}

const ids = async (store: EventStore, filter: TimelineFilter) => (await store.timeline(filter, 200)).items.map((item) => item.id)

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

/** Registers the conformance tests for one engine; `harness` makes a fresh database per test. */
export function describeStoreConformance(createHarness: () => Promise<StoreHarness>): void {
  let harness: StoreHarness
  let store: EventStore
  beforeEach(async () => {
    harness = await createHarness()
    store = await harness.open()
  })
  afterEach(async () => {
    await harness?.dispose()
  })

  describe('upsert', () => {
    it('takes an explicit count as is and moves the event to its new time', async () => {
      await store.writeBatch(batch({ events: [podEvent({ id: 'k:1', count: 1, reason: 'BackOff', type: 'warning' }), podEvent({ id: 'k:2', time: T0 + 1000 })] }))
      expect(await ids(store, { mesh: 'k8s-prod' })).toEqual(['k:2', 'k:1'])
      const stored = await store.writeBatch(batch({ events: [podEvent({ id: 'k:1', count: 5, time: T0 + 60_000, firstTime: T0, reason: 'BackOff', type: 'warning' })] }))
      expect(stored).toHaveLength(1)
      expect(stored[0]!.created).toBe(false)
      expect(await ids(store, { mesh: 'k8s-prod' })).toEqual(['k:1', 'k:2'])
      expect(await ids(store, { application: 'order-service', mesh: 'k8s-prod' })).toEqual(['k:1', 'k:2'])
      // The links moved with it: the view filtered by type finds it at its new time only.
      expect(await ids(store, { application: 'order-service', type: 'warning', until: T0 + 1 })).toEqual([])
      expect(await ids(store, { application: 'order-service', type: 'warning' })).toEqual(['k:1'])
      const [item] = (await store.timeline({ instance: 'order-7d9f-x2k4q' }, 1)).items
      expect(item).toMatchObject({ count: 5, time: '2026-11-20T08:01:00.000Z', firstTime: '2026-11-20T08:00:00.000Z' })
    })

    it('ignores a re-list of what it has and an older copy of an event', async () => {
      const event = podEvent({ id: 'k:1', count: 3, time: T0 + 5000, firstTime: T0 - 1000 })
      const [first] = await store.writeBatch(batch({ events: [event] }))
      expect(await store.writeBatch(batch({ events: [event] }))).toEqual([])
      expect(await store.writeBatch(batch({ events: [{ ...event, count: 2, time: T0 }] }))).toEqual([])
      const page = await store.timeline({}, 10)
      expect(page.items).toHaveLength(1)
      expect(page.items[0]).toMatchObject({ count: 3, time: new Date(T0 + 5000).toISOString() })
      expect(first!.seq).toBeGreaterThan(0)
    })

    it('counts a repeat without a count as one more occurrence, the same id twice in one batch too', async () => {
      const api = (time: number): IngestEvent => ({ ...podEvent({ id: 'api:1', time }), source: 'api', mesh: 'api' })
      const stored = await store.writeBatch(batch({ events: [api(T0), api(T0 + 1000), api(T0 + 1000)] }))
      expect(stored.map(({ created, item }) => [created, item.count])).toEqual([
        [true, 1],
        [false, 2],
      ])
      expect(stored[1]!.seq).toBeGreaterThan(stored[0]!.seq)
      expect((await store.timeline({ mesh: 'api' }, 10)).items.map(({ id, count }) => [id, count])).toEqual([['api:1', 2]])
      expect((await store.meshes()).find(({ name }) => name === 'api')!.counts.events).toBe(1)
    })

    it('files an update that changes only the type or source under the new one in every view', async () => {
      const api = (type: IngestEvent['type']): IngestEvent => ({ ...podEvent({ id: 'api:t', time: T0, type }), source: 'api', mesh: 'api', application: 'x' })
      await store.writeBatch(batch({ events: [api('normal')] }))
      await store.writeBatch(batch({ events: [api('warning')] }))
      expect(await ids(store, { application: 'x', type: 'warning' })).toEqual(['api:t'])
      expect(await ids(store, { application: 'x', type: 'normal' })).toEqual([])
      expect((await store.timeline({ application: 'x', type: 'normal' }, 10)).total).toBe(0)
      await store.writeBatch(batch({ events: [{ ...api('warning'), source: 'demo' }] }))
      expect(await ids(store, { application: 'x', sources: ['api'] })).toEqual([])
      expect(await ids(store, { application: 'x', sources: ['demo'] })).toEqual(['api:t'])
    })

    it('grows the sequence with every insert and update, across reopen', async () => {
      const a = await store.writeBatch(batch({ events: [podEvent({ id: 'a' }), podEvent({ id: 'b' })] }))
      const b = await store.writeBatch(batch({ events: [podEvent({ id: 'a', count: 2, time: T0 + 1 })] }))
      const seqs = [...a, ...b].map((stored) => stored.seq)
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      expect(new Set(seqs).size).toBe(3)
      // Updates are not new events; a re-post into another mesh moves the count with it.
      await store.writeBatch(batch({ events: [podEvent({ id: 'b', mesh: 'k8s-test', time: T0 + 2 })] }))
      expect((await store.meshes()).map((mesh) => [mesh.name, mesh.counts.events])).toEqual([
        ['k8s-prod', 1],
        ['k8s-test', 1],
      ])
      const after = (await store.eventsAfter(seqs[2]!, 10)).map(({ item }) => item.id)
      expect(after).toEqual(['b'])
      await store.close()
      const reopened = await harness.open()
      const [c] = await reopened.writeBatch(batch({ events: [podEvent({ id: 'c', time: T0 + 3 })] }))
      expect(c!.seq).toBeGreaterThan(Math.max(...seqs))
      const streamed = await reopened.eventsAfter(0, 10)
      expect(streamed.map(({ item }) => item.id)).toEqual(['a', 'b', 'c'])
      // Views come back as the writer linked them, so a live stream after a restart filters the same.
      expect(streamed[0]!.views).toContainEqual(['k8s-prod', 'a', 'order-service'])
      expect(streamed[0]!.views).toContainEqual(['', 'p', '10.1.2.3'])
    })

    it('stores checkpoints in the same transaction as the events', async () => {
      const bad = batch({ events: [podEvent({ id: 'x' }), { ...podEvent({ id: 'y' }), type: 'fatal' as 'normal' }], checkpoints: [{ key: 'k8s:events', value: '42' }] })
      await expect(store.writeBatch(bad)).rejects.toThrow()
      expect(await store.readCheckpoint('k8s:events')).toBeUndefined()
      expect((await store.timeline({}, 10)).items).toEqual([])
      await store.writeBatch(batch({ events: [podEvent({ id: 'x' })], checkpoints: [{ key: 'k8s:events', value: '43' }] }))
      expect(await store.readCheckpoint('k8s:events')).toBe('43')
      // The failed batch left nothing behind in the catalog either.
      expect((await store.meshes()).map(({ name, counts }) => [name, counts.events])).toEqual([['k8s-prod', 1]])
    })

    it('deletes a checkpoint written as null and reads checkpoints by key prefix', async () => {
      const checkpoints = [
        { key: 'zk:node:/dubbo/a', value: '1' },
        { key: 'zk:node:/dubbo/b', value: '2' },
        { key: 'zk:nodeless', value: 'other' },
        { key: 'zk2:node:/dubbo/a', value: 'other mesh' },
        { key: 'zk:node:/dubbo/ü', value: 'non-ASCII' },
      ]
      await store.writeBatch(batch({ checkpoints }))
      expect(await store.readCheckpoints('zk:node:')).toEqual(new Map([['/dubbo/a', '1'], ['/dubbo/b', '2'], ['/dubbo/ü', 'non-ASCII']]))
      await store.writeBatch(batch({ checkpoints: [{ key: 'zk:node:/dubbo/a', value: null }] }))
      expect(await store.readCheckpoints('zk:node:')).toEqual(new Map([['/dubbo/b', '2'], ['/dubbo/ü', 'non-ASCII']]))
      expect(await store.readCheckpoint('zk:node:/dubbo/a')).toBeUndefined()
    })
  })

  describe('correlation', () => {
    it('shows Kubernetes pod events in the registry application whose instance has the pod IP', async () => {
      await store.writeBatch(
        batch({
          catalog: [
            { op: 'mesh', name: 'zk-prod', kind: 'zookeeper', address: 'zookeeper://zk:2181' },
            { op: 'instance', instance: { mesh: 'zk-prod', name: '10.1.2.3:20880', ip: '10.1.2.3', port: 20880, application: 'orders', registered: true, source: 'zookeeper' } },
            { op: 'service-instance', mesh: 'zk-prod', service: 'org.example.OrderService', instance: '10.1.2.3:20880', side: 'provider', application: 'orders' },
          ],
        }),
      )
      const [stored] = await store.writeBatch(batch({ events: [podEvent({ id: 'k:pod', application: 'order-service' })] }))
      expect(stored!.views).toContainEqual(['zk-prod', 's', 'org.example.OrderService'])
      expect(await ids(store, { mesh: 'zk-prod', application: 'orders' })).toEqual(['k:pod'])
      expect(await ids(store, { mesh: 'zk-prod', instance: '10.1.2.3:20880' })).toEqual(['k:pod'])
      expect(await ids(store, { mesh: 'zk-prod', service: 'org.example.OrderService' })).toEqual(['k:pod'])
      expect(await ids(store, { mesh: 'k8s-prod', application: 'order-service' })).toEqual(['k:pod'])
      // The every-mesh view lists it once although three meshes' views hold it.
      expect(await ids(store, { ip: '10.1.2.3' })).toEqual(['k:pod'])
      expect((await store.timeline({ ip: '10.1.2.3' }, 10)).total).toBe(1)
    })

    it('links pod events stored before the registry instance appeared at their IP', async () => {
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
        batch({
          events: [
            { ...podEvent({ id: 'api:registered', time: T0 + 2 }), source: 'api', mesh: 'nacos', object: { kind: 'Instance', name: '10.9.9.9:8080' }, instance: '10.9.9.9:8080', ip: '10.9.9.9', application: 'billing' },
          ],
        }),
      )
      expect(await ids(store, { mesh: 'nacos', application: 'billing' })).toEqual(['api:registered', 'k:other-ip'])
      // The added views are recorded with the event: a live stream resuming sees them, retention removes them.
      const early = (await store.eventsAfter(0, 10)).find(({ item }) => item.id === 'k:early')!
      expect(early.views).toContainEqual(['zk-prod', 'a', 'orders'])
      expect(await store.purgeBefore(T0 + 10, 10)).toBe(3)
      expect(await harness.linkRows()).toBe(0)
    })

    it('shows pod events in another mesh application named by the pod label, but not other sources', async () => {
      await store.writeBatch(batch({ catalog: [{ op: 'application', mesh: 'nacos-test', name: 'order-service' }] }))
      await store.writeBatch(
        batch({
          events: [podEvent({ id: 'k:labelled', ip: '10.9.9.9' }), { ...podEvent({ id: 'api:pod', ip: '10.9.9.9' }), source: 'api', mesh: 'elsewhere' }],
        }),
      )
      expect(await ids(store, { mesh: 'nacos-test', application: 'order-service' })).toEqual(['k:labelled'])
      expect(await ids(store, { application: 'order-service' })).toEqual(['k:labelled', 'api:pod'].sort().reverse())
    })

    it('lists an event correlated into one entity in three meshes once with no mesh, and every read of it adds up', async () => {
      // order-service is an application in nacos-test too: its pods' events are in its view there.
      await store.writeBatch(batch({ catalog: [{ op: 'application', mesh: 'nacos-test', name: 'order-service' }] }))
      const pods = Array.from({ length: 12 }, (_, i) =>
        podEvent({ id: `k:${String(i).padStart(2, '0')}`, time: T0 + Math.floor(i / 3) * 1000, type: i % 4 === 0 ? 'warning' : 'normal', reason: i % 2 ? 'Started' : 'BackOff' }),
      )
      const posted = Array.from({ length: 5 }, (_, i): IngestEvent => ({
        id: `api:${i}`,
        time: T0 + i * 1000 + 500,
        type: 'normal',
        reason: 'Deployed',
        message: 'Deployed order-service',
        source: 'api',
        component: 'ci',
        mesh: 'nacos-test',
        object: { kind: 'Deployment', name: 'order-service', namespace: 'shop' },
        application: 'order-service',
      }))
      await store.writeBatch(batch({ events: [...pods, ...posted] }))
      // A registry instance of the application appears at the pods' IP in a third mesh: the stored
      // pod events gain its views there, after the ones they had.
      await store.writeBatch(
        batch({ catalog: [{ op: 'instance', instance: { mesh: 'zk-prod', name: '10.1.2.3:20880', ip: '10.1.2.3', port: 20880, application: 'order-service', registered: true, source: 'zookeeper' } }] }),
      )
      // A repeat moves one pod event to the newest time: its links are written again, in a new order.
      const moved = { ...pods[0]!, time: T0 + 9000, count: 2 }
      await store.writeBatch(batch({ events: [moved] }))
      const events = [moved, ...pods.slice(1), ...posted]
      const newestFirst = (list: IngestEvent[]) => [...list].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1)).map(({ id }) => id)
      const all = newestFirst(events)
      const podIds = newestFirst(events.filter(({ source }) => source === 'kubernetes'))
      const everyMesh = { application: 'order-service' }

      // Each mesh's view lists the events it holds, whether their link there is primary or not.
      expect(await ids(store, { mesh: 'k8s-prod', application: 'order-service' })).toEqual(podIds)
      expect(await ids(store, { mesh: 'zk-prod', application: 'order-service' })).toEqual(podIds)
      expect(await ids(store, { mesh: 'nacos-test', application: 'order-service' })).toEqual(all)
      expect(await ids(store, { mesh: 'nacos-test', application: 'order-service', sources: ['kubernetes'] })).toEqual(podIds)
      // With no mesh: every event once, paged exactly once, the total and offsets agreeing.
      for (const limit of [1, 4, 200]) expect(await walk(store, everyMesh, limit)).toEqual({ ids: all, total: all.length })
      const offset = await store.timelineByOffset(everyMesh, 5, 6)
      expect(offset.items.map(({ id }) => id)).toEqual(all.slice(5, 11))
      expect(offset.total).toBe(all.length)
      expect(await walk(store, { ...everyMesh, sources: ['kubernetes'] }, 5)).toEqual({ ids: podIds, total: podIds.length })
      const warnings = newestFirst(events.filter(({ type }) => type === 'warning'))
      expect(await walk(store, { ...everyMesh, type: 'warning' }, 2)).toEqual({ ids: warnings, total: warnings.length })
      expect(await walk(store, { ...everyMesh, reasons: ['BackOff'] }, 2)).toEqual({ ids: newestFirst(events.filter(({ reason }) => reason === 'BackOff')), total: 6 })
      expect(await ids(store, { ...everyMesh, q: 'deployed' })).toEqual(newestFirst(posted))
      expect(await ids(store, { ...everyMesh, since: T0 + 1000, until: T0 + 3000 })).toEqual(newestFirst(events.filter(({ time }) => time >= T0 + 1000 && time < T0 + 3000)))
      // A second entity with no mesh matches its link in any mesh (the registry instance's, in zk-prod).
      expect(await ids(store, { ...everyMesh, instance: '10.1.2.3:20880' })).toEqual(podIds)
      expect(await ids(store, { ...everyMesh, ip: '10.1.2.3', type: 'normal' })).toEqual(newestFirst(events.filter(({ source, type }) => source === 'kubernetes' && type === 'normal')))

      // Histograms (from the index alone, and reading rows), facets and the oldest match count each event once.
      const range = { since: T0, until: T0 + 10_000 }
      const histogram = (list: IngestEvent[]) => {
        const counts = Array.from({ length: 10 }, () => ({ normal: 0, warning: 0 }))
        for (const event of list) counts[Math.floor((event.time - T0) / 1000)]![event.type]++
        return { counts, capped: false }
      }
      expect(await store.histogram({ ...everyMesh, ...range }, 1000, 10)).toEqual(histogram(events))
      expect(await store.histogram({ ...everyMesh, type: 'warning', ...range }, 1000, 10)).toEqual(histogram(events.filter(({ type }) => type === 'warning')))
      expect(await store.histogram({ ...everyMesh, reasons: ['Started', 'Deployed'], ...range }, 1000, 10)).toEqual(histogram(events.filter(({ reason }) => reason !== 'BackOff')))
      expect(await store.facets(everyMesh, 'reason', 5)).toEqual({
        items: [
          { value: 'BackOff', count: 6 },
          { value: 'Started', count: 6 },
          { value: 'Deployed', count: 5 },
        ],
        capped: false,
      })
      expect(await store.facets(everyMesh, 'source', 5)).toEqual({
        items: [
          { value: 'kubernetes', count: 12 },
          { value: 'api', count: 5 },
        ],
        capped: false,
      })
      expect(await store.oldestMatch(everyMesh)).toBe(T0)
      expect(await store.oldestMatch({ ...everyMesh, reasons: ['Deployed'] })).toBe(T0 + 500)
      expect(await store.oldestMatch({ ...everyMesh, since: T0 + 8000 })).toBe(T0 + 9000)
      // The live stream matches the every-mesh view too.
      const stored = (await store.eventsAfter(0, 100)).filter(({ item }) => item.id === moved.id)
      expect(stored.at(-1)!.views).toContainEqual(['', 'a', 'order-service'])
      expect(streamFilter(everyMesh)(stored.at(-1)!)).toBe(true)
    })
  })

  describe('retention', () => {
    it('purges events older than the cutoff in batches, with their links', async () => {
      const events = Array.from({ length: 25 }, (_, i) => podEvent({ id: `e${String(i).padStart(2, '0')}`, time: T0 + i * 1000 }))
      await store.writeBatch(batch({ events }))
      const links = await harness.linkRows()
      expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(5)
      expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(5)
      expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(2)
      expect(await store.purgeBefore(T0 + 12_000, 5)).toBe(0)
      const left = await store.timeline({ application: 'order-service' }, 100)
      expect(left.total).toBe(13)
      expect(left.items.at(-1)!.id).toBe('e12')
      expect(await harness.linkRows()).toBe((links / 25) * 13)
      const fts = await store.timeline({ q: 'started' }, 100)
      expect(fts.total).toBe(13)
      expect((await store.meshes()).map((mesh) => [mesh.name, mesh.counts.events])).toEqual([['k8s-prod', 13]])
    })
  })

  describe('catalog', () => {
    it('keeps a gone instance listed but leaves it out of counts, details and IP correlation', async () => {
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
    })

    it('lists, pages and details applications, instances and services the same way', async () => {
      const catalog: WriteBatch['catalog'] = [{ op: 'mesh', name: 'zk', kind: 'zookeeper', address: 'zookeeper://zk:2181' }]
      for (const [index, app] of ['billing', 'orders', 'Payments'].entries()) {
        const name = `10.0.0.${index + 1}:20880`
        catalog.push(
          { op: 'instance', instance: { mesh: 'zk', name, ip: `10.0.0.${index + 1}`, port: 20880, application: app, registered: true, source: 'zookeeper', labels: { tier: 'backend' } } },
          { op: 'service', mesh: 'zk', name: `org.example.${app}Service`, version: '1.0.0', group: 'g' },
          { op: 'service-instance', mesh: 'zk', service: `org.example.${app}Service`, instance: name, side: 'provider', application: app },
          { op: 'service-instance', mesh: 'zk', service: 'org.example.ordersService', instance: name, side: 'consumer', application: app },
        )
      }
      catalog.push({ op: 'mesh-synced', name: 'zk', at: T0 })
      await store.writeBatch(batch({ catalog, events: [warning('w1', { mesh: 'zk', source: 'zookeeper', application: 'orders', time: T0 - 1000 })] }))

      const first = await store.applications({ mesh: 'zk', limit: 2 }, T0)
      expect(first.items.map(({ name }) => name)).toEqual(['Payments', 'billing']) // byte order, as SQLite's BINARY
      expect(first.total).toBe(3)
      const second = await store.applications({ mesh: 'zk', limit: 2, after: first.next! }, T0)
      expect(second.items).toEqual([
        { name: 'orders', mesh: 'zk', instanceCount: 1, serviceCount: 1, warningCount24h: 1, lastEventAt: new Date(T0 - 1000).toISOString() },
      ])
      expect(second.next).toBeNull()
      expect((await store.applications({ q: 'ORD', limit: 10 }, T0)).items.map(({ name }) => name)).toEqual(['orders'])
      expect((await store.applications({ q: '%', limit: 10 }, T0)).total).toBe(0)

      expect(await store.instance('10.0.0.2')).toMatchObject({ name: '10.0.0.2:20880', ip: '10.0.0.2', port: 20880, application: 'orders', labels: { tier: 'backend' }, sources: ['zookeeper'] })
      expect((await store.instances({ application: 'orders', limit: 10 })).items.map(({ name }) => name)).toEqual(['10.0.0.2:20880'])
      expect(await store.instance('nope')).toBeUndefined()

      const service = await store.service('org.example.ordersService', 'zk')
      expect(service).toMatchObject({ name: 'org.example.ordersService', version: '1.0.0', group: 'g', providers: 1, consumers: 3, applications: ['Payments', 'billing', 'orders'] })
      expect(service!.consumerInstances.map(({ name }) => name)).toEqual(['10.0.0.1:20880', '10.0.0.2:20880', '10.0.0.3:20880'])
      expect((await store.services({ mesh: 'zk', limit: 10 })).total).toBe(3)
      expect(await store.application('orders')).toMatchObject({ mesh: 'zk', services: ['org.example.ordersService'] })

      const [mesh] = await store.meshes()
      expect(mesh).toEqual({ name: 'zk', kind: 'zookeeper', address: 'zookeeper://zk:2181', lastSyncAt: T0, counts: { applications: 3, instances: 3, services: 3, events: 1 } })

      // A full listing marks what the source no longer reports as gone.
      await store.writeBatch(batch({ catalog: [{ op: 'instances-listed', mesh: 'zk', source: 'zookeeper', names: ['10.0.0.1:20880'] }] }))
      expect((await store.meshes())[0]!.counts.instances).toBe(1)
    })
  })

  describe('outbox', () => {
    it('is written in the same transaction as the events: a failing batch leaves neither', async () => {
      await store.writeBatch(batch({ events: [warning('k:1')], outbox: [{ sink: 'nats', eventId: 'k:1' }, { sink: 'chat', alert: alert('r1') }] }))
      expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:1#1'])
      expect(summary(await store.pendingOutbox('chat', 10))).toEqual(['alert:r1'])

      // The second event breaks a CHECK constraint (a type no source may send): the whole
      // transaction rolls back, outbox included.
      const broken = batch({
        events: [warning('k:2'), warning('k:3', { type: 'fatal' as unknown as IngestEvent['type'] })],
        outbox: [{ sink: 'nats', eventId: 'k:2' }, { sink: 'chat', alert: alert('r2') }],
      })
      await expect(store.writeBatch(broken)).rejects.toThrow(/check/i)
      expect((await store.timeline({}, 10)).items.map(({ id }) => id)).toEqual(['k:1'])
      expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:1#1'])
      expect(summary(await store.pendingOutbox('chat', 10))).toEqual(['alert:r1'])
      expect(await store.outboxCounts()).toEqual(new Map([['chat', 1], ['nats', 1]]))
    })

    it('survives reopening the database', async () => {
      await store.writeBatch(batch({ events: [warning('k:1'), warning('k:2', { time: T0 + 1 })], outbox: [{ sink: 'nats', eventId: 'k:1' }, { sink: 'nats', eventId: 'k:2' }] }))
      await store.writeBatch(batch({ outbox: [{ sink: 'chat', alert: alert('r1') }] }))
      const [delivered] = await store.pendingOutbox('nats', 1)
      await store.deleteOutbox('nats', [delivered!.seq])
      await store.close()

      const second = await harness.open()
      expect(summary(await second.pendingOutbox('nats', 10))).toEqual(['k:2#1'])
      const [notice] = await second.pendingOutbox('chat', 10)
      expect(notice).toMatchObject({ alert: { rule: 'r1', event: { id: 'k:1' }, title: 'BackOff on order-1' } })
      // Numbering goes on after the entries that are still there.
      await second.writeBatch(batch({ events: [warning('k:3', { time: T0 + 2 })], outbox: [{ sink: 'nats', eventId: 'k:3' }] }))
      const pending = await second.pendingOutbox('nats', 10)
      expect(summary(pending)).toEqual(['k:2#1', 'k:3#1'])
      expect(pending[1]!.seq).toBeGreaterThan(pending[0]!.seq)
    })

    it('forwards a retry that changes nothing only once, and an update in its current state', async () => {
      const route = (eventIds: string[]) => eventIds.map((eventId) => ({ sink: 'nats', eventId }))
      await store.writeBatch(batch({ events: [warning('k:1', { count: 1 })], outbox: route(['k:1']) }))
      const [before] = await store.pendingOutbox('nats', 10)
      // The same event again (a watch re-list): stored as is, so nothing more to forward.
      await store.writeBatch(batch({ events: [warning('k:1', { count: 1 })], outbox: route(['k:1']) }))
      expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:1#1'])

      // A count bump while pending, after the sink read the entry: one entry, at a new seq, newest state.
      await store.writeBatch(batch({ events: [warning('k:2', { time: T0 + 1 })], outbox: route(['k:2']) }))
      await store.writeBatch(batch({ events: [warning('k:1', { count: 4, time: T0 + 5000 })], outbox: route(['k:1']) }))
      const after = await store.pendingOutbox('nats', 10)
      expect(summary(after)).toEqual(['k:2#1', 'k:1#4'])
      // Deleting what the sink was sent (count 1) keeps the newer state for delivery.
      await store.deleteOutbox('nats', [before!.seq])
      expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['k:2#1', 'k:1#4'])
    })

    it('keeps batch order across events and alerts, one entry per event', async () => {
      await store.writeBatch(
        batch({
          events: [warning('k:1'), warning('k:2', { time: T0 + 1 })],
          outbox: [
            { sink: 'nats', eventId: 'k:1' },
            { sink: 'nats', alert: alert('r1') },
            { sink: 'nats', eventId: 'k:2' },
            { sink: 'nats', eventId: 'k:1' },
          ],
        }),
      )
      expect(summary(await store.pendingOutbox('nats', 10))).toEqual(['alert:r1', 'k:2#1', 'k:1#1'])
    })

    it('reads an entry whose event retention purged as purged, and discards old entries of a sink', async () => {
      await store.writeBatch(
        batch({
          events: [warning('old', { time: T0 - 86_400_000 }), warning('new')],
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
    })
  })

  describe('paging and search', () => {
    /** 240 events over two meshes, times repeating in runs of 7 so ids break many ties. */
    const generated = Array.from({ length: 240 }, (_, i): IngestEvent => {
      const app = ['orders', 'payments', 'shop'][i % 3]!
      return {
        id: `gen-${String((i * 37) % 240).padStart(3, '0')}`,
        time: T0 + Math.floor(i / 7) * 1000,
        type: i % 5 === 0 ? 'warning' : 'normal',
        reason: i % 5 === 0 ? 'BackOff' : i % 2 === 0 ? 'Started' : 'Pulled',
        message: i % 5 === 0 ? `Back-off restarting failed container ${app}` : i % 11 === 0 ? `服务调用失败 超时 ${app}` : `Container image for ${app} pulled`,
        source: i % 4 === 0 ? 'api' : 'kubernetes',
        component: 'kubelet',
        mesh: i % 2 === 0 ? 'mesh-a' : 'mesh-b',
        // Three namespaces and kinds (one event in 7 has no namespace, as a Node's) so a list of two selects a strict subset.
        object: {
          kind: i % 6 === 0 ? 'Deployment' : i % 7 === 0 ? 'Node' : 'Pod',
          name: `${app}-pod-${i % 4}`,
          ...(i % 7 === 0 ? {} : { namespace: i % 2 === 0 ? 'prod' : i % 3 === 0 ? 'ops' : 'staging' }),
        },
        application: app,
        instance: `${app}-pod-${i % 4}`,
        ip: `10.0.${i % 3}.${i % 4}`,
        service: `org.example.${app}.Api`,
      }
    })

    /** Filters every engine must answer alike; the stream filter must agree with each. */
    const filters: Array<[string, TimelineFilter]> = [
      ['everything', {}],
      ['mesh', { mesh: 'mesh-a' }],
      ['application, every mesh', { application: 'orders' }],
      ['application in a mesh', { mesh: 'mesh-b', application: 'shop' }],
      ['instance', { instance: 'orders-pod-1' }],
      ['IP', { mesh: 'mesh-a', ip: '10.0.1.2' }],
      ['service', { service: 'org.example.payments.Api' }],
      ['application and instance', { application: 'orders', instance: 'orders-pod-0' }],
      ['type', { type: 'warning' }],
      ['application and type', { application: 'payments', type: 'normal' }],
      ['sources', { sources: ['api'] }],
      ['application and sources', { application: 'shop', sources: ['kubernetes', 'zookeeper'] }],
      ['reasons', { reasons: ['Started', 'BackOff'] }],
      ['namespace', { namespaces: ['staging'] }],
      ['namespaces, two of three', { namespaces: ['staging', 'ops'] }],
      ['namespaces, one unknown', { namespaces: ['nowhere', 'ops'] }],
      ['kind', { kinds: ['Deployment'] }],
      ['kinds, two of three', { kinds: ['Deployment', 'Node'] }],
      ['namespaces and kinds with an application', { application: 'orders', namespaces: ['prod', 'ops'], kinds: ['Pod', 'Deployment'] }],
      ['namespaces and kinds with a mesh, type and search', { mesh: 'mesh-b', type: 'normal', namespaces: ['staging', 'ops'], kinds: ['Pod', 'Node'], q: 'pulled' }],
      ['object name', { name: 'shop-pod-3' }],
      ['since and until', { since: T0 + 5000, until: T0 + 20_000 }],
      ['application, since and until', { application: 'orders', since: T0 + 5000, until: T0 + 20_000 }],
      ['search, one word', { q: 'restarting' }],
      ['search, prefixes of two words', { q: 'back ORD' }],
      ['search, Chinese token', { q: '超时' }],
      ['search, Chinese prefix', { q: '服务' }],
      ['search with an entity', { application: 'payments', q: 'pulled' }],
      ['search, no match', { q: 'nothing-like-this' }],
      ['everything at once', { mesh: 'mesh-a', application: 'orders', type: 'warning', sources: ['kubernetes', 'api'], namespaces: ['prod'], kinds: ['Pod'], q: 'back' }],
    ]

    const expected = (filter: TimelineFilter) => {
      const pick = streamFilter(filter)
      return (all: StoredEvent[]) =>
        all
          .filter(pick)
          .map(({ item }) => item)
          .sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1))
          .map(({ id }) => id)
    }

    it.each(filters)('%s: the SQL and the stream filter select the same events, paged exactly once', async (_name, filter) => {
      await store.writeBatch(batch({ events: generated.slice(0, 120) }))
      await store.writeBatch(batch({ events: generated.slice(120) }))
      const all = await store.eventsAfter(0, 1000)
      expect(all).toHaveLength(240)
      const want = expected(filter)(all)
      const { ids: got, total } = await walk(store, filter, 7)
      expect(got).toEqual(want)
      expect(total).toBe(want.length)
      const offset = await store.timelineByOffset(filter, 3, 5)
      expect(offset.items.map(({ id }) => id)).toEqual(want.slice(3, 8))
      expect(offset.total).toBe(want.length)
      // The JSON body the API sends: the same first page, its position as an opaque cursor.
      const first = await store.timeline(filter, 7)
      const body: unknown = JSON.parse(await store.timelineBody(filter, 7))
      expect(body).toEqual({ items: first.items, nextCursor: first.next ? encodeCursor([first.next.time, first.next.id]) : null, total: first.total, totalCapped: first.totalCapped })
    })

    it('matches Chinese text by token and by prefix, and treats operators in the query as text', async () => {
      await store.writeBatch(
        batch({
          events: [
            warning('zh', { message: '服务调用失败 连接超时', time: T0 }),
            warning('ja', { message: 'コンテナの再起動 失敗', time: T0 + 1 }),
            warning('ops', { message: "it's a & b | !c (d:*) \\ 'quoted'", time: T0 + 2 }),
          ],
        }),
      )
      expect(await ids(store, { q: '连接超时' })).toEqual(['zh'])
      expect(await ids(store, { q: '服务' })).toEqual(['zh'])
      expect(await ids(store, { q: '服务调用失败' })).toEqual(['zh'])
      expect(await ids(store, { q: '失敗' })).toEqual(['ja'])
      expect(await ids(store, { q: 'コンテナ' })).toEqual(['ja'])
      expect(await ids(store, { q: "& | ! ( ) :* ' \\" })).toEqual([])
      expect(await ids(store, { q: "it's quoted" })).toEqual(['ops'])
      expect(await ids(store, { q: 'd:*' })).toEqual(['ops'])
    })
  })

  describe('reads by id', () => {
    it('reads one event, the owners of ids and the newest sequence', async () => {
      expect(await store.latestSeq()).toBe(0)
      expect(await store.event('k:1')).toBeUndefined()
      const stored = await store.writeBatch(batch({ events: [warning('k:1'), { ...warning('api:1'), source: 'api', mesh: 'posted' }] }))
      expect(await store.latestSeq()).toBe(Math.max(...stored.map(({ seq }) => seq)))
      expect(await store.event('k:1')).toEqual(stored[0]!.item)
      expect(await store.eventOrigins(['k:1', 'api:1', 'unknown'])).toEqual(
        new Map([
          ['k:1', { source: 'kubernetes', mesh: 'k8s-prod' }],
          ['api:1', { source: 'api', mesh: 'posted' }],
        ]),
      )
      expect(await store.eventOrigins([])).toEqual(new Map())
    })

    it("never lets a posted event update a source's event, nor a posted event of another mesh", async () => {
      await store.writeBatch(batch({ events: [warning('k:1'), { ...warning('api:1'), source: 'api', mesh: 'posted' }] }))
      const posted = (id: string, mesh: string) => ({ ...warning(id, { time: T0 + 60_000, message: 'rewritten' }), source: 'api' as const, mesh })
      const stored = await store.writeBatch(batch({ events: [posted('k:1', 'k8s-prod'), posted('api:1', 'other'), posted('api:1', 'posted')] }))
      expect(stored.map(({ item }) => `${item.id}@${item.mesh}`)).toEqual(['api:1@posted'])
      expect(await store.event('k:1')).toMatchObject({ source: 'kubernetes', message: 'Back-off restarting failed container' })
      expect(await store.event('api:1')).toMatchObject({ source: 'api', mesh: 'posted', message: 'rewritten' })
      expect(store.writeFailure()).toBeUndefined()
    })
  })

  describe('histogram and facets', () => {
    const events: IngestEvent[] = Array.from({ length: 300 }, (_, i) =>
      podEvent({ id: `h${String(i).padStart(3, '0')}`, time: T0 + i * 1000, type: i % 3 === 0 ? 'warning' : 'normal', reason: i % 2 === 0 ? 'BackOff' : 'Started' }),
    )
    const exact = (filter: (event: IngestEvent) => boolean, since: number, bucketMs: number, buckets: number) => {
      const counts = Array.from({ length: buckets }, () => ({ normal: 0, warning: 0 }))
      for (const event of events.filter(filter)) {
        const index = Math.floor((event.time - since) / bucketMs)
        if (index >= 0 && index < buckets) counts[index]![event.type]++
      }
      return counts
    }

    it('counts from the index alone, and with row filters up to a budget of rows, saying from when counts are complete', async () => {
      await store.close()
      store = await harness.open({ histogramRowBudget: 100 })
      await store.writeBatch(batch({ events }))
      const range = { since: T0, until: T0 + 300_000 }
      expect(await store.histogram({ application: 'order-service', ...range }, 30_000, 10)).toEqual({ counts: exact(() => true, T0, 30_000, 10), capped: false })
      // A range not divisible by the bucket: the last bucket is short; a type filter reads the index too.
      const partial = { since: T0 + 5000, until: T0 + 100_000 }
      expect(await store.histogram({ mesh: 'k8s-prod', type: 'warning', ...partial }, 20_000, 5)).toEqual({
        counts: exact((event) => event.type === 'warning' && event.time < partial.until, partial.since, 20_000, 5),
        capped: false,
      })
      expect(await store.histogram({ ...partial }, 20_000, 5)).toEqual({ counts: exact((event) => event.time < partial.until, partial.since, 20_000, 5), capped: false })
      // BackOff: 150 matches among 300 rows; the budget of 100 rows covers the newest 100 seconds.
      const backOff = await store.histogram({ application: 'order-service', reasons: ['BackOff'], ...range }, 30_000, 10)
      expect(backOff.capped).toBe(true)
      expect(backOff.completeFrom).toBe(T0 + 200_000 + 1)
      const want = exact((event) => event.reason === 'BackOff', T0, 30_000, 10)
      // Buckets wholly after completeFrom are exact; older ones are never over-counted.
      expect(backOff.counts.slice(7)).toEqual(want.slice(7))
      backOff.counts.forEach((bucket, index) => expect(bucket.normal + bucket.warning).toBeLessThanOrEqual(want[index]!.normal + want[index]!.warning))
      // Within the budget: exact and not capped.
      const recent = { since: T0 + 250_000, until: T0 + 300_000 }
      expect(await store.histogram({ application: 'order-service', reasons: ['BackOff'], ...recent }, 10_000, 5)).toEqual({
        counts: exact((event) => event.reason === 'BackOff', recent.since, 10_000, 5),
        capped: false,
      })
      // A search with few matches is driven by its full-text index: every match counted, never capped.
      expect(await store.histogram({ application: 'order-service', q: 'backoff', ...range }, 30_000, 10)).toEqual({
        counts: exact((event) => event.reason === 'BackOff', T0, 30_000, 10),
        capped: false,
      })
      expect(await store.oldestMatch({ application: 'order-service', q: 'backoff', since: T0 + 1 })).toBe(T0 + 2000)
      expect(await store.oldestMatch({ mesh: 'elsewhere', q: 'backoff' })).toBeUndefined()
      expect(await store.oldestMatch({ application: 'order-service', reasons: ['Started'] })).toBe(T0 + 1000)
      expect(await store.oldestMatch({ application: 'order-service' })).toBe(T0)
      expect(await store.oldestMatch({ mesh: 'k8s-prod', since: T0 + 1500 })).toBe(T0 + 2000)
      // No match among the oldest rows within the budget: the view's oldest event starts the range.
      expect(await store.oldestMatch({ application: 'order-service', reasons: ['Absent'] })).toBe(T0)
      expect(await store.oldestMatch({ application: 'nobody' })).toBeUndefined()
    })

    it('counts the most common values among the most recent matches', async () => {
      await store.writeBatch(batch({ events }))
      expect(await store.facets({ application: 'order-service' }, 'reason', 5)).toEqual({
        items: [
          { value: 'BackOff', count: 150 },
          { value: 'Started', count: 150 },
        ],
        capped: false,
      })
      expect(await store.facets({ mesh: 'k8s-prod', reasons: ['BackOff'] }, 'type', 5)).toEqual({
        items: [
          { value: 'normal', count: 100 },
          { value: 'warning', count: 50 },
        ],
        capped: false,
      })
      expect(await store.facets({ q: 'started' }, 'namespace', 5)).toEqual({ items: [{ value: 'shop', count: 300 }], capped: false })
      expect(await store.facets({}, 'source', 1)).toEqual({ items: [{ value: 'kubernetes', count: 300 }], capped: false })
      expect(await store.facets({ application: 'nobody' }, 'kind', 5)).toEqual({ items: [], capped: false })
    })
  })

  describe('ingestion activity', () => {
    it('records periods per source, ends them on close or at the last beat after a crash, and reads those that border a range', async () => {
      const at = (minutes: number) => T0 + minutes * 60_000
      await store.recordActivity({ op: 'start' })
      await store.recordActivity({ op: 'open', mesh: 'k8s', source: 'kubernetes', at: at(0) })
      // A repeated status keeps the one open period.
      await store.recordActivity({ op: 'open', mesh: 'k8s', source: 'kubernetes', at: at(1) })
      await store.recordActivity({ op: 'open', mesh: 'zk', source: 'zookeeper', at: at(0) })
      await store.recordActivity({ op: 'beat', at: at(5) })
      await store.recordActivity({ op: 'close', mesh: 'zk', source: 'zookeeper', at: at(6), reason: 'connecting' })
      await store.recordActivity({ op: 'open', mesh: 'zk', source: 'zookeeper', at: at(10) })
      await store.recordActivity({ op: 'resumed-lossy', mesh: 'zk', source: 'zookeeper', how: 'relist-410' })
      await store.recordActivity({ op: 'beat', at: at(12) })
      // Eventline restarts: the open periods end as crashed at their last beat.
      await store.recordActivity({ op: 'start' })
      const all = await store.activityPeriods({ since: at(0), until: at(60) })
      expect(all).toEqual([
        { mesh: 'k8s', source: 'kubernetes', started: at(0), lastSeen: at(12), endReason: 'crashed', resumedBy: null },
        { mesh: 'zk', source: 'zookeeper', started: at(0), lastSeen: at(6), endReason: 'connecting', resumedBy: null },
        { mesh: 'zk', source: 'zookeeper', started: at(10), lastSeen: at(12), endReason: 'crashed', resumedBy: 'relist-410' },
      ])
      // A range after both: each source's last period before it, where the gap starts.
      expect(await store.activityPeriods({ mesh: 'zk', since: at(30), until: at(60) })).toEqual([all[2]])
      // Periods that start at or after the end of the range are left out.
      expect(await store.activityPeriods({ since: at(7), until: at(11) })).toEqual(all)
      expect(await store.activityPeriods({ since: at(7), until: at(10) })).toEqual(all.slice(0, 2))
    })
  })

  describe('pods and registry instances: one process, one instance page', () => {
    const pod = (name: string, ip: string, mesh = 'k8s-prod') => ({
      op: 'instance' as const,
      instance: { mesh, name, ip, namespace: 'shop', phase: 'Running', application: 'order-service', registered: true, source: mesh === 'demo' ? 'demo' : 'kubernetes' },
    })
    const registry = (mesh: string, name: string, ip: string, application = 'orders') => ({
      op: 'instance' as const,
      instance: { mesh, name, ip, ...(name.includes('@') ? {} : { port: Number(name.split(':')[1]) }), application, registered: true, source: mesh === 'demo' ? 'demo' : 'zookeeper' },
    })
    const registration = (id: string, time: number, mesh: string, instance: string, ip: string, source: IngestEvent['source'] = 'zookeeper'): IngestEvent => ({
      id,
      time,
      type: 'normal',
      reason: 'ProviderRegistered',
      message: `Provider registered: orders ${instance} -> org.example.OrderService`,
      source,
      component: 'zookeeper',
      mesh,
      object: { kind: 'Provider', name: 'org.example.OrderService' },
      application: 'orders',
      instance,
      ip,
      service: 'org.example.OrderService',
    })
    /** Waits until the clock has moved past `time` (the catalog stamps the pod-to-IP history with it). */
    const clockPast = async (time: number) => {
      while (Date.now() <= time) await new Promise((resolve) => setImmediate(resolve))
    }

    it('links a pod and the registry instances at its IP both ways, in another mesh and in the same one', async () => {
      const now = Date.now()
      await store.writeBatch(batch({ catalog: [pod('order-a', '10.1.2.3'), registry('zk-prod', '10.1.2.3:20880', '10.1.2.3'), registry('zk-prod', 'orders-job@10.1.2.3', '10.1.2.3', 'orders-job')] }))
      await store.writeBatch(
        batch({
          events: [
            podEvent({ id: 'k:probe', time: now, type: 'warning', reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 503', object: { kind: 'Pod', name: 'order-a', namespace: 'shop' }, instance: 'order-a' }),
            registration('zk:registered', now + 1, 'zk-prod', '10.1.2.3:20880', '10.1.2.3'),
          ],
        }),
      )
      expect(await ids(store, { mesh: 'zk-prod', instance: '10.1.2.3:20880' })).toEqual(['zk:registered', 'k:probe'])
      expect(await ids(store, { instance: '10.1.2.3:20880' })).toEqual(['zk:registered', 'k:probe'])
      expect(await ids(store, { mesh: 'zk-prod', instance: 'orders-job@10.1.2.3' })).toEqual(['k:probe'])
      // The pod's page shows its registrations, in its own mesh and in every mesh.
      expect(await ids(store, { mesh: 'k8s-prod', instance: 'order-a' })).toEqual(['zk:registered', 'k:probe'])
      expect(await ids(store, { instance: 'order-a' })).toEqual(['zk:registered', 'k:probe'])
      expect(await ids(store, { ip: '10.1.2.3' })).toEqual(['zk:registered', 'k:probe'])

      // The demo mesh holds the pod and its registry instance: the same, within one mesh.
      await store.writeBatch(batch({ catalog: [pod('cart-b', '10.0.2.36', 'demo'), registry('demo', '10.0.2.36:20880', '10.0.2.36')] }))
      await store.writeBatch(
        batch({
          events: [
            { ...podEvent({ id: 'd:probe', time: now, reason: 'Unhealthy', object: { kind: 'Pod', name: 'cart-b', namespace: 'shop' }, instance: 'cart-b', ip: '10.0.2.36' }), source: 'demo', mesh: 'demo' },
            registration('d:registered', now + 1, 'demo', '10.0.2.36:20880', '10.0.2.36', 'demo'),
          ],
        }),
      )
      expect(await ids(store, { mesh: 'demo', instance: '10.0.2.36:20880' })).toEqual(['d:registered', 'd:probe'])
      expect(await ids(store, { mesh: 'demo', instance: 'cart-b' })).toEqual(['d:registered', 'd:probe'])
      expect(await ids(store, { mesh: 'demo', ip: '10.0.2.36' })).toEqual(['d:registered', 'd:probe'])
    })

    it('puts a registration on the page of the pod that had the IP at its time, also when the pod is seen after it', async () => {
      const t0 = Date.now()
      await store.writeBatch(batch({ catalog: [pod('order-a', '10.1.2.3')] }))
      await store.writeBatch(batch({ events: [registration('zk:a', t0, 'zk-prod', '10.1.2.3:20880', '10.1.2.3')] }))
      expect(await ids(store, { mesh: 'k8s-prod', instance: 'order-a' })).toEqual(['zk:a'])
      // order-a is deleted; later order-b gets the same IP.
      await store.writeBatch(batch({ catalog: [{ op: 'instance-gone', mesh: 'k8s-prod', name: 'order-a' }] }))
      const left = Date.now()
      await clockPast(left)
      // A registration the registry reports before the pod watch sees order-b belongs to order-b once it does.
      await store.writeBatch(batch({ events: [registration('zk:b-early', left + 5, 'zk-prod', '10.1.2.3:20880', '10.1.2.3')] }))
      expect(await ids(store, { mesh: 'k8s-prod', instance: 'order-b' })).toEqual([])
      await store.writeBatch(batch({ catalog: [pod('order-b', '10.1.2.3')] }))
      await store.writeBatch(batch({ events: [registration('zk:b', Date.now() + 20, 'zk-prod', '10.1.2.3:20880', '10.1.2.3')] }))
      expect(await ids(store, { mesh: 'k8s-prod', instance: 'order-b' })).toEqual(['zk:b', 'zk:b-early'])
      expect(await ids(store, { mesh: 'k8s-prod', instance: 'order-a' })).toEqual(['zk:a'])
      // The registry instance's page holds all three: the address is the same.
      expect(await ids(store, { mesh: 'zk-prod', instance: '10.1.2.3:20880' })).toEqual(['zk:b', 'zk:b-early', 'zk:a'])
      // Retention forgets the intervals that ended before its cutoff, with the events they placed.
      expect(await harness.podIntervals()).toEqual(['order-a', 'order-b'])
      await store.purgeBefore(left + 1, 100)
      expect(await harness.podIntervals()).toEqual(['order-b'])
    })

    it('does not tie pods together by an IP that Kubernetes events alone named', async () => {
      // No pod list yet: the event names its pod, which the catalog then knows by IP alone.
      await store.writeBatch(batch({ events: [podEvent({ id: 'k:a', object: { kind: 'Pod', name: 'order-a', namespace: 'shop' }, instance: 'order-a' })] }))
      await store.writeBatch(batch({ events: [podEvent({ id: 'k:b', time: T0 + 1, object: { kind: 'Pod', name: 'order-b', namespace: 'shop' }, instance: 'order-b' })] }))
      expect(await ids(store, { instance: 'order-a' })).toEqual(['k:a'])
      expect(await ids(store, { instance: 'order-b' })).toEqual(['k:b'])
    })

    it("replaces an instance's labels, and removes them", async () => {
      await store.writeBatch(batch({ catalog: [registry('zk-prod', '10.1.2.3:20880', '10.1.2.3')] }))
      await store.writeBatch(batch({ catalog: [{ op: 'instance-labels', mesh: 'zk-prod', name: '10.1.2.3:20880', labels: { zone: 'a', tier: 'gold' } }] }))
      expect(await store.instance('10.1.2.3:20880', 'zk-prod')).toMatchObject({ labels: { zone: 'a', tier: 'gold' } })
      await store.writeBatch(batch({ catalog: [{ op: 'instance-labels', mesh: 'zk-prod', name: '10.1.2.3:20880', labels: null }] }))
      expect((await store.instance('10.1.2.3:20880', 'zk-prod'))!.labels).toBeUndefined()
    })
  })
}

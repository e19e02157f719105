import type { EventPage, Instance, Mesh } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import { eventually } from '../../testing/eventually.ts'
import { makeEvent, makePod, makeService } from '../../testing/kubernetesApiServer.ts'
import { useKubernetesHarness } from '../../testing/kubernetesHarness.ts'
import { startTestServer, tempDir } from '../../testing/testServer.ts'

const CLUSTER = 'test-cluster'

const iso = (secondsAgo: number) => new Date(Math.floor(Date.now() / 1000 - secondsAgo) * 1000).toISOString().replace('.000', '')

describe('Kubernetes source', () => {
  const harness = useKubernetesHarness({ cluster: CLUSTER, tuning: { watchdogMs: 500, backoff: { initialMs: 20, maxMs: 200 }, enrichmentWaitMs: 2_000 } })
  const { start, stop } = harness
  const page = async (query = '') => (await harness.eventline.get<EventPage>(`/api/v1/events?mesh=${CLUSTER}&limit=200${query}`)).body
  const ids = async (query = '') => {
    const ids: string[] = []
    let cursor: string | null = null
    do {
      const result: EventPage = (await harness.eventline.get<EventPage>(`/api/v1/events?mesh=${CLUSTER}&limit=200${query}${cursor ? `&cursor=${cursor}` : ''}`)).body
      ids.push(...result.items.map((item) => item.id))
      cursor = result.nextCursor
    } while (cursor)
    return ids
  }

  it('lists 1,234 events across pages with the kubeconfig token, then follows the watch', async () => {
    for (let i = 0; i < 1234; i++) harness.api.add('events', makeEvent({ name: `e-${i}`, pod: `pod-${i % 10}`, time: iso(3600 - i) }))
    await start()
    await eventually(async () => expect((await page()).total).toBe(1234))
    expect(new Set(await ids()).size).toBe(1234)
    const lists = harness.api.requests.filter((request) => request.path === '/api/v1/events' && !request.watch)
    expect(lists.length).toBeGreaterThanOrEqual(3)
    expect(lists.every((request) => request.query.limit === '500')).toBe(true)

    const added = harness.api.add('events', makeEvent({ name: 'fresh', reason: 'Pulled', message: 'pulled the image' }))
    const addedAt = Date.now()
    await eventually(async () => expect((await page('&reason=Pulled')).items.map((item) => item.id)).toEqual([`kubernetes:${added.metadata.uid}`]), 1_000)
    expect(Date.now() - addedAt).toBeLessThan(1_000)
  })

  it('updates a count bump in place and moves it to the top; a DELETED event stays stored', async () => {
    const first = harness.api.add('events', makeEvent({ name: 'backoff', reason: 'BackOff', type: 'Warning', count: 1, time: iso(600) }))
    harness.api.add('events', makeEvent({ name: 'other', time: iso(300) }))
    await start()
    await eventually(async () => expect((await page()).total).toBe(2))
    harness.api.modify('events', { ...first, count: 5, lastTimestamp: iso(10) })
    await eventually(async () => {
      const { items, total } = await page()
      expect(total).toBe(2)
      expect(items[0]).toMatchObject({ id: `kubernetes:${first.metadata.uid}`, count: 5, type: 'warning' })
    })
    harness.api.delete('events', 'default', 'backoff')
    harness.api.add('events', makeEvent({ name: 'after-delete', time: iso(1) }))
    await eventually(async () => expect((await page()).total).toBe(3))
  })

  it('resumes after a restart from the stored resourceVersion: every event once, none missing', async () => {
    for (let i = 0; i < 50; i++) harness.api.add('events', makeEvent({ name: `before-${i}`, time: iso(900 - i) }))
    await start()
    await eventually(async () => expect((await page()).total).toBe(50))
    await stop()
    for (let i = 0; i < 30; i++) harness.api.add('events', makeEvent({ name: `while-down-${i}`, time: iso(100 - i) }))
    harness.api.clearRequests()
    await start()
    await eventually(async () => expect((await page()).total).toBe(80))
    expect(new Set(await ids()).size).toBe(80)
    const eventRequests = harness.api.requests.filter((request) => request.path === '/api/v1/events')
    expect(eventRequests[0]?.watch, 'watches from the checkpoint without listing').toBe(true)
  })

  it('marks pods deleted while it was down as gone on the next list', async () => {
    harness.api.add('pods', makePod({ name: 'stays', ip: '10.9.0.1', labels: { app: 'a' } }))
    harness.api.add('pods', makePod({ name: 'leaves', ip: '10.9.0.2', labels: { app: 'a' } }))
    await start()
    await eventually(async () => expect((await harness.eventline.get<Instance>(`/api/v1/instances/leaves?mesh=${CLUSTER}`)).body.registered).toBe(true))
    await stop()
    harness.api.delete('pods', 'default', 'leaves')
    await start()
    await eventually(async () => expect((await harness.eventline.get<Instance>(`/api/v1/instances/leaves?mesh=${CLUSTER}`)).body.registered).toBe(false))
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/stays?mesh=${CLUSTER}`)).body.registered).toBe(true)
  })

  it.each(['errorEvent', 'httpStatus'] as const)('re-lists without duplicates when the stored resourceVersion expired (%s)', async (mode) => {
    for (let i = 0; i < 20; i++) harness.api.add('events', makeEvent({ name: `a-${i}`, time: iso(900 - i) }))
    await start()
    await eventually(async () => expect((await page()).total).toBe(20))
    await stop()
    harness.api.setExpiredWatchMode(mode)
    for (let i = 0; i < 5; i++) harness.api.add('events', makeEvent({ name: `b-${i}`, time: iso(100 - i) }))
    harness.api.expireHistory('events')
    await start()
    await eventually(async () => expect((await page()).total).toBe(25))
    expect(new Set(await ids()).size).toBe(25)
  })

  it('recovers from a dropped connection and from a stalled watch', async () => {
    await start()
    await eventually(async () => expect(harness.api.openWatches('events')).toBe(1))
    harness.api.dropConnections('events')
    harness.api.add('events', makeEvent({ name: 'during-drop' }))
    await eventually(async () => expect((await page()).total).toBe(1))
    harness.api.stallWatches('events')
    const watchesBefore = harness.api.requests.filter((request) => request.path === '/api/v1/events' && request.watch).length
    harness.api.add('events', makeEvent({ name: 'during-stall' }))
    // The watchdog (500 ms here) aborts the silent watch and watches again from the last version
    // (the test server keeps stalling new watches of the kind until resumed).
    await eventually(async () => expect(harness.api.requests.filter((request) => request.path === '/api/v1/events' && request.watch).length).toBeGreaterThan(watchesBefore + 1), 4_000)
    expect(harness.api.requests.filter((request) => request.path === '/api/v1/events' && !request.watch)).toHaveLength(1)
    harness.api.resumeWatches()
    await eventually(async () => expect((await page()).total).toBe(2))
    expect(new Set(await ids()).size).toBe(2)
  })

  it('skips and counts a malformed event, and the stream goes on', async () => {
    await start()
    await eventually(async () => expect(harness.api.openWatches('events')).toBe(1))
    harness.api.injectMalformed('events', JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'broken', uid: 'u-broken', resourceVersion: '999999' }, reason: 'X' } }))
    harness.api.add('events', makeEvent({ name: 'good' }))
    await eventually(async () => expect((await page()).total).toBe(1))
    const metrics = await (await fetch(`${harness.eventline.url}/metrics`)).text()
    expect(metrics).toMatch(/eventline_events_rejected_total\{source="kubernetes",reason="[^"]+"\} 1/)
  })

  it('shows a 403 with the RBAC message in /meshes, and recovers once allowed', async () => {
    harness.api.forbid('events', 'list')
    await start()
    const mesh = await eventually(async () => {
      const { body } = await harness.eventline.get<{ items: Mesh[] }>('/api/v1/meshes')
      const cluster = body.items.find((item) => item.name === CLUSTER)
      expect(cluster?.status).toBe('error')
      return cluster!
    })
    expect(mesh.kind).toBe('kubernetes')
    expect(mesh.error).toMatch(/cannot list resource "events"/)
    harness.api.unforbid()
    await eventually(async () => {
      const { body } = await harness.eventline.get<{ items: Mesh[] }>('/api/v1/meshes')
      expect(body.items.find((item) => item.name === CLUSTER)?.status).toBe('connected')
    })
  })

  it('enriches pod events from labels, owners and selecting services, including events that came before their pod', async () => {
    harness.api.add('pods', makePod({ name: 'web-1', namespace: 'shop', ip: '10.8.0.1', labels: { 'app.kubernetes.io/name': 'web', tier: 'front' } }))
    harness.api.add(
      'pods',
      makePod({ name: 'checkout-6f7d9c5b8-abcde', namespace: 'shop', ip: '10.8.0.2', labels: { 'pod-template-hash': '6f7d9c5b8' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'checkout-6f7d9c5b8', controller: true }] }),
    )
    harness.api.add('services', makeService({ name: 'web', namespace: 'shop', selector: { tier: 'front' } }))
    harness.api.add('events', makeEvent({ name: 'w', namespace: 'shop', pod: 'web-1' }))
    harness.api.add('events', makeEvent({ name: 'c', namespace: 'shop', pod: 'checkout-6f7d9c5b8-abcde' }))
    await start()
    await eventually(async () => expect((await page()).total).toBe(2))
    const web = (await harness.eventline.get<EventPage>(`/api/v1/applications/web/events?mesh=${CLUSTER}`)).body
    expect(web.items[0]).toMatchObject({ application: 'web', instance: 'web-1', ip: '10.8.0.1', service: 'web' })
    expect((await harness.eventline.get<EventPage>(`/api/v1/services/web/events?mesh=${CLUSTER}`)).body.total).toBe(1)
    expect((await harness.eventline.get<EventPage>(`/api/v1/applications/checkout/events?mesh=${CLUSTER}`)).body.total).toBe(1)
    const instance = (await harness.eventline.get<Instance>(`/api/v1/instances/web-1?mesh=${CLUSTER}`)).body
    expect(instance).toMatchObject({ ip: '10.8.0.1', namespace: 'shop', node: 'node-1', phase: 'Running', application: 'web', sources: ['kubernetes'] })

    // An event about a pod the pod watch has not delivered yet is attached once it has.
    harness.api.add('events', makeEvent({ name: 'early', namespace: 'shop', pod: 'late-pod', reason: 'Scheduled' }))
    await eventually(async () => expect((await page('&reason=Scheduled')).total).toBe(1))
    harness.api.add('pods', makePod({ name: 'late-pod', namespace: 'shop', ip: '10.8.0.3', labels: { app: 'late' } }))
    await eventually(async () => expect((await harness.eventline.get<EventPage>(`/api/v1/applications/late/events?mesh=${CLUSTER}`)).body.items[0]).toMatchObject({ ip: '10.8.0.3', reason: 'Scheduled' }))
  })

  it('shows pod events in the registry application whose instance has the pod IP', async () => {
    harness.api.add('pods', makePod({ name: 'orders-pod', namespace: 'shop', ip: '10.8.1.7', labels: { app: 'orders-k8s' } }))
    await start()
    // A registry instance of application "orders" at the pod's IP (as a registry source would record it).
    const registered = await harness.eventline.post('/api/v1/events', { type: 'normal', reason: 'ProviderRegistered', message: 'Provider registered', mesh: 'zk-prod', application: 'orders', instance: '10.8.1.7:20880', ip: '10.8.1.7' })
    expect(registered.status).toBe(202)
    const pod = harness.api.add('events', makeEvent({ name: 'oom', namespace: 'shop', pod: 'orders-pod', reason: 'OOMKilling', type: 'Warning' }))
    await eventually(async () => {
      const { body } = await harness.eventline.get<EventPage>('/api/v1/applications/orders/events?mesh=zk-prod')
      expect(body.items.map((item) => item.id)).toContain(`kubernetes:${pod.metadata.uid}`)
    })
  })
})

describe('Kubernetes configuration', () => {
  it('refuses a kubeconfig that does not load, naming the variable', async () => {
    const tmp = tempDir()
    const path = `${tmp.dir}/broken.yaml`
    const { writeFileSync } = await import('node:fs')
    writeFileSync(path, 'this: [is not a kubeconfig')
    await expect(startTestServer({ db: ':memory:', kubernetes: { mode: 'kubeconfig', path } })).rejects.toThrow(/EVENTLINE_KUBERNETES/)
    tmp.cleanup()
  })
})


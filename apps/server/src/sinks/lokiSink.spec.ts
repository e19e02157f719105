import { join } from 'node:path'
import type { EventItem } from '@eventline/shared'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseFileConfig } from '../rules/fileConfig.ts'
import { eventually } from '../testing/eventually.ts'
import { startLokiServer } from '../testing/lokiServer.ts'
import type { LokiServerOptions } from '../testing/lokiServer.ts'
import { startTestServer, tempDir } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'
import { lokiDiscardReason, lokiPushes } from './lokiSink.ts'
import type { Delivery } from './sink.ts'
import type { LokiSinkConfig } from './types.ts'

const { dir, cleanup } = tempDir()
afterAll(cleanup)
let closing: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closing.reverse()) await close()
  closing = []
})

const item = (seq: number, overrides: Partial<EventItem> = {}): Delivery => ({
  seq,
  event: {
    id: `kubernetes:uid-${seq}`,
    time: new Date(Date.UTC(2026, 10, 20, 8, 0, seq)).toISOString(),
    firstTime: new Date(Date.UTC(2026, 10, 20, 8, 0, 0)).toISOString(),
    count: 1,
    type: 'warning',
    reason: 'BackOff',
    message: `Back-off restarting failed container ${seq}`,
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'k8s-prod',
    object: { kind: 'Pod', name: `cart-${seq}`, namespace: 'shop' },
    application: 'cart',
    ...overrides,
  },
})

const settings = { labels: ['mesh', 'source', 'type', 'namespace', 'kind'] as LokiSinkConfig['labels'], staticLabels: { job: 'eventline' }, maxBytes: 1 << 20 }

describe('Loki pushes', () => {
  it('labels streams by bounded fields only, and carries the event as the JSON line at its time in nanoseconds', () => {
    const [push] = lokiPushes([item(1), item(2, { type: 'normal', reason: 'Pulled' })], settings)
    const body = JSON.parse(push!.body) as { streams: Array<{ stream: Record<string, string>; values: Array<[string, string]> }> }
    expect(push!.count).toBe(2)
    expect(body.streams.map(({ stream }) => stream)).toEqual([
      { job: 'eventline', mesh: 'k8s-prod', source: 'kubernetes', type: 'warning', namespace: 'shop', kind: 'Pod' },
      { job: 'eventline', mesh: 'k8s-prod', source: 'kubernetes', type: 'normal', namespace: 'shop', kind: 'Pod' },
    ])
    const [ns, line] = body.streams[0]!.values[0]!
    expect(ns).toBe(`${Date.UTC(2026, 10, 20, 8, 0, 1)}000000`)
    expect(JSON.parse(line)).toEqual((item(1) as { event: EventItem }).event)
    // Never an unbounded value: no event id, object name or message as a label.
    for (const { stream } of body.streams) expect(Object.values(stream).join(' ')).not.toMatch(/uid-|cart-|Back-off/)
  })

  it('leaves a field the event lacks out of its labels (Loki has no empty label values)', () => {
    const [push] = lokiPushes([item(1, { object: { kind: 'Application', name: 'cart' } })], settings)
    expect(JSON.parse(push!.body).streams[0].stream).toEqual({ job: 'eventline', mesh: 'k8s-prod', source: 'kubernetes', type: 'warning', kind: 'Application' })
  })

  it('orders each stream by time within a push, keeping outbox order for equal times', () => {
    const [push] = lokiPushes([item(5), item(3), item(4, { message: 'same time' }), item(3, { id: 'other', message: 'same time as 3' })], settings)
    const values = JSON.parse(push!.body).streams[0].values as Array<[string, string]>
    expect(values.map(([, line]) => (JSON.parse(line) as EventItem).message)).toEqual([
      'Back-off restarting failed container 3',
      'same time as 3',
      'same time',
      'Back-off restarting failed container 5',
    ])
  })

  it('splits a batch into pushes under maxBytes, one entry always fitting alone, in order', () => {
    const items = Array.from({ length: 10 }, (_, i) => item(i + 1))
    const pushes = lokiPushes(items, { ...settings, maxBytes: 1200 })
    expect(pushes.length).toBeGreaterThan(2)
    expect(pushes.reduce((sum, push) => sum + push.count, 0)).toBe(10)
    const ids = pushes.flatMap(({ body }) => (JSON.parse(body).streams as Array<{ values: Array<[string, string]> }>).flatMap(({ values }) => values.map(([, line]) => (JSON.parse(line) as EventItem).id)))
    expect(ids).toEqual(items.map((entry) => (entry as { event: EventItem }).event.id))
    expect(lokiPushes([item(1)], { ...settings, maxBytes: 10 })).toHaveLength(1)
  })

  it("reads Loki's per-entry refusals apart from a refused body", () => {
    expect(lokiDiscardReason("entry with timestamp 2026-11-20 08:00:01 +0000 UTC ignored, reason: 'entry out of order' for stream: {job=\"x\"},\ntotal ignored: 1 out of 2")).toBe('out_of_order')
    expect(lokiDiscardReason("entry too far behind, entry timestamp is: 2026-11-20T07:00:00Z, oldest acceptable timestamp is: 2026-11-20T07:30:00Z")).toBe('out_of_order')
    expect(lokiDiscardReason("entry for stream '{job=\"x\"}' has timestamp too old: 2026-01-01T00:00:00Z")).toBe('out_of_range')
    expect(lokiDiscardReason("Max entry size '256' bytes exceeded for stream")).toBeUndefined()
  })
})

describe('Loki sink configuration', () => {
  const load = (sink: string) => () => parseFileConfig(`sinks:\n  - name: logs\n    type: loki\n    url: http://loki:3100\n${sink}`, 'eventline.yaml')

  it('takes the defaults: bounded labels, job=eventline, promtail-like batching', () => {
    expect(load('')().sinks[0]).toMatchObject({ type: 'loki', labels: ['mesh', 'source', 'type', 'namespace', 'kind'], staticLabels: { job: 'eventline' }, batchWaitMs: 1000, maxEntries: 1000, maxBytes: 1 << 20 })
  })

  it('refuses an unbounded field as a label, naming the place', () => {
    expect(load('    labels: [mesh, name]\n')).toThrow(/eventline\.yaml: sinks\[0\]\.labels\[1\] \(line 5\): must be one of mesh, source/)
  })

  it('refuses half a credential, two credentials, and a static label that an event label already uses', () => {
    expect(load('    username: u\n')).toThrow(/sinks\[0\]\.password.*username and password go together/)
    expect(load('    username: u\n    password: p\n    bearerToken: t\n')).toThrow(/sinks\[0\]\.bearerToken.*use either bearerToken or username and password/)
    expect(load('    staticLabels: { mesh: x }\n')).toThrow(/sinks\[0\]\.staticLabels\.mesh.*already a label/)
    expect(load('    tenant: "a b"\n')).toThrow(/sinks\[0\]\.tenant/)
  })
})

describe('Loki sink', () => {
  const sink = (loki: { url: string }, overrides: Partial<LokiSinkConfig> = {}): LokiSinkConfig => ({
    type: 'loki',
    name: 'logs',
    url: loki.url,
    labels: ['mesh', 'source', 'type', 'namespace', 'kind'],
    staticLabels: { job: 'eventline' },
    headers: {},
    timeoutMs: 2_000,
    retry: { initialMs: 20, maxMs: 200 },
    batchWaitMs: 50,
    maxEntries: 100,
    maxBytes: 1 << 20,
    ...overrides,
  })

  async function setUp(name: string, options: LokiServerOptions, overrides: Partial<LokiSinkConfig> = {}) {
    const loki = await startLokiServer(options)
    closing.push(loki.close)
    const config = sink(loki, overrides)
    const server = await startTestServer({ db: join(dir, `${name}.db`), sinks: [config], routeEvent: () => [config.name], sinkTuning: { stopGraceMs: 100 } })
    closing.push(() => server.stop())
    return { loki, server }
  }

  const posted = (ids: string[], at = (i: number) => Date.UTC(2026, 10, 20, 8, 0, i)) =>
    ids.map((id, i) => ({ id, time: new Date(at(i)).toISOString(), type: 'warning', reason: 'BackOff', message: `event ${id}`, mesh: 'k8s-prod', object: { kind: 'Pod', name: `pod-${id}`, namespace: 'shop' } }))

  const metrics = async (server: TestServer) => (await fetch(`${server.url}/metrics`)).text()
  const pendingZero = async (server: TestServer) => expect(await metrics(server)).toMatch(/eventline_sink_pending\{sink="logs"\} 0/)

  it('pushes every event once to a multi-tenant Loki behind basic auth, readable back with a stream selector', async () => {
    const { loki, server } = await setUp('tenant', { multiTenant: true, basicAuth: { username: 'eventline', password: 's3cret' } }, { tenant: 'team-a', username: 'eventline', password: 's3cret' })
    const ids = Array.from({ length: 30 }, (_, i) => `l${i}`)
    expect((await server.post('/api/v1/events', posted(ids))).status).toBe(202)
    await eventually(() => expect(loki.lines<EventItem>('team-a').map(({ id }) => id).sort()).toEqual([...ids].sort()), 15_000)

    const query = await fetch(`${loki.url}/loki/api/v1/query_range?query=${encodeURIComponent('{job="eventline",mesh="k8s-prod",type="warning"}')}&limit=1000`, {
      headers: { 'x-scope-orgid': 'team-a', authorization: `Basic ${Buffer.from('eventline:s3cret').toString('base64')}` },
    })
    const result = (await query.json()) as { data: { result: Array<{ stream: Record<string, string>; values: Array<[string, string]> }> } }
    expect(result.data.result.flatMap(({ values }) => values)).toHaveLength(30)
    expect(Object.keys(result.data.result[0]!.stream).sort()).toEqual(['job', 'kind', 'mesh', 'namespace', 'source', 'type'])
    expect(loki.streams('team-a')).toHaveLength(1) // 30 pods, one stream
    expect(loki.pushes.every(({ tenant }) => tenant === 'team-a')).toBe(true)
    await eventually(() => pendingZero(server))
  })

  it('waits out 429 rate limits and delivers everything once', async () => {
    const { loki, server } = await setUp('ratelimit', {})
    loki.rateLimit(3)
    const ids = Array.from({ length: 10 }, (_, i) => `r${i}`)
    expect((await server.post('/api/v1/events', posted(ids))).status).toBe(202)
    await eventually(() => expect(loki.lines<EventItem>().map(({ id }) => id).sort()).toEqual([...ids].sort()), 15_000)
    expect(loki.pushes.filter(({ status }) => status === 429)).toHaveLength(3)
    await eventually(() => pendingZero(server))
    expect(await metrics(server)).toMatch(/eventline_sink_failed_total\{sink="logs"\} [1-9]/)
  })

  it('counts entries an ordered Loki refuses as out of order, stores the rest of the push, and does not send them again', async () => {
    const { loki, server } = await setUp('order', { ordering: 'ordered' })
    expect((await server.post('/api/v1/events', posted(['new'], () => Date.UTC(2026, 10, 20, 9)))).status).toBe(202)
    await eventually(() => expect(loki.lines()).toHaveLength(1), 15_000)
    // One older (refused) and one newer (stored) in the same stream, in one post.
    const late = [...posted(['old'], () => Date.UTC(2026, 10, 20, 8)), ...posted(['newer'], () => Date.UTC(2026, 10, 20, 10))]
    expect((await server.post('/api/v1/events', late)).status).toBe(202)
    await eventually(async () => expect(await metrics(server)).toMatch(/eventline_sink_dropped_total\{sink="logs",reason="out_of_order"\} 1/), 15_000)
    await eventually(() => pendingZero(server))
    expect(loki.lines<EventItem>().map(({ id }) => id).sort()).toEqual(['new', 'newer'])
    const refusedPushes = loki.pushes.filter(({ status }) => status === 400)
    expect(refusedPushes).toHaveLength(1) // not retried into a loop
  })

  it('narrows a push Loki refuses for one oversized line down to that entry and drops it, delivering the others', async () => {
    const { loki, server } = await setUp('toolong', { maxLineBytes: 600 })
    const events = posted(['a', 'b', 'c', 'd'])
    events[2]!.message = 'x'.repeat(800)
    expect((await server.post('/api/v1/events', events)).status).toBe(202)
    await eventually(async () => expect(await metrics(server)).toMatch(/eventline_sink_dropped_total\{sink="logs",reason="rejected"\} 1/), 15_000)
    await eventually(() => pendingZero(server))
    expect(loki.lines<EventItem>().map(({ id }) => id).sort()).toEqual(['a', 'b', 'd'])
  })

  it('keeps events in the outbox, retrying, while Loki refuses the credentials', async () => {
    const { loki, server } = await setUp('auth', { bearerToken: 'right' }, { bearerToken: 'wrong' })
    expect((await server.post('/api/v1/events', posted(['x1', 'x2']))).status).toBe(202)
    await eventually(async () => expect(await metrics(server)).toMatch(/eventline_sink_failed_total\{sink="logs"\} [1-9]/), 15_000)
    expect(loki.lines()).toHaveLength(0)
    expect(await metrics(server)).toMatch(/eventline_sink_pending\{sink="logs"\} 2/)
  })
})

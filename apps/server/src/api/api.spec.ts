import type { ErrorBody, EventItem, EventPage, Mesh, Page, ApplicationSummary, Instance, ServiceSummary, DubboAdminResponse, DubboAdminEventList } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { startTestServer, tempDir, TEST_TOKEN } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

/** A database for one server of a test, on one engine; `cleanup` removes it. */
interface TestDatabase {
  db: string
  cleanup(): Promise<void>
}
const sqliteDatabase = (): TestDatabase => {
  const tmp = tempDir()
  return { db: `${tmp.dir}/nested/eventline.db`, cleanup: async () => tmp.cleanup() }
}
const postgresDatabase = (): TestDatabase => {
  const schema = testSchema()
  return { db: `${TEST_PG_URL}?schema=${schema}`, cleanup: () => dropSchema(schema) }
}
// The same API tests on every engine: nothing about the API may differ between them.
const ENGINES: Array<[string, () => TestDatabase]> = [['SQLite', sqliteDatabase]]
if (!(await skipWithoutPostgres())) ENGINES.push(['PostgreSQL', postgresDatabase])

// Recent enough to stay inside the default 14-day retention, whole seconds for readable ids.
const BASE = Math.floor((Date.now() - 2 * 86_400_000) / 1000) * 1000
/** An ISO time `minutes` after a fixed recent instant. */
const recent = (minutes: number, _served = false) => new Date(BASE + minutes * 60_000).toISOString()
const APPS = ['order-service', 'payment-service', 'shop-frontend']

/**
 * 10,000 events over two meshes and three applications. Times repeat in runs of 7 so many events
 * share a timestamp and only the id breaks the tie; every 5th is a warning.
 */
function generate(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const app = APPS[i % 3]!
    return {
      id: `gen-${String(i).padStart(5, '0')}`,
      time: new Date(BASE + Math.floor(i / 7) * 1000).toISOString(),
      type: i % 5 === 0 ? 'warning' : 'normal',
      reason: i % 5 === 0 ? 'BackOff' : i % 2 === 0 ? 'Started' : 'Pulled',
      message: i % 5 === 0 ? `Back-off restarting failed container ${app}` : `Container image for ${app} pulled`,
      mesh: i % 2 === 0 ? 'mesh-a' : 'mesh-b',
      application: app,
      instance: `${app}-pod-${i % 4}`,
      ip: `10.0.${i % 3}.${i % 4}`,
      service: `org.example.${app.replace('-', '')}.Api`,
      object: { kind: 'Pod', name: `${app}-pod-${i % 4}`, namespace: i % 2 === 0 ? 'prod' : 'staging' },
    }
  })
}

const events = generate(10_000)

/** Follows nextCursor to the end, returning every item and the number of pages. */
async function walk(server: TestServer, path: string) {
  const items: EventItem[] = []
  let cursor: string | null = null
  let pages = 0
  let first: EventPage | undefined
  do {
    const separator = path.includes('?') ? '&' : '?'
    const { status, body }: { status: number; body: EventPage } = await server.get<EventPage>(`${path}${cursor ? `${separator}cursor=${encodeURIComponent(cursor)}` : ''}`)
    expect(status).toBe(200)
    first ??= body
    items.push(...body.items)
    cursor = body.nextCursor
    pages++
  } while (cursor)
  return { items, pages, first: first! }
}

function expectNewestFirst(items: EventItem[]) {
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1]!, items[i]!]
    expect(a.time > b.time || (a.time === b.time && a.id > b.id), `${a.id}@${a.time} before ${b.id}@${b.time}`).toBe(true)
  }
}

describe.each(ENGINES)('timeline API (%s)', (_engine, database) => {
  const tmp = database()
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ db: tmp.db })
    for (let i = 0; i < events.length; i += 1000) {
      const { status, body } = await server.post('/api/v1/events', events.slice(i, i + 1000))
      expect(status).toBe(202)
      expect(body).toEqual({ accepted: 1000 })
    }
  })
  afterAll(async () => {
    await server.stop()
    await tmp.cleanup()
  })

  it('walks nextCursor over every event exactly once, newest first', async () => {
    const { items, pages, first } = await walk(server, '/api/v1/events?limit=200')
    expect(pages).toBe(50)
    expect(items).toHaveLength(10_000)
    expect(new Set(items.map((item) => item.id)).size).toBe(10_000)
    expectNewestFirst(items)
    expect(first.total).toBe(10_000)
    expect(first.totalCapped).toBe(false)
  })

  it('pages an application timeline in one mesh with small pages', async () => {
    const expected = events.filter((event) => event.application === 'payment-service' && event.mesh === 'mesh-b')
    const { items, first } = await walk(server, '/api/v1/applications/payment-service/events?mesh=mesh-b&limit=37')
    expect(items.map((item) => item.id).sort()).toEqual(expected.map((event) => event.id).sort())
    expect(first.total).toBe(expected.length)
    expectNewestFirst(items)
  })

  it('combines filters', async () => {
    const expected = events.filter(
      (event) => event.application === 'order-service' && event.type === 'warning' && event.object.namespace === 'prod' && event.reason === 'BackOff',
    )
    const { items, first } = await walk(server, '/api/v1/events?application=order-service&type=warning&namespace=prod&reason=BackOff,Killing&limit=200')
    expect(first.total).toBe(expected.length)
    expect(items.map((item) => item.id).sort()).toEqual(expected.map((event) => event.id).sort())
  })

  it('takes namespace and kind as comma lists, as source and reason', async () => {
    const expected = events.filter((event) => event.application === 'shop-frontend' && ['prod', 'staging'].includes(event.object.namespace) && event.reason !== 'Pulled')
    const { items, first } = await walk(server, '/api/v1/events?application=shop-frontend&namespace=prod,staging,nowhere&kind=Pod,Deployment&reason=BackOff,Started&limit=200')
    expect(first.total).toBe(expected.length)
    expect(items.map((item) => item.id).sort()).toEqual(expected.map((event) => event.id).sort())
    const none = await server.get<EventPage>('/api/v1/events?namespace=nowhere,elsewhere&limit=1')
    expect(none.body).toMatchObject({ items: [], total: 0 })
  })

  it('serves instance timelines by pod name and by IP', async () => {
    const byPod = events.filter((event) => event.instance === 'order-service-pod-1')
    const { first } = await server.get<EventPage>('/api/v1/instances/order-service-pod-1/events').then((r) => ({ first: r.body }))
    expect(first.total).toBe(byPod.length)
    const byIp = events.filter((event) => event.ip === '10.0.2.3')
    const ip = await server.get<EventPage>('/api/v1/instances/10.0.2.3/events?limit=5')
    expect(ip.body.total).toBe(byIp.length)
    expect(ip.body.items.every((item) => item.ip === '10.0.2.3')).toBe(true)
  })

  it('filters by time range with since <= time < until', async () => {
    const since = new Date(BASE + 100_000).toISOString()
    const until = new Date(BASE + 200_000).toISOString()
    const expected = events.filter((event) => event.time >= since && event.time < until)
    const { first } = await walk(server, `/api/v1/events?since=${since}&until=${until}&limit=200`)
    expect(first.total).toBe(expected.length)
  })

  it('searches reason and message with q, combined with other filters', async () => {
    const { status, body } = await server.get<EventPage>('/api/v1/services/org.example.orderservice.Api/events?q=back-off%20order&limit=200')
    expect(status).toBe(200)
    const expected = events.filter((event) => event.service === 'org.example.orderservice.Api' && event.reason === 'BackOff')
    expect(body.total).toBe(expected.length)
    expect(body.items.every((item) => item.reason === 'BackOff')).toBe(true)
  })

  it('caps total at 10,000 and says so', async () => {
    await server.post('/api/v1/events', [{ id: 'one-more', type: 'normal', reason: 'Extra', message: 'the 10,001st event', mesh: 'mesh-a' }])
    const { body } = await server.get<EventPage>('/api/v1/events?limit=1')
    expect(body.total).toBe(10_000)
    expect(body.totalCapped).toBe(true)
    const warnings = await server.get<EventPage>('/api/v1/events?type=warning&limit=1')
    expect(warnings.body).toMatchObject({ total: 2000, totalCapped: false })
  })

  it.each([
    ['limit=0', 'limit'],
    ['limit=500', 'limit'],
    ['limit=abc', 'limit'],
    ['type=fatal', 'type'],
    ['source=kubernetes,syslog', 'source'],
    ['since=yesterday', 'since'],
    ['until=2026-13-45T00:00:00Z', 'until'],
    ['since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z', 'until'],
    ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['mesh=a%20b', 'mesh'],
    ['namespace=,', 'namespace'],
    ['namespace=prod,a%01b', 'namespace'],
    ['kind=Pod&kind=Node', 'kind'],
    ['limit=10&limit=20', 'limit'],
  ])('answers 400 naming the field for %s', async (query, field) => {
    const { status, body } = await server.get<ErrorBody>(`/api/v1/events?${query}`)
    expect(status).toBe(400)
    expect(body.error.code).toBe('invalid_argument')
    expect(body.error.field).toBe(field)
    expect(body.error.message).toContain(field)
  })

  it('refuses a cursor that was tampered with', async () => {
    const { body } = await server.get<EventPage>('/api/v1/events?limit=2')
    const tampered = `${body.nextCursor!.slice(0, -1)}${body.nextCursor!.endsWith('A') ? 'B' : 'A'}`
    const { status } = await server.get<ErrorBody>(`/api/v1/events?cursor=${tampered}`)
    expect(status).toBe(400)
  })

  it('lists meshes, applications, instances and services from the events', async () => {
    const meshes = await server.get<{ items: Mesh[] }>('/api/v1/meshes')
    expect(meshes.body.items.map((mesh) => mesh.name)).toEqual(['mesh-a', 'mesh-b'])
    expect(meshes.body.items[0]).toMatchObject({ kind: 'api', status: 'connected', counts: { applications: 3, events: 5001 } })
    const apps = await server.get<Page<ApplicationSummary>>('/api/v1/applications?mesh=mesh-a&limit=2')
    expect(apps.body.total).toBe(3)
    expect(apps.body.items.map((app) => app.name)).toEqual(['order-service', 'payment-service'])
    const rest = await server.get<Page<ApplicationSummary>>(`/api/v1/applications?mesh=mesh-a&limit=2&cursor=${apps.body.nextCursor}`)
    expect(rest.body.items.map((app) => app.name)).toEqual(['shop-frontend'])
    expect(rest.body.nextCursor).toBeNull()
    expect(rest.body.items[0]!.lastEventAt).toBe(events.filter((e) => e.mesh === 'mesh-a' && e.application === 'shop-frontend').at(-1)!.time)
    const instances = await server.get<Page<Instance>>('/api/v1/instances?mesh=mesh-a&application=order-service')
    expect(instances.body.items.map((instance) => instance.name)).toEqual(['order-service-pod-0', 'order-service-pod-2'])
    const services = await server.get<Page<ServiceSummary>>('/api/v1/services?q=payment')
    expect(services.body.items.map((service) => `${service.mesh}/${service.name}`)).toEqual(['mesh-a/org.example.paymentservice.Api', 'mesh-b/org.example.paymentservice.Api'])
  })

  it('answers 404 for unknown entities and endpoints', async () => {
    for (const path of ['/api/v1/applications/nope', '/api/v1/instances/nope?mesh=mesh-a', '/api/v1/services/nope', '/api/v1/nothing-here']) {
      const { status, body } = await server.get<ErrorBody>(path)
      expect(status, path).toBe(404)
      expect(body.error.code).toBe('not_found')
    }
  })

  it('serves the Dubbo admin compatible envelope', async () => {
    const { status, body } = await server.get<DubboAdminResponse<DubboAdminEventList>>('/api/v1/application/event?appName=shop-frontend&mesh=mesh-a&pageOffset=0&pageSize=3')
    expect(status).toBe(200)
    expect(body.code).toBe('Success')
    expect(body.message).toBe('success')
    const expected = events.filter((e) => e.mesh === 'mesh-a' && e.application === 'shop-frontend')
    expect(body.data!.total).toBe(expected.length)
    expect(body.data!.list).toHaveLength(3)
    expect(body.data!.list[0]).toEqual({ time: expected.at(-1)!.time.slice(0, 19).replace('T', ' '), type: expected.at(-1)!.type, message: expected.at(-1)!.message, source: 'api', desc: expected.at(-1)!.message })
    const offset = await server.get<DubboAdminResponse<DubboAdminEventList>>('/api/v1/service/event?serviceName=org.example.shopfrontend.Api&mesh=mesh-a&pageOffset=3&pageSize=3')
    expect(offset.body.data!.list[0]!.message).toBe(expected.at(-4)!.message)
    const instance = await server.get<DubboAdminResponse<DubboAdminEventList>>('/api/v1/instance/event?instanceName=10.0.1.1&pageSize=1')
    expect(instance.body.data!.total).toBe(events.filter((e) => e.ip === '10.0.1.1').length)
    const bad = await server.get<DubboAdminResponse<DubboAdminEventList>>('/api/v1/application/event?pageSize=1000')
    expect(bad.status).toBe(200)
    expect(bad.body.code).toBe('InvalidArgument')
    expect(bad.body.message).toMatch(/appName|pageSize/)
  })
})

describe.each(ENGINES)('POST /events (%s)', (_engine, database) => {
  const tmp = database()
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ db: tmp.db })
  })
  afterAll(async () => {
    await server.stop()
    await tmp.cleanup()
  })

  it('stores nothing when any item is invalid, naming its index and field', async () => {
    const batch = [
      { id: 'ok-1', type: 'normal', reason: 'Fine', message: 'fine' },
      { id: 'ok-2', type: 'normal', reason: 'Fine', message: 'fine' },
      { id: 'bad', type: 'fatal', reason: 'Bad', message: 'bad' },
    ]
    const { status, body } = await server.post<ErrorBody>('/api/v1/events', batch)
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ code: 'invalid_argument', field: '[2].type' })
    const page = await server.get<EventPage>('/api/v1/events')
    expect(page.body.total).toBe(0)
  })

  it.each([
    [{ type: 'normal', reason: 'X' }, 'message'],
    [{ type: 'normal', reason: '', message: 'm' }, 'reason'],
    [{ type: 'normal', reason: 'X', message: 'm', time: 'last tuesday' }, 'time'],
    [{ type: 'normal', reason: 'X', message: 'm', colour: 'red' }, 'colour'],
    [{ type: 'normal', reason: 'X', message: 'm', object: { kind: 'Pod' } }, 'object.name'],
    ['not an object', 'body'],
    [[], 'body'],
  ])('answers 400 for %j naming %s', async (payload, field) => {
    const { status, body } = await server.post<ErrorBody>('/api/v1/events', payload)
    expect(status).toBe(400)
    expect(body.error.field).toBe(field)
  })

  it('refuses malformed JSON and bodies over 1000 events', async () => {
    const response = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: '{"type":' })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorBody).error.field).toBe('body')
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `x${i}`, type: 'normal', reason: 'R', message: 'm' }))
    const { status, body } = await server.post<ErrorBody>('/api/v1/events', tooMany)
    expect(status).toBe(400)
    expect(body.error.field).toBe('body')
  })

  it('updates a re-posted id in place: a retry changes nothing, a later time counts', async () => {
    const first = { id: 'repeat-1', time: recent(0), type: 'warning', reason: 'BackOff', message: 'restarting', mesh: 'm1', application: 'app' }
    expect((await server.post('/api/v1/events', first)).status).toBe(202)
    expect((await server.post('/api/v1/events', first)).status).toBe(202)
    let page = await server.get<EventPage>('/api/v1/applications/app/events?mesh=m1')
    expect(page.body.items).toHaveLength(1)
    expect(page.body.items[0]).toMatchObject({ id: 'repeat-1', count: 1, time: recent(0, true) })
    await server.post('/api/v1/events', { ...first, time: recent(5), message: 'restarting again' })
    page = await server.get<EventPage>('/api/v1/applications/app/events?mesh=m1')
    expect(page.body.items).toHaveLength(1)
    expect(page.body.items[0]).toMatchObject({ count: 2, time: recent(5, true), firstTime: recent(0, true), message: 'restarting again' })
  })

  it('needs the token: 401 without or with a wrong one', async () => {
    expect((await server.post('/api/v1/events', { type: 'normal', reason: 'R', message: 'm' }, null)).status).toBe(401)
    expect((await server.post('/api/v1/events', { type: 'normal', reason: 'R', message: 'm' }, 'wrong-token-x')).status).toBe(401)
    const read = await fetch(`${server.url}/api/v1/events`)
    expect(read.status).toBe(401)
    expect(((await read.json()) as ErrorBody).error.code).toBe('unauthorized')
  })
})

describe.each(ENGINES)('without a configured token (%s)', (_engine, database) => {
  const tmp = database()
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ db: tmp.db, token: undefined })
  })
  afterAll(async () => {
    await server.stop()
    await tmp.cleanup()
  })

  it('refuses posted events with 403 and still serves reads', async () => {
    const { status, body } = await server.post<ErrorBody>('/api/v1/events', { type: 'normal', reason: 'R', message: 'm' }, 'anything')
    expect(status).toBe(403)
    expect(body.error.code).toBe('forbidden')
    expect((await server.get('/api/v1/events')).status).toBe(200)
  })
})

describe.each(ENGINES)('persistence (%s)', (_engine, database) => {
  it('keeps events, counts and the catalog across a restart', async () => {
    const tmp = database()
    const db = tmp.db
    let server = await startTestServer({ db })
    await server.post('/api/v1/events', [
      { id: 'p-1', time: recent(0), type: 'normal', reason: 'Started', message: 'started', mesh: 'prod', application: 'a', instance: 'a-1' },
      { id: 'p-2', time: recent(1), type: 'warning', reason: 'BackOff', message: 'backoff', mesh: 'prod', application: 'a', instance: 'a-1' },
    ])
    await server.post('/api/v1/events', { id: 'p-2', time: recent(2), type: 'warning', reason: 'BackOff', message: 'backoff', mesh: 'prod', application: 'a', instance: 'a-1' })
    await server.stop()

    server = await startTestServer({ db })
    const page = await server.get<EventPage>('/api/v1/applications/a/events?mesh=prod')
    expect(page.body.items.map((item) => [item.id, item.count])).toEqual([
      ['p-2', 2],
      ['p-1', 1],
    ])
    const instance = await server.get<Instance>('/api/v1/instances/a-1?mesh=prod')
    expect(instance.body).toMatchObject({ name: 'a-1', application: 'a', registered: false, sources: ['api'] })
    await server.stop()
    await tmp.cleanup()
  })
})

describe.each(ENGINES)('probes and metrics (%s)', (_engine, database) => {
  it('answers /healthz, /readyz and /metrics without a token', async () => {
    const tmp = database()
    const server = await startTestServer({ db: tmp.db })
    await server.post('/api/v1/events', { type: 'normal', reason: 'R', message: 'm' })
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/eventline_events_ingested_total\{source="api"\} 1/)
    expect(metrics).toMatch(/eventline_batch_write_seconds_count \d+/)
    expect(metrics).toMatch(/eventline_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/events",status="202"\} 1/)
    await server.stop()
    await tmp.cleanup()
  })
})

import type { ErrorBody, EventItem, EventPage, Facets, Gap, Histogram } from '@eventline/shared'
import { EXPORT_CSV_COLUMNS } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRegistries } from '../config.ts'
import { eventually } from '../testing/eventually.ts'
import { startNacosServer } from '../testing/nacosServer.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { startTestServer, tempDir, TEST_TOKEN } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

// Recent enough for the default retention; whole seconds.
const BASE = Math.floor((Date.now() - 3 * 86_400_000) / 1000) * 1000
const APPS = ['order-service', 'payment-service', 'shop-frontend']
const MESSAGES = [
  'Back-off restarting failed container',
  'Pulled image "shop:1.2", size 40,960 bytes',
  'line one\nline two',
  '=HYPERLINK("http://evil.example","click")',
  '+1 replica, "quoted" and, commas',
  '连接超时 upstream timeout',
]

/** 3,000 events over two meshes, three applications, a few reasons and namespaces. */
const events = Array.from({ length: 3000 }, (_, i) => {
  const app = APPS[i % 3]!
  return {
    id: `view-${String(i).padStart(5, '0')}`,
    // Runs of 4 share a time; spread over about 50 hours.
    time: new Date(BASE + Math.floor(i / 4) * 240_000).toISOString(),
    type: i % 5 === 0 ? 'warning' : 'normal',
    reason: i % 5 === 0 ? 'BackOff' : i % 3 === 0 ? 'Pulled' : i % 7 === 0 ? '@Formula' : 'Started',
    message: MESSAGES[i % MESSAGES.length]!,
    mesh: i % 2 === 0 ? 'mesh-a' : 'mesh-b',
    application: app,
    instance: `${app}-pod-${i % 4}`,
    service: `org.example.${app.replace('-', '')}.Api`,
    object: { kind: i % 11 === 0 ? 'Deployment' : 'Pod', name: `${app}-pod-${i % 4}`, namespace: i % 3 === 0 ? 'prod' : 'staging' },
  }
})
type Posted = (typeof events)[number]

/** Brute force over what was posted: the matches of a few filters, newest first. */
function matches(filter: { application?: string; mesh?: string; type?: string; reason?: string; namespaces?: string[]; kinds?: string[]; q?: string; since?: number; until?: number }): Posted[] {
  return events
    .filter(
      (event) =>
        (filter.application === undefined || event.application === filter.application) &&
        (filter.mesh === undefined || event.mesh === filter.mesh) &&
        (filter.type === undefined || event.type === filter.type) &&
        (filter.reason === undefined || event.reason === filter.reason) &&
        (filter.namespaces === undefined || filter.namespaces.includes(event.object.namespace)) &&
        (filter.kinds === undefined || filter.kinds.includes(event.object.kind)) &&
        (filter.q === undefined || `${event.reason} ${event.message}`.toLowerCase().includes(filter.q)) &&
        (filter.since === undefined || Date.parse(event.time) >= filter.since) &&
        (filter.until === undefined || Date.parse(event.time) < filter.until),
    )
    .sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id))
}

/** Reads one RFC 4180 document into rows of fields (quoted fields may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (char === '"') quoted = false
      else field += char
    } else if (char === '"') quoted = true
    else if (char === ',') {
      row.push(field)
      field = ''
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i++
    } else field += char
  }
  if (field !== '' || row.length > 0) throw new Error('CSV does not end with CRLF')
  return rows
}

/** A database for the views' server on one engine; `cleanup` removes it. */
interface TestDatabase {
  db: string
  cleanup(): Promise<void>
}
const sqliteDatabase = (): TestDatabase => {
  const tmp = tempDir()
  return { db: `${tmp.dir}/views.db`, cleanup: async () => tmp.cleanup() }
}
const postgresDatabase = (): TestDatabase => {
  const schema = testSchema()
  return { db: `${TEST_PG_URL}?schema=${schema}`, cleanup: () => dropSchema(schema) }
}
// The same views on every engine: histogram, facets and export may not differ between them.
const ENGINES: Array<[string, () => TestDatabase]> = [['SQLite', sqliteDatabase]]
if (!(await skipWithoutPostgres())) ENGINES.push(['PostgreSQL', postgresDatabase])

describe.each(ENGINES)('timeline views: histogram, facets, export (%s)', (_engine, database) => {
  let server: TestServer
  let tmp: TestDatabase

  beforeAll(async () => {
    tmp = database()
    server = await startTestServer({ db: tmp.db })
    for (let i = 0; i < events.length; i += 1000) expect((await server.post('/api/v1/events', events.slice(i, i + 1000))).status).toBe(202)
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    await tmp?.cleanup()
  })

  const PATHS: Array<[string, string, Parameters<typeof matches>[0]]> = [
    ['every event', '/api/v1/events', {}],
    ['an application', '/api/v1/applications/order-service/events', { application: 'order-service' }],
    ['an application in a mesh, warnings', '/api/v1/applications/payment-service/events?mesh=mesh-a&type=warning', { application: 'payment-service', mesh: 'mesh-a', type: 'warning' }],
    ['a mesh with a reason and a namespace', '/api/v1/events?mesh=mesh-b&reason=Pulled&namespace=prod', { mesh: 'mesh-b', reason: 'Pulled', namespaces: ['prod'] }],
    ['namespaces and kinds as lists', '/api/v1/events?namespace=prod,staging&kind=Deployment,Node', { namespaces: ['prod', 'staging'], kinds: ['Deployment', 'Node'] }],
    ['a search in an application', '/api/v1/applications/shop-frontend/events?q=timeout', { application: 'shop-frontend', q: 'timeout' }],
  ]

  it.each(PATHS)('histogram of %s counts every match once, by time, oldest bucket first', async (_name, path, filter) => {
    const [base, query = ''] = path.split('?')
    const { status, body } = await server.get<Histogram>(`${base}/histogram?${query}`)
    expect(status).toBe(200)
    const want = matches(filter)
    // Without since: starts at the oldest match; without until: ends now.
    expect(body.since).toBe(want.at(-1)!.time)
    expect(Date.parse(body.until)).toBeGreaterThan(Date.parse(want[0]!.time))
    expect(body.buckets.length).toBeLessThanOrEqual(60)
    expect(body.buckets.length).toBeGreaterThan(50)
    expect(body.gaps).toEqual([])
    const expected = body.buckets.map(() => ({ normal: 0, warning: 0 }))
    for (const event of want) expected[Math.floor((Date.parse(event.time) - Date.parse(body.since)) / body.bucketMs)]![event.type as 'normal' | 'warning']++
    expect(body.buckets.map(({ normal, warning }) => ({ normal, warning }))).toEqual(expected)
    body.buckets.forEach((bucket, index) => expect(Date.parse(bucket.start)).toBe(Date.parse(body.since) + index * body.bucketMs))
  })

  it('histogram honours since, until and buckets', async () => {
    const since = BASE + 3_600_000
    const until = BASE + 13 * 3_600_000
    const { body } = await server.get<Histogram>(`/api/v1/instances/order-service-pod-0/events/histogram?since=${new Date(since).toISOString()}&until=${new Date(until).toISOString()}&buckets=12`)
    expect(body).toMatchObject({ since: new Date(since).toISOString(), until: new Date(until).toISOString(), bucketMs: 3_600_000 })
    expect(body.buckets).toHaveLength(12)
    const want = events.filter((event) => event.instance === 'order-service-pod-0' && Date.parse(event.time) >= since && Date.parse(event.time) < until)
    expect(body.buckets.reduce((sum, bucket) => sum + bucket.normal + bucket.warning, 0)).toBe(want.length)
  })

  it('facets count values of the matches, largest first', async () => {
    for (const [field, value] of [
      ['reason', (event: Posted) => event.reason],
      ['namespace', (event: Posted) => event.object.namespace],
      ['kind', (event: Posted) => event.object.kind],
      ['application', (event: Posted) => event.application],
      ['type', (event: Posted) => event.type],
    ] as const) {
      const { status, body } = await server.get<Facets>(`/api/v1/events/facets?field=${field}&mesh=mesh-a`)
      expect(status).toBe(200)
      const counts = new Map<string, number>()
      for (const event of matches({ mesh: 'mesh-a' })) counts.set(value(event), (counts.get(value(event)) ?? 0) + 1)
      const want = [...counts].map(([v, count]) => ({ value: v, count })).sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
      expect(body).toEqual({ field, items: want, capped: false })
    }
    const { body } = await server.get<Facets>('/api/v1/services/org.example.orderservice.Api/events/facets?field=source')
    expect(body).toEqual({ field: 'source', items: [{ value: 'api', count: events.filter((event) => event.service === 'org.example.orderservice.Api').length }], capped: false })
  })

  it('facets of a search in an entity', async () => {
    const { body } = await server.get<Facets>('/api/v1/applications/order-service/events/facets?field=reason&q=timeout')
    const want = matches({ application: 'order-service', q: 'timeout' })
    expect(body.items.reduce((sum, item) => sum + item.count, 0)).toBe(want.length)
  })

  it('exports every match as CSV, newest first, quoted and with formulas neutralised', async () => {
    const response = await fetch(`${server.url}/api/v1/applications/order-service/events/export?format=csv`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="eventline-events-.*\.csv"$/)
    const rows = parseCsv(await response.text())
    expect(rows[0]!.join(',')).toBe('time,firstTime,count,type,reason,message,source,component,mesh,kind,namespace,name,application,instance,ip,service')
    expect(rows[0]).toEqual([...EXPORT_CSV_COLUMNS])
    const want = matches({ application: 'order-service' })
    expect(rows.slice(1).map((row) => row[0])).toEqual(want.map((event) => event.time))
    for (const [index, event] of want.entries()) {
      const row = rows[index + 1]!
      const neutral = (text: string) => (/^[=+\-@]/.test(text) ? `'${text}` : text)
      expect(row[EXPORT_CSV_COLUMNS.indexOf('message')]).toBe(neutral(event.message))
      expect(row[EXPORT_CSV_COLUMNS.indexOf('reason')]).toBe(neutral(event.reason))
      expect(row[EXPORT_CSV_COLUMNS.indexOf('namespace')]).toBe(event.object.namespace)
      expect(row[EXPORT_CSV_COLUMNS.indexOf('ip')]).toBe('')
    }
  })

  it('exports NDJSON equal to the timeline, and stops at max', async () => {
    const ndjson = async (query: string) => {
      const response = await fetch(`${server.url}/api/v1/events/export?${query}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename=".*\.ndjson"$/)
      return (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as EventItem)
    }
    const all = await ndjson('format=ndjson&mesh=mesh-b')
    expect(all.map((item) => item.id)).toEqual(matches({ mesh: 'mesh-b' }).map((event) => event.id))
    const page = await server.get<EventPage>('/api/v1/events?mesh=mesh-b&limit=200')
    expect(all.slice(0, 200)).toEqual(page.body.items)
    const capped = await ndjson('format=ndjson&max=1234')
    expect(capped.map((item) => item.id)).toEqual(matches({}).slice(0, 1234).map((event) => event.id))
  })

  it('a client that goes away mid-export stops the walk; the server carries on', async () => {
    const controller = new AbortController()
    const response = await fetch(`${server.url}/api/v1/events/export?format=ndjson`, { headers: { authorization: `Bearer ${TEST_TOKEN}` }, signal: controller.signal })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    await reader.read().catch(() => undefined)
    expect((await server.get('/api/v1/events?limit=1')).status).toBe(200)
  })

  it.each([
    ['/api/v1/events/histogram?buckets=0', 'buckets'],
    ['/api/v1/events/histogram?buckets=501', 'buckets'],
    ['/api/v1/events/histogram?buckets=ten', 'buckets'],
    ['/api/v1/events/histogram?limit=20', 'limit'],
    ['/api/v1/events/histogram?since=yesterday', 'since'],
    ['/api/v1/events/facets', 'field'],
    ['/api/v1/events/facets?field=message', 'field'],
    ['/api/v1/events/facets?field=reason&cursor=x', 'cursor'],
    ['/api/v1/events/export', 'format'],
    ['/api/v1/events/export?format=xlsx', 'format'],
    ['/api/v1/events/export?format=csv&max=0', 'max'],
    ['/api/v1/events/export?format=csv&max=1000001', 'max'],
    ['/api/v1/events/export?format=csv&app=x', 'app'],
    ['/api/v1/gaps?since=yesterday', 'since'],
    ['/api/v1/gaps?application=x', 'application'],
  ])('%s is a 400 naming %s', async (path, field) => {
    const { status, body } = await server.get<ErrorBody>(path)
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ code: 'invalid_argument', field })
  })
})

describe.each(ENGINES)('gaps in ingestion (%s)', (_engine, database) => {
  const ACTIVITY = { heartbeatMs: 20, gapThresholdMs: 150 }

  it('a restart after a pause is a gap of Eventline not running, shown in /gaps and in histograms', async () => {
    const tmp = database()
    const db = tmp.db
    try {
      let server = await startTestServer({ db, demo: true, activity: ACTIVITY })
      await eventually(async () => expect((await server.get<{ items: Array<{ name: string; status: string }> }>('/api/v1/meshes')).body.items).toContainEqual(expect.objectContaining({ name: 'demo', status: 'connected' })))
      expect((await server.get<{ items: Gap[] }>('/api/v1/gaps')).body.items).toEqual([])
      await server.stop()
      const stoppedAt = Date.now()
      // Wait for the condition "longer than the threshold has passed", not for a fixed time.
      await eventually(() => expect(Date.now() - stoppedAt).toBeGreaterThan(ACTIVITY.gapThresholdMs * 2), 5_000)
      server = await startTestServer({ db, demo: true, activity: ACTIVITY })
      try {
        const gaps = await eventually(async () => {
          const { body } = await server.get<{ items: Gap[] }>('/api/v1/gaps?mesh=demo')
          expect(body.items).toHaveLength(1)
          return body.items
        })
        expect(gaps[0]).toMatchObject({ mesh: 'demo', source: 'demo', reason: 'not-running', lossPossible: false })
        expect(gaps[0]!.ongoing).toBeUndefined()
        expect(Date.parse(gaps[0]!.from)).toBeLessThanOrEqual(stoppedAt)
        expect(Date.parse(gaps[0]!.to) - Date.parse(gaps[0]!.from)).toBeGreaterThan(ACTIVITY.gapThresholdMs)
        const histogram = (await server.get<Histogram>('/api/v1/events/histogram?mesh=demo&since=1h')).body
        expect(histogram.gaps).toEqual(gaps)
        // Out of range: not listed.
        expect((await server.get<{ items: Gap[] }>(`/api/v1/gaps?until=${encodeURIComponent(gaps[0]!.from)}`)).body.items).toEqual([])
        expect((await server.get<{ items: Gap[] }>('/api/v1/gaps?mesh=other')).body.items).toEqual([])
      } finally {
        await server.stop()
      }
    } finally {
      await tmp.cleanup()
    }
  }, 30_000)

  it('a registry that fails is an ongoing gap while it fails, closed when it recovers, events possibly lost', async () => {
    const tmp = database()
    const nacos = await startNacosServer({ cacheMillis: 30 })
    nacos.register('providers:org.example.Api:1.0.0:', { ip: '10.0.0.7', port: 20880, metadata: { application: 'demo-provider' } })
    const server = await startTestServer({
      db: tmp.db,
      registries: parseRegistries(`nacos://${nacos.address}?name=nacos-test`),
      registryTuning: { nacos: { requestTimeoutMs: 2_000, minPollMs: 20, serviceListIntervalMs: 100, backoff: { initialMs: 20, maxMs: 100 } } },
      activity: ACTIVITY,
    })
    const meshStatus = async () => (await server.get<{ items: Array<{ name: string; status: string }> }>('/api/v1/meshes')).body.items.find((mesh) => mesh.name === 'nacos-test')?.status
    try {
      await eventually(async () => expect(await meshStatus()).toBe('connected'))
      nacos.fail({ kind: 'status', status: 503, body: 'server is DOWN now' })
      await eventually(async () => expect(await meshStatus()).toBe('error'))
      const ongoing = await eventually(async () => {
        const { body } = await server.get<{ items: Gap[] }>('/api/v1/gaps?mesh=nacos-test')
        expect(body.items).toHaveLength(1)
        return body.items[0]!
      })
      expect(ongoing).toMatchObject({ mesh: 'nacos-test', source: 'nacos', reason: 'failing', lossPossible: true, ongoing: true })
      nacos.heal()
      await eventually(async () => expect(await meshStatus()).toBe('connected'))
      const closed = await eventually(async () => {
        const { body } = await server.get<{ items: Gap[] }>('/api/v1/gaps?mesh=nacos-test')
        expect(body.items).toHaveLength(1)
        expect(body.items[0]!.ongoing).toBeUndefined()
        return body.items[0]!
      })
      expect(closed).toMatchObject({ from: ongoing.from, reason: 'failing', lossPossible: true })
      expect(Date.parse(closed.to)).toBeGreaterThanOrEqual(Date.parse(ongoing.to))
    } finally {
      await server.stop()
      await nacos.close()
      await tmp.cleanup()
    }
  }, 30_000)
})

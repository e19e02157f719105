import { join } from 'node:path'
import { Client } from '@elastic/elasticsearch'
import type { EventItem } from '@eventline/shared'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseFileConfig } from '../rules/fileConfig.ts'
import { startElasticsearchServer } from '../testing/elasticsearchServer.ts'
import type { ElasticsearchServerOptions } from '../testing/elasticsearchServer.ts'
import { eventually } from '../testing/eventually.ts'
import { startTestServer, tempDir } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'
import { bulkRequests, indexName, readBulkAnswer, templatePatterns } from './elasticsearchSink.ts'
import type { ElasticsearchSinkConfig } from './types.ts'

const { dir, cleanup } = tempDir()
afterAll(cleanup)
let closing: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closing.reverse()) await close()
  closing = []
})

describe('Elasticsearch bulk requests', () => {
  it("names the index from the event's UTC date", () => {
    expect(indexName('eventline-%Y.%m.%d', Date.UTC(2026, 0, 5, 23, 30))).toBe('eventline-2026.01.05')
    expect(indexName('events', Date.UTC(2026, 0, 5))).toBe('events')
    expect(templatePatterns('eventline-%Y.%m.%d')).toEqual(['eventline-*.*.*'])
    expect(templatePatterns('k8s-%Y%m')).toEqual(['k8s-*'])
  })

  it('keys each index action by the event id and splits requests under maxBytes', () => {
    const event = (id: string): EventItem => ({
      id,
      time: '2026-11-20T08:00:00.000Z',
      firstTime: '2026-11-20T08:00:00.000Z',
      count: 1,
      type: 'normal',
      reason: 'Pulled',
      message: 'x'.repeat(300),
      source: 'kubernetes',
      component: 'kubelet',
      mesh: 'prod',
      object: { kind: 'Pod', name: id },
    })
    const requests = bulkRequests([1, 2, 3].map((seq) => ({ seq, event: event(`e${seq}`) })), 'eventline-%Y.%m.%d', 900)
    expect(requests.map(({ count }) => count)).toEqual([1, 1, 1])
    const [action, source] = requests[0]!.body.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(action).toEqual({ index: { _index: 'eventline-2026.11.20', _id: 'e1' } })
    expect(source).toMatchObject({ '@timestamp': '2026-11-20T08:00:00.000Z', id: 'e1', reason: 'Pulled' })
    expect(bulkRequests([1, 2, 3].map((seq) => ({ seq, event: event(`e${seq}`) })), 'x', 1 << 20)).toHaveLength(1)
  })

  it('reads a partial failure as delivered up to the first failed item, busy ones retried, others refused', () => {
    const answer = (statuses: number[]) => JSON.stringify({ errors: statuses.some((s) => s >= 300), items: statuses.map((status) => ({ index: { status, error: status >= 300 ? { type: 't', reason: 'r' } : undefined } })) })
    expect(readBulkAnswer(answer([201, 200]), 2)).toEqual({ indexed: 2 })
    const busy = readBulkAnswer(answer([201, 429, 201]), 3)
    expect(busy.indexed).toBe(1)
    expect(busy.error?.rejected).toBe(false)
    const refused = readBulkAnswer(answer([201, 201, 400]), 3)
    expect(refused.indexed).toBe(2)
    expect(refused.error?.rejected).toBe(true)
    expect(readBulkAnswer('not json', 3).indexed).toBe(0)
  })
})

describe('Elasticsearch sink configuration', () => {
  const load = (sink: string) => () => parseFileConfig(`sinks:\n  - name: search\n    type: elasticsearch\n    url: http://es:9200\n${sink}`, 'eventline.yaml')

  it('takes a daily index and the eventline template by default', () => {
    expect(load('')().sinks[0]).toMatchObject({ type: 'elasticsearch', index: 'eventline-%Y.%m.%d', template: 'eventline', maxDocuments: 500 })
    expect(load('    template: false\n')().sinks[0]).toMatchObject({ template: undefined })
  })

  it('refuses an index name Elasticsearch would refuse, and mixed credentials', () => {
    expect(load('    index: Events-%Y\n')).toThrow(/sinks\[0\]\.index \(line 5\): must be a lower-case index name/)
    expect(load('    index: "_events"\n')).toThrow(/sinks\[0\]\.index/)
    expect(load('    username: u\n    password: p\n    apiKey: k\n')).toThrow(/sinks\[0\]\.apiKey.*use either apiKey or username and password/)
  })
})

describe('Elasticsearch sink', () => {
  const sink = (es: { url: string }, overrides: Partial<ElasticsearchSinkConfig> = {}): ElasticsearchSinkConfig => ({
    type: 'elasticsearch',
    name: 'search',
    url: es.url,
    index: 'eventline-%Y.%m.%d',
    template: 'eventline',
    headers: {},
    timeoutMs: 2_000,
    retry: { initialMs: 20, maxMs: 200 },
    maxDocuments: 100,
    maxBytes: 5 << 20,
    ...overrides,
  })

  async function setUp(name: string, options: ElasticsearchServerOptions = {}, overrides: Partial<ElasticsearchSinkConfig> = {}) {
    const es = await startElasticsearchServer(options)
    closing.push(es.close)
    const config = sink(es, overrides)
    const server = await startTestServer({ db: join(dir, `${name}.db`), sinks: [config], routeEvent: () => [config.name], sinkTuning: { stopGraceMs: 100 } })
    closing.push(() => server.stop())
    return { es, server }
  }

  const posted = (ids: string[], day = 20) =>
    ids.map((id, i) => ({ id, time: new Date(Date.UTC(2026, 10, day, 8, 0, i)).toISOString(), type: 'warning', reason: 'BackOff', message: `back-off ${id}`, mesh: 'k8s-prod', application: 'cart' }))
  const metrics = async (server: TestServer) => (await fetch(`${server.url}/metrics`)).text()
  const pendingZero = async (server: TestServer) => expect(await metrics(server)).toMatch(/eventline_sink_pending\{sink="search"\} 0/)

  it('indexes every event by id into daily indices under its template, as the official client reads them back; an update replaces the document', async () => {
    const { es, server } = await setUp('roundtrip', { apiKey: 'aWQ6a2V5' }, { apiKey: 'aWQ6a2V5' })
    const ids = Array.from({ length: 20 }, (_, i) => `es${i}`)
    expect((await server.post('/api/v1/events', [...posted(ids.slice(0, 10), 20), ...posted(ids.slice(10), 21)])).status).toBe(202)
    const client = new Client({ node: es.url, auth: { apiKey: 'aWQ6a2V5' } })
    closing.push(() => client.close())
    await eventually(async () => expect((await client.count({ index: 'eventline-*' })).count).toBe(20), 15_000)

    expect(es.indexNames()).toEqual(['eventline-2026.11.20', 'eventline-2026.11.21'])
    const template = await client.indices.getIndexTemplate({ name: 'eventline' })
    const mappings = template.index_templates[0]!.index_template.template?.mappings?.properties
    expect(mappings?.reason).toEqual({ type: 'keyword' })
    expect(mappings?.message).toEqual({ type: 'text' })
    const found = await client.search<EventItem>({ index: 'eventline-*', query: { term: { reason: 'BackOff' } }, size: 100 })
    expect(found.hits.hits.map(({ _id }) => _id).sort()).toEqual([...ids].sort())

    // The same id again (a new occurrence): the document is replaced, not duplicated.
    expect((await server.post('/api/v1/events', [{ ...posted(['es0'], 20)[0]!, time: new Date(Date.UTC(2026, 10, 20, 8, 5)).toISOString() }])).status).toBe(202)
    await eventually(async () => expect((await client.get<EventItem>({ index: 'eventline-2026.11.20', id: 'es0' }))._version).toBe(2), 15_000)
    const doc = await client.get<EventItem>({ index: 'eventline-2026.11.20', id: 'es0' })
    expect(doc._source?.count).toBe(2)
    expect((await client.count({ index: 'eventline-*' })).count).toBe(20)
  })

  it('leaves an existing template as the operator left it', async () => {
    const es = await startElasticsearchServer()
    closing.push(es.close)
    es.templates.set('eventline', { index_patterns: ['eventline-*'], priority: 500, template: { mappings: { properties: { message: { type: 'keyword' } } } } })
    const config = sink(es)
    const server = await startTestServer({ db: join(dir, 'template.db'), sinks: [config], routeEvent: () => ['search'], sinkTuning: { stopGraceMs: 100 } })
    closing.push(() => server.stop())
    expect((await server.post('/api/v1/events', posted(['t1']))).status).toBe(202)
    await eventually(() => expect(es.documents().size).toBe(1), 15_000)
    expect(es.templates.get('eventline')?.priority).toBe(500)
    expect(es.requests.filter(({ method, path }) => method === 'PUT' && path.startsWith('/_index_template'))).toHaveLength(0)
  })

  it('retries only the documents the cluster rejected as busy, and drops (counted) one it refuses three times', async () => {
    const { es, server } = await setUp('partial', { basicAuth: { username: 'elastic', password: 'changeme' } }, { username: 'elastic', password: 'changeme' })
    es.failNext('p2', 429, 2)
    es.failNext('p4', 400, 100) // a document this cluster will never take
    const ids = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']
    expect((await server.post('/api/v1/events', posted(ids))).status).toBe(202)
    await eventually(async () => expect(await metrics(server)).toMatch(/eventline_sink_dropped_total\{sink="search",reason="rejected"\} 1/), 15_000)
    await eventually(() => pendingZero(server))
    expect([...es.documents().keys()].sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p5'])
    // Documents before a failure are not sent again; later ones may be, harmlessly (same _id).
    expect(es.documents().get('p0')?.version).toBe(1)
  })

  it('keeps everything in the outbox while the cluster answers 503, then delivers it', async () => {
    const { es, server } = await setUp('outage')
    expect((await server.post('/api/v1/events', posted(['o0']))).status).toBe(202)
    await eventually(() => expect(es.documents().size).toBe(1), 15_000)
    es.rejectRequests(5, 503)
    expect((await server.post('/api/v1/events', posted(['o1', 'o2', 'o3']))).status).toBe(202)
    await eventually(() => expect(es.documents().size).toBe(4), 15_000)
    expect(es.requests.filter(({ path }) => path === '/_bulk').length).toBeGreaterThanOrEqual(6)
    await eventually(() => pendingZero(server))
    expect(await metrics(server)).toMatch(/eventline_sink_failed_total\{sink="search"\} [1-9]/)
  })
})

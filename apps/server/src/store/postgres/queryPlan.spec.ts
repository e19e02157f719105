/**
 * Every timeline shape on PostgreSQL is one index range scan in (time, id) order (an entity with
 * no mesh: one per view of it in each mesh, merged without a sort), read from
 * PostgreSQL's own plans (`EXPLAIN (FORMAT JSON)`) on a table of production-shaped events (the
 * benchmark's generator) after ANALYZE, so the planner chooses as it would in production: no
 * sequential scan of events or links, no sort of the result (an Incremental Sort of the rows that
 * share one millisecond is allowed on link-driven shapes, see timelineSql.ts), no OFFSET. The
 * histogram's per-bucket counts, its budgeted walk and the oldest match are index reads too.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWorld, generateEvents, inChunks } from '../../../bench/generate.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../../testing/postgres.ts'
import { LINK_KIND } from '../eventViews.ts'
import type { EntityKind, TimelineFilter } from '../types.ts'
import { PgStore } from './pgStore.ts'
import { bucketCountSql, budgetEdgeSql, countSql, filterEntities, histogramSql, MESH_VIEWS_SQL, needsMeshViews, needsRows, oldestSql, pageSql, searchHistogramSql } from './timelineSql.ts'
import type { MeshViews, ScopedFilter } from './timelineSql.ts'

const EVENTS = 40_000
const DAY_MS = 86_400_000

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Scan Direction'?: string
  'Index Cond'?: string
  'Presorted Key'?: string[]
  Plans?: PlanNode[]
}

function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)]
}

const skip = await skipWithoutPostgres()

describe.skipIf(skip)('PostgreSQL timeline query plans', () => {
  const schema = testSchema()
  let store: PgStore
  let client: pg.Client
  /** The busiest mesh, and the busiest view of each entity kind with the mesh it is in. */
  let busiestMesh = ''
  const busiest: Record<'a' | 'i' | 'p' | 's', { mesh: string; entity: string }> = { a: { mesh: '', entity: '' }, i: { mesh: '', entity: '' }, p: { mesh: '', entity: '' }, s: { mesh: '', entity: '' } }
  /** The busiest entity of each kind with views in two meshes or more (the busiest one when none has). */
  const spread: Record<'a' | 'i' | 'p' | 's', string> = { a: '', i: '', p: '', s: '' }
  /** The views in each mesh of the entities of the every-mesh shapes, by kind and entity. */
  const meshViewIds = new Map<string, number[]>()

  beforeAll(async () => {
    store = await PgStore.open(TEST_PG_URL, { schema })
    const world = createWorld(20_240_601)
    for (const events of inChunks(generateEvents(world, { count: EVENTS, seed: 7, end: Date.parse('2026-11-20T00:00:00Z'), spanMs: 7 * DAY_MS }), 1000)) {
      await store.writeBatch({ events, catalog: [], checkpoints: [], outbox: [] })
    }
    // The settings of the store's timeline connections (PgStore.open).
    client = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${schema} -c enable_sort=off -c enable_bitmapscan=off -c enable_seqscan=off` })
    await client.connect()
    await client.query('ANALYZE')
    busiestMesh = (await client.query<{ mesh: string }>('SELECT mesh FROM events GROUP BY mesh ORDER BY count(*) DESC LIMIT 1')).rows[0]!.mesh
    for (const kind of ['a', 'i', 'p', 's'] as const) {
      const { rows } = await client.query<{ mesh: string; entity: string }>(
        `SELECT v.mesh, v.entity FROM event_links AS l JOIN views AS v ON v.id = l.view WHERE v.mesh <> '' AND v.kind = $1 GROUP BY v.mesh, v.entity ORDER BY count(*) DESC LIMIT 1`,
        [kind],
      )
      busiest[kind] = rows[0]!
      const spreadRows = await client.query<{ entity: string }>(
        `SELECT v.entity FROM event_links AS l JOIN views AS v ON v.id = l.view WHERE v.kind = $1 GROUP BY v.entity ORDER BY count(DISTINCT v.mesh) > 1 DESC, count(*) DESC LIMIT 1`,
        [kind],
      )
      spread[kind] = spreadRows.rows[0]!.entity
      for (const entity of new Set([spread[kind], busiest[kind].entity])) {
        const { rows: ids } = await client.query<{ id: number }>(MESH_VIEWS_SQL, [[kind], [entity]])
        meshViewIds.set(`${kind}\u0000${entity}`, ids.map(({ id }) => id))
      }
    }
    // The data has what the every-mesh shapes are about: applications and IPs in two meshes (an
    // instance is named by its pod in one mesh and by its address in another, so it has one view).
    for (const kind of ['a', 'p'] as const) expect(meshViewIds.get(`${kind}\u0000${spread[kind]}`)!.length, kind).toBeGreaterThan(1)
  }, 600_000)

  /** The filter with the views in each mesh of its entities when it has no mesh, as the store scopes it. */
  function scoped<F extends TimelineFilter>(filter: F): F & ScopedFilter {
    if (!needsMeshViews(filter)) return filter
    const meshViews: MeshViews = {}
    for (const [kind, entity] of filterEntities(filter)) meshViews[kind] = meshViewIds.get(`${LINK_KIND[kind as EntityKind]}\u0000${entity}`)!
    return { ...filter, meshViews }
  }
  /** How many views drive a shape: its entity's views in each mesh with no mesh, else one (or none). */
  const drivingViews = (filter: ScopedFilter) => filter.meshViews?.[filterEntities(filter)[0]![0]]?.length ?? 1
  afterAll(async () => {
    await client?.end()
    await store?.close()
    await dropSchema(schema)
  })

  async function plan(sql: string, values: unknown[]): Promise<{ all: PlanNode[]; text: string }> {
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${sql}`, values)
    const root = rows[0]!['QUERY PLAN'][0]!.Plan
    return { all: nodes(root), text: JSON.stringify(root, null, 1) }
  }

  const entities: Array<[string, () => TimelineFilter]> = [
    ['mesh-wide', () => ({ mesh: busiestMesh })],
    ['every mesh', () => ({})],
    ['application', () => ({ mesh: busiest.a.mesh, application: busiest.a.entity })],
    ['application, every mesh', () => ({ application: spread.a })],
    ['instance, every mesh', () => ({ instance: spread.i })],
    ['IP, every mesh', () => ({ ip: spread.p })],
    ['service, every mesh', () => ({ service: spread.s })],
    ['application and IP, every mesh', () => ({ application: spread.a, ip: spread.p })],
    ['instance', () => ({ mesh: busiest.i.mesh, instance: busiest.i.entity })],
    ['IP', () => ({ mesh: busiest.p.mesh, ip: busiest.p.entity })],
    ['service', () => ({ mesh: busiest.s.mesh, service: busiest.s.entity })],
    ['application and instance', () => ({ mesh: busiest.i.mesh, application: busiest.a.entity, instance: busiest.i.entity })],
  ]
  const extras: Array<[string, TimelineFilter]> = [
    ['', {}],
    [' + type', { type: 'warning' }],
    [' + source', { sources: ['kubernetes', 'zookeeper'] }],
    [' + type + source + since/until', { type: 'normal', sources: ['kubernetes'], since: Date.parse('2026-11-15T00:00:00Z'), until: Date.parse('2026-11-16T00:00:00Z') }],
    [' + reason + namespace', { reasons: ['BackOff'], namespaces: ['trade'] }],
  ]
  const shapes = entities.flatMap(([name, filter]) => extras.map(([extra, more]) => [`${name}${extra}`, filter, more] as const))
  const linked = (filter: TimelineFilter) => Boolean(filter.application || filter.instance || filter.ip || filter.service)

  it.each(shapes)('%s: pages with one index range scan (per view in each mesh, merged) and no sort', async (_name, base, more) => {
    const filter = scoped({ ...base(), ...more })
    for (const after of [undefined, { time: Date.parse('2026-11-18T00:00:00Z'), id: 'x' }]) {
      const { sql, values } = pageSql(filter, 20, after)
      const { all, text } = await plan(sql, values)
      const views = drivingViews(filter)
      if (views > 1) {
        // One backward range scan of the links' primary key per view, merged in page order.
        expect(all.filter((node) => node['Node Type'] === 'Merge Append'), text).toHaveLength(1)
        expect(all.filter((node) => node['Index Name'] === 'event_links_pkey' && node['Scan Direction'] === 'Backward').length, text).toBeGreaterThanOrEqual(views)
      }
      for (const node of all) {
        expect(node['Node Type'] === 'Seq Scan' && ['events', 'event_links'].includes(node['Relation Name']!), text).toBe(false)
        expect(node['Node Type'], text).not.toBe('Sort')
        // The ties of one millisecond, in a view's own range scan (l_1, l_2: the other views' aliases).
        if (node['Node Type'] === 'Incremental Sort') expect(node['Presorted Key']?.join(), text).toMatch(/^l(_\d+)?\."time"$/)
      }
      const driver = all.find((node) => node['Node Type'].startsWith('Index') && ['events', 'event_links'].includes(node['Relation Name']!))!
      expect(driver, text).toBeDefined()
      expect(driver['Scan Direction'], text).toBe('Backward')
      if (linked(filter)) expect(driver['Index Name'], text).toBe('event_links_pkey')
      // A mesh-wide page may walk the every-mesh index filtering the mesh, when the mesh holds most events.
      else expect(driver['Index Name'], text).toMatch(filter.mesh ? /^events_by_(mesh_)?time$/ : /^events_by_time$/)
      if (after) expect(driver['Index Cond'], text).toMatch(/"time" <=|\("time", id\) </)
    }
  })

  it.each(shapes)('%s: counts without a sort or a scan of the tables', async (_name, base, more) => {
    const filter = scoped({ ...base(), ...more })
    const { sql, values } = countSql(filter, 10_001)
    const { all, text } = await plan(sql, values)
    const unconstrained = !filter.mesh && !linked(filter) && filter.since === undefined
    for (const node of all) {
      expect(node['Node Type'], text).not.toBe('Sort')
      // As on SQLite, only the every-mesh count may read the table in any order: it stops at the cap.
      if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'event_links') expect.fail(text)
      if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'events') expect(unconstrained, text).toBe(true)
    }
  })

  /** No sequential scan of events or links and no sort: what every histogram query must hold to. */
  function expectIndexOnly(all: PlanNode[], text: string) {
    for (const node of all) {
      expect(node['Node Type'] === 'Seq Scan' && ['events', 'event_links'].includes(node['Relation Name']!), text).toBe(false)
      expect(node['Node Type'], text).not.toBe('Sort')
    }
    expect(
      all.some((node) => node['Node Type'].startsWith('Index') && ['events', 'event_links'].includes(node['Relation Name']!)),
      text,
    ).toBe(true)
  }
  const range = { since: Date.parse('2026-11-13T00:00:00Z'), until: Date.parse('2026-11-20T00:00:00Z') }

  it.each(shapes)('%s: the histogram and the oldest match read the index, without a sort', async (_name, base, more) => {
    const filter = scoped({ ...base(), ...more, ...range })
    if (needsRows(filter)) {
      for (const { sql, values } of [histogramSql(filter, 3_600_000, 30_000), budgetEdgeSql(filter, 30_000), oldestSql(filter, 30_000)]) {
        const { all, text } = await plan(sql, values)
        expectIndexOnly(all, text)
      }
    } else {
      const { sql, values } = bucketCountSql(filter, 3_600_000, 168)
      const { all, text } = await plan(sql, values)
      expectIndexOnly(all, text)
      const oldest = await plan(oldestSql(filter, 30_000).sql, oldestSql(filter, 30_000).values)
      expectIndexOnly(oldest.all, oldest.text)
    }
  })

  it('finds a rare word through the GIN index of the search column', async () => {
    // A common word is found sooner by walking the time index; a rare one must use the GIN index.
    const { rows } = await client.query<{ word: string }>("SELECT word FROM ts_stat('SELECT search FROM events') WHERE ndoc = 2 AND word ~ '^[a-z]+$' LIMIT 1")
    const { sql, values } = pageSql({ mesh: busiestMesh, q: rows[0]!.word }, 20)
    // Search runs on the store's ordinary connections: a GIN index is read by a bitmap scan.
    await client.query('SET enable_bitmapscan = on')
    await client.query('SET enable_sort = on')
    const { all, text } = await plan(sql, values)
    expect(all.some((node) => node['Index Name'] === 'events_search'), text).toBe(true)
    // A search with few matches drives its histogram from the same index, whatever the entity.
    for (const filter of [{ application: busiest.a.entity, mesh: busiest.a.mesh }, scoped({ application: spread.a })]) {
      const histogram = searchHistogramSql({ ...filter, q: rows[0]!.word, ...range }, 3_600_000)
      const searched = await plan(histogram.sql, histogram.values)
      expect(searched.all.some((node) => node['Index Name'] === 'events_search'), searched.text).toBe(true)
    }
  })
})

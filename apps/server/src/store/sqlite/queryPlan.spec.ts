import { afterAll, describe, expect, it } from 'vitest'
import { SqliteStore } from './sqliteStore.ts'
import { bucketCountSql, budgetEdgeSql, budgetedCountSql, budgetedPageSql, countSql, facetSql, histogramSql, oldestIndexedSql, oldestSql, pageSql } from './timelineSql.ts'
import type { ScopedFilter } from './timelineSql.ts'

/**
 * Every timeline shape must be one index range scan in time order: no full scan of a table, no
 * temp B-tree sorting the whole ORDER BY, no OFFSET. An entity view's links are keyed (view, time,
 * rid), so its page sorts only the ties of one time by id (SQLite's "LAST TERM OF ORDER BY" sort,
 * a group of equal times at a time, ended by the LIMIT). The plan is read from SQLite itself.
 */
const TIE_SORT = 'USE TEMP B-TREE FOR LAST TERM OF ORDER BY'
/** A temp B-tree other than the sort of equal-time ties by id. */
const fullSort = (text: string) => text.split('\n').some((step) => /TEMP B-TREE/.test(step) && step !== TIE_SORT)
const store = new SqliteStore(':memory:')
afterAll(() => store.close())

function plan(sql: string, params: Record<string, unknown>): string[] {
  return (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((row) => row.detail)
}

/** An entity with no mesh: its views in each mesh (two here; the ids need not exist). */
const everyMesh = { application: [1, 2], instance: [3, 4], service: [5, 6] }

const entities: Array<[string, ScopedFilter]> = [
  ['mesh-wide', { mesh: 'm' }],
  ['every mesh', {}],
  ['application', { mesh: 'm', application: 'a' }],
  ['application, every mesh', { application: 'a', meshViews: everyMesh }],
  ['application and instance, every mesh', { application: 'a', instance: 'pod-1', meshViews: everyMesh }],
  ['instance', { mesh: 'm', instance: 'pod-1' }],
  ['IP', { mesh: 'm', ip: '10.0.0.1' }],
  ['service', { mesh: 'm', service: 'org.example.Api' }],
  ['application and instance', { mesh: 'm', application: 'a', instance: 'pod-1' }],
]
const extras: Array<[string, ScopedFilter]> = [
  ['', {}],
  [' + type', { type: 'warning' }],
  [' + source', { sources: ['kubernetes', 'zookeeper'] }],
  [' + type + source + since/until', { type: 'normal', sources: ['api'], since: 1, until: 2 }],
  [' + reason + namespace', { reasons: ['BackOff'], namespaces: ['prod'] }],
]
const shapes = entities.flatMap(([name, filter]) => extras.map(([extra, more]) => [`${name}${extra}`, { ...filter, ...more }] as const))

/** The range scans driving a shape: one, or one per mesh for an entity with no mesh. */
const drivingViews = (filter: ScopedFilter) => (filter.meshViews ? 2 : 1)

/**
 * SEARCH steps use an index range; every view, the every-mesh one included, is a range of the
 * links' primary key. A SCAN of a table, or of any index, fails.
 */
function expectNoTableScan(step: string, _filter: ScopedFilter, text: string) {
  if (!step.startsWith('SCAN ')) return
  if (/^SCAN \(subquery-\d+\)$/.test(step)) return // the count's LIMITed subquery, not a table
  if (step === 'SCAN d') return // the budgeted walk's co-routine: at most the budget of index rows
  if (/^SCAN (f|events_fts)( EXISTS)? VIRTUAL TABLE INDEX \d+:=?M/.test(step)) return // an FTS MATCH reads its doclists, not a table
  expect.fail(`${step} in\n${text}`)
}

describe('timeline query plans', () => {
  it.each(shapes)('%s: pages with one index range scan (one per mesh) and no sort', (_name, filter) => {
    for (const after of [undefined, { time: 1000, id: 'x' }]) {
      const { sql, params } = pageSql(filter, 20, after)
      const steps = plan(sql, params)
      const text = steps.join('\n')
      // An entity's views in each mesh are merged in their index order, read as far as the page takes rows from each.
      expect(fullSort(text), text).toBe(false)
      if (filter.meshViews) expect(text, text).toMatch(/MERGE \(UNION ALL\)/)
      expect(text.match(new RegExp(TIE_SORT, 'g'))?.length, text).toBe(drivingViews(filter))
      expect(text, text).not.toMatch(/\bOFFSET\b/i)
      for (const step of steps) expectNoTableScan(step, filter, text)
      // An entity's view (in each mesh), or the mesh's (every mesh's) own view: always the links' primary key.
      const drivers = steps.filter((step) => step.startsWith('SEARCH l '))
      expect(drivers.length, text).toBe(drivingViews(filter))
      for (const detail of drivers) {
        expect(detail, text).toMatch(/^SEARCH l USING PRIMARY KEY \(view=\?/)
        if (after) expect(detail, text).toMatch(/\(view=\? AND (time>\? AND )?time<\?/)
      }
    }
  })

  it.each(shapes)('%s: counts with one index range scan (one per mesh)', (_name, filter) => {
    const { sql, params } = countSql(filter, 10_001)
    const steps = plan(sql, params)
    const text = steps.join('\n')
    expect(text, text).not.toMatch(/TEMP B-TREE/)
    for (const step of steps) expectNoTableScan(step, filter, text)
    expect(steps.filter((step) => step.startsWith('SEARCH l USING PRIMARY KEY (view=?')).length, text).toBe(drivingViews(filter))
  })

  it.each(shapes.filter(([, filter]) => filter.meshViews))('%s: the budgeted walk, its edge and the oldest match merge one bounded scan per mesh', (_name, filter) => {
    const queries = [
      budgetedPageSql({ ...filter, q: 'x' }, 20, { time: 5, id: 'x' }, 'set', 1000),
      budgetEdgeSql(filter, { time: 5, id: 'x' }, 1000),
      oldestSql({ ...filter, reasons: ['BackOff'] }, undefined, 1000),
      oldestIndexedSql(filter),
    ]
    for (const { sql, params } of queries) {
      const steps = plan(sql, params)
      const text = steps.join('\n')
      expect(fullSort(text), text).toBe(false)
      for (const step of steps) expectNoTableScan(step, filter, text)
      expect(steps.filter((step) => step.startsWith('SEARCH l USING PRIMARY KEY (view=?')).length, text).toBe(drivingViews(filter))
    }
  })

  // Search combined with an entity, a mesh or a time range (issue 11): each plan is bounded by
  // the FTS result (`search`) or by the scan budget over one index range (`set`, `probe`); none
  // reads the whole entity or looks an IN list up once per row.
  const searchShapes: Array<[string, ScopedFilter]> = [
    ['service + q', { service: 'com.example.Svc1', q: 'a', meshViews: everyMesh }],
    ['application + mesh + q', { mesh: 'm', application: 'a', q: 'timeout' }],
    ['mesh + q', { mesh: 'm', q: '连接超时' }],
    ['every mesh + since + q', { since: 1, q: 'order' }],
    ['instance + type + reason + q', { instance: 'pod-1', type: 'warning', reasons: ['BackOff'], q: 'back off', meshViews: everyMesh }],
  ]

  it.each(searchShapes)('%s, FTS-driven: reads the FTS matches, one point look-up each', (_name, filter) => {
    const text = plan(pageSql(filter, 20, undefined, 'search').sql, pageSql(filter, 20, undefined, 'search').params).join('\n')
    expect(text, text).toMatch(/^SCAN f VIRTUAL TABLE INDEX \d+:M/)
    expect(text, text).toMatch(/SEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\)/)
    if (filter.service || filter.application || filter.instance) expect(text, text).toMatch(/SEARCH x (EXISTS )?USING PRIMARY KEY \(view=\? AND time=\? AND rid=\?\)/)
    expect(text, text).not.toMatch(/SCAN (e|l)\b/)
  })

  it.each(searchShapes)('%s, index-driven: one budgeted index range, the FTS set built once', (_name, filter) => {
    for (const searchPlan of ['set', 'probe'] as const) {
      for (const { sql, params } of [budgetedPageSql(filter, 20, { time: 5, id: 'x' }, searchPlan, 1000), budgetedCountSql(filter, 10_001, searchPlan, 1000)]) {
        const steps = plan(sql, params)
        const text = steps.join('\n')
        for (const step of steps) expectNoTableScan(step, filter, text)
        // Never the quadratic shape: the IN list used as a key of an index on events. The walk is
        // driven by the timeline index (a link's event is then read by its rowid, once).
        expect(text, text).not.toMatch(/SEARCH e USING .*rowid IN/)
        if (filter.meshViews) {
          expect(fullSort(text), text).toBe(false)
          expect(steps.filter((step) => step.startsWith('SEARCH l USING PRIMARY KEY')).length, text).toBe(drivingViews(filter))
        } else {
          expect(steps[steps.indexOf('CO-ROUTINE d') + 1], text).toMatch(/^SEARCH l USING PRIMARY KEY/)
        }
        // set: the FTS result once (a LIST SUBQUERY); probe: the row's own text, and only for text
        // `ftsMatch` does not cover one rowid look-up of that row (`=M`), never a scan of the FTS result.
        if (searchPlan === 'set') expect(text, text).toMatch(/LIST SUBQUERY/)
        else expect(text, text).toMatch(/CORRELATED SCALAR SUBQUERY \d+\nSCAN events_fts VIRTUAL TABLE INDEX \d+:=M/)
        if (searchPlan === 'probe') expect(sql).toMatch(/coalesce\(fts_match\(e\.reason, e\.message, @q\), EXISTS/)
      }
    }
  })

  // The histogram (issue 13) is computed from the index alone: event_links carries time and type
  // (warning), so without filters on other columns no event row is read.
  const indexOnly: Array<[string, ScopedFilter]> = [
    ['application', { mesh: 'm', application: 'a' }],
    ['application, every mesh, warnings', { application: 'a', type: 'warning', meshViews: everyMesh }],
    ['instance and service', { mesh: 'm', instance: 'pod-1', service: 's' }],
    ['mesh, sources', { mesh: 'm', sources: ['kubernetes'] }],
    ['every mesh', {}],
  ]

  it.each(indexOnly)('%s: histogram, oldest match and type/source facets read one index range, no event row', (_name, filter) => {
    const ranged = { ...filter, since: 1, until: 2 }
    const queries = [
      histogramSql(ranged, undefined, 60_000, 1000),
      bucketCountSql(ranged),
      oldestSql(filter, undefined, 1000),
      facetSql(filter, 'type', undefined, 10_000, 0, 50),
      facetSql(filter, 'source', undefined, 10_000, 0, 50),
    ]
    for (const { sql, params } of queries) {
      const steps = plan(sql, params)
      const text = steps.join('\n')
      for (const step of steps) expectNoTableScan(step, filter, text)
      expect(steps.filter((step) => step.startsWith('SEARCH l USING PRIMARY KEY')).length, text).toBe(drivingViews(filter))
      // Never the events table itself: its rows are what the index spares.
      expect(text, text).not.toMatch(/(SEARCH|SCAN) e USING (INTEGER PRIMARY KEY|INDEX sqlite_autoindex)/)
    }
  })

  it('a histogram with row filters reads at most its budget of index rows, each event by key', () => {
    const filter: ScopedFilter = { mesh: 'm', application: 'a', reasons: ['BackOff'], since: 1, until: 2 }
    const text = plan(histogramSql(filter, undefined, 60_000, 1000).sql, histogramSql(filter, undefined, 60_000, 1000).params).join('\n')
    expect(text, text).toMatch(/CO-ROUTINE d/)
    expect(text, text).toMatch(/SEARCH l USING PRIMARY KEY \(view=\? AND time>\? AND time<\?\)/)
    expect(text, text).toMatch(/SCAN d\nSEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\)/)
  })
})

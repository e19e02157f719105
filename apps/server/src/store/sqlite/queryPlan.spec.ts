import { afterAll, describe, expect, it } from 'vitest'
import type { TimelineFilter } from '../types.ts'
import { SqliteStore } from './sqliteStore.ts'
import { countSql, pageSql } from './timelineSql.ts'

/**
 * Every timeline shape must be one index range scan in (time, id) order: no full scan of a table,
 * no temp B-tree for ORDER BY, no OFFSET. The plan is read from SQLite itself.
 */
const store = new SqliteStore(':memory:')
afterAll(() => store.close())

function plan(sql: string, params: Record<string, unknown>): string[] {
  return (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((row) => row.detail)
}

const entities: Array<[string, TimelineFilter]> = [
  ['mesh-wide', { mesh: 'm' }],
  ['every mesh', {}],
  ['application', { mesh: 'm', application: 'a' }],
  ['application, every mesh', { application: 'a' }],
  ['instance', { mesh: 'm', instance: 'pod-1' }],
  ['IP', { mesh: 'm', ip: '10.0.0.1' }],
  ['service', { mesh: 'm', service: 'org.example.Api' }],
  ['application and instance', { mesh: 'm', application: 'a', instance: 'pod-1' }],
]
const extras: Array<[string, TimelineFilter]> = [
  ['', {}],
  [' + type', { type: 'warning' }],
  [' + source', { sources: ['kubernetes', 'zookeeper'] }],
  [' + type + source + since/until', { type: 'normal', sources: ['api'], since: 1, until: 2 }],
  [' + reason + namespace', { reasons: ['BackOff'], namespace: 'prod' }],
]
const shapes = entities.flatMap(([name, filter]) => extras.map(([extra, more]) => [`${name}${extra}`, { ...filter, ...more }] as const))

/**
 * SEARCH steps use an index range. The one SCAN allowed is the every-mesh view with no constraint
 * on its key: it walks `events_by_time` from the newest end and stops after the page, which is
 * the whole index as its range. A SCAN of a table, or of any other index, fails.
 */
function expectNoTableScan(step: string, filter: TimelineFilter, text: string) {
  if (!step.startsWith('SCAN ')) return
  if (/^SCAN \(subquery-\d+\)$/.test(step)) return // the count's LIMITed subquery, not a table
  const unconstrained = !filter.mesh && !filter.application && !filter.instance && !filter.ip && !filter.service && filter.since === undefined && filter.until === undefined
  expect(unconstrained && /^SCAN e USING (COVERING )?INDEX events_by_time$/.test(step), `${step} in\n${text}`).toBe(true)
}

describe('timeline query plans', () => {
  it.each(shapes)('%s: pages with one index range scan and no sort', (_name, filter) => {
    for (const after of [undefined, { time: 1000, id: 'x' }]) {
      const { sql, params } = pageSql(filter, 20, after)
      const steps = plan(sql, params)
      const text = steps.join('\n')
      expect(text, text).not.toMatch(/TEMP B-TREE/)
      expect(text, text).not.toMatch(/\bOFFSET\b/i)
      for (const step of steps) expectNoTableScan(step, filter, text)
      const driver = steps[0]!
      expect(driver, text).toMatch(filter.application || filter.instance || filter.ip || filter.service ? /^SEARCH l USING PRIMARY KEY/ : /^(SEARCH|SCAN) e USING (COVERING )?INDEX events_by_(mesh_)?time/)
      if (after) expect(driver, text).toMatch(/\(time,(id|event_id)\)<\(\?,\?\)/)
    }
  })

  it.each(shapes)('%s: counts with one index range scan', (_name, filter) => {
    const { sql, params } = countSql(filter, 10_001)
    const steps = plan(sql, params)
    const text = steps.join('\n')
    expect(text, text).not.toMatch(/TEMP B-TREE/)
    for (const step of steps) expectNoTableScan(step, filter, text)
  })
})

/**
 * Builds timeline SQL. Every shape is driven by one index in (time, id) order so a page is one
 * range scan that stops after `limit` rows: an entity view walks `event_links`' primary key, a
 * mesh-wide view `events_by_mesh_time`, the every-mesh view `events_by_time`. Other filters are
 * checked on the rows the scan meets; there is never an OFFSET on the keyset path nor a sort.
 * The one exception is a search with few matches (`SearchPlan` `search`): its FTS result drives
 * and the survivors, at most a few thousand, are sorted. Also here: the histogram, facet and
 * oldest-match queries of the timeline views, built from the same parts.
 */
import { LINK_KIND } from '../eventViews.ts'
import type { EntityKind, TimelineFilter, TimelinePosition } from '../types.ts'

export const EVENT_COLUMNS =
  'e.id, e.time, e.first_time, e.count, e.type, e.reason, e.message, e.source, e.component, e.host, e.mesh, ' +
  'e.obj_kind, e.obj_name, e.obj_namespace, e.obj_uid, e.obj_field_path, e.application, e.instance, e.ip, e.service, e.category, e.action'

type Params = Record<string, string | number>

export interface TimelineSql {
  sql: string
  params: Params
}

// Most specific first: the driving view is the one with the fewest rows.
const DRIVER_ORDER: readonly EntityKind[] = ['instance', 'ip', 'service', 'application']

/**
 * Turns user text into an FTS5 query: every word must match, as a prefix, with no operators. A word
 * keeps only what the tokenizer indexes (letters, digits, marks); anything else separates tokens of
 * one phrase (`back-off` is the phrase "back off", as FTS5 reads it). So a quote, a NUL (which ends
 * the query string early in SQLite) or an operator character can never make a syntax error. Text
 * with no token at all gives `""`, which matches nothing (the API refuses such a `q` first).
 */
export function ftsQuery(text: string): string {
  const phrases = text
    .split(/\s+/)
    .map((word) => word.replace(/[^\p{L}\p{N}\p{M}]+/gu, ' ').trim())
    .filter(Boolean)
    .map((phrase) => `"${phrase}"*`)
  return phrases.length === 0 ? '""' : phrases.join(' ')
}

/**
 * How a full-text search meets the other filters. Which one is cheapest depends on how many events
 * the search matches, which the store measures first with a bounded FTS count:
 * - `search`: few matches. The FTS result drives: each match is looked up by rowid and checked
 *   against the filters (an entity by a point look-up of its link), and the few survivors are
 *   sorted. Work grows with the matches only, never with the entity or the mesh.
 * - `set`: many matches. The timeline index drives in (time, id) order, as without `q`, and each
 *   row is tested against the FTS result materialised once (C speed, a few ms per 100k matches).
 * - `probe`: very many matches. The index drives and each row probes the FTS index by rowid;
 *   cheap for whole words and for 1-3 letter prefixes (FTS `prefix` indexes), so nothing the size
 *   of the FTS result is built.
 * The `set` and `probe` walks stop after a scan budget: see `budgetedPageSql`.
 */
export type SearchPlan = 'search' | 'set' | 'probe'

interface Parts {
  from: string
  /** Conditions on the driving index alone (its key, type and source). */
  driverWhere: string[]
  /** Conditions that need the event row (or the FTS index). */
  rowWhere: string[]
  order: string
  /** The driving index as a standalone source, and the columns naming a row of it. */
  driver: { from: string; time: string; id: string; join: string }
  /** Columns of the driving row: index columns where the index has them. */
  columns: { time: string; type: string; source: string }
  params: Params
}

function parts(filter: TimelineFilter, after: TimelinePosition | undefined, needEvents: boolean, plan: SearchPlan = 'probe'): Parts {
  const params: Params = {}
  const driverWhere: string[] = []
  const rowWhere: string[] = []
  const entities = DRIVER_ORDER.filter((kind) => filter[kind] !== undefined)
  const driverKind = entities[0]
  const view = filter.mesh ?? '' // '' is the every-mesh view of event_links
  const searchFirst = filter.q !== undefined && plan === 'search'
  let from: string
  let time: string
  let id: string
  let type: string
  let source: string
  let order: string
  let driver: Parts['driver']

  if (searchFirst) {
    // Every entity is a point look-up of its link by primary key, at the event's own (time, id).
    for (const [index, kind] of entities.entries()) {
      params.view = view
      params[`k${index}`] = LINK_KIND[kind]
      params[`v${index}`] = filter[kind]!
      rowWhere.push(
        `EXISTS (SELECT 1 FROM event_links AS x WHERE x.mesh = @view AND x.kind = @k${index} AND x.entity = @v${index} AND x.time = e.time AND x.event_id = e.id)`,
      )
    }
    if (filter.mesh !== undefined && entities.length === 0) {
      params.mesh = filter.mesh
      rowWhere.push('e.mesh = @mesh')
    }
    from = 'events_fts AS f CROSS JOIN events AS e ON e.rid = f.rowid'
    ;[time, id, type, source] = ['e.time', 'e.id', 'e.type', 'e.source']
    order = 'e.time DESC, e.id DESC'
    driver = { from, time, id, join: '' }
  } else if (driverKind) {
    params.view = view
    params.driverKind = LINK_KIND[driverKind]
    params.driverEntity = filter[driverKind]!
    driverWhere.push('l.mesh = @view', 'l.kind = @driverKind', 'l.entity = @driverEntity')
    for (const [index, kind] of entities.slice(1).entries()) {
      params[`k${index}`] = LINK_KIND[kind]
      params[`v${index}`] = filter[kind]!
      driverWhere.push(
        `EXISTS (SELECT 1 FROM event_links AS x WHERE x.mesh = @view AND x.kind = @k${index} AND x.entity = @v${index} AND x.time = l.time AND x.event_id = l.event_id)`,
      )
    }
    from = needEvents ? 'event_links AS l CROSS JOIN events AS e ON e.id = l.event_id' : 'event_links AS l'
    ;[time, id, type, source] = ['l.time', 'l.event_id', 'l.type', 'l.source']
    order = 'l.time DESC, l.event_id DESC'
    driver = { from: 'event_links AS l', time, id, join: 'e.id = d.id' }
  } else {
    if (filter.mesh !== undefined) {
      params.mesh = filter.mesh
      driverWhere.push('e.mesh = @mesh')
      from = 'events AS e INDEXED BY events_by_mesh_time'
    } else {
      from = 'events AS e INDEXED BY events_by_time'
    }
    ;[time, id, type, source] = ['e.time', 'e.id', 'e.type', 'e.source']
    order = 'e.time DESC, e.id DESC'
    driver = { from, time, id, join: 'e.id = d.id' }
  }

  const onDriver = searchFirst ? rowWhere : driverWhere
  if (after) {
    params.afterTime = after.time
    params.afterId = after.id
    onDriver.push(`(${time}, ${id}) < (@afterTime, @afterId)`)
  }
  if (filter.since !== undefined) {
    params.since = filter.since
    onDriver.push(`${time} >= @since`)
  }
  if (filter.until !== undefined) {
    params.until = filter.until
    onDriver.push(`${time} < @until`)
  }
  if (filter.type) {
    params.type = filter.type
    onDriver.push(`${type} = @type`)
  }
  if (filter.sources?.length) onDriver.push(`${source} IN (${list(params, 'source', filter.sources)})`)
  if (filter.reasons?.length) rowWhere.push(`e.reason IN (${list(params, 'reason', filter.reasons)})`)
  if (filter.namespaces?.length) rowWhere.push(`e.obj_namespace IN (${list(params, 'namespace', filter.namespaces)})`)
  if (filter.kinds?.length) rowWhere.push(`e.obj_kind IN (${list(params, 'kind', filter.kinds)})`)
  if (filter.name !== undefined) {
    params.obj_name = filter.name
    rowWhere.push('e.obj_name = @obj_name')
  }
  if (filter.q !== undefined) {
    params.q = ftsQuery(filter.q)
    if (searchFirst) rowWhere.unshift('f.events_fts MATCH @q')
    // The unary + keeps SQLite from using the IN list as an index key on events: that turned the
    // membership test into one look-up per (row, match) pair, quadratic (37 s at 60,000 events).
    else if (plan === 'set') rowWhere.push('+e.rid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH @q)')
    else rowWhere.push('EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH @q AND rowid = e.rid)')
  }
  return { from, driverWhere, rowWhere, order, driver, columns: { time, type, source }, params }
}

function list(params: Params, prefix: string, values: readonly string[]): string {
  return values
    .map((value, index) => {
      params[`${prefix}${index}`] = value
      return `@${prefix}${index}`
    })
    .join(', ')
}

/** Whether the filter needs columns only `events` has (so a link-driven count must join). */
function needsEventColumns(filter: TimelineFilter): boolean {
  return Boolean(filter.reasons?.length || filter.namespaces?.length || filter.kinds?.length || filter.name || filter.q)
}

const whereClause = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '')

/** One page, newest first, starting after `after`; `limit + 1` rows tell whether more follow. */
export function pageSql(filter: TimelineFilter, limit: number, after?: TimelinePosition, plan?: SearchPlan, columns = EVENT_COLUMNS): TimelineSql {
  const { from, driverWhere, rowWhere, order, params } = parts(filter, after, true, plan)
  params.limit = limit + 1
  return { sql: `SELECT ${columns} FROM ${from} ${whereClause([...driverWhere, ...rowWhere])} ORDER BY ${order} LIMIT @limit`, params }
}

/**
 * A page of an index-driven search that reads at most `scan` rows of the driving index: a search
 * whose matches are rare in the entity would otherwise walk the whole entity for one page. The
 * page may come back short; `budgetEdgeSql` then gives the position where the walk stopped, and
 * the next page continues from there (every match is still served exactly once).
 */
export function budgetedPageSql(filter: TimelineFilter, limit: number, after: TimelinePosition | undefined, plan: SearchPlan, scan: number): TimelineSql {
  const { driverWhere, rowWhere, driver, params } = parts(filter, after, true, plan)
  params.limit = limit + 1
  params.scan = scan
  const walked = `SELECT ${driver.time} AS time, ${driver.id} AS id FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time} DESC, ${driver.id} DESC LIMIT @scan`
  return {
    sql: `SELECT ${EVENT_COLUMNS} FROM (${walked}) AS d CROSS JOIN events AS e ON ${driver.join} ${whereClause(rowWhere)} ORDER BY d.time DESC, d.id DESC LIMIT @limit`,
    params,
  }
}

/** The `scan`-th row of the driving index (its `time` and `id`), if the walk has that many. */
export function budgetEdgeSql(filter: TimelineFilter, after: TimelinePosition | undefined, scan: number): TimelineSql {
  const { driverWhere, driver, params } = parts(filter, after, false, 'probe')
  params.skip = scan - 1
  return {
    sql: `SELECT ${driver.time} AS time, ${driver.id} AS id FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time} DESC, ${driver.id} DESC LIMIT 1 OFFSET @skip`,
    params,
  }
}

/** Counts the matches among the first `scan` rows of the driving index, up to `cap`. */
export function budgetedCountSql(filter: TimelineFilter, cap: number, plan: SearchPlan, scan: number): TimelineSql {
  const { driverWhere, rowWhere, driver, params } = parts(filter, undefined, true, plan)
  params.cap = cap
  params.scan = scan
  const walked = `SELECT ${driver.time} AS time, ${driver.id} AS id FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time} DESC, ${driver.id} DESC LIMIT @scan`
  return { sql: `SELECT count(*) AS n FROM (SELECT 1 FROM (${walked}) AS d CROSS JOIN events AS e ON ${driver.join} ${whereClause(rowWhere)} LIMIT @cap)`, params }
}

/** Offset page (Dubbo admin compatible endpoints only). */
export function offsetPageSql(filter: TimelineFilter, offset: number, limit: number): TimelineSql {
  const { from, driverWhere, rowWhere, order, params } = parts(filter, undefined, true)
  params.limit = limit
  params.offset = offset
  return { sql: `SELECT ${EVENT_COLUMNS} FROM ${from} ${whereClause([...driverWhere, ...rowWhere])} ORDER BY ${order} LIMIT @limit OFFSET @offset`, params }
}

/** Counts matches up to `cap` rows (the count stops there). */
export function countSql(filter: TimelineFilter, cap: number, plan?: SearchPlan): TimelineSql {
  const { from, driverWhere, rowWhere, params } = parts(filter, undefined, needsEventColumns(filter), plan)
  params.cap = cap
  return { sql: `SELECT count(*) AS n FROM (SELECT 1 FROM ${from} ${whereClause([...driverWhere, ...rowWhere])} LIMIT @cap)`, params }
}

/** Whether the filter needs the event rows (or the FTS index), not only a timeline index. */
export function needsRows(filter: TimelineFilter): boolean {
  return needsEventColumns(filter)
}

/**
 * The oldest match's `time` (the histogram's default start). Without row filters, or with a
 * small FTS result driving, it is one index look-up (or a read of that result). With row filters
 * it walks the driving index from its oldest end, at most `budget` rows; when none of those match
 * the query answers NULL and `oldestIndexedSql` stands in (the view's oldest event).
 */
export function oldestSql(filter: TimelineFilter, plan: SearchPlan | undefined, budget: number): TimelineSql {
  const rows = needsEventColumns(filter)
  const { from, driverWhere, rowWhere, columns, driver, params } = parts(filter, undefined, rows, plan)
  if (plan === 'search') return { sql: `SELECT min(${columns.time}) FROM ${from} ${whereClause([...driverWhere, ...rowWhere])}`, params }
  if (!rows) return { sql: `SELECT ${driver.time} FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time}, ${driver.id} LIMIT 1`, params }
  params.scan = budget
  const walked = `SELECT ${driver.time} AS time, ${driver.id} AS id FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time}, ${driver.id} LIMIT @scan`
  return { sql: `SELECT d.time FROM (${walked}) AS d CROSS JOIN events AS e ON ${driver.join} ${whereClause(rowWhere)} ORDER BY d.time, d.id LIMIT 1`, params }
}

/** The oldest row of the driving index (entity, mesh or every mesh), ignoring row filters. */
export function oldestIndexedSql(filter: TimelineFilter): TimelineSql {
  const { driverWhere, driver, params } = parts(filter, undefined, false, 'probe')
  return { sql: `SELECT ${driver.time} FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time}, ${driver.id} LIMIT 1`, params }
}

/**
 * Normal and warning matches in [@since, @until) from one timeline index range, for filters that
 * need no event row. The histogram runs it once per bucket with the bucket's bounds: 60 short
 * range counts are about 5 times faster than one GROUP BY over the whole range (its sorter).
 */
export function bucketCountSql(filter: TimelineFilter & { since: number; until: number }): TimelineSql {
  if (needsEventColumns(filter)) throw new Error('bucketCountSql: the filter needs event rows')
  const { from, driverWhere, rowWhere, columns, params } = parts(filter, undefined, false)
  return { sql: `SELECT count(*) AS n, coalesce(sum(${columns.type} = 'warning'), 0) AS w FROM ${from} ${whereClause([...driverWhere, ...rowWhere])}`, params }
}

/**
 * Counts per bucket (`b` = bucket index from `@since`) of normal and warning matches in
 * [since, until). Without row filters it reads one timeline index range and nothing else (the
 * index carries time and type). With them (and no small FTS result to drive) it reads at most
 * `budget` rows of the range, newest first: `histogramEdgeSql` tells whether more were left.
 */
export function histogramSql(filter: TimelineFilter, plan: SearchPlan | undefined, bucketMs: number, budget: number): TimelineSql {
  const rows = needsEventColumns(filter)
  const { from, driverWhere, rowWhere, columns, driver, params } = parts(filter, undefined, rows, plan)
  params.since = filter.since!
  params.bucketMs = bucketMs
  const select = (time: string, type: string) => `SELECT CAST((${time} - @since) / @bucketMs AS INTEGER) AS b, count(*) AS n, sum(${type} = 'warning') AS w`
  if (!rows || plan === 'search') {
    return { sql: `${select(columns.time, columns.type)} FROM ${from} ${whereClause([...driverWhere, ...rowWhere])} GROUP BY b`, params }
  }
  params.scan = budget
  const walked = `SELECT ${driver.time} AS time, ${driver.id} AS id FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time} DESC, ${driver.id} DESC LIMIT @scan`
  return { sql: `${select('d.time', 'e.type')} FROM (${walked}) AS d CROSS JOIN events AS e ON ${driver.join} ${whereClause(rowWhere)} GROUP BY b`, params }
}

/**
 * The most common values of one column among the `sample` most recent matches. `column` is an
 * `events` column, or `type` / `source`, which the driving index carries itself.
 */
export function facetSql(filter: TimelineFilter, column: string, plan: SearchPlan | undefined, sample: number, scan: number, top: number): TimelineSql {
  const indexColumn = column === 'type' || column === 'source'
  const budgeted = plan === 'set' || plan === 'probe'
  const { from, driverWhere, rowWhere, order, columns, driver, params } = parts(filter, undefined, !indexColumn || needsEventColumns(filter), plan)
  params.sample = sample
  params.top = top
  let matches: string
  if (budgeted) {
    params.scan = scan
    const walked = `SELECT ${driver.time} AS time, ${driver.id} AS id FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time} DESC, ${driver.id} DESC LIMIT @scan`
    matches = `SELECT e.${column} AS value FROM (${walked}) AS d CROSS JOIN events AS e ON ${driver.join} ${whereClause(rowWhere)} ORDER BY d.time DESC, d.id DESC LIMIT @sample`
  } else {
    const value = indexColumn ? columns[column as 'type' | 'source'] : `e.${column}`
    matches = `SELECT ${value} AS value FROM ${from} ${whereClause([...driverWhere, ...rowWhere])} ORDER BY ${order} LIMIT @sample`
  }
  return { sql: `SELECT value, count(*) AS count FROM (${matches}) WHERE value IS NOT NULL GROUP BY value ORDER BY count DESC, value LIMIT @top`, params }
}

/**
 * Builds PostgreSQL timeline SQL, the same shapes as the SQLite builder: an entity view walks
 * `event_links`' primary key (view, time, rid) from the newest end, a mesh-wide view
 * `events_by_mesh_time`, the every-mesh view `events_by_time`; a page is one index range scan that
 * stops after `limit` rows, never an OFFSET on the keyset path.
 *
 * Known limit: links are keyed by the event's integer row id, so within one millisecond a view's
 * index is in rid order, not id order; the plan sorts those ties (an Incremental Sort presorted on
 * time, a few rows at a time) to serve the contract's (time desc, id desc) order. Values are
 * always bound parameters; only fixed SQL fragments are concatenated.
 */
import type { EventSource } from '@eventline/shared'
import { LINK_KIND } from '../eventViews.ts'
import type { EntityKind, TimelineFilter, TimelinePosition } from '../types.ts'

export const EVENT_COLUMNS =
  'e.id, e.time, e.first_time, e.count, e.type, e.reason, e.message, e.source, e.component, e.host, e.mesh, ' +
  'e.obj_kind, e.obj_name, e.obj_namespace, e.obj_uid, e.obj_field_path, e.application, e.instance, e.ip, e.service, e.category, e.action'

/** Small codes of sources in link rows (a smallint instead of the text). Append only. */
export const SOURCE_CODE: Record<EventSource, number> = { kubernetes: 1, zookeeper: 2, nacos: 3, api: 4, demo: 5 }

/** Positional parameters collected while the SQL text is built. */
export class Params {
  readonly values: unknown[] = []
  /** Binds `value` and returns its placeholder. */
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

export interface TimelineSql {
  sql: string
  values: unknown[]
}

// Most specific first: the driving view is the one with the fewest rows.
const DRIVER_ORDER: readonly EntityKind[] = ['instance', 'ip', 'service', 'application']

/** Words as the stream filter sees them: letters and digits, case-folded (see streamFilter). */
export function searchWords(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)
}

/** The text the writer indexes: the words of reason and message, separated by spaces. */
export function searchText(reason: string, message: string): string {
  return [...searchWords(reason), ...searchWords(message)].join(' ')
}

/**
 * User text as a `tsquery`: every word must match as a prefix, no operators. Each word is a
 * quoted tsquery literal (only letters and digits remain, so quoting cannot be escaped), and the
 * whole query is one bound parameter; an empty result matches nothing, as on SQLite.
 */
export function tsQuery(text: string): string {
  return searchWords(text)
    .map((word) => `'${word}':*`)
    .join(' & ')
}

/** The interned id of a view, as a scalar subquery the planner runs once (an InitPlan). */
function viewId(params: Params, mesh: string, kind: EntityKind, entity: string): string {
  return `(SELECT id FROM views WHERE mesh = ${params.add(mesh)} AND kind = ${params.add(LINK_KIND[kind])} AND entity = ${params.add(entity)})`
}

interface Parts {
  from: string
  where: string[]
  /** Conditions on the driving index alone (its key, time, type and source). */
  driverWhere: string[]
  /** Conditions that need the event row. */
  rowWhere: string[]
  order: string
  /** The driving index as a standalone source: its table and its time and row-id columns. */
  driver: { from: string; time: string; rid: string; warning: string }
  params: Params
}

/**
 * `searchFirst`: the search's GIN result drives (few matches, see `SEARCH_FIRST_MAX`): every
 * entity is a point look-up of its link at the event's own (time, rid), and the rest are
 * conditions on the event row.
 */
function parts(filter: TimelineFilter, after: TimelinePosition | undefined, needEvents: boolean, searchFirst = false): Parts {
  const params = new Params()
  const driverWhere: string[] = []
  const rowWhere: string[] = []
  const entities = DRIVER_ORDER.filter((kind) => filter[kind] !== undefined)
  const driver = entities[0]
  const view = filter.mesh ?? '' // '' is the every-mesh view
  let from: string
  let time: string
  let id: string
  let order: string
  let driving: Parts['driver']
  const linked = driver !== undefined && !searchFirst

  if (searchFirst) {
    for (const kind of entities) {
      rowWhere.push(`EXISTS (SELECT 1 FROM event_links AS x WHERE x.view = ${viewId(params, view, kind, filter[kind]!)} AND x.time = e.time AND x.rid = e.rid)`)
    }
    if (filter.mesh !== undefined && entities.length === 0) rowWhere.push(`e.mesh = ${params.add(filter.mesh)}`)
    from = 'events AS e'
    time = 'e.time'
    id = 'e.id'
    order = 'e.time DESC, e.id DESC'
    driving = { from: 'events AS e', time: 'e.time', rid: 'e.rid', warning: "e.type = 'warning'" }
  } else if (driver) {
    driverWhere.push(`l.view = ${viewId(params, view, driver, filter[driver]!)}`)
    for (const kind of entities.slice(1)) {
      driverWhere.push(`EXISTS (SELECT 1 FROM event_links AS x WHERE x.view = ${viewId(params, view, kind, filter[kind]!)} AND x.time = l.time AND x.rid = l.rid)`)
    }
    from = needEvents ? 'event_links AS l JOIN events AS e ON e.rid = l.rid' : 'event_links AS l'
    time = 'l.time'
    id = 'e.id'
    order = 'l.time DESC, e.id DESC'
    driving = { from: 'event_links AS l', time: 'l.time', rid: 'l.rid', warning: 'l.warning' }
  } else {
    if (filter.mesh !== undefined) driverWhere.push(`e.mesh = ${params.add(filter.mesh)}`)
    from = 'events AS e'
    time = 'e.time'
    id = 'e.id'
    order = 'e.time DESC, e.id DESC'
    driving = { from: 'events AS e', time: 'e.time', rid: 'e.rid', warning: "e.type = 'warning'" }
  }

  if (after) {
    const afterTime = params.add(after.time)
    // The redundant bound on time alone is what the index range uses; the row value breaks ties.
    driverWhere.push(`${time} <= ${afterTime}`, `(${time}, ${id}) < (${afterTime}, ${params.add(after.id)}::text COLLATE "C")`)
  }
  if (filter.since !== undefined) driverWhere.push(`${time} >= ${params.add(filter.since)}`)
  if (filter.until !== undefined) driverWhere.push(`${time} < ${params.add(filter.until)}`)
  if (filter.type) driverWhere.push(linked ? `l.warning = ${params.add(filter.type === 'warning')}` : `e.type = ${params.add(filter.type)}`)
  if (filter.sources?.length) {
    driverWhere.push(
      linked
        ? `l.source = ANY(${params.add(filter.sources.map((source) => SOURCE_CODE[source]))}::smallint[])`
        : `e.source = ANY(${params.add(filter.sources)}::text[])`,
    )
  }
  if (filter.reasons?.length) rowWhere.push(`e.reason = ANY(${params.add(filter.reasons)}::text[])`)
  if (filter.namespaces?.length) rowWhere.push(`e.obj_namespace = ANY(${params.add(filter.namespaces)}::text[])`)
  if (filter.kinds?.length) rowWhere.push(`e.obj_kind = ANY(${params.add(filter.kinds)}::text[])`)
  if (filter.name !== undefined) rowWhere.push(`e.obj_name = ${params.add(filter.name)}`)
  if (filter.q !== undefined) rowWhere.push(`e.search @@ to_tsquery('simple', ${params.add(tsQuery(filter.q))})`)
  return { from, where: [...driverWhere, ...rowWhere], driverWhere, rowWhere, order, driver: driving, params }
}

/** Whether the filter needs columns only `events` has (so a link-driven count must join). */
function needsEventColumns(filter: TimelineFilter): boolean {
  return Boolean(filter.reasons?.length || filter.namespaces?.length || filter.kinds?.length || filter.name !== undefined || filter.q !== undefined)
}

const whereClause = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '')

/** One page, newest first, starting after `after`; `limit + 1` rows tell whether more follow. */
export function pageSql(filter: TimelineFilter, limit: number, after?: TimelinePosition): TimelineSql {
  const { from, where, order, params } = parts(filter, after, true)
  const sql = `SELECT ${EVENT_COLUMNS} FROM ${from} ${whereClause(where)} ORDER BY ${order} LIMIT ${params.add(limit + 1)}`
  return { sql, values: params.values }
}

/** Offset page (Dubbo admin compatible endpoints only). */
export function offsetPageSql(filter: TimelineFilter, offset: number, limit: number): TimelineSql {
  const { from, where, order, params } = parts(filter, undefined, true)
  const sql = `SELECT ${EVENT_COLUMNS} FROM ${from} ${whereClause(where)} ORDER BY ${order} LIMIT ${params.add(limit)} OFFSET ${params.add(offset)}`
  return { sql, values: params.values }
}

/** Counts matches up to `cap` rows (the count stops there). */
export function countSql(filter: TimelineFilter, cap: number): TimelineSql {
  const { from, where, params } = parts(filter, undefined, needsEventColumns(filter))
  return { sql: `SELECT count(*) AS n FROM (SELECT 1 FROM ${from} ${whereClause(where)} LIMIT ${params.add(cap)}) AS capped`, values: params.values }
}

/** Whether the filter needs the event rows, not only the driving index (see the SQLite builder). */
export function needsRows(filter: TimelineFilter): boolean {
  return needsEventColumns(filter)
}

/** The filter without its row filters: what the driving index alone decides (every parameter bound must be used). */
function indexOnly(filter: TimelineFilter): TimelineFilter {
  const { reasons: _reasons, namespaces: _namespaces, kinds: _kinds, name: _name, q: _q, ...rest } = filter
  return rest
}

/**
 * The driving index's rows in (time, rid) order, at most `scan` of them (newest first unless
 * `oldest`), joined to their events: how the histogram and the oldest match read event rows
 * within a budget. Ties within a millisecond go by rid here; only times come out of these walks.
 */
function walkedRows(parts: Parts, scan: string, oldest = false): string {
  const { driver, driverWhere } = parts
  const direction = oldest ? '' : ' DESC'
  const walked = `SELECT ${driver.time} AS time, ${driver.rid} AS rid FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time}${direction}, ${driver.rid}${direction} LIMIT ${scan}`
  return `(${walked}) AS d JOIN events AS e ON e.rid = d.rid`
}

/**
 * The oldest match's `time`. Without row filters one index look-up; with them the driving index
 * is walked from its oldest end, at most `budget` rows, and the query answers no row when none of
 * those match (`oldestIndexedSql` then stands in, as on SQLite).
 */
export function oldestSql(filter: TimelineFilter, budget: number): TimelineSql {
  if (!needsRows(filter)) return oldestIndexedSql(filter)
  const built = parts(filter, undefined, false)
  const scan = built.params.add(budget)
  return { sql: `SELECT d.time FROM ${walkedRows(built, scan, true)} ${whereClause(built.rowWhere)} ORDER BY d.time LIMIT 1`, values: built.params.values }
}

/** The oldest row of the driving index (entity, mesh or every mesh), ignoring row filters. */
export function oldestIndexedSql(filter: TimelineFilter): TimelineSql {
  const { driver, driverWhere, params } = parts(indexOnly(filter), undefined, false)
  return { sql: `SELECT ${driver.time} AS time FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time}, ${driver.rid} LIMIT 1`, values: params.values }
}

/**
 * Normal and warning matches per bucket for filters that need no event row: one short range count
 * of the driving index per bucket (a lateral subquery per row of `generate_series`), so the work
 * is the matches in the range read from the index, never a sort. Rows come in no promised order:
 * `b` places them.
 */
export function bucketCountSql(filter: TimelineFilter & { since: number; until: number }, bucketMs: number, buckets: number): TimelineSql {
  if (needsRows(filter)) throw new Error('bucketCountSql: the filter needs event rows')
  const { since, until, ...rest } = filter
  const { driver, driverWhere, params } = parts(rest, undefined, false)
  const [first, last, size, end] = [params.add(since), params.add(buckets - 1), params.add(bucketMs), params.add(until)]
  const lower = `${first}::bigint + g.b * ${size}::bigint`
  const bounds = [`${driver.time} >= ${lower}`, `${driver.time} < least(${end}::bigint, ${lower} + ${size}::bigint)`]
  const sql = `SELECT g.b::int AS b, c.n, c.w FROM generate_series(0, ${last}::int) AS g (b) CROSS JOIN LATERAL (
    SELECT count(*) AS n, count(*) FILTER (WHERE ${driver.warning}) AS w FROM ${driver.from} ${whereClause([...driverWhere, ...bounds])}) AS c`
  return { sql, values: params.values }
}

/**
 * Counts per bucket (`b` from `since`) of normal and warning matches in [since, until), for
 * filters that need the event rows: the newest `budget` rows of the range, joined to their events.
 * `budgetEdgeSql` tells whether rows were left unread, and from when the counts are complete.
 */
export function histogramSql(filter: TimelineFilter & { since: number }, bucketMs: number, budget: number): TimelineSql {
  const built = parts(filter, undefined, false)
  const { rowWhere, params } = built
  const scan = params.add(budget)
  const [since, size] = [params.add(filter.since), params.add(bucketMs)]
  const sql = `SELECT ((d.time - ${since}::bigint) / ${size}::bigint)::int AS b, count(*) AS n, count(*) FILTER (WHERE e.type = 'warning') AS w
    FROM ${walkedRows(built, scan)} ${whereClause(rowWhere)} GROUP BY 1`
  return { sql, values: params.values }
}

/**
 * The times of the `scan`-th and `scan + 1`-th rows of the driving index, newest first: two rows
 * when a walk of `scan` rows left some unread, the first being the oldest row it read.
 */
export function budgetEdgeSql(filter: TimelineFilter, scan: number): TimelineSql {
  const { driver, driverWhere, params } = parts(indexOnly(filter), undefined, false)
  const [limit, skip] = [params.add(scan + 1), params.add(scan - 1)]
  const walked = `SELECT ${driver.time} AS time, ${driver.rid} AS rid FROM ${driver.from} ${whereClause(driverWhere)} ORDER BY ${driver.time} DESC, ${driver.rid} DESC LIMIT ${limit}`
  return { sql: `SELECT d.time FROM (${walked}) AS d ORDER BY d.time DESC, d.rid DESC OFFSET ${skip}`, values: params.values }
}

/** The most common values of one `events` column among the `sample` most recent matches. */
export function facetSql(filter: TimelineFilter, column: string, sample: number, top: number): TimelineSql {
  const { from, where, order, params } = parts(filter, undefined, true)
  const matches = `SELECT e.${column} AS value FROM ${from} ${whereClause(where)} ORDER BY ${order} LIMIT ${params.add(sample)}`
  return {
    sql: `SELECT value, count(*) AS count FROM (${matches}) AS m WHERE value IS NOT NULL GROUP BY value ORDER BY count(*) DESC, value COLLATE "C" LIMIT ${params.add(top)}`,
    values: params.values,
  }
}

/** A search matching at most this many events drives its histogram and oldest match (as SQLite's `search` plan). */
export const SEARCH_FIRST_MAX = 5_000

/** How many events a search matches, counted through its GIN index up to `cap`. */
export function searchMatchesSql(q: string, cap: number): TimelineSql {
  const params = new Params()
  const sql = `SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE search @@ to_tsquery('simple', ${params.add(tsQuery(q))}) LIMIT ${params.add(cap)}) AS m`
  return { sql, values: params.values }
}

/** Per-bucket counts of every match of a search with few matches: its GIN result drives, no budget. */
export function searchHistogramSql(filter: TimelineFilter & { since: number }, bucketMs: number): TimelineSql {
  const { from, where, params } = parts(filter, undefined, true, true)
  const [since, size] = [params.add(filter.since), params.add(bucketMs)]
  const sql = `SELECT ((e.time - ${since}::bigint) / ${size}::bigint)::int AS b, count(*) AS n, count(*) FILTER (WHERE e.type = 'warning') AS w
    FROM ${from} ${whereClause(where)} GROUP BY 1`
  return { sql, values: params.values }
}

/** The oldest match of a search with few matches (its GIN result drives); no row when none. */
export function searchOldestSql(filter: TimelineFilter): TimelineSql {
  const { from, where, params } = parts(filter, undefined, true, true)
  return { sql: `SELECT e.time FROM ${from} ${whereClause(where)} ORDER BY e.time LIMIT 1`, values: params.values }
}

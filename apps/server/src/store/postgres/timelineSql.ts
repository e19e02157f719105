/**
 * Builds PostgreSQL timeline SQL, the same shapes as the SQLite builder: an entity view walks
 * `event_links`' primary key (view, time, rid) from the newest end, a mesh-wide view
 * `events_by_mesh_time`, the every-mesh view `events_by_time`; a page is one index range scan that
 * stops after `limit` rows, never an OFFSET on the keyset path. An entity with no `mesh` has no
 * view of its own: its timeline is the union of its views in each mesh (`MeshViews`, looked up
 * once per request), one range scan per view, each ordered and limited itself, merged by the outer
 * ORDER BY ... LIMIT (a Merge Append that reads each view only as far as the merge takes rows).
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

/**
 * Added to the source code of a secondary link, as on SQLite: one of an event's links to an entity
 * in a mesh when an earlier link of the event (in `events.views` order) names the same entity in
 * another mesh (a pod event correlated into the application of that name in two meshes). The
 * every-mesh timeline of an entity, the union of its views in each mesh, reads primary links only,
 * so it lists such an event once and its views are disjoint: counts add up.
 */
export const SECONDARY_LINK = 64

/** The link columns of an event row, `e.time` read from the link (the same value) so a merge of views can order by it. */
const LINKED_EVENT_COLUMNS = EVENT_COLUMNS.replace('e.time,', 'l.time AS time,')

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

/**
 * The ids of the views in each mesh of every entity a filter without `mesh` names (from
 * `MESH_VIEWS_SQL`, read once per request): the every-mesh timeline of an entity is the union of
 * those views' primary links. An entity no mesh has a view of has an empty list (no match).
 */
export type MeshViews = Partial<Record<EntityKind, readonly number[]>>

/** A timeline filter, with the views in each mesh of its entities when it has entities and no mesh. */
export type ScopedFilter = TimelineFilter & { meshViews?: MeshViews }

/** Whether a filter's entities are served by their views in each mesh (it names entities, and no mesh). */
export const needsMeshViews = (filter: TimelineFilter): boolean => filter.mesh === undefined && DRIVER_ORDER.some((kind) => filter[kind] !== undefined)

/** The entities of a filter, most specific first, as (kind, entity) pairs. */
export const filterEntities = (filter: TimelineFilter): Array<[EntityKind, string]> => DRIVER_ORDER.filter((kind) => filter[kind] !== undefined).map((kind) => [kind, filter[kind]!])

/**
 * The views in each mesh (`id`, with the `kind` and `entity` asked for) of the entities given as two
 * parallel arrays ($1 link kinds, $2 entities). The meshes are found by hopping along the views'
 * unique index (mesh first), one seek per mesh, and each entity's view in a mesh is one look-up of
 * that index: a few index probes, never a scan of `views` (which has no index by entity). The
 * LIMIT keeps the look-up a subquery run per (mesh, entity), which the planner would otherwise
 * turn into a hash join over all of `views`.
 */
export const MESH_VIEWS_SQL = `WITH RECURSIVE meshes (mesh) AS (
    (SELECT mesh FROM views WHERE mesh > '' ORDER BY mesh LIMIT 1)
    UNION ALL
    SELECT (SELECT v.mesh FROM views AS v WHERE v.mesh > m.mesh ORDER BY v.mesh LIMIT 1) FROM meshes AS m WHERE m.mesh IS NOT NULL)
  SELECT u.kind, u.entity, v.id FROM meshes AS m CROSS JOIN unnest($1::text[], $2::text[]) AS u (kind, entity)
  CROSS JOIN LATERAL (SELECT id FROM views WHERE mesh = m.mesh AND kind = u.kind AND entity = u.entity LIMIT 1) AS v
  WHERE m.mesh IS NOT NULL ORDER BY m.mesh`

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
  /**
   * The driving views, as SQL: one (an entity's view in a mesh), or an entity's views in each mesh,
   * each its own range scan whose rows are merged. Empty when no entity drives (events do).
   */
  views: string[]
  /** Conditions on the driving index alone (its time, type and source, the cursor), besides its view. */
  driverWhere: string[]
  /** Conditions that need the event row. */
  rowWhere: string[]
  order: string
  /** The columns of a page: the event's, its time read from the link when a link drives. */
  columns: string
  /** The driving index as a standalone source: its table and its time and row-id columns. */
  driver: { from: string; time: string; rid: string; warning: string }
  params: Params
}

/**
 * `searchFirst`: the search's GIN result drives (few matches, see `SEARCH_FIRST_MAX`): every
 * entity is a point look-up of its link at the event's own (time, rid), and the rest are
 * conditions on the event row.
 */
function parts(filter: ScopedFilter, after: TimelinePosition | undefined, needEvents: boolean, searchFirst = false): Parts {
  const params = new Params()
  const driverWhere: string[] = []
  const rowWhere: string[] = []
  const entities = DRIVER_ORDER.filter((kind) => filter[kind] !== undefined)
  const driver = entities[0]
  // The mesh of an entity's view; with no mesh an entity is served by its views in each mesh.
  const view = filter.mesh ?? ''
  const everyMesh = needsMeshViews(filter)
  // An entity with no mesh: its views in each mesh (NULL, no view, when it has none).
  const meshViewsOf = (kind: EntityKind): readonly number[] => {
    const ids = filter.meshViews?.[kind]
    if (!ids) throw new Error(`timeline SQL: the views in each mesh of ${kind} ${filter[kind]} were not given`)
    return ids
  }
  // Whether an event has a link to an entity (any link: in the mesh, or in any of its meshes).
  const linkedTo = (kind: EntityKind, time: string, rid: string) => {
    const views = everyMesh ? `= ANY(${params.add(meshViewsOf(kind))}::int[])` : `= ${viewId(params, view, kind, filter[kind]!)}`
    return `EXISTS (SELECT 1 FROM event_links AS x WHERE x.view ${views} AND x.time = ${time} AND x.rid = ${rid})`
  }
  let views: string[] = []
  let from: string
  let time: string
  let id: string
  let order: string
  let columns = EVENT_COLUMNS
  let driving: Parts['driver']
  const linked = driver !== undefined && !searchFirst

  if (searchFirst) {
    for (const kind of entities) rowWhere.push(linkedTo(kind, 'e.time', 'e.rid'))
    if (filter.mesh !== undefined && entities.length === 0) rowWhere.push(`e.mesh = ${params.add(filter.mesh)}`)
    from = 'events AS e'
    time = 'e.time'
    id = 'e.id'
    order = 'e.time DESC, e.id DESC'
    driving = { from: 'events AS e', time: 'e.time', rid: 'e.rid', warning: "e.type = 'warning'" }
  } else if (driver) {
    // An entity's view in the mesh, or with no mesh its views in each mesh, primary links only
    // (see `SECONDARY_LINK`; with a source filter the codes asked for say it).
    if (everyMesh) {
      const ids = meshViewsOf(driver)
      views = ids.length === 0 ? ['NULL'] : ids.map((viewId) => `${params.add(viewId)}::int`)
      if (!filter.sources?.length) driverWhere.push(`l.source < ${SECONDARY_LINK}`)
    } else {
      views = [viewId(params, view, driver, filter[driver]!)]
    }
    for (const kind of entities.slice(1)) driverWhere.push(linkedTo(kind, 'l.time', 'l.rid'))
    from = needEvents ? 'event_links AS l JOIN events AS e ON e.rid = l.rid' : 'event_links AS l'
    time = 'l.time'
    id = 'e.id'
    order = 'l.time DESC, e.id DESC'
    columns = LINKED_EVENT_COLUMNS
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
    // A view in one mesh lists its secondary links too; the union of an entity's views in each mesh
    // only its primary ones.
    const codes = filter.sources.map((source) => SOURCE_CODE[source])
    const linkCodes = everyMesh ? codes : [...codes, ...codes.map((code) => code + SECONDARY_LINK)]
    driverWhere.push(linked ? `l.source = ANY(${params.add(linkCodes)}::smallint[])` : `e.source = ANY(${params.add(filter.sources)}::text[])`)
  }
  if (filter.reasons?.length) rowWhere.push(`e.reason = ANY(${params.add(filter.reasons)}::text[])`)
  if (filter.namespaces?.length) rowWhere.push(`e.obj_namespace = ANY(${params.add(filter.namespaces)}::text[])`)
  if (filter.kinds?.length) rowWhere.push(`e.obj_kind = ANY(${params.add(filter.kinds)}::text[])`)
  if (filter.name !== undefined) rowWhere.push(`e.obj_name = ${params.add(filter.name)}`)
  if (filter.q !== undefined) rowWhere.push(`e.search @@ to_tsquery('simple', ${params.add(tsQuery(filter.q))})`)
  return { from, views, driverWhere, rowWhere, order, columns, driver: driving, params }
}

/** Whether the filter needs columns only `events` has (so a link-driven count must join). */
function needsEventColumns(filter: TimelineFilter): boolean {
  return Boolean(filter.reasons?.length || filter.namespaces?.length || filter.kinds?.length || filter.name !== undefined || filter.q !== undefined)
}

const whereClause = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '')

/**
 * One query per driving view (`build` given all its conditions on the driving index, the view's
 * first), or the one query when no view drives.
 */
function perView({ views, driverWhere }: Pick<Parts, 'views' | 'driverWhere'>, build: (driverWhere: string[]) => string): string[] {
  return views.length === 0 ? [build(driverWhere)] : views.map((view) => build([`l.view = ${view}`, ...driverWhere]))
}

/**
 * The rows of the driving views (`select`: one view's rows given its conditions, without order) in
 * `order.view` (columns of the view's query), at most `limit` (a LIMIT clause's value). One view:
 * its range scan in index order. An entity's views in each mesh: each view's query ordered and
 * limited itself, merged by one outer ORDER BY (`order.merged`, by output column names) and LIMIT:
 * PostgreSQL's Merge Append reads each view in index order only as far as the merge takes rows
 * from it, and nothing sorts a whole view.
 */
function ordered(p: Parts, select: (driverWhere: string[]) => string, order: { view: string; merged: string }, limit: string, offset?: string): string {
  const members = perView(p, select)
  const tail = offset === undefined ? '' : ` OFFSET ${offset}`
  if (members.length === 1) return `${members[0]} ORDER BY ${order.view} LIMIT ${limit}${tail}`
  // Each view's first rows: with an offset, as many as the offset and the limit together.
  const memberLimit = offset === undefined ? limit : `${limit}::bigint + ${offset}::bigint`
  return `${members.map((member) => `(${member} ORDER BY ${order.view} LIMIT ${memberLimit})`).join(' UNION ALL ')} ORDER BY ${order.merged} LIMIT ${limit}${tail}`
}

/** The rows of every driving view one after the other (views that share no event: counts add up). */
const concatenated = (queries: string[]) => (queries.length === 1 ? queries[0]! : queries.map((query) => `(${query})`).join(' UNION ALL '))

/** One page, newest first, starting after `after`; `limit + 1` rows tell whether more follow. */
export function pageSql(filter: ScopedFilter, limit: number, after?: TimelinePosition): TimelineSql {
  const p = parts(filter, after, true)
  const { from, rowWhere, order, columns, params } = p
  const sql = ordered(p, (driverWhere) => `SELECT ${columns} FROM ${from} ${whereClause([...driverWhere, ...rowWhere])}`, { view: order, merged: 'time DESC, id DESC' }, params.add(limit + 1))
  return { sql, values: params.values }
}

/** Offset page (Dubbo admin compatible endpoints only). */
export function offsetPageSql(filter: ScopedFilter, offset: number, limit: number): TimelineSql {
  const p = parts(filter, undefined, true)
  const { from, rowWhere, order, columns, params } = p
  const select = (driverWhere: string[]) => `SELECT ${columns} FROM ${from} ${whereClause([...driverWhere, ...rowWhere])}`
  const sql = ordered(p, select, { view: order, merged: 'time DESC, id DESC' }, params.add(limit), params.add(offset))
  return { sql, values: params.values }
}

/** Counts matches up to `cap` rows (the count stops there). */
export function countSql(filter: ScopedFilter, cap: number): TimelineSql {
  const p = parts(filter, undefined, needsEventColumns(filter))
  const matches = concatenated(perView(p, (driverWhere) => `SELECT 1 FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])}`))
  return { sql: `SELECT count(*) AS n FROM (${matches} LIMIT ${p.params.add(cap)}) AS capped`, values: p.params.values }
}

/** Whether the filter needs the event rows, not only the driving index (see the SQLite builder). */
export function needsRows(filter: TimelineFilter): boolean {
  return needsEventColumns(filter)
}

/** The filter without its row filters: what the driving index alone decides (every parameter bound must be used). */
function indexOnly(filter: ScopedFilter): ScopedFilter {
  const { reasons: _reasons, namespaces: _namespaces, kinds: _kinds, name: _name, q: _q, ...rest } = filter
  return rest
}

/**
 * The driving index's rows in (time, rid) order, at most `scan` of them (of every driving view
 * together; newest first unless `oldest`), as (time, rid).
 */
function walk(p: Parts, scan: string, oldest = false): string {
  const { driver } = p
  const direction = oldest ? '' : ' DESC'
  return ordered(
    p,
    (driverWhere) => `SELECT ${driver.time} AS time, ${driver.rid} AS rid FROM ${driver.from} ${whereClause(driverWhere)}`,
    { view: `${driver.time}${direction}, ${driver.rid}${direction}`, merged: `time${direction}, rid${direction}` },
    scan,
  )
}

/**
 * The driving index's rows walked as `walk` does, joined to their events: how the histogram and
 * the oldest match read event rows within a budget. Ties within a millisecond go by rid here;
 * only times come out of these walks.
 */
function walkedRows(p: Parts, scan: string, oldest = false): string {
  return `(${walk(p, scan, oldest)}) AS d JOIN events AS e ON e.rid = d.rid`
}

/**
 * The oldest match's `time`. Without row filters one index look-up (per view); with them the
 * driving index is walked from its oldest end, at most `budget` rows, and the query answers no row
 * when none of those match (`oldestIndexedSql` then stands in, as on SQLite).
 */
export function oldestSql(filter: ScopedFilter, budget: number): TimelineSql {
  if (!needsRows(filter)) return oldestIndexedSql(filter)
  const built = parts(filter, undefined, false)
  const scan = built.params.add(budget)
  return { sql: `SELECT d.time FROM ${walkedRows(built, scan, true)} ${whereClause(built.rowWhere)} ORDER BY d.time LIMIT 1`, values: built.params.values }
}

/** The oldest row of the driving index (entity, its views in each mesh, mesh or every mesh), ignoring row filters. */
export function oldestIndexedSql(filter: ScopedFilter): TimelineSql {
  const p = parts(indexOnly(filter), undefined, false)
  return { sql: walk(p, '1', true), values: p.params.values }
}

/**
 * Normal and warning matches per bucket for filters that need no event row: one short range count
 * of the driving index per bucket (a lateral subquery per row of `generate_series`, summing the
 * range counts of every driving view), so the work is the matches in the range read from the
 * index, never a sort. Rows come in no promised order: `b` places them.
 */
export function bucketCountSql(filter: ScopedFilter & { since: number; until: number }, bucketMs: number, buckets: number): TimelineSql {
  if (needsRows(filter)) throw new Error('bucketCountSql: the filter needs event rows')
  const { since, until, ...rest } = filter
  const p = parts(rest, undefined, false)
  const { driver, params } = p
  const [first, last, size, end] = [params.add(since), params.add(buckets - 1), params.add(bucketMs), params.add(until)]
  const lower = `${first}::bigint + g.b * ${size}::bigint`
  const bounds = [`${driver.time} >= ${lower}`, `${driver.time} < least(${end}::bigint, ${lower} + ${size}::bigint)`]
  const counts = perView(p, (driverWhere) => `SELECT count(*) AS n, count(*) FILTER (WHERE ${driver.warning}) AS w FROM ${driver.from} ${whereClause([...driverWhere, ...bounds])}`)
  const counted = counts.length === 1 ? counts[0]! : `SELECT sum(n)::bigint AS n, sum(w)::bigint AS w FROM (${concatenated(counts)}) AS v`
  const sql = `SELECT g.b::int AS b, c.n, c.w FROM generate_series(0, ${last}::int) AS g (b) CROSS JOIN LATERAL (${counted}) AS c`
  return { sql, values: params.values }
}

/**
 * Counts per bucket (`b` from `since`) of normal and warning matches in [since, until), for
 * filters that need the event rows: the newest `budget` rows of the range, joined to their events.
 * `budgetEdgeSql` tells whether rows were left unread, and from when the counts are complete.
 */
export function histogramSql(filter: ScopedFilter & { since: number }, bucketMs: number, budget: number): TimelineSql {
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
export function budgetEdgeSql(filter: ScopedFilter, scan: number): TimelineSql {
  const p = parts(indexOnly(filter), undefined, false)
  const [limit, skip] = [p.params.add(scan + 1), p.params.add(scan - 1)]
  return { sql: `SELECT d.time FROM (${walk(p, limit)}) AS d ORDER BY d.time DESC, d.rid DESC OFFSET ${skip}`, values: p.params.values }
}

/** The most common values of one `events` column among the `sample` most recent matches. */
export function facetSql(filter: ScopedFilter, column: string, sample: number, top: number): TimelineSql {
  const p = parts(filter, undefined, true)
  const { from, rowWhere, order, params } = p
  const time = p.views.length > 0 ? 'l.time' : 'e.time'
  const matches = ordered(
    p,
    (driverWhere) => `SELECT e.${column} AS value, ${time} AS time, e.id AS id FROM ${from} ${whereClause([...driverWhere, ...rowWhere])}`,
    { view: order, merged: 'time DESC, id DESC' },
    params.add(sample),
  )
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
export function searchHistogramSql(filter: ScopedFilter & { since: number }, bucketMs: number): TimelineSql {
  const { from, driverWhere, rowWhere, params } = parts(filter, undefined, true, true)
  const where = [...driverWhere, ...rowWhere]
  const [since, size] = [params.add(filter.since), params.add(bucketMs)]
  const sql = `SELECT ((e.time - ${since}::bigint) / ${size}::bigint)::int AS b, count(*) AS n, count(*) FILTER (WHERE e.type = 'warning') AS w
    FROM ${from} ${whereClause(where)} GROUP BY 1`
  return { sql, values: params.values }
}

/** The oldest match of a search with few matches (its GIN result drives); no row when none. */
export function searchOldestSql(filter: ScopedFilter): TimelineSql {
  const { from, driverWhere, rowWhere, params } = parts(filter, undefined, true, true)
  return { sql: `SELECT e.time FROM ${from} ${whereClause([...driverWhere, ...rowWhere])} ORDER BY e.time LIMIT 1`, values: params.values }
}

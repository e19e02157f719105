/**
 * Builds timeline SQL. Every shape is driven by one index in time order so a page is one range
 * scan that stops after `limit` rows: every view (an entity's, a mesh's, every mesh's) walks
 * `event_links`' primary key (view, time, rid). An entity has no view of every mesh: with no
 * `mesh` its timeline is that of its views in each mesh (a few), one bounded range scan each,
 * merged (see `MeshViews`). Other filters are checked on the rows the scan
 * meets; there is never an OFFSET on the keyset path. Links are keyed by the event's rid, so
 * within one millisecond they are in rid order: a page sorts
 * the rows of equal time by id (SQLite's sort of the right part of the ORDER BY, one time at a
 * time, stopping with the page) to keep the contract's (time desc, id desc) order exact. A search
 * with few matches (`SearchPlan` `search`) is driven by its FTS result and the survivors, at most
 * a few thousand, are sorted. Also here: the histogram, facet and oldest-match queries of the
 * timeline views, built from the same parts.
 */
import type { EventSource } from '@eventline/shared'
import { LINK_KIND } from '../eventViews.ts'
import { FTS_MATCH_FUNCTION, ftsTokens } from './ftsMatch.ts'
import type { EntityKind, TimelineFilter, TimelinePosition } from '../types.ts'

export const EVENT_COLUMNS =
  'e.id, e.time, e.first_time, e.count, e.type, e.reason, e.message, e.source, e.component, e.host, e.mesh, ' +
  'e.obj_kind, e.obj_name, e.obj_namespace, e.obj_uid, e.obj_field_path, e.application, e.instance, e.ip, e.service, e.category, e.action'

type Params = Record<string, string | number>

/** Small codes of sources in link rows (`event_links.source`). Append only: stored in every link. */
export const SOURCE_CODE: Record<EventSource, number> = { kubernetes: 1, zookeeper: 2, nacos: 3, api: 4, demo: 5 }

/**
 * Added to the source code of a secondary link: one of an event's links to an entity in a mesh
 * when an earlier link of the event (in `events.views` order) names the same entity in another
 * mesh (a pod event correlated into the application of that name in two meshes). The every-mesh
 * timeline of an entity, the union of its views in each mesh, reads primary links only, so it
 * lists such an event once and its views are disjoint: counts add up. A code under 128 is still
 * one byte in a record.
 */
export const SECONDARY_LINK = 64

/** A link's source code back to its name, in SQL. */
const SOURCE_NAME = `CASE l.source % ${SECONDARY_LINK} ${Object.entries(SOURCE_CODE)
  .map(([name, code]) => `WHEN ${code} THEN '${name}'`)
  .join(' ')} END`

/**
 * The store's own view of every event of a mesh: [mesh, 'm', ''] (mesh '' for every mesh). It
 * drives the mesh-wide and every-mesh timelines and retention, as an entity's view does.
 */
export const MESH_VIEW = (mesh: string): [string, string, string] => [mesh, 'm', '']

/** The interned id of a view, as a scalar subquery evaluated once per statement. */
const viewId = (mesh: string, kind: string, entity: string) => `(SELECT id FROM views WHERE mesh = @${mesh} AND kind = @${kind} AND entity = @${entity})`

export interface TimelineSql {
  sql: string
  params: Params
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

/**
 * The ids of one entity's views, one per mesh that has it (`?` kind, `?` entity). The meshes are
 * found by hopping along the views' unique index (mesh first), one seek per mesh: there are a few.
 */
export const MESH_VIEWS_SQL = `WITH RECURSIVE meshes (mesh) AS (
    SELECT min(mesh) FROM views WHERE mesh > ''
    UNION ALL SELECT (SELECT min(v.mesh) FROM views AS v WHERE v.mesh > meshes.mesh) FROM meshes WHERE meshes.mesh IS NOT NULL)
  SELECT v.id FROM meshes CROSS JOIN views AS v ON v.mesh = meshes.mesh AND v.kind = ? AND v.entity = ? ORDER BY v.mesh`

/** Whether a filter's entities are served by their views in each mesh (it names entities, and no mesh). */
export const needsMeshViews = (filter: TimelineFilter): boolean => filter.mesh === undefined && DRIVER_ORDER.some((kind) => filter[kind] !== undefined)

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

/** ASCII query tokens the probe plan pre-filters on, at most. */
const PREFILTER_TOKENS = 4

/**
 * The probe plan's test of one row: `ftsMatch` on its text, the FTS index where that answers NULL.
 * A call of the SQL function costs some 4 µs (the strings cross into JavaScript), so it is made only
 * for rows that can match: an ASCII-only text matches a query token only if its lower-cased text
 * contains that token (ASCII folding is lower-casing, and a token matches as a prefix of one of
 * the text's). Text with other characters (which may fold to the token) always goes on to the
 * test; its length in characters is then below its length in bytes. At 200k events, 2,000 rows of
 * a common word: 10.3 ms tested each, 5.1 ms pre-filtered.
 */
function probeCondition(q: string, params: Params): string {
  const test = `coalesce(${FTS_MATCH_FUNCTION}(e.reason, e.message, @q), EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH @q AND rowid = e.rid))`
  const tokens = [...new Set(ftsTokens(q) ?? [])].filter((token) => /^[a-z0-9]+$/.test(token)).slice(0, PREFILTER_TOKENS)
  if (tokens.length === 0) return test
  const canMatch = tokens.map((token, index) => {
    params[`qt${index}`] = token
    return `(instr(lower(e.message), @qt${index}) OR instr(lower(e.reason), @qt${index}))`
  })
  const nonAscii = 'length(e.reason) + length(e.message) < octet_length(e.reason) + octet_length(e.message)'
  return `CASE WHEN ${canMatch.join(' AND ')} OR ${nonAscii} THEN ${test} ELSE 0 END`
}

/**
 * How a full-text search meets the other filters. Which one is cheapest depends on how many events
 * the search matches, which the store measures first with a bounded FTS count:
 * - `search`: few matches. The FTS result drives: each match is looked up by rowid and checked
 *   against the filters (an entity by a point look-up of its link), and the few survivors are
 *   sorted. Work grows with the matches only, never with the entity or the mesh.
 * - `set`: many matches. The timeline index drives in (time, id) order, as without `q`, and each
 *   row is tested against the FTS result materialised once (C speed, a few ms per 100k matches).
 * - `probe`: very many matches, or matches dense among all events (`probeShare`). The index
 *   drives and each row's own reason and message are tested (`ftsMatch`, microseconds whatever
 *   the prefix; `probeCondition`), so nothing the size of the FTS result is built.
 *   A row with text `ftsMatch` does not cover probes the FTS index by rowid instead: cheap for a
 *   whole word and for a one-letter prefix (the FTS `prefix` index), a merge of every term the
 *   prefix starts otherwise.
 * The `set` and `probe` walks stop after a scan budget: see `budgetedPageSql`.
 */
export type SearchPlan = 'search' | 'set' | 'probe'

interface Parts {
  from: string
  /**
   * The driving views, as SQL: one (an entity's view in a mesh, a mesh's, every mesh's), or an
   * entity's views in each mesh, each its own range scan whose rows are merged. Empty when the
   * FTS result drives.
   */
  views: string[]
  /** Conditions on the driving index alone (its type and source, the cursor), besides its view. */
  driverWhere: string[]
  /** Conditions that need the event row (or the FTS index). */
  rowWhere: string[]
  order: string
  /**
   * The driving index as a standalone source (joined to events where its order needs the id), and
   * the columns naming a row of it: `rid` joins it to the event row (`e.rid = d.rid`).
   */
  driver: { from: string; index: string; time: string; id: string; rid: string }
  /** Columns of the driving row: index columns where the index has them (`warning` is 0 or 1). */
  columns: { time: string; type: string; source: string; warning: string }
  params: Params
}

function parts(filter: ScopedFilter, after: TimelinePosition | undefined, needEvents: boolean, plan: SearchPlan = 'probe'): Parts {
  const params: Params = {}
  const driverWhere: string[] = []
  const rowWhere: string[] = []
  const entities = DRIVER_ORDER.filter((kind) => filter[kind] !== undefined)
  const driverKind = entities[0]
  const view = filter.mesh ?? '' // '' is the every-mesh view of event_links
  const searchFirst = filter.q !== undefined && plan === 'search'
  // An entity with no mesh: its views in each mesh, as parameters (NULL, no view, when it has none).
  const everyMesh = needsMeshViews(filter)
  const meshViewsOf = (kind: EntityKind, prefix: string) => {
    const ids = filter.meshViews?.[kind]
    if (!ids) throw new Error(`timeline SQL: the views in each mesh of ${kind} ${filter[kind]} were not given`)
    return ids.length === 0 ? ['NULL'] : list(params, prefix, ids)
  }
  // Whether an event has a link to an entity (any link: in a mesh, or in any of its meshes).
  const linked = (kind: EntityKind, index: number, time: string, rid: string) => {
    if (everyMesh) return `EXISTS (SELECT 1 FROM event_links AS x WHERE x.view IN (${meshViewsOf(kind, `x${index}_`).join(', ')}) AND x.time = ${time} AND x.rid = ${rid})`
    params[`k${index}`] = LINK_KIND[kind]
    params[`v${index}`] = filter[kind]!
    return `EXISTS (SELECT 1 FROM event_links AS x WHERE x.view = ${viewId('view', `k${index}`, `v${index}`)} AND x.time = ${time} AND x.rid = ${rid})`
  }
  let views: string[] = []
  let from: string
  let time: string
  let id: string
  let type: string
  let source: string
  let warning: string
  let order: string
  let driver: Parts['driver']
  // Conditions on type and source, and the cursor, as the driving row holds them.
  let typeIs: (param: string) => string
  let sourceIn: (params: string) => string
  let before: string

  if (searchFirst) {
    // Every entity is a point look-up of its link by primary key (one per mesh with no mesh), at the event's own (time, rid).
    for (const [index, kind] of entities.entries()) {
      if (!everyMesh) params.view = view
      rowWhere.push(linked(kind, index, 'e.time', 'e.rid'))
    }
    if (filter.mesh !== undefined && entities.length === 0) {
      params.mesh = filter.mesh
      rowWhere.push('e.mesh = @mesh')
    }
    from = 'events_fts AS f CROSS JOIN events AS e ON e.rid = f.rowid'
    ;[time, id, type, source, warning] = ['e.time', 'e.id', 'e.type', 'e.source', "e.type = 'warning'"]
    order = 'e.time DESC, e.id DESC'
    driver = { from, index: from, time, id, rid: 'e.rid' }
    typeIs = (param) => `e.type = ${param}`
    sourceIn = (list) => `e.source IN (${list})`
    before = '(e.time, e.id) < (@afterTime, @afterId)'
  } else {
    // An entity's view, or with no entity the mesh's own view (every mesh: mesh ''). An entity
    // with no mesh: its views in each mesh, primary links only (see `SECONDARY_LINK`).
    if (everyMesh) {
      views = meshViewsOf(driverKind!, 'dv')
      if (!filter.sources?.length) driverWhere.push(`l.source < ${SECONDARY_LINK}`)
    } else {
      params.view = view
      params.driverKind = driverKind ? LINK_KIND[driverKind] : 'm'
      params.driverEntity = driverKind ? filter[driverKind]! : ''
      views = [viewId('view', 'driverKind', 'driverEntity')]
    }
    for (const [index, kind] of entities.slice(1).entries()) driverWhere.push(linked(kind, index, 'l.time', 'l.rid'))
    // The id of a link's event is on the event row: ordering by it (and a cursor) joins it.
    const joined = 'event_links AS l CROSS JOIN events AS e ON e.rid = l.rid'
    from = needEvents || after ? joined : 'event_links AS l'
    ;[time, id, type, source, warning] = ['l.time', 'e.id', `CASE l.warning WHEN 1 THEN 'warning' ELSE 'normal' END`, SOURCE_NAME, 'l.warning']
    // Without the event rows (a facet of type or source) the most recent links are taken by time.
    order = from === joined ? 'l.time DESC, e.id DESC' : 'l.time DESC'
    driver = { from: joined, index: 'event_links AS l', time, id, rid: 'l.rid' }
    typeIs = (param) => `l.warning = (${param} = 'warning')`
    sourceIn = (list) => `l.source IN (${list})`
    // The range on the key first (time <=), then the tie at the cursor's time by id.
    before = 'l.time <= @afterTime AND (l.time < @afterTime OR e.id < @afterId)'
  }

  const onDriver = searchFirst ? rowWhere : driverWhere
  if (after) {
    params.afterTime = after.time
    params.afterId = after.id
    onDriver.push(before)
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
    onDriver.push(typeIs('@type'))
  }
  if (filter.sources?.length) {
    // A view in one mesh lists its secondary links too; the union of an entity's views in each
    // mesh only its primary ones.
    const codes = filter.sources.map((name) => SOURCE_CODE[name as EventSource] ?? 0)
    const linkCodes = everyMesh ? codes : [...codes, ...codes.map((code) => code + SECONDARY_LINK)]
    onDriver.push(sourceIn(list(params, 'source', searchFirst ? filter.sources : linkCodes).join(', ')))
  }
  if (filter.reasons?.length) rowWhere.push(`e.reason IN (${list(params, 'reason', filter.reasons).join(', ')})`)
  if (filter.namespaces?.length) rowWhere.push(`e.obj_namespace IN (${list(params, 'namespace', filter.namespaces).join(', ')})`)
  if (filter.kinds?.length) rowWhere.push(`e.obj_kind IN (${list(params, 'kind', filter.kinds).join(', ')})`)
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
    // The row's own text first (`ftsMatch`); a probe of the FTS index only for text it does not cover.
    else rowWhere.push(probeCondition(filter.q, params))
  }
  return { from, views, driverWhere, rowWhere, order, driver, columns: { time, type, source, warning }, params }
}

/**
 * One query per driving view (`build` given its conditions on the driving index), or the one
 * query when the FTS result drives.
 */
function perView({ views, driverWhere }: Pick<Parts, 'views' | 'driverWhere'>, build: (driverWhere: string[]) => string): string[] {
  return views.length === 0 ? [build(driverWhere)] : views.map((view) => build([`l.view = ${view}`, ...driverWhere]))
}

/**
 * The rows of the driving views (`select`: one view's rows given its conditions on the driving
 * index, without order) newest first (or oldest), at most `limit`. One view: its range scan in
 * index order (`order.view`). An entity's views in each mesh: the members of one compound ordered
 * and limited as a whole (`order.merged`, by the members' column names). SQLite merges them
 * lazily, each read in its index's order only as far as the merge takes rows from it, and sorts
 * nothing but the ties of one time: no view is read whole, no row sorted twice.
 */
function ordered(p: Parts, select: (driverWhere: string[]) => string, order: { view: string; merged: string }, limit: string): string {
  const members = perView(p, select)
  return members.length === 1 ? `${members[0]} ORDER BY ${order.view} LIMIT ${limit}` : `${members.join(' UNION ALL ')} ORDER BY ${order.merged} LIMIT ${limit}`
}

/** The rows of every query one after the other (views that share no event: counts add up). */
const concatenated = (queries: string[]) => (queries.length === 1 ? queries[0]! : queries.map((query) => `SELECT * FROM (${query})`).join(' UNION ALL '))

function list(params: Params, prefix: string, values: readonly (string | number)[]): string[] {
  return values.map((value, index) => {
    params[`${prefix}${index}`] = value
    return `@${prefix}${index}`
  })
}

/** Whether the filter needs columns only `events` has (so a link-driven count must join). */
function needsEventColumns(filter: TimelineFilter): boolean {
  return Boolean(filter.reasons?.length || filter.namespaces?.length || filter.kinds?.length || filter.name || filter.q)
}

const whereClause = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '')

/** The driving index's rows in timeline order (or its reverse), at most `@scan` of them (of every driving view together). */
function walk(p: Parts, direction: 'ASC' | 'DESC'): string {
  const { driver } = p
  return ordered(
    p,
    (driverWhere) => `SELECT ${driver.time} AS time, ${driver.id} AS id, ${driver.rid} AS rid FROM ${driver.from} ${whereClause(driverWhere)}`,
    { view: `${driver.time} ${direction}, ${driver.id} ${direction}`, merged: `time ${direction}, id ${direction}` },
    '@scan',
  )
}

/** The oldest time of the driving index: its first entry in time order, from the index alone (the oldest of every driving view). */
function oldestIndexed(p: Parts): TimelineSql {
  const { driver } = p
  const queries = perView(p, (driverWhere) => `SELECT ${driver.time} AS time FROM ${driver.index} ${whereClause(driverWhere)} ORDER BY ${driver.time} LIMIT 1`)
  return { sql: queries.length === 1 ? queries[0]! : `SELECT min(time) FROM (${concatenated(queries)})`, params: p.params }
}

/**
 * The newest matches of the driving views (`limit`: a LIMIT clause), as (time, id, rid): with
 * several views the event rows of the chosen rows are read again, by rowid, and none other.
 */
function newestMatches(p: Parts, limit: string): string {
  return ordered(
    p,
    (driverWhere) => `SELECT ${p.driver.time} AS time, ${p.driver.id} AS id, ${p.driver.rid} AS rid FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])}`,
    { view: p.order, merged: 'time DESC, id DESC' },
    limit,
  )
}

/** The event rows of `matches` (time, id, rid), newest first. */
const matchedEvents = (matches: string, columns: string) => `SELECT ${columns} FROM (${matches}) AS d CROSS JOIN events AS e ON e.rid = d.rid ORDER BY d.time DESC, d.id DESC`

/** One page, newest first, starting after `after`; `limit + 1` rows tell whether more follow. */
export function pageSql(filter: ScopedFilter, limit: number, after?: TimelinePosition, plan?: SearchPlan, columns = EVENT_COLUMNS): TimelineSql {
  const p = parts(filter, after, true, plan)
  p.params.limit = limit + 1
  if (p.views.length > 1) return { sql: matchedEvents(newestMatches(p, '@limit'), columns), params: p.params }
  const [query] = perView(p, (driverWhere) => `SELECT ${columns} FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])} ORDER BY ${p.order} LIMIT @limit`)
  return { sql: query!, params: p.params }
}

/**
 * A page of an index-driven search that reads at most `scan` rows of the driving index: a search
 * whose matches are rare in the entity would otherwise walk the whole entity for one page. The
 * page may come back short; `budgetEdgeSql` then gives the position where the walk stopped, and
 * the next page continues from there (every match is still served exactly once).
 */
export function budgetedPageSql(filter: ScopedFilter, limit: number, after: TimelinePosition | undefined, plan: SearchPlan, scan: number): TimelineSql {
  const p = parts(filter, after, true, plan)
  p.params.limit = limit + 1
  p.params.scan = scan
  return {
    sql: `SELECT ${EVENT_COLUMNS} FROM (${walk(p, 'DESC')}) AS d CROSS JOIN events AS e ON e.rid = d.rid ${whereClause(p.rowWhere)} ORDER BY d.time DESC, d.id DESC LIMIT @limit`,
    params: p.params,
  }
}

/** The `scan`-th row of the driving index (its `time` and `id`), if the walk has that many. */
export function budgetEdgeSql(filter: ScopedFilter, after: TimelinePosition | undefined, scan: number): TimelineSql {
  const p = parts(filter, after, false, 'probe')
  const { driver } = p
  p.params.skip = scan - 1
  const edge = ordered(
    p,
    (driverWhere) => `SELECT ${driver.time} AS time, ${driver.id} AS id FROM ${driver.from} ${whereClause(driverWhere)}`,
    { view: `${driver.time} DESC, ${driver.id} DESC`, merged: 'time DESC, id DESC' },
    '1 OFFSET @skip',
  )
  return { sql: edge, params: p.params }
}

/** Counts the matches among the first `scan` rows of the driving index, up to `cap`. */
export function budgetedCountSql(filter: ScopedFilter, cap: number, plan: SearchPlan, scan: number): TimelineSql {
  const p = parts(filter, undefined, true, plan)
  p.params.cap = cap
  p.params.scan = scan
  return { sql: `SELECT count(*) AS n FROM (SELECT 1 FROM (${walk(p, 'DESC')}) AS d CROSS JOIN events AS e ON e.rid = d.rid ${whereClause(p.rowWhere)} LIMIT @cap)`, params: p.params }
}

/** Offset page (Dubbo admin compatible endpoints only). */
export function offsetPageSql(filter: ScopedFilter, offset: number, limit: number): TimelineSql {
  const p = parts(filter, undefined, true)
  p.params.limit = limit
  p.params.offset = offset
  if (p.views.length > 1) return { sql: matchedEvents(newestMatches(p, '@limit OFFSET @offset'), EVENT_COLUMNS), params: p.params }
  const [query] = perView(p, (driverWhere) => `SELECT ${EVENT_COLUMNS} FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])} ORDER BY ${p.order} LIMIT @limit OFFSET @offset`)
  return { sql: query!, params: p.params }
}

/** Counts matches up to `cap` rows (the count stops there). */
export function countSql(filter: ScopedFilter, cap: number, plan?: SearchPlan): TimelineSql {
  const p = parts(filter, undefined, needsEventColumns(filter), plan)
  p.params.cap = cap
  const queries = perView(p, (driverWhere) => `SELECT 1 FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])}`)
  return { sql: `SELECT count(*) AS n FROM (${concatenated(queries)} LIMIT @cap)`, params: p.params }
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
export function oldestSql(filter: ScopedFilter, plan: SearchPlan | undefined, budget: number): TimelineSql {
  const rows = needsEventColumns(filter)
  const p = parts(filter, undefined, rows, plan)
  if (plan === 'search') return { sql: `SELECT min(${p.columns.time}) FROM ${p.from} ${whereClause([...p.driverWhere, ...p.rowWhere])}`, params: p.params }
  if (!rows) return oldestIndexed(p)
  p.params.scan = budget
  return { sql: `SELECT d.time FROM (${walk(p, 'ASC')}) AS d CROSS JOIN events AS e ON e.rid = d.rid ${whereClause(p.rowWhere)} ORDER BY d.time, d.id LIMIT 1`, params: p.params }
}

/** The oldest row of the driving index (entity, mesh or every mesh), ignoring row filters. */
export function oldestIndexedSql(filter: ScopedFilter): TimelineSql {
  return oldestIndexed(parts(filter, undefined, false, 'probe'))
}

/**
 * Normal and warning matches in [@since, @until) from one timeline index range, for filters that
 * need no event row. The histogram runs it once per bucket with the bucket's bounds: 60 short
 * range counts are about 5 times faster than one GROUP BY over the whole range (its sorter).
 */
export function bucketCountSql(filter: ScopedFilter & { since: number; until: number }): TimelineSql {
  if (needsEventColumns(filter)) throw new Error('bucketCountSql: the filter needs event rows')
  const p = parts(filter, undefined, false)
  const queries = perView(p, (driverWhere) => `SELECT count(*) AS n, coalesce(sum(${p.columns.warning}), 0) AS w FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])}`)
  return { sql: queries.length === 1 ? queries[0]! : `SELECT sum(n) AS n, sum(w) AS w FROM (${concatenated(queries)})`, params: p.params }
}

/**
 * Counts per bucket (`b` = bucket index from `@since`) of normal and warning matches in
 * [since, until). Without row filters it reads one timeline index range and nothing else (the
 * index carries time and type). With them (and no small FTS result to drive) it reads at most
 * `budget` rows of the range, newest first: `histogramEdgeSql` tells whether more were left.
 */
export function histogramSql(filter: ScopedFilter, plan: SearchPlan | undefined, bucketMs: number, budget: number): TimelineSql {
  const rows = needsEventColumns(filter)
  const p = parts(filter, undefined, rows, plan)
  p.params.since = filter.since!
  p.params.bucketMs = bucketMs
  const select = (time: string, warning: string) => `SELECT CAST((${time} - @since) / @bucketMs AS INTEGER) AS b, count(*) AS n, sum(${warning}) AS w`
  if (!rows || plan === 'search') {
    const queries = perView(p, (driverWhere) => `${select(p.columns.time, p.columns.warning)} FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])} GROUP BY b`)
    return { sql: queries.length === 1 ? queries[0]! : `SELECT b, sum(n) AS n, sum(w) AS w FROM (${concatenated(queries)}) GROUP BY b`, params: p.params }
  }
  p.params.scan = budget
  return { sql: `${select('d.time', "e.type = 'warning'")} FROM (${walk(p, 'DESC')}) AS d CROSS JOIN events AS e ON e.rid = d.rid ${whereClause(p.rowWhere)} GROUP BY b`, params: p.params }
}

/**
 * The most common values of one column among the `sample` most recent matches. `column` is an
 * `events` column, or `type` / `source`, which the driving index carries itself.
 */
export function facetSql(filter: ScopedFilter, column: string, plan: SearchPlan | undefined, sample: number, scan: number, top: number): TimelineSql {
  const indexColumn = column === 'type' || column === 'source'
  const budgeted = plan === 'set' || plan === 'probe'
  const p = parts(filter, undefined, !indexColumn || needsEventColumns(filter), plan)
  p.params.sample = sample
  p.params.top = top
  let matches: string
  if (budgeted) {
    p.params.scan = scan
    matches = `SELECT e.${column} AS value FROM (${walk(p, 'DESC')}) AS d CROSS JOIN events AS e ON e.rid = d.rid ${whereClause(p.rowWhere)} ORDER BY d.time DESC, d.id DESC LIMIT @sample`
  } else if (!indexColumn && p.views.length > 1) {
    matches = matchedEvents(newestMatches(p, '@sample'), `e.${column} AS value`)
  } else {
    const value = indexColumn ? p.columns[column as 'type' | 'source'] : `e.${column}`
    // Without the event rows the most recent links are taken by time alone (see `parts`).
    const byId = p.from !== p.driver.index
    matches = ordered(
      p,
      (driverWhere) => `SELECT ${value} AS value, ${p.columns.time} AS time${byId ? `, ${p.driver.id} AS id` : ''} FROM ${p.from} ${whereClause([...driverWhere, ...p.rowWhere])}`,
      { view: p.order, merged: byId ? 'time DESC, id DESC' : 'time DESC' },
      '@sample',
    )
  }
  return { sql: `SELECT value, count(*) AS count FROM (${matches}) WHERE value IS NOT NULL GROUP BY value ORDER BY count DESC, value LIMIT @top`, params: p.params }
}

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
  order: string
  params: Params
}

function parts(filter: TimelineFilter, after: TimelinePosition | undefined, needEvents: boolean): Parts {
  const params = new Params()
  const where: string[] = []
  const entities = DRIVER_ORDER.filter((kind) => filter[kind] !== undefined)
  const driver = entities[0]
  const view = filter.mesh ?? '' // '' is the every-mesh view
  let from: string
  let time: string
  let id: string
  let order: string
  const linked = driver !== undefined

  if (driver) {
    where.push(`l.view = ${viewId(params, view, driver, filter[driver]!)}`)
    for (const kind of entities.slice(1)) {
      where.push(`EXISTS (SELECT 1 FROM event_links AS x WHERE x.view = ${viewId(params, view, kind, filter[kind]!)} AND x.time = l.time AND x.rid = l.rid)`)
    }
    from = needEvents ? 'event_links AS l JOIN events AS e ON e.rid = l.rid' : 'event_links AS l'
    time = 'l.time'
    id = 'e.id'
    order = 'l.time DESC, e.id DESC'
  } else {
    if (filter.mesh !== undefined) where.push(`e.mesh = ${params.add(filter.mesh)}`)
    from = 'events AS e'
    time = 'e.time'
    id = 'e.id'
    order = 'e.time DESC, e.id DESC'
  }

  if (after) {
    const afterTime = params.add(after.time)
    // The redundant bound on time alone is what the index range uses; the row value breaks ties.
    where.push(`${time} <= ${afterTime}`, `(${time}, ${id}) < (${afterTime}, ${params.add(after.id)}::text COLLATE "C")`)
  }
  if (filter.since !== undefined) where.push(`${time} >= ${params.add(filter.since)}`)
  if (filter.until !== undefined) where.push(`${time} < ${params.add(filter.until)}`)
  if (filter.type) where.push(linked ? `l.warning = ${params.add(filter.type === 'warning')}` : `e.type = ${params.add(filter.type)}`)
  if (filter.sources?.length) {
    where.push(
      linked
        ? `l.source = ANY(${params.add(filter.sources.map((source) => SOURCE_CODE[source]))}::smallint[])`
        : `e.source = ANY(${params.add(filter.sources)}::text[])`,
    )
  }
  if (filter.reasons?.length) where.push(`e.reason = ANY(${params.add(filter.reasons)}::text[])`)
  for (const [column, value] of [
    ['e.obj_namespace', filter.namespace],
    ['e.obj_kind', filter.kind],
    ['e.obj_name', filter.name],
  ] as const) {
    if (value !== undefined) where.push(`${column} = ${params.add(value)}`)
  }
  if (filter.q !== undefined) where.push(`e.search @@ to_tsquery('simple', ${params.add(tsQuery(filter.q))})`)
  return { from, where, order, params }
}

/** Whether the filter needs columns only `events` has (so a link-driven count must join). */
function needsEventColumns(filter: TimelineFilter): boolean {
  return Boolean(filter.reasons?.length || filter.namespace !== undefined || filter.kind !== undefined || filter.name !== undefined || filter.q !== undefined)
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

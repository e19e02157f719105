/**
 * Builds timeline SQL. Every shape is driven by one index in (time, id) order so a page is one
 * range scan that stops after `limit` rows: an entity view walks `event_links`' primary key, a
 * mesh-wide view `events_by_mesh_time`, the every-mesh view `events_by_time`. Other filters are
 * checked on the rows the scan meets; there is never an OFFSET on the keyset path nor a sort.
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

interface Parts {
  from: string
  where: string[]
  order: string
  params: Params
}

function parts(filter: TimelineFilter, after: TimelinePosition | undefined, needEvents: boolean): Parts {
  const params: Params = {}
  const where: string[] = []
  const entities = DRIVER_ORDER.filter((kind) => filter[kind] !== undefined)
  const driver = entities[0]
  const view = filter.mesh ?? '' // '' is the every-mesh view of event_links
  let from: string
  let time: string
  let id: string
  let type: string
  let source: string
  let order: string

  if (driver) {
    params.view = view
    params.driverKind = LINK_KIND[driver]
    params.driverEntity = filter[driver]!
    where.push('l.mesh = @view', 'l.kind = @driverKind', 'l.entity = @driverEntity')
    for (const [index, kind] of entities.slice(1).entries()) {
      params[`k${index}`] = LINK_KIND[kind]
      params[`v${index}`] = filter[kind]!
      where.push(
        `EXISTS (SELECT 1 FROM event_links AS x WHERE x.mesh = @view AND x.kind = @k${index} AND x.entity = @v${index} AND x.time = l.time AND x.event_id = l.event_id)`,
      )
    }
    from = needEvents ? 'event_links AS l CROSS JOIN events AS e ON e.id = l.event_id' : 'event_links AS l'
    ;[time, id, type, source] = ['l.time', 'l.event_id', 'l.type', 'l.source']
    order = 'l.time DESC, l.event_id DESC'
  } else {
    if (filter.mesh !== undefined) {
      params.mesh = filter.mesh
      where.push('e.mesh = @mesh')
      from = 'events AS e INDEXED BY events_by_mesh_time'
    } else {
      from = 'events AS e INDEXED BY events_by_time'
    }
    ;[time, id, type, source] = ['e.time', 'e.id', 'e.type', 'e.source']
    order = 'e.time DESC, e.id DESC'
  }

  if (after) {
    params.afterTime = after.time
    params.afterId = after.id
    where.push(`(${time}, ${id}) < (@afterTime, @afterId)`)
  }
  if (filter.since !== undefined) {
    params.since = filter.since
    where.push(`${time} >= @since`)
  }
  if (filter.until !== undefined) {
    params.until = filter.until
    where.push(`${time} < @until`)
  }
  if (filter.type) {
    params.type = filter.type
    where.push(`${type} = @type`)
  }
  if (filter.sources?.length) where.push(`${source} IN (${list(params, 'source', filter.sources)})`)
  if (filter.reasons?.length) where.push(`e.reason IN (${list(params, 'reason', filter.reasons)})`)
  for (const [column, value] of [
    ['e.obj_namespace', filter.namespace],
    ['e.obj_kind', filter.kind],
    ['e.obj_name', filter.name],
  ] as const) {
    if (value === undefined) continue
    const key = column.slice(2)
    params[key] = value
    where.push(`${column} = @${key}`)
  }
  if (filter.q !== undefined) {
    params.q = ftsQuery(filter.q)
    where.push('e.rid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH @q)')
  }
  return { from, where, order, params }
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
  return Boolean(filter.reasons?.length || filter.namespace || filter.kind || filter.name || filter.q)
}

const whereClause = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '')

/** One page, newest first, starting after `after`; `limit + 1` rows tell whether more follow. */
export function pageSql(filter: TimelineFilter, limit: number, after?: TimelinePosition): TimelineSql {
  const { from, where, order, params } = parts(filter, after, true)
  params.limit = limit + 1
  return { sql: `SELECT ${EVENT_COLUMNS} FROM ${from} ${whereClause(where)} ORDER BY ${order} LIMIT @limit`, params }
}

/** Offset page (Dubbo admin compatible endpoints only). */
export function offsetPageSql(filter: TimelineFilter, offset: number, limit: number): TimelineSql {
  const { from, where, order, params } = parts(filter, undefined, true)
  params.limit = limit
  params.offset = offset
  return { sql: `SELECT ${EVENT_COLUMNS} FROM ${from} ${whereClause(where)} ORDER BY ${order} LIMIT @limit OFFSET @offset`, params }
}

/** Counts matches up to `cap` rows (the count stops there). */
export function countSql(filter: TimelineFilter, cap: number): TimelineSql {
  const { from, where, params } = parts(filter, undefined, needsEventColumns(filter))
  params.cap = cap
  return { sql: `SELECT count(*) AS n FROM (SELECT 1 FROM ${from} ${whereClause(where)} LIMIT @cap)`, params }
}

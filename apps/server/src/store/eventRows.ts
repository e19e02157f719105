/**
 * An event as both stores keep it (one row, snake_case columns), how a row is served, and the
 * rules by which a repeat merges into a stored event. One copy for SQLite and PostgreSQL, with no
 * engine imported, so either store loads without the other's driver; the conformance suite
 * (store/storeConformance.ts) holds both stores to the same behaviour.
 */
import type { EventItem, EventSource } from '@eventline/shared'
import type { IngestEvent } from './types.ts'

export interface EventRow {
  id: string
  time: number
  first_time: number
  count: number
  type: 'normal' | 'warning'
  reason: string
  message: string
  source: EventSource
  component: string
  host: string | null
  mesh: string
  obj_kind: string
  obj_name: string
  obj_namespace: string | null
  obj_uid: string | null
  obj_field_path: string | null
  application: string | null
  instance: string | null
  ip: string | null
  service: string | null
  category: string | null
  action: string | null
}

/** Columns of `EventRow` in insert order. */
export const ROW_COLUMNS = [
  'id',
  'time',
  'first_time',
  'count',
  'type',
  'reason',
  'message',
  'source',
  'component',
  'host',
  'mesh',
  'obj_kind',
  'obj_name',
  'obj_namespace',
  'obj_uid',
  'obj_field_path',
  'application',
  'instance',
  'ip',
  'service',
  'category',
  'action',
] as const satisfies ReadonlyArray<keyof EventRow>

/** PostgreSQL array types of the columns, for multi-row statements over `unnest`. */
export const ROW_TYPES: Record<(typeof ROW_COLUMNS)[number], string> = {
  id: 'text',
  time: 'bigint',
  first_time: 'bigint',
  count: 'integer',
  type: 'text',
  reason: 'text',
  message: 'text',
  source: 'text',
  component: 'text',
  host: 'text',
  mesh: 'text',
  obj_kind: 'text',
  obj_name: 'text',
  obj_namespace: 'text',
  obj_uid: 'text',
  obj_field_path: 'text',
  application: 'text',
  instance: 'text',
  ip: 'text',
  service: 'text',
  category: 'text',
  action: 'text',
}

const OPTIONAL_COLUMNS = ['host', 'application', 'instance', 'ip', 'service', 'category', 'action'] as const

export function rowToItem(row: EventRow): EventItem {
  const item: EventItem = {
    id: row.id,
    time: new Date(row.time).toISOString(),
    firstTime: new Date(row.first_time).toISOString(),
    count: row.count,
    type: row.type,
    reason: row.reason,
    message: row.message,
    source: row.source,
    component: row.component,
    mesh: row.mesh,
    object: { kind: row.obj_kind, name: row.obj_name },
  }
  if (row.obj_namespace !== null) item.object.namespace = row.obj_namespace
  if (row.obj_uid !== null) item.object.uid = row.obj_uid
  if (row.obj_field_path !== null) item.object.fieldPath = row.obj_field_path
  for (const column of OPTIONAL_COLUMNS) {
    const value = row[column]
    if (value !== null) item[column] = value
  }
  return item
}

/** The stored row an ingest event becomes (before merging with a known row). */
export function toRow(event: IngestEvent): EventRow {
  return {
    id: event.id,
    time: Math.trunc(event.time),
    first_time: Math.trunc(Math.min(event.firstTime ?? event.time, event.time)),
    count: Math.max(1, Math.trunc(event.count ?? 1)),
    type: event.type,
    reason: event.reason,
    message: event.message,
    source: event.source,
    component: event.component,
    host: event.host ?? null,
    mesh: event.mesh,
    obj_kind: event.object.kind,
    obj_name: event.object.name,
    obj_namespace: event.object.namespace ?? null,
    obj_uid: event.object.uid ?? null,
    obj_field_path: event.object.fieldPath ?? null,
    application: event.application ?? null,
    instance: event.instance ?? null,
    ip: event.ip ?? null,
    service: event.service ?? null,
    category: event.category ?? null,
    action: event.action ?? null,
  }
}

/**
 * Merges a repeat into the stored row. An explicit count (Kubernetes) is taken as is; without one,
 * a later time is one more occurrence and the same time an idempotent retry. The newest time wins,
 * so an out-of-order older copy never moves an event back.
 */
export function merge(stored: EventRow, incoming: EventRow, explicitCount: boolean): EventRow {
  if (incoming.time < stored.time) return { ...stored, first_time: Math.min(stored.first_time, incoming.first_time) }
  const newer = incoming.time > stored.time
  let count: number
  if (explicitCount) count = newer ? incoming.count : Math.max(stored.count, incoming.count)
  else count = newer ? stored.count + 1 : stored.count
  return { ...incoming, first_time: Math.min(stored.first_time, incoming.first_time), count }
}

/**
 * A posted event (`api`) may only update a posted event of the same mesh. The API refuses the
 * others with a 409 before publishing; this holds the line inside the transaction too, so a race
 * (the id stored by a source between the check and the write) never rewrites a source's event.
 */
export function mayUpdate(stored: EventRow, incoming: EventRow): boolean {
  return incoming.source !== 'api' || (stored.source === 'api' && stored.mesh === incoming.mesh)
}

/** Whether a merge changed nothing: a retry or re-list of what is stored. */
export function sameRow(a: EventRow, b: EventRow): boolean {
  return ROW_COLUMNS.every((key) => a[key] === b[key])
}

/** Only the row's columns (a query may return more). */
export function pickRow(source: EventRow): EventRow {
  const row = {} as Record<string, unknown>
  for (const column of ROW_COLUMNS) row[column] = source[column]
  return row as unknown as EventRow
}

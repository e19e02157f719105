/** `EventStore` on SQLite (better-sqlite3): one connection, synchronous transactions. */
import type { EventItem, EventSource, MeshKind } from '@eventline/shared'
import { TOTAL_COUNT_CAP } from '@eventline/shared'
import type { AlertNotice, OutboxEntry } from '../../sinks/types.ts'
import { eventViews, LINK_KIND } from '../eventViews.ts'
import type { View } from '../eventViews.ts'
import type {
  EventStore,
  IngestEvent,
  PendingEntry,
  StoredEvent,
  TimelineFilter,
  TimelinePosition,
  TimelineResult,
  WriteBatch,
} from '../types.ts'
import { SqliteCatalog } from './catalog.ts'
import { openDatabase } from './db.ts'
import type { Db } from './db.ts'
import { Statements } from './statements.ts'
import { countSql, EVENT_COLUMNS, offsetPageSql, pageSql } from './timelineSql.ts'

interface EventRow {
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

const OPTIONAL_COLUMNS = ['host', 'application', 'instance', 'ip', 'service', 'category', 'action'] as const
const MESH_KIND_OF_SOURCE: Record<EventSource, MeshKind> = { kubernetes: 'kubernetes', zookeeper: 'zookeeper', nacos: 'nacos', api: 'api', demo: 'demo' }

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
function toRow(event: IngestEvent): EventRow {
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
function merge(stored: EventRow, incoming: EventRow, explicitCount: boolean): EventRow {
  if (incoming.time < stored.time) return { ...stored, first_time: Math.min(stored.first_time, incoming.first_time) }
  const newer = incoming.time > stored.time
  let count: number
  if (explicitCount) count = newer ? incoming.count : Math.max(stored.count, incoming.count)
  else count = newer ? stored.count + 1 : stored.count
  return { ...incoming, first_time: Math.min(stored.first_time, incoming.first_time), count }
}

/** Adds `delta` to the count kept under `key`. */
function add(counts: Map<string, number>, key: string, delta: number): void {
  counts.set(key, (counts.get(key) ?? 0) + delta)
}

function sameRow(a: EventRow, b: EventRow): boolean {
  return (Object.keys(a) as Array<keyof EventRow>).every((key) => a[key] === b[key])
}

const INSERT_EVENT = `INSERT INTO events (id, time, first_time, count, type, reason, message, source, component, host, mesh,
  obj_kind, obj_name, obj_namespace, obj_uid, obj_field_path, application, instance, ip, service, category, action, seq, views)
  VALUES (@id, @time, @first_time, @count, @type, @reason, @message, @source, @component, @host, @mesh,
  @obj_kind, @obj_name, @obj_namespace, @obj_uid, @obj_field_path, @application, @instance, @ip, @service, @category, @action, @seq, @views)`
const UPDATE_EVENT = `UPDATE events SET time = @time, first_time = @first_time, count = @count, type = @type, reason = @reason,
  message = @message, source = @source, component = @component, host = @host, mesh = @mesh, obj_kind = @obj_kind,
  obj_name = @obj_name, obj_namespace = @obj_namespace, obj_uid = @obj_uid, obj_field_path = @obj_field_path,
  application = @application, instance = @instance, ip = @ip, service = @service, category = @category, action = @action, seq = @seq,
  views = @views WHERE id = @id`
/** An event row with the views it is linked under (JSON), for updates and re-correlation. */
const READ_EVENT_WITH_VIEWS = `SELECT ${EVENT_COLUMNS}, e.views FROM events AS e WHERE e.id = ?`
const INSERT_LINK = 'INSERT OR IGNORE INTO event_links (mesh, kind, entity, time, event_id, type, source) VALUES (?, ?, ?, ?, ?, ?, ?)'
/** An event entry: one per (sink, event); a repeat while pending moves it to the end of the queue. */
const UPSERT_OUTBOX_EVENT = `INSERT INTO outbox (sink, seq, event_id, alert, created_at) VALUES (?, ?, ?, NULL, ?)
  ON CONFLICT (sink, event_id) WHERE event_id IS NOT NULL DO UPDATE SET seq = excluded.seq`
const INSERT_OUTBOX_ALERT = 'INSERT INTO outbox (sink, seq, event_id, alert, created_at) VALUES (?, ?, NULL, ?, ?)'
/** A sink's queue in order, each event joined by its unique id (null columns: the event was purged). */
export const PENDING_OUTBOX = `SELECT o.seq, o.event_id, o.alert, ${EVENT_COLUMNS}
  FROM outbox AS o LEFT JOIN events AS e ON e.id = o.event_id WHERE o.sink = ? ORDER BY o.seq LIMIT ?`

type PendingRow = { seq: number; event_id: string | null; alert: string | null } & { [K in keyof EventRow]: EventRow[K] | null }

export class SqliteStore implements EventStore {
  private readonly db: Db
  private readonly statements: Statements
  private readonly catalog: SqliteCatalog
  private seq: number
  /** Last outbox sequence; only the writing connection allocates them. */
  private outboxSeq: number
  private open = true
  private readonly writeTransaction: (batch: WriteBatch) => StoredEvent[]

  constructor(path: string) {
    this.db = openDatabase(path)
    this.statements = new Statements(this.db)
    this.catalog = new SqliteCatalog(this.statements)
    this.seq = (this.db.prepare('SELECT coalesce(max(seq), 0) FROM events').pluck().get() as number) ?? 0
    // A scan of the outbox (no index leads with seq), once per open; it holds only what is pending.
    // After a restart with an empty outbox numbering starts over, which is harmless: entries are
    // named by (sink, seq) only while they exist.
    this.outboxSeq = (this.db.prepare('SELECT coalesce(max(seq), 0) FROM outbox').pluck().get() as number) ?? 0
    // Nothing async inside: the whole batch commits or none of it does.
    this.writeTransaction = this.db.transaction((batch: WriteBatch) => {
      for (const change of batch.catalog) {
        if (this.catalog.apply(change) && change.op === 'instance') this.correlateIp(change.instance.ip!)
      }
      const stored: StoredEvent[] = []
      const meshDeltas = new Map<string, number>()
      for (const event of batch.events) {
        const result = this.upsert(event, meshDeltas)
        if (result) stored.push(result)
      }
      this.applyMeshDeltas(meshDeltas)
      this.writeOutbox(batch, stored)
      for (const { key, value } of batch.checkpoints) {
        if (value === null) this.statements.get('DELETE FROM checkpoints WHERE key = ?').run(key)
        else
          this.statements
            .get('INSERT INTO checkpoints (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
            .run(key, value, Date.now())
      }
      return stored
    })
  }

  /** The underlying connection, for tests and benchmarks that inspect query plans. */
  get database(): Db {
    return this.db
  }

  async writeBatch(batch: WriteBatch): Promise<StoredEvent[]> {
    let committed = false
    try {
      const stored = this.writeTransaction(batch)
      committed = true
      return stored
    } finally {
      this.catalog.endTransaction(committed)
    }
  }

  /** Outbox entries of the batch, in the batch's transaction; see `WriteBatch.outbox`. */
  private writeOutbox(batch: WriteBatch, stored: readonly StoredEvent[]): void {
    if (batch.outbox.length === 0) return
    const changed = new Set(stored.map(({ item }) => item.id))
    const unchanged = new Set(batch.events.map(({ id }) => id).filter((id) => !changed.has(id)))
    const now = Date.now()
    for (const entry of batch.outbox) this.writeOutboxEntry(entry, unchanged, now)
  }

  private writeOutboxEntry(entry: OutboxEntry, unchanged: ReadonlySet<string>, now: number): void {
    if ('eventId' in entry) {
      if (!unchanged.has(entry.eventId)) this.statements.get(UPSERT_OUTBOX_EVENT).run(entry.sink, ++this.outboxSeq, entry.eventId, now)
    } else {
      this.statements.get(INSERT_OUTBOX_ALERT).run(entry.sink, ++this.outboxSeq, JSON.stringify(entry.alert), now)
    }
  }

  private applyMeshDeltas(deltas: Map<string, number>): void {
    const update = this.statements.get(
      'INSERT INTO mesh_event_counts (mesh, events) VALUES (?, ?) ON CONFLICT (mesh) DO UPDATE SET events = events + excluded.events',
    )
    for (const [mesh, delta] of deltas) if (delta !== 0) update.run(mesh, delta)
  }

  private upsert(event: IngestEvent, meshDeltas: Map<string, number>): StoredEvent | undefined {
    const incoming = toRow(event)
    const stored = this.statements.get(READ_EVENT_WITH_VIEWS).get(incoming.id) as
      | (EventRow & { views: string })
      | undefined
    let row = incoming
    if (stored) {
      const { views: storedViews, ...storedRow } = stored
      row = merge(storedRow, incoming, event.count !== undefined)
      if (sameRow(storedRow, row)) return undefined // a retry or re-list of what we have: nothing to do
      this.unlink(storedRow, storedViews)
      if (stored.mesh !== row.mesh) {
        add(meshDeltas, stored.mesh, -1)
        add(meshDeltas, row.mesh, 1)
      }
    } else {
      add(meshDeltas, row.mesh, 1)
    }
    const views = this.views(row, event.services)
    this.statements.get(stored ? UPDATE_EVENT : INSERT_EVENT).run({ ...row, seq: ++this.seq, views: JSON.stringify(views) })
    this.link(row, views)
    this.fillCatalog(row)
    return { seq: this.seq, item: rowToItem(row), created: !stored, views }
  }

  private views(row: EventRow, services: readonly string[] | undefined): View[] {
    return eventViews({ ...row, objectKind: row.obj_kind, services }, this.catalog)
  }

  /**
   * An instance appeared at `ip`: Kubernetes pod events already stored for that IP gain the views
   * the instance gives them (its mesh's application, instance, IP, services), so a registry
   * instance that registers after its pod's events still shows them. Views are only added.
   */
  private correlateIp(ip: string): void {
    const ids = this.statements.get("SELECT event_id FROM event_links WHERE mesh = '' AND kind = ? AND entity = ?").pluck().all(LINK_KIND.ip, ip) as string[]
    const read = this.statements.get(READ_EVENT_WITH_VIEWS)
    const update = this.statements.get('UPDATE events SET views = ? WHERE id = ?')
    for (const id of ids) {
      const stored = read.get(id) as (EventRow & { views: string }) | undefined
      if (!stored || stored.source !== 'kubernetes' || stored.obj_kind !== 'Pod') continue
      const { views: storedViews, ...row } = stored
      const views = JSON.parse(storedViews) as View[]
      const known = new Set(views.map((view) => view.join('\u0000')))
      const added = this.views(row, undefined).filter((view) => !known.has(view.join('\u0000')))
      if (added.length === 0) continue
      this.link(row, added)
      update.run(JSON.stringify([...views, ...added]), id)
    }
  }

  private link(row: EventRow, views: readonly View[]): void {
    const insert = this.statements.get(INSERT_LINK)
    for (const [mesh, kind, entity] of views) insert.run(mesh, kind, entity, row.time, row.id, row.type, row.source)
  }

  /** Deletes an event's links by primary key, from the views recorded with it. */
  private unlink(row: { id: string; time: number }, views: string): void {
    const remove = this.statements.get('DELETE FROM event_links WHERE mesh = ? AND kind = ? AND entity = ? AND time = ? AND event_id = ?')
    for (const [mesh, kind, entity] of JSON.parse(views) as View[]) remove.run(mesh, kind, entity, row.time, row.id)
  }

  /** Events name meshes, applications, instances and services: make sure the catalog knows them. */
  private fillCatalog(row: EventRow): void {
    this.catalog.ensureMesh(row.mesh, MESH_KIND_OF_SOURCE[row.source])
    if (row.application) this.catalog.ensureApplication(row.mesh, row.application)
    if (row.instance && this.catalog.ensureInstance(row.mesh, row.instance, row.source, row.ip ?? undefined, row.application ?? undefined)) {
      this.correlateIp(row.ip!)
    }
    if (row.service) this.catalog.ensureService(row.mesh, row.service)
  }

  async timeline(filter: TimelineFilter, limit: number, after?: TimelinePosition): Promise<TimelineResult> {
    const page = pageSql(filter, limit, after)
    const rows = this.statements.get(page.sql).all(page.params) as EventRow[]
    const items = rows.slice(0, limit).map(rowToItem)
    const last = rows.length > limit ? rows[limit - 1]! : undefined
    const { total, totalCapped } = this.count(filter)
    return { items, next: last ? { time: last.time, id: last.id } : null, total, totalCapped }
  }

  private count(filter: TimelineFilter): { total: number; totalCapped: boolean } {
    const count = countSql(filter, TOTAL_COUNT_CAP + 1)
    const n = this.statements.get(count.sql).pluck().get(count.params) as number
    return n > TOTAL_COUNT_CAP ? { total: TOTAL_COUNT_CAP, totalCapped: true } : { total: n, totalCapped: false }
  }

  async timelineByOffset(filter: TimelineFilter, offset: number, limit: number): Promise<{ items: EventItem[]; total: number }> {
    const page = offsetPageSql(filter, offset, limit)
    const rows = this.statements.get(page.sql).all(page.params) as EventRow[]
    return { items: rows.map(rowToItem), total: this.count(filter).total }
  }

  async eventsAfter(seq: number, limit: number): Promise<StoredEvent[]> {
    const rows = this.statements
      .get(`SELECT ${EVENT_COLUMNS}, e.seq, e.views FROM events AS e WHERE e.seq > ? ORDER BY e.seq LIMIT ?`)
      .all(seq, limit) as Array<EventRow & { seq: number; views: string }>
    return rows.map(({ seq: rowSeq, views, ...row }) => ({ seq: rowSeq, item: rowToItem(row), created: false, views: JSON.parse(views) as View[] }))
  }

  async readCheckpoint(key: string): Promise<string | undefined> {
    return this.statements.get('SELECT value FROM checkpoints WHERE key = ?').pluck().get(key) as string | undefined
  }

  async readCheckpoints(prefix: string): Promise<Map<string, string>> {
    // A range on the primary key: every key that starts with the prefix sorts between these bounds.
    const rows = this.statements
      .get("SELECT key, value FROM checkpoints WHERE key >= ? AND key < ? || char(1114111)")
      .all(prefix, prefix) as Array<{ key: string; value: string }>
    return new Map(rows.map(({ key, value }) => [key.slice(prefix.length), value]))
  }

  async purgeBefore(cutoff: number, batchSize: number): Promise<number> {
    return this.db.transaction(() => {
      const rows = this.statements
        .get('SELECT id, mesh, time, views FROM events INDEXED BY events_by_time WHERE time < ? ORDER BY time LIMIT ?')
        .all(cutoff, batchSize) as Array<{ id: string; mesh: string; time: number; views: string }>
      const deleteEvent = this.statements.get('DELETE FROM events WHERE id = ?')
      const meshDeltas = new Map<string, number>()
      for (const { id, mesh, time, views } of rows) {
        this.unlink({ id, time }, views)
        deleteEvent.run(id)
        add(meshDeltas, mesh, -1)
      }
      this.applyMeshDeltas(meshDeltas)
      return rows.length
    })()
  }

  async pendingOutbox(sink: string, limit: number): Promise<PendingEntry[]> {
    const rows = this.statements.get(PENDING_OUTBOX).all(sink, limit) as PendingRow[]
    return rows.map(({ seq, event_id: eventId, alert, ...row }): PendingEntry => {
      if (eventId === null) return { seq, alert: JSON.parse(alert!) as AlertNotice }
      return { seq, eventId, event: row.id === null ? undefined : rowToItem(row as EventRow) }
    })
  }

  async deleteOutbox(sink: string, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return
    const remove = this.statements.get('DELETE FROM outbox WHERE sink = ? AND seq = ?')
    this.db.transaction(() => {
      for (const seq of seqs) remove.run(sink, seq)
    })()
  }

  async outboxCounts(): Promise<Map<string, number>> {
    const rows = this.statements.get('SELECT sink, count(*) AS n FROM outbox GROUP BY sink').all() as Array<{ sink: string; n: number }>
    return new Map(rows.map(({ sink, n }) => [sink, n]))
  }

  async discardOutbox(sink: string, createdBefore: number): Promise<number> {
    return this.statements.get('DELETE FROM outbox WHERE sink = ? AND created_at < ?').run(sink, createdBefore).changes
  }

  async meshes() {
    return this.catalog.meshes()
  }

  async applications(...args: Parameters<SqliteCatalog['applications']>) {
    return this.catalog.applications(...args)
  }

  async application(name: string, mesh?: string) {
    return this.catalog.application(name, mesh)
  }

  async instances(...args: Parameters<SqliteCatalog['instances']>) {
    return this.catalog.instances(...args)
  }

  async instance(name: string, mesh?: string) {
    return this.catalog.instance(name, mesh)
  }

  async services(...args: Parameters<SqliteCatalog['services']>) {
    return this.catalog.services(...args)
  }

  async service(name: string, mesh?: string) {
    return this.catalog.service(name, mesh)
  }

  isOpen(): boolean {
    return this.open && this.db.open
  }

  async close(): Promise<void> {
    if (!this.open) return
    this.open = false
    this.db.close()
  }
}

/**
 * `EventStore` on SQLite (better-sqlite3): one connection, synchronous transactions. Used as is for
 * `:memory:` (tests, demos); for a file, `ThreadedSqliteStore` runs one of these per thread (a
 * writer, and readers opened read-only) so no query runs on the thread serving HTTP.
 *
 * Writes take the lock at BEGIN (`BEGIN IMMEDIATE`), so the busy timeout is honoured when another
 * connection holds it; a deferred transaction that reads first and then upgrades fails at once. A
 * write SQLite cannot make for now (full disk, lock timeout, I/O error) throws `UnavailableError`
 * and is remembered for `/readyz` until a write succeeds; a failed batch leaves nothing behind in
 * memory (catalog memo, sequence counters).
 */
import type { EventItem, EventSource, MeshKind } from '@eventline/shared'
import { TOTAL_COUNT_CAP } from '@eventline/shared'
import type { AlertNotice, OutboxEntry } from '../../sinks/types.ts'
import { mayUpdate, merge, ROW_COLUMNS, rowToItem, sameRow, toRow } from '../eventRows.ts'
import type { EventRow } from '../eventRows.ts'
import { eventPageJson } from '../eventPage.ts'
import { LINK_KIND, meshViews, withEveryMesh } from '../eventViews.ts'
import type { View } from '../eventViews.ts'
import { ENTITY_KINDS } from '../types.ts'
import type {
  EntityKind,
  EventOrigin,
  ActivityChange,
  ActivityPeriod,
  EventStore,
  FacetResult,
  HistogramCounts,
  IngestEvent,
  PendingEntry,
  StoredEvent,
  TimelineFilter,
  TimelinePosition,
  TimelineResult,
  WriteBatch,
} from '../types.ts'
import { SqliteCatalog } from './catalog.ts'
import type { Correlation } from './catalog.ts'
import { openDatabase } from './db.ts'
import type { OpenOptions } from './db.ts'
import type { Db } from './db.ts'
import { isUnavailableCode } from './db.ts'
import { UnavailableError } from '../../errors.ts'
import { Statements } from './statements.ts'
import {
  MESH_VIEW,
  MESH_VIEWS_SQL,
  needsMeshViews,
  SECONDARY_LINK,
  SOURCE_CODE,
  bucketCountSql,
  budgetedCountSql,
  budgetedPageSql,
  budgetEdgeSql,
  countSql,
  EVENT_COLUMNS,
  facetSql,
  ftsQuery,
  histogramSql,
  needsRows,
  offsetPageSql,
  oldestIndexedSql,
  oldestSql,
  pageSql,
} from './timelineSql.ts'
import type { MeshViews, ScopedFilter, SearchPlan } from './timelineSql.ts'

/** A page's `total` and `totalCapped`. */
export type PageTotal = Pick<TimelineResult, 'total' | 'totalCapped'>

const MESH_KIND_OF_SOURCE: Record<EventSource, MeshKind> = { kubernetes: 'kubernetes', zookeeper: 'zookeeper', nacos: 'nacos', api: 'api', demo: 'demo' }

/** Keeps `value` under `key` in a map of at most `TOTAL_CACHE_SIZE` entries, the oldest going first. */
export function remember<V>(kept: Map<string, V>, key: string, value: V): void {
  kept.delete(key)
  if (kept.size >= TOTAL_CACHE_SIZE) kept.delete(kept.keys().next().value!)
  kept.set(key, value)
}

/** Adds `delta` to the count kept under `key`. */
function add(counts: Map<string, number>, key: string, delta: number): void {
  counts.set(key, (counts.get(key) ?? 0) + delta)
}

// Positional parameters, in `ROW_COLUMNS` order then seq and views (`eventValues`): better-sqlite3
// binds a named parameter by looking its name up in the object, 24 look-ups per event, and the
// object itself was a copy of the row.
const INSERT_EVENT = `INSERT INTO events (${ROW_COLUMNS.join(', ')}, seq, views) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')}, ?, ?)`
/** The same values but the id (an update never changes it), then the rid of the row. */
const UPDATE_EVENT = `UPDATE events SET ${ROW_COLUMNS.filter((column) => column !== 'id')
  .map((column) => `${column} = ?`)
  .join(', ')}, seq = ?, views = ? WHERE rid = ?`
/** An event row with its rid and the views it is linked under (view ids), for updates and re-correlation. */
const READ_EVENT_WITH_VIEWS = `SELECT ${EVENT_COLUMNS}, e.rid, e.views FROM events AS e WHERE e.id = ?`
type StoredRow = EventRow & { rid: number; views: string }
/**
 * All links of an event in one statement, the view ids given as a JSON array (those in the second
 * array marked secondary): a statement per link costs its own bind and step (measured 6.6 against
 * 9.8 µs per link, 10 links per event).
 */
const INSERT_LINKS = `INSERT OR IGNORE INTO event_links (view, time, rid, source, warning)
  SELECT v.value, ?, ?, ? + ${SECONDARY_LINK} * (v.value IN (SELECT s.value FROM json_each(?) AS s)), ? FROM json_each(?) AS v`
const DELETE_LINK = 'DELETE FROM event_links WHERE view = ? AND time = ? AND rid = ?'
/**
 * The full-text rows of the events a batch inserted (rids `?` to `?`: a new row's rid is the
 * largest plus one, so that range holds this batch's rows and no other), with their final text:
 * one statement at the end of the batch (see migration 10).
 */
const INDEX_NEW_EVENTS = 'INSERT INTO events_fts (rowid, reason, message) SELECT rid, reason, message FROM events WHERE rid BETWEEN ? AND ?'
/** Re-indexes an indexed event whose text an update changed: its old terms out, the new ones in. */
const UNINDEX_EVENT = "INSERT INTO events_fts (events_fts, rowid, reason, message) VALUES ('delete', ?, ?, ?)"
const INDEX_EVENT = 'INSERT INTO events_fts (rowid, reason, message) VALUES (?, ?, ?)'
/** The rids a write transaction inserted (`first` 0: none yet), indexed at its end. */
interface InsertedRows {
  first: number
  last: number
}

/** The parameters of `INSERT_EVENT`. */
function eventValues(row: EventRow, seq: number, views: string): unknown[] {
  const values: unknown[] = ROW_COLUMNS.map((column) => row[column])
  values.push(seq, views)
  return values
}

/** `events.views`: the ids of the event's views, separated by spaces. */
const viewIds = (views: string): number[] => (views === '' ? [] : views.split(' ').map(Number))
/** An event entry: one per (sink, event); a repeat while pending moves it to the end of the queue. */
const UPSERT_OUTBOX_EVENT = `INSERT INTO outbox (sink, seq, event_id, alert, created_at) VALUES (?, ?, ?, NULL, ?)
  ON CONFLICT (sink, event_id) WHERE event_id IS NOT NULL DO UPDATE SET seq = excluded.seq`
const INSERT_OUTBOX_ALERT = 'INSERT INTO outbox (sink, seq, event_id, alert, created_at) VALUES (?, ?, NULL, ?, ?)'
/** A sink's queue in order, each event joined by its unique id (null columns: the event was purged). */
export const PENDING_OUTBOX = `SELECT o.seq, o.event_id, o.alert, ${EVENT_COLUMNS}
  FROM outbox AS o LEFT JOIN events AS e ON e.id = o.event_id WHERE o.sink = ? ORDER BY o.seq LIMIT ?`

/** Thresholds of the search plans (see `SearchPlan`); tests lower them to reach every plan on little data. */
export interface SearchTuning {
  /** A search matching at most this many events is driven by its FTS result (sorted in memory). */
  searchFirstMax: number
  /** Up to this many matches the index-driven walk tests rows against the materialised FTS result. */
  setMax: number
  /**
   * A search matching at least this share of all events is probed even under `setMax`: where one
   * event in fifty matches, a page of 20 finds its matches within about a thousand rows, each
   * tested on its own text for a few microseconds, while the FTS result to materialise grows with
   * the database (12-15 ms a page for 23k matches among 160k events, against 2 ms probed).
   */
  probeShare: number
  /**
   * Index rows an index-driven search reads per page and per count. A row of an entity costs a
   * look-up of its event's rowid plus the test (a few microseconds against the materialised set,
   * tens with an FTS probe): at 1M events 10,000 rows take some 20-50 ms on one core.
   */
  scanBudget: { set: number; probe: number }
}

/** Totals a reader keeps for the filters it served last, and search plans for the query texts. */
const TOTAL_CACHE_SIZE = 256
/**
 * How long a search's total may be served while events arrive. Counting it reads up to a scan
 * budget of rows (10-45 ms at 200k events), and with writes committing several times a second no
 * total was ever asked twice under one database version: every page of a search counted again.
 * A search's total is already an estimate when capped; one second old is what a reader of the
 * console can tell from a live one. Totals without `q` stay exact.
 */
export const SEARCH_TOTAL_MAX_AGE_MS = 1_000
/**
 * How long a query text keeps the plan its match count chose. The plan only decides how the same
 * matches are found, and the bounded FTS count that chooses it (up to `setMax` doclist entries)
 * cost 2-7 ms of every search page at 200k events.
 */
const SEARCH_PLAN_MAX_AGE_MS = 10_000

/** Matches a facet counts at most (the most recent ones). */
const FACET_SAMPLE = 10_000
/** Index rows a histogram reads at most when its filters need the event rows. */
const HISTOGRAM_ROW_BUDGET = 30_000
const FACET_COLUMNS = { reason: 'reason', namespace: 'obj_namespace', kind: 'obj_kind', application: 'application', source: 'source', type: 'type' } as const

const SEARCH_TUNING: SearchTuning = { searchFirstMax: 5_000, setMax: 200_000, probeShare: 0.02, scanBudget: { set: 10_000, probe: 2_000 } }

type PendingRow = { seq: number; event_id: string | null; alert: string | null } & { [K in keyof EventRow]: EventRow[K] | null }

export class SqliteStore implements EventStore {
  private readonly db: Db
  private readonly statements: Statements
  private readonly catalog: SqliteCatalog
  private seq: number
  /** Last outbox sequence; only the writing connection allocates them. */
  private outboxSeq: number
  private open = true
  private readonly readonly: boolean
  /** Why the last write failed, while writes fail for a reason a retry may cure (`/readyz`). */
  private failure: string | undefined
  private readonly writeTransaction: (batch: WriteBatch) => StoredEvent[]

  private readonly search: SearchTuning
  /**
   * Interned views, both ways. Ids never change once committed; the writer forgets both maps
   * when a transaction rolls back (an id allocated in it may be given to another view). By mesh,
   * kind code, then entity: an event names a dozen views, and a key joined from the three would
   * be a new string to build and hash each time.
   */
  private readonly viewIdByKey = new Map<string, Map<string, Map<string, number>>>()
  private readonly viewById = new Map<number, View>()
  private readonly histogramRowBudget: number
  /**
   * A read-only connection's page totals by filter, counted under `version` (`PRAGMA
   * data_version`: it changes when another connection commits, and a read-only connection makes
   * no commits of its own) at `at`. Paging through one view asks the same count for every page (up
   * to `TOTAL_COUNT_CAP` index rows, most of a plain page's SQL time): asked once per change. A
   * search's total is kept across changes for `SEARCH_TOTAL_MAX_AGE_MS` (see there).
   */
  private readonly totals = new Map<string, { counted: PageTotal; version: number; at: number }>()
  /** The search plan of each recent query text, chosen at `at` (see `SEARCH_PLAN_MAX_AGE_MS`). */
  private readonly plans = new Map<string, { plan: SearchPlan; at: number }>()
  private readonly searchTotalMaxAgeMs: number

  constructor(path: string, options: OpenOptions & { search?: Partial<SearchTuning>; histogramRowBudget?: number; searchTotalMaxAgeMs?: number } = {}) {
    this.search = { ...SEARCH_TUNING, ...options.search }
    this.searchTotalMaxAgeMs = options.searchTotalMaxAgeMs ?? SEARCH_TOTAL_MAX_AGE_MS
    this.histogramRowBudget = options.histogramRowBudget ?? HISTOGRAM_ROW_BUDGET
    this.db = openDatabase(path, options)
    this.readonly = options.readonly === true
    this.statements = new Statements(this.db)
    this.catalog = new SqliteCatalog(this.statements)
    // A reader never allocates sequences: skip the two lookups.
    this.seq = this.readonly ? 0 : ((this.db.prepare('SELECT coalesce(max(seq), 0) FROM events').pluck().get() as number) ?? 0)
    // A scan of the outbox (no index leads with seq), once per open; it holds only what is pending.
    // After a restart with an empty outbox numbering starts over, which is harmless: entries are
    // named by (sink, seq) only while they exist.
    this.outboxSeq = this.readonly ? 0 : ((this.db.prepare('SELECT coalesce(max(seq), 0) FROM outbox').pluck().get() as number) ?? 0)
    // Nothing async inside: the whole batch commits or none of it does.
    const transaction = this.db.transaction((batch: WriteBatch) => {
      for (const change of batch.catalog) {
        const correlation = this.catalog.apply(change)
        if (correlation) this.correlate(correlation)
      }
      const stored: StoredEvent[] = []
      const meshDeltas = new Map<string, number>()
      const inserted: InsertedRows = { first: 0, last: 0 }
      for (const event of batch.events) {
        const result = this.upsert(event, meshDeltas, inserted)
        if (result) stored.push(result)
      }
      if (inserted.first > 0) this.statements.get(INDEX_NEW_EVENTS).run(inserted.first, inserted.last)
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
    this.writeTransaction = transaction.immediate
  }

  /** The underlying connection, for tests and benchmarks that inspect query plans. */
  get database(): Db {
    return this.db
  }

  async writeBatch(batch: WriteBatch): Promise<StoredEvent[]> {
    const [seq, outboxSeq] = [this.seq, this.outboxSeq]
    try {
      const stored = this.write(() => this.writeTransaction(batch))
      this.catalog.committed()
      return stored
    } catch (error) {
      // Rolled back: the counters and the catalog memo go back to what is committed, so a retry
      // of the batch writes exactly what a first successful attempt would have.
      this.seq = seq
      this.outboxSeq = outboxSeq
      this.catalog.rolledBack()
      this.viewIdByKey.clear()
      this.viewById.clear()
      throw error
    }
  }

  /**
   * Runs one write. A failure SQLite reports for the state of the machine (full disk, lock not
   * obtained in time, I/O error) becomes `UnavailableError` and is remembered until a write
   * succeeds; any other failure is rethrown as it is (a bug, answered 500).
   */
  private write<T>(run: () => T): T {
    if (this.readonly) throw new Error('this SQLite connection is read-only')
    try {
      const result = run()
      this.failure = undefined
      return result
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (!isUnavailableCode(code)) throw error
      const message = error instanceof Error ? error.message : String(error)
      this.failure = `writes failing since ${new Date().toISOString()}: ${message} (${String(code)})`
      throw new UnavailableError(`the store cannot write now: ${message}`, String(code))
    }
  }

  writeFailure(): string | undefined {
    return this.failure
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

  private upsert(event: IngestEvent, meshDeltas: Map<string, number>, inserted: InsertedRows): StoredEvent | undefined {
    const incoming = toRow(event)
    const stored = this.statements.get(READ_EVENT_WITH_VIEWS).get(incoming.id) as StoredRow | undefined
    let row = incoming
    if (stored && !mayUpdate(stored, incoming)) return undefined
    if (stored) {
      const { views: storedViews, rid: storedRid, ...storedRow } = stored
      row = merge(storedRow, incoming, event.count !== undefined)
      if (sameRow(storedRow, row)) return undefined // a retry or re-list of what we have: nothing to do
      this.unlink(storedRid, storedRow.time, storedViews)
      if (stored.mesh !== row.mesh) {
        add(meshDeltas, stored.mesh, -1)
        add(meshDeltas, row.mesh, 1)
      }
    } else {
      add(meshDeltas, row.mesh, 1)
    }
    const views = this.views(row, event)
    // The views of the event, and the store's own views of its mesh and of every mesh.
    const ids = [...views, MESH_VIEW(row.mesh), MESH_VIEW('')].map((view) => this.viewId(view))
    const values = eventValues(row, ++this.seq, ids.join(' '))
    let rid: number
    if (stored) {
      rid = stored.rid
      values.shift() // the id
      this.statements.get(UPDATE_EVENT).run(...values, rid)
      // A row this batch inserted is indexed at its end, with its final text; an older one now.
      const indexed = inserted.first === 0 || rid < inserted.first
      if (indexed && (stored.reason !== row.reason || stored.message !== row.message)) {
        this.statements.get(UNINDEX_EVENT).run(rid, stored.reason, stored.message)
        this.statements.get(INDEX_EVENT).run(rid, row.reason, row.message)
      }
    } else {
      rid = Number(this.statements.get(INSERT_EVENT).run(...values).lastInsertRowid)
      if (inserted.first === 0) inserted.first = rid
      inserted.last = rid
    }
    this.link(rid, row, ids, this.secondary(views))
    this.fillCatalog(row)
    return { seq: this.seq, item: rowToItem(row), created: !stored, views: withEveryMesh(views) }
  }

  /**
   * The event's views in its mesh and the meshes it is correlated into. An entity's every-mesh
   * view is the union of its views in each mesh: it has no links of its own.
   * `links`: what the source linked the event to beyond its row (services, a Node event's pods).
   */
  private views(row: EventRow, links: Pick<IngestEvent, 'services' | 'applications' | 'instances' | 'ips'> | undefined): View[] {
    const { mesh, time, source, application, instance, ip, service } = row
    return meshViews(
      { mesh, time, source, objectKind: row.obj_kind, application, instance, ip, service, services: links?.services, applications: links?.applications, instances: links?.instances, ips: links?.ips },
      this.catalog,
    )
  }

  /**
   * The ids of `views` whose links are secondary (see `SECONDARY_LINK`): those naming an entity
   * that an earlier view, of `before` (the event's views already linked) or of `views`, names.
   */
  private secondary(views: readonly View[], before: readonly View[] = []): Set<number> {
    const entityOf = ([, kind, entity]: View) => `${kind}\u0000${entity}`
    const named = new Set(before.map(entityOf))
    const ids = new Set<number>()
    for (const view of views) {
      if (named.has(entityOf(view))) ids.add(this.viewId(view))
      else named.add(entityOf(view))
    }
    return ids
  }

  /** The ids of an entity's views, one per mesh that has one (see `MeshViews`). */
  private meshViewIds(kind: EntityKind, entity: string): number[] {
    return this.statements.get(MESH_VIEWS_SQL).pluck().all(LINK_KIND[kind], entity) as number[]
  }

  /** The filter with the views in each mesh of its entities, when it names entities and no mesh. */
  private scope<F extends TimelineFilter>(filter: F): F & ScopedFilter {
    if (!needsMeshViews(filter)) return filter
    const meshViews: MeshViews = {}
    for (const kind of ENTITY_KINDS) {
      const entity = filter[kind]
      if (entity !== undefined) meshViews[kind] = this.meshViewIds(kind, entity)
    }
    return { ...filter, meshViews }
  }

  /**
   * The catalog changed at an IP: events already stored there gain the views it gives them, read
   * from the IP's views in each mesh. A registry instance appeared: pod events there gain its
   * views (its mesh's application, instance, IP, services), so an instance that registers after
   * its pod's events still shows them. A pod got the IP: registrations there since the previous
   * pod left gain the pod's instance view. Views are only added.
   */
  private correlate({ ip, events, since }: Correlation): void {
    const bySource = events === 'pod' ? `IN (${SOURCE_CODE.kubernetes}, ${SOURCE_CODE.demo})` : `<> ${SOURCE_CODE.kubernetes}`
    const atIp = this.statements
      .get(`SELECT e.id FROM event_links AS l CROSS JOIN events AS e ON e.rid = l.rid WHERE l.view = ? AND l.time >= ? AND l.source % ${SECONDARY_LINK} ${bySource}`)
      .pluck()
    // An event linked to the IP in two meshes is read twice: once is enough.
    const ids = new Set(this.meshViewIds('ip', ip).flatMap((view) => atIp.all(view, since ?? Number.MIN_SAFE_INTEGER) as string[]))
    const read = this.statements.get(READ_EVENT_WITH_VIEWS)
    const update = this.statements.get('UPDATE events SET views = ? WHERE rid = ?')
    for (const id of ids) {
      const stored = read.get(id) as StoredRow | undefined
      if (!stored) continue
      if (events === 'pod' && stored.obj_kind !== 'Pod') continue
      const { views: storedViews, rid, ...row } = stored
      const known = new Set(viewIds(storedViews))
      const added = this.views(row, undefined).filter((view) => !known.has(this.viewId(view)))
      if (added.length === 0) continue
      const addedIds = added.map((view) => this.viewId(view))
      this.link(rid, row, addedIds, this.secondary(added, this.viewsOf(storedViews)))
      update.run([...known, ...addedIds].join(' '), rid)
    }
  }

  /** The interned id of a view, adding it on first sight (in the write transaction). */
  private viewId(view: View): number {
    const [mesh, kind, entity] = view
    let kinds = this.viewIdByKey.get(mesh)
    if (!kinds) this.viewIdByKey.set(mesh, (kinds = new Map()))
    let entities = kinds.get(kind)
    if (!entities) kinds.set(kind, (entities = new Map()))
    let id = entities.get(entity)
    if (id === undefined) {
      id = this.statements.get('SELECT id FROM views WHERE mesh = ? AND kind = ? AND entity = ?').pluck().get(mesh, kind, entity) as number | undefined
      id ??= Number(this.statements.get('INSERT INTO views (mesh, kind, entity) VALUES (?, ?, ?)').run(mesh, kind, entity).lastInsertRowid)
      entities.set(entity, id)
      this.viewById.set(id, view)
    }
    return id
  }

  /** The views of stored view ids (`events.views`) but the mesh views, read once per process and kept. */
  private viewsOf(views: string): View[] {
    const read = this.statements.get('SELECT mesh, kind, entity FROM views WHERE id = ?').raw()
    return viewIds(views)
      .map((id) => {
        let view = this.viewById.get(id)
        if (!view) {
          view = read.get(id) as View
          this.viewById.set(id, view)
        }
        return view
      })
      .filter(([, kind]) => kind !== MESH_VIEW('')[1])
  }

  private link(rid: number, row: EventRow, views: readonly number[], secondary: ReadonlySet<number>): void {
    const [source, warning] = [SOURCE_CODE[row.source], row.type === 'warning' ? 1 : 0]
    this.statements.get(INSERT_LINKS).run(row.time, rid, source, `[${[...secondary].join(',')}]`, warning, `[${views.join(',')}]`)
  }

  /** Deletes an event's links by primary key, from the view ids recorded with it. */
  private unlink(rid: number, time: number, views: string): void {
    const remove = this.statements.get(DELETE_LINK)
    for (const view of viewIds(views)) remove.run(view, time, rid)
  }

  /** Events name meshes, applications, instances and services: make sure the catalog knows them. */
  private fillCatalog(row: EventRow): void {
    this.catalog.ensureMesh(row.mesh, MESH_KIND_OF_SOURCE[row.source])
    if (row.application) this.catalog.ensureApplication(row.mesh, row.application)
    if (row.instance && this.catalog.ensureInstance(row.mesh, row.instance, row.source, row.ip ?? undefined, row.application ?? undefined)) {
      this.correlate({ ip: row.ip!, events: 'pod' })
    }
    if (row.service) this.catalog.ensureService(row.mesh, row.service)
  }

  async timeline(unscoped: TimelineFilter, limit: number, after?: TimelinePosition): Promise<TimelineResult> {
    return this.pageWithTotal(unscoped, limit, after, undefined, this.searchTotalMaxAgeMs)
  }

  async timelineBody(filter: TimelineFilter, limit: number, after?: TimelinePosition): Promise<string> {
    return eventPageJson(await this.timeline(filter, limit, after))
  }

  /**
   * The reader threads' form of `timelineBody` (`threadedStore.ts`): with `known`, a total the
   * caller kept serves instead of a count; without it the page is counted, and the count comes
   * back beside the body, so that every reader can serve it (see `SEARCH_TOTAL_MAX_AGE_MS`).
   */
  async timelineBodyCounted(unscoped: TimelineFilter, limit: number, after: TimelinePosition | undefined, known?: PageTotal): Promise<{ body: string; counted: PageTotal }> {
    // The caller keeps search totals for every reader: this one's own are not served to it.
    const result = this.pageWithTotal(unscoped, limit, after, known, 0)
    return { body: eventPageJson(result), counted: { total: result.total, totalCapped: result.totalCapped } }
  }

  /** A page and its total: `known`, or counted (a search's total kept up to `searchTotalMaxAgeMs`, see `count`). */
  private pageWithTotal(unscoped: TimelineFilter, limit: number, after: TimelinePosition | undefined, known: PageTotal | undefined, searchTotalMaxAgeMs: number): TimelineResult {
    const filter = this.scope(unscoped)
    const plan = filter.q === undefined ? undefined : this.searchPlan(filter.q)
    const { items, next } = this.page(filter, limit, after, plan)
    return { items, next, ...(known ?? this.count(filter, plan, searchTotalMaxAgeMs)) }
  }

  async timelinePage(unscoped: TimelineFilter, limit: number, after?: TimelinePosition): Promise<Pick<TimelineResult, 'items' | 'next'>> {
    const filter = this.scope(unscoped)
    return this.page(filter, limit, after, filter.q === undefined ? undefined : this.searchPlan(filter.q))
  }

  private page(filter: ScopedFilter, limit: number, after: TimelinePosition | undefined, plan: SearchPlan | undefined): Pick<TimelineResult, 'items' | 'next'> {
    const budgeted = plan === 'set' || plan === 'probe'
    const scan = budgeted ? this.search.scanBudget[plan] : 0
    const page = budgeted ? budgetedPageSql(filter, limit, after, plan, scan) : pageSql(filter, limit, after, plan)
    const rows = this.statements.get(page.sql).all(page.params) as EventRow[]
    const items = rows.slice(0, limit).map(rowToItem)
    const last = rows.length > limit ? rows[limit - 1]! : undefined
    if (last) return { items, next: { time: last.time, id: last.id } }
    if (!budgeted) return { items, next: null }
    // A short page of a budgeted walk: continue where the walk stopped, if it stopped early.
    const edge = budgetEdgeSql(filter, after, scan)
    return { items, next: (this.statements.get(edge.sql).get(edge.params) as TimelinePosition | undefined) ?? null }
  }

  async oldestMatch(unscoped: TimelineFilter): Promise<number | undefined> {
    const filter = this.scope(unscoped)
    const plan = filter.q === undefined ? undefined : this.searchPlan(filter.q)
    const oldest = oldestSql(filter, plan, this.histogramRowBudget)
    const time = this.statements.get(oldest.sql).pluck().get(oldest.params) as number | null | undefined
    if (typeof time === 'number' || !needsRows(filter) || plan === 'search') return time ?? undefined
    // No match among the oldest rows within the budget: the view's oldest event starts the range.
    const indexed = oldestIndexedSql(filter)
    return (this.statements.get(indexed.sql).pluck().get(indexed.params) as number | undefined) ?? undefined
  }

  async histogram(unscoped: TimelineFilter & { since: number; until: number }, bucketMs: number, buckets: number): Promise<HistogramCounts> {
    const filter = this.scope(unscoped)
    if (!needsRows(filter)) {
      const query = bucketCountSql(filter)
      const statement = this.statements.get(query.sql)
      const counts = Array.from({ length: buckets }, (_, index) => {
        const since = filter.since + index * bucketMs
        const { n, w } = statement.get({ ...query.params, since, until: Math.min(filter.until, since + bucketMs) }) as { n: number; w: number }
        return { normal: n - w, warning: w }
      })
      return { counts, capped: false }
    }
    const plan = filter.q === undefined ? undefined : this.searchPlan(filter.q)
    const query = histogramSql(filter, plan, bucketMs, this.histogramRowBudget)
    const counts = Array.from({ length: buckets }, () => ({ normal: 0, warning: 0 }))
    for (const { b, n, w } of this.statements.get(query.sql).all(query.params) as Array<{ b: number; n: number; w: number }>) {
      const bucket = counts[b]
      if (!bucket) continue // only a match at the very end of a range not divisible by the bucket size
      bucket.warning += w
      bucket.normal += n - w
    }
    if (plan !== 'search') {
      // The budget-th row of the walk, newest first: when it exists, rows older than it were not read.
      const edge = budgetEdgeSql(filter, undefined, this.histogramRowBudget)
      const reached = this.statements.get(edge.sql).get(edge.params) as TimelinePosition | undefined
      const more = budgetEdgeSql(filter, undefined, this.histogramRowBudget + 1)
      if (reached && this.statements.get(more.sql).get(more.params) !== undefined) return { counts, capped: true, completeFrom: reached.time + 1 }
    }
    return { counts, capped: false }
  }

  async facets(unscoped: TimelineFilter, field: keyof typeof FACET_COLUMNS, top: number): Promise<FacetResult> {
    const filter = this.scope(unscoped)
    const plan = filter.q === undefined ? undefined : this.searchPlan(filter.q)
    const budgeted = plan === 'set' || plan === 'probe'
    const scan = budgeted ? this.search.scanBudget[plan] : 0
    const query = facetSql(filter, FACET_COLUMNS[field], plan, FACET_SAMPLE, scan, top)
    const items = this.statements.get(query.sql).all(query.params) as Array<{ value: string; count: number }>
    const count = budgeted ? budgetedCountSql(filter, FACET_SAMPLE + 1, plan, scan) : countSql(filter, FACET_SAMPLE + 1, plan)
    let capped = (this.statements.get(count.sql).pluck().get(count.params) as number) > FACET_SAMPLE
    if (budgeted && !capped) {
      const edge = budgetEdgeSql(filter, undefined, scan + 1)
      capped = this.statements.get(edge.sql).get(edge.params) !== undefined
    }
    return { items: items.map(({ value, count: n }) => ({ value: String(value), count: n })), capped }
  }

  async recordActivity(change: ActivityChange): Promise<void> {
    const run = (sql: string, ...params: unknown[]) => this.statements.get(sql).run(...params)
    switch (change.op) {
      case 'start':
        run("UPDATE ingest_activity SET end_reason = 'crashed' WHERE end_reason IS NULL")
        return
      case 'open':
        // A period still open for the source (a status repeated) stays the one period.
        if (this.statements.get('SELECT 1 FROM ingest_activity WHERE mesh = ? AND source = ? AND end_reason IS NULL').get(change.mesh, change.source)) return
        run('INSERT OR IGNORE INTO ingest_activity (mesh, source, started, last_seen) VALUES (?, ?, ?, ?)', change.mesh, change.source, change.at, change.at)
        return
      case 'beat':
        run('UPDATE ingest_activity SET last_seen = max(last_seen, ?) WHERE end_reason IS NULL', change.at)
        return
      case 'close':
        run(
          'UPDATE ingest_activity SET last_seen = max(last_seen, ?), end_reason = ? WHERE mesh = ? AND source = ? AND end_reason IS NULL',
          change.at,
          change.reason,
          change.mesh,
          change.source,
        )
        return
      case 'resumed-lossy':
        run(
          'UPDATE ingest_activity SET resumed_by = ? WHERE mesh = ? AND source = ? AND started = (SELECT max(started) FROM ingest_activity WHERE mesh = ? AND source = ?)',
          change.how,
          change.mesh,
          change.source,
          change.mesh,
          change.source,
        )
    }
  }

  async activityPeriods(query: { mesh?: string; since: number; until: number }): Promise<ActivityPeriod[]> {
    // Periods ending in or after the range, plus each source's last period before it (where a
    // gap reaching into the range starts). The table holds one row per connection, not per beat.
    const mesh = query.mesh ?? null
    const rows = this.statements
      .get(
        `SELECT mesh, source, started, last_seen AS lastSeen, end_reason AS endReason, resumed_by AS resumedBy FROM ingest_activity
         WHERE (@mesh IS NULL OR mesh = @mesh) AND started < @until AND (last_seen >= @since OR started = (
           SELECT max(p.started) FROM ingest_activity AS p WHERE p.mesh = ingest_activity.mesh AND p.source = ingest_activity.source AND p.last_seen < @since))
         ORDER BY mesh, source, started`,
      )
      .all({ mesh, since: query.since, until: query.until }) as ActivityPeriod[]
    return rows
  }

  /**
   * Chooses how a search meets the other filters (see `SearchPlan`) from how many events it
   * matches, counted up to a bound (a streamed read of the FTS doclist, 2-7 ms for a common word
   * at 200k events), and kept per query text for `SEARCH_PLAN_MAX_AGE_MS`.
   */
  private searchPlan(q: string): SearchPlan {
    const now = Date.now()
    const known = this.plans.get(q)
    if (known && now - known.at < SEARCH_PLAN_MAX_AGE_MS) return known.plan
    const n = this.statements
      .get('SELECT count(*) FROM (SELECT 1 FROM events_fts WHERE events_fts MATCH ? LIMIT ?)')
      .pluck()
      .get(ftsQuery(q), this.search.setMax + 1) as number
    const plan = n <= this.search.searchFirstMax ? 'search' : n <= this.search.setMax && n < this.search.probeShare * this.eventCount() ? 'set' : 'probe'
    remember(this.plans, q, { plan, at: now })
    return plan
  }

  /** Events stored, all meshes. */
  private eventCount(): number {
    return this.statements.get('SELECT coalesce(sum(events), 0) FROM mesh_event_counts').pluck().get() as number
  }

  /** `total` and `totalCapped`: counted, or on a read-only connection kept while nothing changed (`totals`). */
  private count(filter: ScopedFilter, plan: SearchPlan | undefined, searchTotalMaxAgeMs: number): PageTotal {
    if (!this.readonly) return this.countNow(filter, plan)
    // Read before the count: a commit in between changes the version again, so a total is never
    // kept under a version older than the data it counted.
    const version = this.statements.get('PRAGMA data_version').pluck().get() as number
    const now = Date.now()
    const key = JSON.stringify([plan ?? null, filter])
    const kept = this.totals.get(key)
    if (kept && (kept.version === version || (filter.q !== undefined && now - kept.at < searchTotalMaxAgeMs))) return kept.counted
    const counted = this.countNow(filter, plan)
    remember(this.totals, key, { counted, version, at: now })
    return counted
  }

  /**
   * Counts `total` and `totalCapped`. A budgeted search counts the matches within its scan budget:
   * when the walk stopped early, the total is what it found so far and flagged as capped.
   */
  private countNow(filter: ScopedFilter, plan?: SearchPlan): PageTotal {
    const budgeted = plan === 'set' || plan === 'probe'
    const scan = budgeted ? this.search.scanBudget[plan] : 0
    const count = budgeted ? budgetedCountSql(filter, TOTAL_COUNT_CAP + 1, plan, scan) : countSql(filter, TOTAL_COUNT_CAP + 1, plan)
    const n = this.statements.get(count.sql).pluck().get(count.params) as number
    if (n > TOTAL_COUNT_CAP) return { total: TOTAL_COUNT_CAP, totalCapped: true }
    if (!budgeted) return { total: n, totalCapped: false }
    const edge = budgetEdgeSql(filter, undefined, scan + 1)
    return { total: n, totalCapped: this.statements.get(edge.sql).get(edge.params) !== undefined }
  }

  async timelineByOffset(unscoped: TimelineFilter, offset: number, limit: number): Promise<{ items: EventItem[]; total: number }> {
    const filter = this.scope(unscoped)
    const page = offsetPageSql(filter, offset, limit)
    const rows = this.statements.get(page.sql).all(page.params) as EventRow[]
    return { items: rows.map(rowToItem), total: this.count(filter, undefined, this.searchTotalMaxAgeMs).total }
  }

  async eventsAfter(seq: number, limit: number): Promise<StoredEvent[]> {
    const rows = this.statements
      .get(`SELECT ${EVENT_COLUMNS}, e.seq, e.views FROM events AS e WHERE e.seq > ? ORDER BY e.seq LIMIT ?`)
      .all(seq, limit) as Array<EventRow & { seq: number; views: string }>
    return rows.map(({ seq: rowSeq, views, ...row }) => ({ seq: rowSeq, item: rowToItem(row), created: false, views: withEveryMesh(this.viewsOf(views)) }))
  }

  async latestSeq(): Promise<number> {
    // events_by_seq makes this one index probe.
    return (this.statements.get('SELECT coalesce(max(seq), 0) FROM events').pluck().get() as number) ?? 0
  }

  async event(id: string): Promise<EventItem | undefined> {
    const row = this.statements.get(`SELECT ${EVENT_COLUMNS} FROM events AS e WHERE e.id = ?`).get(id) as EventRow | undefined
    return row ? rowToItem(row) : undefined
  }

  async eventOrigins(ids: readonly string[]): Promise<Map<string, EventOrigin>> {
    if (ids.length === 0) return new Map()
    // One statement for the whole list: a primary-key probe per id.
    const rows = this.statements
      .get('SELECT id, source, mesh FROM events WHERE id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(ids)) as Array<{ id: string; source: EventSource; mesh: string }>
    return new Map(rows.map(({ id, source, mesh }) => [id, { source, mesh }]))
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
    return this.write(this.db.transaction(() => {
      const rows = this.statements
        .get(
          `SELECT e.rid, e.mesh, e.time, e.views FROM event_links AS l CROSS JOIN events AS e ON e.rid = l.rid
           WHERE l.view = (SELECT id FROM views WHERE mesh = ? AND kind = ? AND entity = ?) AND l.time < ? ORDER BY l.time LIMIT ?`,
        )
        .all(...MESH_VIEW(''), cutoff, batchSize) as Array<{ rid: number; mesh: string; time: number; views: string }>
      const deleteEvent = this.statements.get('DELETE FROM events WHERE rid = ?')
      const meshDeltas = new Map<string, number>()
      for (const { rid, mesh, time, views } of rows) {
        this.unlink(rid, time, views)
        deleteEvent.run(rid)
        add(meshDeltas, mesh, -1)
      }
      this.applyMeshDeltas(meshDeltas)
      // The last batch: pod-to-IP intervals that ended before the cutoff can no longer place an event.
      if (rows.length < batchSize) this.statements.get('DELETE FROM pod_ips WHERE until < ?').run(cutoff)
      // Activity periods older than the events kept: the gaps between them border nothing left.
      this.statements.get('DELETE FROM ingest_activity WHERE last_seen < ? AND end_reason IS NOT NULL').run(cutoff)
      return rows.length
    }).immediate)
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
    this.write(
      this.db.transaction(() => {
        for (const seq of seqs) remove.run(sink, seq)
      }).immediate,
    )
  }

  async outboxCounts(): Promise<Map<string, number>> {
    const rows = this.statements.get('SELECT sink, count(*) AS n FROM outbox GROUP BY sink').all() as Array<{ sink: string; n: number }>
    return new Map(rows.map(({ sink, n }) => [sink, n]))
  }

  async discardOutbox(sink: string, createdBefore: number): Promise<number> {
    const remove = this.statements.get('DELETE FROM outbox WHERE sink = ? AND created_at < ?')
    return this.write(this.db.transaction(() => remove.run(sink, createdBefore).changes).immediate)
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

/**
 * `EventStore` on PostgreSQL (node-postgres, one pool): the same behaviour as the SQLite store,
 * held to it by the conformance suite (store/storeConformance.ts).
 *
 * Writes: one transaction per batch (catalog, events, links, mesh counts, outbox, checkpoints).
 * Events are read once per batch (`FOR UPDATE`, in id order so concurrent writers cannot
 * deadlock), merged in memory in batch order exactly as SQLite merges them, and written with a
 * few multi-row statements (`unnest` of arrays) instead of a round trip per row. `seq` and outbox
 * sequences come from database sequences, so several processes may write. A batch that loses a
 * race with another writer (unique violation, deadlock, serialization failure) is retried whole.
 *
 * Correlation: `meshViews` is synchronous; its catalog look-ups are answered from a per
 * transaction cache that is filled by async queries in the same transaction and re-run until it
 * asks for nothing new, so the views are exactly the ones the SQLite store computes.
 *
 * Reads: one query (or two, page and capped count, in parallel) on the pool, after one look-up of
 * the views in each mesh of the entities of a filter with no mesh (see `MeshViews`); every connection
 * has a `statement_timeout`, and a query over it is a 503 (`UnavailableError`). A write the
 * database cannot make now (budget, lock, disk, connection) is `UnavailableError` too, and is
 * reported by `writeFailure()` until a write commits.
 *
 * Histogram, oldest match and facets follow the SQLite store: bucket counts come from the
 * timeline index alone, one range count per bucket; filters that need the event rows (reason,
 * namespace, kind, name, `q`) read at most the newest `histogramRowBudget` rows of the range and
 * say from when counts are complete; a search with few matches is driven by its GIN result
 * instead (every match, never capped), as SQLite's `search` plan. Differences: timeline pages and
 * facets of a search are not scan-budgeted as SQLite's `set`/`probe` plans are (a page is never
 * short); `q` there is a row filter checked on the index walk, or the GIN index's bitmap scan.
 *
 * Commit order: a transaction takes its `seq` values under a transaction-scoped advisory lock
 * held until it commits, so sequences become visible in the order they were taken and a reader
 * of `eventsAfter` never sees a higher seq commit before a lower one (a live stream resuming from
 * `Last-Event-ID` cannot skip one). The cost: writers serialise from their seq assignment to
 * their commit (the tail of a batch: links, outbox, checkpoints), which one leader plus occasional
 * `POST /events` writers hardly notice. A committed batch sends a `NOTIFY` (delivered on commit)
 * that wakes every replica's live feed.
 *
 * Replicas (`replicas`): the leader lease and fencing (lease.ts), the listening client of the live
 * feed, and the mesh states the leader reports.
 *
 * Known limits: `isOpen` reports whether the store was closed or its pool failed, not a round
 * trip; named prepared statements need PgBouncer >= 1.21 in transaction pooling mode.
 */
import type { EventItem, EventSource, MeshKind } from '@eventline/shared'
import { TOTAL_COUNT_CAP } from '@eventline/shared'
import pg from 'pg'
import type { PoolClient } from 'pg'
import type { AlertNotice } from '../../sinks/types.ts'
import { eventPageJson } from '../eventPage.ts'
import { isPodEvent, LINK_KIND, meshViews, withEveryMesh } from '../eventViews.ts'
import type { View, ViewLookup } from '../eventViews.ts'
import type { Correlation } from '../sqlite/catalog.ts'
import type {
  ActivityChange,
  ActivityPeriod,
  EventOrigin,
  EventStore,
  FacetResult,
  HistogramCounts,
  IngestEvent,
  MeshRecord,
  PendingEntry,
  ResourceListFilter,
  StoredEvent,
  TimelineFilter,
  TimelinePosition,
  TimelineResult,
  WriteBatch,
} from '../types.ts'
import type { ReplicaStore } from '../types.ts'
import { acquireLease, fenceCheck, readMeshStatus, releaseLease, renewLease } from './lease.ts'
import { migrate } from './migrations.ts'
import { CatalogReader, CatalogWriter, podsAt } from './pgCatalog.ts'
import type { PodInterval } from './pgCatalog.ts'
import { execute, hasCode, query, translateError } from './query.ts'
import type { Queryable } from './query.ts'
import { mayUpdate, merge, pickRow, ROW_COLUMNS, ROW_TYPES, rowToItem, sameRow, toRow } from '../eventRows.ts'
import type { EventRow } from '../eventRows.ts'
import {
  bucketCountSql,
  budgetEdgeSql,
  countSql,
  EVENT_COLUMNS,
  facetSql,
  filterEntities,
  histogramSql,
  MESH_VIEWS_SQL,
  needsMeshViews,
  needsRows,
  offsetPageSql,
  oldestIndexedSql,
  oldestSql,
  pageSql,
  SEARCH_FIRST_MAX,
  searchHistogramSql,
  searchMatchesSql,
  searchOldestSql,
  SECONDARY_LINK,
  searchText,
  SOURCE_CODE,
} from './timelineSql.ts'
import type { MeshViews, ScopedFilter } from './timelineSql.ts'
import { UnavailableError } from '../../errors.ts'

const MESH_KIND_OF_SOURCE: Record<EventSource, MeshKind> = { kubernetes: 'kubernetes', zookeeper: 'zookeeper', nacos: 'nacos', api: 'api', demo: 'demo' }

export interface PgStoreOptions {
  /** Schema holding Eventline's tables (created when missing); default `public`. Tests use their own. */
  schema?: string
  /** Time budget of one read query, ms: over it the query is cancelled and the API answers 503. */
  queryTimeoutMs?: number
  /** Time budget of one statement of a write transaction or retention, ms. */
  writeTimeoutMs?: number
  /** Pool size. */
  maxConnections?: number
  /** Index rows a histogram reads at most when its filters need event rows (tests lower it). */
  histogramRowBudget?: number
}

/** bigint (int8) as a JS number: times in ms, sequences and counts stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

const RETRYABLE = ['23505', '40001', '40P01']
/** Matches a facet counts at most (the most recent ones), as on SQLite. */
const FACET_SAMPLE = 10_000
/** Index rows a histogram (or the oldest match) reads at most when its filters need the event rows, as on SQLite. */
const HISTOGRAM_ROW_BUDGET = 30_000
const FACET_COLUMNS = { reason: 'reason', namespace: 'obj_namespace', kind: 'obj_kind', application: 'application', source: 'source', type: 'type' } as const

/**
 * Transaction-scoped advisory lock that orders seq assignment by commit (see the header). Advisory
 * locks are per database, so the key pairs this constant with a hash of the schema: Eventlines in
 * other schemas of the same database (other deployments, parallel test runs) never queue behind it.
 */
const SEQ_LOCK = 0x4576_5371 // "EvSq"
/**
 * The channel committed batches notify, with the batch's highest seq as payload. Channels are per
 * database, so a schema other than `public` gets its own (stores in other schemas never wake it).
 */
const eventsChannel = (schema: string) => (schema === 'public' ? 'eventline_events' : `eventline_events_${schema}`.slice(0, 63))
const MAX_ATTEMPTS = 5

type StoredRow = EventRow & { rid: number; views: number[] }
type PendingRow = { seq: number; event_id: string | null; alert: string | null } & { [K in keyof EventRow]: EventRow[K] | null }

const viewKey = (view: View) => view.join('\u0000')

const STORED_COLUMNS = `e.rid, e.views, ${EVENT_COLUMNS}`

export class PgStore implements EventStore {
  private open = true
  private failure: Error | undefined
  /** Why the last write failed, while writes fail for a reason a retry may cure (`/readyz`). */
  private writeFailed: string | undefined
  /** Interned views: both directions, only for ids whose rows committed (ids never change). */
  private readonly viewIds = new Map<string, number>()
  private readonly viewsById = new Map<number, View>()
  /** Catalog statements this process committed (see CatalogWriter). */
  private readonly catalogWritten = new Set<string>()
  private readonly catalog: CatalogReader
  /** Batches of this process write one after another; other processes are handled by retries. */
  private writing: Promise<unknown> = Promise.resolve()

  private constructor(
    private readonly pool: pg.Pool,
    /** Connections for timeline pages and counts, planned to walk an index in order (see `open`). */
    private readonly ordered: pg.Pool,
    private readonly options: Required<Omit<PgStoreOptions, 'schema' | 'maxConnections'>>,
    /** How the live feed's dedicated client connects (the pool's settings, one connection). */
    private readonly listenConfig: pg.ClientConfig,
    private readonly channel: string,
    /**
     * One connection of its own for the lease: a renewal must not queue behind a pool busy with
     * timeline reads, or a leader under read load would miss its renew deadline.
     */
    private readonly leasePool: pg.Pool,
  ) {
    this.catalog = new CatalogReader(pool)
    // An idle connection that breaks must not crash the process; the next query reconnects.
    for (const each of [pool, ordered]) {
      each.on('error', (error) => {
        this.failure = error
      })
    }
  }

  /**
   * Connects, creates the schema when missing and applies pending migrations. The URL may name
   * the schema (`?schema=eventline`, Eventline's own parameter, removed before connecting);
   * libpq's `options` parameter is kept and our settings appended to it.
   */
  static async open(rawUrl: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const { url, schema: urlSchema, serverOptions } = splitUrl(rawUrl)
    const schema = options.schema ?? urlSchema ?? 'public'
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`)
    const queryTimeoutMs = Math.trunc(options.queryTimeoutMs ?? 10_000)
    const writeTimeoutMs = Math.trunc(options.writeTimeoutMs ?? 60_000)
    const poolConfig = (extra: string[]): pg.PoolConfig => ({
      connectionString: url,
      max: options.maxConnections ?? 10,
      // Startup parameters of every connection: the read budget and the schema.
      options: [serverOptions, `-c statement_timeout=${queryTimeoutMs}`, `-c search_path=${schema}`, ...extra].filter(Boolean).join(' '),
      application_name: 'eventline',
      connectionTimeoutMillis: 10_000,
      types,
    })
    const pool = new pg.Pool(poolConfig([]))
    // Timeline pages and counts are designed as one range scan of an index in (time, id) order that
    // stops after the page. The planner cannot know that a view id found by a subquery is small or
    // large, and for selective filters it prefers a bitmap scan and a sort of every match, whose
    // cost grows with the view. These connections rule that out (the settings only add a penalty:
    // where no index order exists, the planner still sorts). Full-text search is not run here: its
    // GIN index is only usable by a bitmap scan. JIT is off there: the penalty of a disabled node
    // (a sort of a few facet groups) lifts a plan's cost far over `jit_above_cost`, and compiling
    // it took some 100 ms of a 20 ms facet query.
    const ordered = new pg.Pool(poolConfig(['-c enable_sort=off', '-c enable_bitmapscan=off', '-c enable_seqscan=off', '-c jit=off']))
    let client: PoolClient | undefined
    try {
      client = await pool.connect()
      if (schema !== 'public') await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
      await client.query('SELECT set_config($1, $2, false)', ['statement_timeout', String(writeTimeoutMs)])
      await migrate(client)
      await client.query('SELECT set_config($1, $2, false)', ['statement_timeout', String(queryTimeoutMs)])
    } catch (error) {
      client?.release(true)
      client = undefined
      await pool.end()
      await ordered.end()
      throw translateError(error)
    } finally {
      client?.release()
    }
    // The pool's connection settings; a client ignores the pool-only ones.
    const listenConfig: pg.ClientConfig = { ...poolConfig([]) }
    const leasePool = new pg.Pool({ ...poolConfig([]), max: 1 })
    leasePool.on('error', () => undefined) // a broken idle connection: the next renewal reconnects
    return new PgStore(pool, ordered, { queryTimeoutMs, writeTimeoutMs, histogramRowBudget: options.histogramRowBudget ?? HISTOGRAM_ROW_BUDGET }, listenConfig, eventsChannel(schema), leasePool)
  }

  /** The pool, for tests and benchmarks that inspect sizes. */
  get database(): pg.Pool {
    return this.pool
  }

  writeBatch(batch: WriteBatch): Promise<StoredEvent[]> {
    const run = this.writing.then(() => this.transaction((client, done) => this.write(client, batch, done)))
    this.writing = run.catch(() => undefined)
    return run
  }

  /**
   * Runs `work` in a transaction with the write budget, retrying a lost race with another writer.
   * `work` registers what to do once the transaction committed (caches of committed rows).
   */
  private async transaction<T>(work: (client: PoolClient, onCommit: Array<() => void>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient
      try {
        client = await this.pool.connect()
      } catch (error) {
        const translated = translateError(error)
        if (translated instanceof UnavailableError) this.writeFailed = `writes failing since ${new Date().toISOString()}: ${translated.message}`
        throw translated
      }
      const onCommit: Array<() => void> = []
      let broken = false
      try {
        // One round trip: the budget is an integer of our own configuration (see `open`), not input.
        await client.query(`BEGIN; SET LOCAL statement_timeout = ${this.options.writeTimeoutMs}`)
        const result = await work(client, onCommit)
        await client.query('COMMIT')
        this.writeFailed = undefined
        for (const callback of onCommit) callback()
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true
        })
        if (attempt < MAX_ATTEMPTS && hasCode(error, ...RETRYABLE)) continue
        const translated = translateError(error)
        if (translated instanceof UnavailableError) this.writeFailed = `writes failing since ${new Date().toISOString()}: ${translated.message}`
        throw translated
      } finally {
        client.release(broken)
      }
    }
  }

  private async write(client: PoolClient, batch: WriteBatch, onCommit: Array<() => void>): Promise<StoredEvent[]> {
    if (batch.fence !== undefined) await fenceCheck(client, batch.fence)
    const tx = new WriteTransaction(client, this.viewIds, this.viewsById, this.catalogWritten, onCommit)
    for (const change of batch.catalog) {
      const correlation = await tx.catalog.apply(change)
      if (correlation) await tx.correlate(correlation)
    }
    const stored = await tx.upsertEvents(batch.events)
    await tx.correlateAppeared()
    await tx.flush()
    await writeOutbox(client, batch, stored)
    await writeCheckpoints(client, batch)
    await tx.close(this.channel, stored.at(-1)?.seq)
    onCommit.push(() => tx.catalog.committed())
    // The views as the batch left them (correlation may have added some), with the every-mesh
    // copies the stream filter matches (the store links none, see `SECONDARY_LINK`).
    return stored.map((event) => ({ ...event, views: withEveryMesh(event.views) }))
  }

  /**
   * The filter with the views in each mesh of its entities (one query), when it names entities and
   * no mesh: their every-mesh timeline is the union of those views (see `MeshViews`).
   */
  private async scope<F extends TimelineFilter>(filter: F): Promise<F & ScopedFilter> {
    if (!needsMeshViews(filter)) return filter
    const entities = filterEntities(filter)
    const rows = await query<{ kind: string; entity: string; id: number }>(this.ordered, MESH_VIEWS_SQL, [
      entities.map(([kind]) => LINK_KIND[kind]),
      entities.map(([, entity]) => entity),
    ])
    const meshViews: MeshViews = {}
    for (const [kind, entity] of entities) meshViews[kind] = rows.filter((row) => row.kind === LINK_KIND[kind] && row.entity === entity).map(({ id }) => id)
    return { ...filter, meshViews }
  }

  async timeline(unscoped: TimelineFilter, limit: number, after?: TimelinePosition): Promise<TimelineResult> {
    const filter = await this.scope(unscoped)
    const page = pageSql(filter, limit, after)
    const [rows, counted] = await Promise.all([query<EventRow>(this.readerFor(filter), page.sql, page.values), this.count(filter)])
    const items = rows.slice(0, limit).map(rowToItem)
    const last = rows.length > limit ? rows[limit - 1]! : undefined
    return { items, next: last ? { time: last.time, id: last.id } : null, ...counted }
  }

  async timelineBody(filter: TimelineFilter, limit: number, after?: TimelinePosition): Promise<string> {
    return eventPageJson(await this.timeline(filter, limit, after))
  }

  async timelinePage(unscoped: TimelineFilter, limit: number, after?: TimelinePosition): Promise<Pick<TimelineResult, 'items' | 'next'>> {
    const filter = await this.scope(unscoped)
    const page = pageSql(filter, limit, after)
    const rows = await query<EventRow>(this.readerFor(filter), page.sql, page.values)
    const last = rows.length > limit ? rows[limit - 1]! : undefined
    return { items: rows.slice(0, limit).map(rowToItem), next: last ? { time: last.time, id: last.id } : null }
  }

  /**
   * Whether a search matches few enough events for its GIN result to drive the histogram and the
   * oldest match (every match read, never capped), as SQLite's `search` plan does.
   */
  private async searchFirst(filter: TimelineFilter): Promise<boolean> {
    if (filter.q === undefined) return false
    const counted = searchMatchesSql(filter.q, SEARCH_FIRST_MAX + 1)
    const [row] = await query<{ n: number }>(this.pool, counted.sql, counted.values)
    return (row?.n ?? 0) <= SEARCH_FIRST_MAX
  }

  async oldestMatch(unscoped: TimelineFilter): Promise<number | undefined> {
    const filter = await this.scope(unscoped)
    if (await this.searchFirst(filter)) {
      const oldest = searchOldestSql(filter)
      const [row] = await query<{ time: number }>(this.pool, oldest.sql, oldest.values)
      return row?.time
    }
    const oldest = oldestSql(filter, this.options.histogramRowBudget)
    const [row] = await query<{ time: number }>(this.ordered, oldest.sql, oldest.values)
    if (row || !needsRows(filter)) return row?.time
    // No match among the oldest rows within the budget: the view's oldest event starts the range.
    const indexed = oldestIndexedSql(filter)
    const [first] = await query<{ time: number }>(this.ordered, indexed.sql, indexed.values)
    return first?.time
  }

  async histogram(unscoped: TimelineFilter & { since: number; until: number }, bucketMs: number, buckets: number): Promise<HistogramCounts> {
    const filter = await this.scope(unscoped)
    if (!needsRows(filter)) {
      const counted = bucketCountSql(filter, bucketMs, buckets)
      const rows = await query<{ b: number; n: number; w: number }>(this.ordered, counted.sql, counted.values)
      const counts = Array.from({ length: buckets }, () => ({ normal: 0, warning: 0 }))
      for (const { b, n, w } of rows) counts[b] = { normal: n - w, warning: w }
      return { counts, capped: false }
    }
    const counts = Array.from({ length: buckets }, () => ({ normal: 0, warning: 0 }))
    const add = (rows: ReadonlyArray<{ b: number; n: number; w: number }>) => {
      for (const { b, n, w } of rows) {
        const bucket = counts[b]
        if (!bucket) continue // only a match at the very end of a range not divisible by the bucket size
        bucket.warning += w
        bucket.normal += n - w
      }
    }
    if (await this.searchFirst(filter)) {
      const counted = searchHistogramSql(filter, bucketMs)
      add(await query<{ b: number; n: number; w: number }>(this.pool, counted.sql, counted.values))
      return { counts, capped: false }
    }
    const budget = this.options.histogramRowBudget
    const counted = histogramSql(filter, bucketMs, budget)
    const edge = budgetEdgeSql(filter, budget)
    const [rows, edges] = await Promise.all([
      query<{ b: number; n: number; w: number }>(this.ordered, counted.sql, counted.values),
      query<{ time: number }>(this.ordered, edge.sql, edge.values),
    ])
    add(rows)
    // Two edge rows: the walk stopped at the first (the budget-th row) and older rows were left.
    if (edges.length > 1) return { counts, capped: true, completeFrom: edges[0]!.time + 1 }
    return { counts, capped: false }
  }

  async facets(unscoped: TimelineFilter, field: keyof typeof FACET_COLUMNS, top: number): Promise<FacetResult> {
    const filter = await this.scope(unscoped)
    const facet = facetSql(filter, FACET_COLUMNS[field], FACET_SAMPLE, top)
    const count = countSql(filter, FACET_SAMPLE + 1)
    const [items, [counted]] = await Promise.all([
      query<{ value: string; count: number }>(this.readerFor(filter), facet.sql, facet.values),
      query<{ n: number }>(this.readerFor(filter), count.sql, count.values),
    ])
    return { items: items.map(({ value, count: n }) => ({ value: String(value), count: n })), capped: (counted?.n ?? 0) > FACET_SAMPLE }
  }

  async recordActivity(change: ActivityChange): Promise<void> {
    const run = (sql: string, values: unknown[]) => this.transaction((client) => execute(client, sql, values))
    switch (change.op) {
      case 'start':
        await run("UPDATE ingest_activity SET end_reason = 'crashed' WHERE end_reason IS NULL", [])
        return
      case 'open':
        // A period still open for the source (a status repeated) stays the one period.
        await run(
          `INSERT INTO ingest_activity (mesh, source, started, last_seen) SELECT $1, $2, $3, $3
           WHERE NOT EXISTS (SELECT 1 FROM ingest_activity WHERE mesh = $1 AND source = $2 AND end_reason IS NULL) ON CONFLICT DO NOTHING`,
          [change.mesh, change.source, change.at],
        )
        return
      case 'beat':
        await run('UPDATE ingest_activity SET last_seen = greatest(last_seen, $1) WHERE end_reason IS NULL', [change.at])
        return
      case 'close':
        await run('UPDATE ingest_activity SET last_seen = greatest(last_seen, $1), end_reason = $2 WHERE mesh = $3 AND source = $4 AND end_reason IS NULL', [
          change.at,
          change.reason,
          change.mesh,
          change.source,
        ])
        return
      case 'resumed-lossy':
        await run(
          'UPDATE ingest_activity SET resumed_by = $1 WHERE mesh = $2 AND source = $3 AND started = (SELECT max(started) FROM ingest_activity WHERE mesh = $2 AND source = $3)',
          [change.how, change.mesh, change.source],
        )
    }
  }

  async activityPeriods(range: { mesh?: string; since: number; until: number }): Promise<ActivityPeriod[]> {
    // Periods ending in or after the range, plus each source's last period before it (see SqliteStore).
    return query<ActivityPeriod>(
      this.pool,
      `SELECT a.mesh, a.source, a.started, a.last_seen AS "lastSeen", a.end_reason AS "endReason", a.resumed_by AS "resumedBy" FROM ingest_activity AS a
       WHERE ($1::text IS NULL OR a.mesh = $1) AND a.started < $3 AND (a.last_seen >= $2 OR a.started = (
         SELECT max(p.started) FROM ingest_activity AS p WHERE p.mesh = a.mesh AND p.source = a.source AND p.last_seen < $2))
       ORDER BY a.mesh, a.source, a.started`,
      [range.mesh ?? null, range.since, range.until],
    )
  }

  async latestSeq(): Promise<number> {
    // events_by_seq makes this one index probe.
    const [row] = await query<{ seq: number }>(this.pool, 'SELECT coalesce(max(seq), 0) AS seq FROM events')
    return row?.seq ?? 0
  }

  async event(id: string): Promise<EventItem | undefined> {
    const [row] = await query<EventRow>(this.pool, `SELECT ${EVENT_COLUMNS} FROM events AS e WHERE e.id = $1`, [id])
    return row ? rowToItem(row) : undefined
  }

  async eventOrigins(ids: readonly string[]): Promise<Map<string, EventOrigin>> {
    if (ids.length === 0) return new Map()
    const rows = await query<{ id: string; source: EventSource; mesh: string }>(this.pool, 'SELECT id, source, mesh FROM events WHERE id = ANY($1::text[])', [ids])
    return new Map(rows.map(({ id, source, mesh }) => [id, { source, mesh }]))
  }

  writeFailure(): string | undefined {
    return this.writeFailed
  }

  /** The pool a timeline query runs on: index order, unless it searches text (see `open`). */
  private readerFor(filter: TimelineFilter): pg.Pool {
    return filter.q === undefined ? this.ordered : this.pool
  }

  private async count(filter: ScopedFilter): Promise<{ total: number; totalCapped: boolean }> {
    const count = countSql(filter, TOTAL_COUNT_CAP + 1)
    const [row] = await query<{ n: number }>(this.readerFor(filter), count.sql, count.values)
    const n = row?.n ?? 0
    return n > TOTAL_COUNT_CAP ? { total: TOTAL_COUNT_CAP, totalCapped: true } : { total: n, totalCapped: false }
  }

  async timelineByOffset(unscoped: TimelineFilter, offset: number, limit: number): Promise<{ items: EventItem[]; total: number }> {
    const filter = await this.scope(unscoped)
    const page = offsetPageSql(filter, offset, limit)
    const [rows, counted] = await Promise.all([query<EventRow>(this.readerFor(filter), page.sql, page.values), this.count(filter)])
    return { items: rows.map(rowToItem), total: counted.total }
  }

  async eventsAfter(seq: number, limit: number): Promise<StoredEvent[]> {
    const rows = await query<EventRow & { seq: number; views: number[] }>(
      this.pool,
      `SELECT ${EVENT_COLUMNS}, e.seq, e.views FROM events AS e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`,
      [seq, limit],
    )
    await this.resolveViews(rows.flatMap(({ views }) => views))
    return rows.map((row) => ({ seq: row.seq, item: rowToItem(row), created: false, views: withEveryMesh(row.views.map((id) => this.viewsById.get(id)!)) }))
  }

  /** Loads interned views this process has not seen (written by another process, or before a restart). */
  private async resolveViews(ids: readonly number[]): Promise<void> {
    const missing = [...new Set(ids.filter((id) => !this.viewsById.has(id)))]
    if (missing.length === 0) return
    const rows = await query<{ id: number; mesh: string; kind: string; entity: string }>(this.pool, 'SELECT id, mesh, kind, entity FROM views WHERE id = ANY($1::int[])', [missing])
    for (const { id, mesh, kind, entity } of rows) {
      const view: View = [mesh, kind, entity]
      this.viewsById.set(id, view)
      this.viewIds.set(viewKey(view), id)
    }
  }

  async readCheckpoint(key: string): Promise<string | undefined> {
    const [row] = await query<{ value: string }>(this.pool, 'SELECT value FROM checkpoints WHERE key = $1', [key])
    return row?.value
  }

  async readCheckpoints(prefix: string): Promise<Map<string, string>> {
    // A range on the primary key ("C" collation: byte order): every key that starts with the prefix sorts between these bounds.
    const rows = await query<{ key: string; value: string }>(this.pool, 'SELECT key, value FROM checkpoints WHERE key >= $1 AND key < $1 || chr(1114111)', [prefix])
    return new Map(rows.filter(({ key }) => key.startsWith(prefix)).map(({ key, value }) => [key.slice(prefix.length), value]))
  }

  async purgeBefore(cutoff: number, batchSize: number, fence?: number): Promise<number> {
    return this.transaction(async (client) => {
      if (fence !== undefined) await fenceCheck(client, fence)
      const rows = await query<{ mesh: string; n: number }>(
        client,
        `WITH doomed AS (SELECT rid FROM events WHERE time < $1 ORDER BY time LIMIT $2 FOR UPDATE SKIP LOCKED),
         gone AS (DELETE FROM events AS e USING doomed AS d WHERE e.rid = d.rid RETURNING e.rid, e.time, e.mesh, e.views),
         unlinked AS (
           DELETE FROM event_links AS l USING (SELECT rid, time, unnest(views) AS view FROM gone) AS g
           WHERE l.view = g.view AND l.time = g.time AND l.rid = g.rid)
         SELECT mesh, count(*)::int AS n FROM gone GROUP BY mesh`,
        [cutoff, batchSize],
      )
      await applyMeshDeltas(client, new Map(rows.map(({ mesh, n }) => [mesh, -n])))
      const purged = rows.reduce((sum, { n }) => sum + n, 0)
      // The last batch: pod-to-IP intervals that ended before the cutoff can no longer place an event.
      if (purged < batchSize) await execute(client, 'DELETE FROM pod_ips WHERE until < $1', [cutoff])
      // Activity periods older than the events kept: the gaps between them border nothing left.
      await execute(client, 'DELETE FROM ingest_activity WHERE last_seen < $1 AND end_reason IS NOT NULL', [cutoff])
      return purged
    })
  }

  async pendingOutbox(sink: string, limit: number): Promise<PendingEntry[]> {
    const rows = await query<PendingRow>(
      this.pool,
      `SELECT o.seq, o.event_id, o.alert, ${EVENT_COLUMNS} FROM outbox AS o LEFT JOIN events AS e ON e.id = o.event_id WHERE o.sink = $1 ORDER BY o.seq LIMIT $2`,
      [sink, limit],
    )
    return rows.map(({ seq, event_id: eventId, alert, ...row }): PendingEntry => {
      if (eventId === null) return { seq, alert: JSON.parse(alert!) as AlertNotice }
      return { seq, eventId, event: row.id === null ? undefined : rowToItem(row as EventRow) }
    })
  }

  async deleteOutbox(sink: string, seqs: readonly number[], fence?: number): Promise<void> {
    if (seqs.length === 0) return
    const sql = 'DELETE FROM outbox WHERE sink = $1 AND seq = ANY($2::bigint[])'
    if (fence === undefined) await execute(this.pool, sql, [sink, seqs])
    else await this.fenced(fence, (client) => execute(client, sql, [sink, seqs]))
  }

  /** `work` in a transaction that first checks (and holds) the lease at `fence`. */
  private fenced<T>(fence: number, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(async (client) => {
      await fenceCheck(client, fence)
      return work(client)
    })
  }

  async outboxCounts(): Promise<Map<string, number>> {
    const rows = await query<{ sink: string; n: number }>(this.pool, 'SELECT sink, count(*)::int AS n FROM outbox GROUP BY sink')
    return new Map(rows.map(({ sink, n }) => [sink, n]))
  }

  async discardOutbox(sink: string, createdBefore: number, fence?: number): Promise<number> {
    const sql = 'DELETE FROM outbox WHERE sink = $1 AND created_at < $2'
    if (fence === undefined) return execute(this.pool, sql, [sink, createdBefore])
    return this.fenced(fence, (client) => execute(client, sql, [sink, createdBefore]))
  }

  meshes(): Promise<MeshRecord[]> {
    return this.catalog.meshes()
  }

  applications(filter: ResourceListFilter, now: number) {
    return this.catalog.applications(filter, now)
  }

  application(name: string, mesh?: string) {
    return this.catalog.application(name, mesh)
  }

  instances(filter: ResourceListFilter) {
    return this.catalog.instances(filter)
  }

  instance(name: string, mesh?: string) {
    return this.catalog.instance(name, mesh)
  }

  services(filter: ResourceListFilter) {
    return this.catalog.services(filter)
  }

  service(name: string, mesh?: string) {
    return this.catalog.service(name, mesh)
  }

  readonly replicas: ReplicaStore = {
    acquireLease: (holder, durationMs) => acquireLease(this.leasePool, holder, durationMs),
    renewLease: (holder, epoch, durationMs) => renewLease(this.leasePool, holder, epoch, durationMs),
    releaseLease: (holder, epoch) => releaseLease(this.leasePool, holder, epoch),
    listen: (wake) => this.listen(wake),
    lastSeq: async () => (await query<{ seq: number | null }>(this.pool, 'SELECT max(seq) AS seq FROM events'))[0]?.seq ?? 0,
    writeMeshStatus: (states, fence) =>
      this.fenced(fence, async (client) => {
        await execute(client, 'DELETE FROM mesh_status WHERE NOT (mesh = ANY($1::text[]))', [states.map(({ mesh }) => mesh)])
        await execute(
          client,
          `INSERT INTO mesh_status (mesh, status, error, updated_at, epoch) SELECT u.*, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u
           ON CONFLICT (mesh) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at, epoch = excluded.epoch`,
          [states.map(({ mesh }) => mesh), states.map(({ status }) => status), states.map(({ error }) => error ?? null), states.map(() => Date.now()), fence],
        )
      }),
    readMeshStatus: () => readMeshStatus(this.pool),
  }

  /**
   * A dedicated client LISTENs (a pooled connection would be handed to queries). When it breaks it
   * reconnects with a growing delay, and wakes the listener after each connection, since notices
   * sent meanwhile are lost (the reader catches up from the seq index).
   */
  private async listen(wake: () => void): Promise<() => Promise<void>> {
    let stopped = false
    let client: pg.Client | undefined
    let retry: NodeJS.Timeout | undefined
    let failures = 0
    const connect = async (): Promise<void> => {
      const next = new pg.Client(this.listenConfig)
      client = next
      const reconnect = () => {
        if (stopped || client !== next) return
        client = undefined
        next.end().catch(() => undefined)
        failures++
        retry = setTimeout(() => void connect().catch(() => undefined), Math.min(5_000, 100 * 2 ** Math.min(failures, 6)))
      }
      next.on('error', reconnect)
      next.on('end', reconnect)
      next.on('notification', () => wake())
      try {
        await next.connect()
        await next.query(`LISTEN ${this.channel}`)
      } catch (error) {
        reconnect()
        throw translateError(error)
      }
      failures = 0
      wake()
    }
    await connect()
    return async () => {
      stopped = true
      clearTimeout(retry)
      await client?.end().catch(() => undefined)
    }
  }

  isOpen(): boolean {
    return this.open && this.failure === undefined
  }

  async close(): Promise<void> {
    if (!this.open) return
    this.open = false
    await this.writing
    await Promise.all([this.pool.end(), this.ordered.end(), this.leasePool.end()])
  }
}

/** The URL without Eventline's `schema` and libpq's `options` parameters, and their values. */
function splitUrl(raw: string): { url: string; schema: string | undefined; serverOptions: string | undefined } {
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    return { url: raw, schema: undefined, serverOptions: undefined }
  }
  const schema = parsed.searchParams.get('schema') ?? undefined
  const serverOptions = parsed.searchParams.get('options') ?? undefined
  parsed.searchParams.delete('schema')
  parsed.searchParams.delete('options')
  return { url: parsed.toString(), schema, serverOptions }
}

/** An event touched by the batch: its stored state and what the batch makes of it. */
interface EventState {
  /** Row id once the event exists in the database. */
  rid: number | undefined
  row: EventRow
  /** The links the database holds for it (its interned views at `time`). */
  linked: { time: number; ids: number[]; type: string; source: string } | undefined
  /** What the batch will write (unflushed): its views and store sequence. */
  pending: { views: View[]; seq: number } | undefined
}

/** The pod-to-IP intervals of an IP that can hold times from `from` on. */
interface PodHistory {
  from: number
  intervals: PodInterval[]
}

/** The state of one write transaction: events by id, look-up cache, views interned in it. */
class WriteTransaction {
  readonly catalog: CatalogWriter
  private readonly events = new Map<string, EventState>()
  private readonly meshDeltas = new Map<string, number>()
  /**
   * Catalog answers for `meshViews` by look-up key (`ip`, `si`, `app` prefixes). A catalog write
   * drops the answers it may change, so what is cached is what a query would answer now.
   */
  private readonly lookups = new Map<string, unknown>()
  /** IPs at which an event of this batch made an instance appear: correlated once, at the end. */
  private readonly appearedIps = new Set<string>()
  /** Views interned by this transaction: visible to it, cached by the store only after commit. */
  private readonly stagedViews = new Map<string, number>()

  constructor(
    private readonly db: PoolClient,
    private readonly viewIds: Map<string, number>,
    private readonly viewsById: Map<number, View>,
    catalogWritten: Set<string>,
    onCommit: Array<() => void>,
  ) {
    this.catalog = new CatalogWriter(db, catalogWritten)
    this.catalog.onWrite = (lookup, key) => {
      if (key !== undefined) this.lookups.delete(`${lookup}\u0000${key}`)
      else for (const cached of this.lookups.keys()) if (cached.startsWith(`${lookup}\u0000`)) this.lookups.delete(cached)
    }
    // The meshes of an application name only grow: a cached answer gains the mesh, no query again.
    this.catalog.onApplication = (name, mesh) => {
      const meshes = this.lookups.get(`app\u0000${name}`) as string[] | undefined
      if (meshes && !meshes.includes(mesh)) this.lookups.set(`app\u0000${name}`, [...meshes, mesh])
    }
    onCommit.push(() => {
      for (const [key, id] of this.stagedViews) {
        this.viewIds.set(key, id)
        this.viewsById.set(id, key.split('\u0000') as View)
      }
    })
  }

  /** Merges the batch's events in order, as the SQLite store does; resolves with what changed. */
  async upsertEvents(events: readonly IngestEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return []
    await this.load(events.map(({ id }) => id))
    await this.prefetch(events)
    // Held to commit: seqs become visible in the order they are taken (see the header).
    // The lock is an InitPlan the gating filter runs once, before the first nextval.
    const seqs = (
      await query<{ seq: number }>(this.db, "SELECT nextval('event_seq') AS seq FROM generate_series(1, $2) WHERE (SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))) IS NOT NULL", [
        SEQ_LOCK,
        events.length,
      ])
    ).map(({ seq }) => seq)
    const stored: StoredEvent[] = []
    for (const [index, event] of events.entries()) {
      const incoming = toRow(event)
      const state = this.events.get(incoming.id)
      const exists = state !== undefined
      let row = incoming
      if (state && !mayUpdate(state.row, incoming)) continue
      if (state) {
        row = merge(state.row, incoming, event.count !== undefined)
        if (sameRow(state.row, row)) continue // a retry or re-list of what we have: nothing to do
        if (state.row.mesh !== row.mesh) {
          add(this.meshDeltas, state.row.mesh, -1)
          add(this.meshDeltas, row.mesh, 1)
        }
      } else {
        add(this.meshDeltas, row.mesh, 1)
      }
      const views = await this.viewsOf(row, event.services)
      const seq = seqs[index]!
      if (state) {
        state.row = row
        state.pending = { views, seq }
      } else {
        this.events.set(row.id, { rid: undefined, row, linked: undefined, pending: { views, seq } })
      }
      stored.push({ seq, item: rowToItem(row), created: !exists, views })
      await this.fillCatalog(row)
    }
    return stored
  }

  /** Reads (and locks, in id order) the stored rows of these ids. */
  private async load(ids: readonly string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.events.has(id))
    if (missing.length === 0) return
    const rows = await query<StoredRow>(this.db, `SELECT ${STORED_COLUMNS} FROM events AS e WHERE e.id = ANY($1::text[]) ORDER BY e.id FOR UPDATE`, [missing])
    for (const row of rows) this.events.set(row.id, { rid: row.rid, row: pickRow(row), linked: { time: row.time, ids: row.views, type: row.type, source: row.source }, pending: undefined })
  }

  /**
   * Answers, with three queries, the look-ups `meshViews` will make for the batch's pod events
   * (instances at their IPs, those instances' services, meshes naming their applications), so a
   * batch does not wait for a round trip per event. Anything else is looked up when asked.
   */
  private async prefetch(events: readonly IngestEvent[]): Promise<void> {
    const pods = events.filter((event) => isPodEvent({ source: event.source, objectKind: event.object.kind }))
    const ips = [...new Set(pods.flatMap(({ ip }) => (ip ? [ip] : [])))].filter((ip) => !this.lookups.has(`ip\u0000${ip}`))
    const applications = [...new Set(pods.flatMap(({ application }) => (application ? [application] : [])))].filter((name) => !this.lookups.has(`app\u0000${name}`))
    if (ips.length > 0) {
      const rows = await query<{ ip: string; mesh: string; name: string; application: string | null }>(
        this.db,
        `SELECT ip, mesh, name, application FROM instances WHERE ip = ANY($1::text[]) AND gone_at IS NULL AND namespace IS NULL AND NOT ('kubernetes' = ANY(sources))`,
        [ips],
      )
      const byIp = new Map(ips.map((ip) => [ip, [] as Array<{ mesh: string; name: string; application: string | null }>]))
      for (const { ip, ...instance } of rows) byIp.get(ip)!.push(instance)
      for (const [ip, instances] of byIp) this.lookups.set(`ip\u0000${ip}`, instances)
      const members = rows.filter(({ mesh, name }) => !this.lookups.has(`si\u0000${mesh}\u0000${name}`))
      if (members.length > 0) {
        const services = await query<{ mesh: string; instance: string; service: string }>(
          this.db,
          `SELECT DISTINCT si.mesh, si.instance, si.service FROM service_instances AS si
           JOIN unnest($1::text[], $2::text[]) AS u (mesh, instance) ON si.mesh = u.mesh AND si.instance = u.instance`,
          [members.map(({ mesh }) => mesh), members.map(({ name }) => name)],
        )
        const byInstance = new Map(members.map(({ mesh, name }) => [`si\u0000${mesh}\u0000${name}`, [] as string[]]))
        for (const { mesh, instance, service } of services) byInstance.get(`si\u0000${mesh}\u0000${instance}`)!.push(service)
        for (const [key, list] of byInstance) this.lookups.set(key, list)
      }
    }
    // Registrations at an IP: the pod-to-IP history of each IP from the batch's oldest event there.
    const from = new Map<string, number>()
    for (const event of events) {
      if (!event.ip || !event.instance || event.source === 'kubernetes' || isPodEvent({ source: event.source, objectKind: event.object.kind })) continue
      const known = this.lookups.get(`pod\u0000${event.ip}`) as PodHistory | undefined
      if (known && known.from <= event.time) continue
      from.set(event.ip, Math.min(event.time, from.get(event.ip) ?? event.time, known?.from ?? event.time))
    }
    if (from.size > 0) await this.loadPodHistory([...from.keys()], [...from.values()])
    if (applications.length > 0) {
      for (const [name, meshes] of await this.catalog.meshesWithApplications(applications)) this.lookups.set(`app\u0000${name}`, meshes)
    }
  }

  /** Caches the pod-to-IP history of these IPs from these times on (a catalog write of pod_ips drops it). */
  private async loadPodHistory(ips: readonly string[], froms: readonly number[]): Promise<void> {
    const intervals = await this.catalog.podIntervals(ips, froms)
    ips.forEach((ip, index) => this.lookups.set(`pod\u0000${ip}`, { from: froms[index]!, intervals: intervals.get(ip)! } satisfies PodHistory))
  }

  /**
   * `meshViews` with its catalog look-ups answered by queries in this transaction: the event's views
   * in its mesh and the meshes it is correlated into (no every-mesh copies, see `SECONDARY_LINK`).
   */
  private async viewsOf(row: EventRow, services: readonly string[] | undefined): Promise<View[]> {
    for (;;) {
      const misses: Array<() => Promise<unknown>> = []
      const cached = <T>(key: string, load: () => Promise<T>, empty: T): T => {
        if (this.lookups.has(key)) return this.lookups.get(key) as T
        misses.push(async () => this.lookups.set(key, await load()))
        return empty
      }
      const lookup: ViewLookup = {
        instancesByIp: (ip) => cached(`ip\u0000${ip}`, () => this.catalog.instancesByIp(ip), []),
        podsAtIp: (ip, time) => {
          const known = this.lookups.get(`pod\u0000${ip}`) as PodHistory | undefined
          if (known && known.from <= time) return podsAt(known.intervals, time)
          misses.push(() => this.loadPodHistory([ip], [Math.min(time, known?.from ?? time)]))
          return []
        },
        servicesOfInstance: (mesh, instance) => cached(`si\u0000${mesh}\u0000${instance}`, () => this.catalog.servicesOfInstance(mesh, instance), []),
        meshesWithApplication: (name) => cached(`app\u0000${name}`, async () => (await this.catalog.meshesWithApplications([name])).get(name)!, []),
      }
      const views = meshViews({ ...row, time: row.time, objectKind: row.obj_kind, services }, lookup)
      if (misses.length === 0) return views
      for (const load of misses) await load()
    }
  }

  /** Events name meshes, applications, instances and services: make sure the catalog knows them. */
  private async fillCatalog(row: EventRow): Promise<void> {
    await this.catalog.ensureMesh(row.mesh, MESH_KIND_OF_SOURCE[row.source])
    if (row.application) await this.catalog.ensureApplication(row.mesh, row.application)
    if (row.instance && (await this.catalog.ensureInstance(row.mesh, row.instance, row.source, row.ip ?? undefined, row.application ?? undefined))) {
      await this.appeared(row.ip!)
    }
    if (row.service) await this.catalog.ensureService(row.mesh, row.service)
  }

  /**
   * An event made an instance appear at `ip`. Pod events of this batch at that IP gain their new
   * views now, in memory; stored ones are correlated once at the end of the batch, all IPs in one
   * query (`correlateAppeared`), instead of a write and a query per instance.
   *
   * Known difference from SQLite, which correlates stored events at once: the views added to
   * stored events are computed with the catalog as the batch leaves it rather than as it was at
   * the event, so a catalog entry a later event of the same batch adds is included too (views
   * are only ever added, never removed).
   */
  private async appeared(ip: string): Promise<void> {
    this.appearedIps.add(ip)
    for (const state of this.events.values()) {
      if (!state.pending || state.row.ip !== ip || !isPodEvent({ source: state.row.source, objectKind: state.row.obj_kind })) continue
      const known = new Set(state.pending.views.map(viewKey))
      const added = (await this.viewsOf(state.row, undefined)).filter((view) => !known.has(viewKey(view)))
      state.pending.views.push(...added)
    }
  }

  /** Correlates the stored pod events at the IPs where this batch's events made instances appear. */
  async correlateAppeared(): Promise<void> {
    if (this.appearedIps.size === 0) return
    await this.correlateIps([...this.appearedIps], 'pod')
  }

  /**
   * The catalog changed at an IP (see SqliteStore.correlate): a registry instance appeared there,
   * so pod events stored at the IP gain its views; or a pod got the IP, so registrations stored
   * there since the previous pod left gain the pod's instance view. Views are only added.
   */
  correlate({ ip, events, since }: Correlation): Promise<void> {
    return this.correlateIps([ip], events, since)
  }

  private async correlateIps(ips: readonly string[], events: Correlation['events'], since?: number): Promise<void> {
    await this.flush()
    const bySource = events === 'pod' ? "e.source IN ('kubernetes', 'demo') AND e.obj_kind = 'Pod'" : "e.source <> 'kubernetes'"
    // The IPs' views in each mesh; an event linked to an IP in two meshes is read once.
    const rows = await query<StoredRow>(
      this.db,
      `SELECT DISTINCT ON (e.rid) ${STORED_COLUMNS} FROM event_links AS l JOIN events AS e ON e.rid = l.rid
       WHERE l.view IN (SELECT mv.id FROM (${MESH_VIEWS_SQL}) AS mv) AND l.time >= $3 AND ${bySource}`,
      [ips.map(() => LINK_KIND.ip), ips, since ?? Number.MIN_SAFE_INTEGER],
    )
    if (rows.length === 0) return
    await this.knowViews(rows.flatMap(({ views }) => views))
    const links: LinkRow[] = []
    const updates: Array<{ rid: number; ids: number[] }> = []
    for (const stored of rows) {
      const row = pickRow(stored)
      const before = stored.views.map((id) => this.viewOf(id))
      const known = new Set(before.map(viewKey))
      const added = (await this.viewsOf(row, undefined)).filter((view) => !known.has(viewKey(view)))
      if (added.length === 0) continue
      const addedIds = await this.intern(added)
      const secondary = secondaryOf(added, before)
      links.push(...addedIds.map((view, index) => linkRow(view, row, stored.rid, secondary[index]!)))
      const ids = [...stored.views, ...addedIds]
      updates.push({ rid: stored.rid, ids })
      const state = this.events.get(row.id)
      if (state?.linked) state.linked.ids = ids
    }
    await insertLinks(this.db, links)
    if (updates.length > 0) {
      await execute(
        this.db,
        `UPDATE events AS e SET views = u.views::int[] FROM (SELECT unnest($1::bigint[]) AS rid, unnest($2::text[]) AS views) AS u WHERE e.rid = u.rid`,
        [updates.map(({ rid }) => rid), updates.map(({ ids }) => `{${ids.join(',')}}`)],
      )
    }
  }

  private viewOf(id: number): View {
    for (const [key, staged] of this.stagedViews) if (staged === id) return key.split('\u0000') as View
    return this.viewsById.get(id)!
  }

  /** Makes sure every id is in the view cache (views interned by other processes or earlier runs). */
  private async knowViews(ids: readonly number[]): Promise<void> {
    const staged = new Set(this.stagedViews.values())
    const missing = [...new Set(ids.filter((id) => !this.viewsById.has(id) && !staged.has(id)))]
    if (missing.length === 0) return
    const rows = await query<{ id: number; mesh: string; kind: string; entity: string }>(this.db, 'SELECT id, mesh, kind, entity FROM views WHERE id = ANY($1::int[])', [missing])
    // Committed rows (another transaction's or an earlier one's): safe to cache now.
    for (const { id, mesh, kind, entity } of rows) {
      const view: View = [mesh, kind, entity]
      this.viewsById.set(id, view)
      this.viewIds.set(viewKey(view), id)
    }
  }

  /** The interned ids of `views`, interning the new ones (sorted, so concurrent writers queue rather than deadlock). */
  private async intern(views: readonly View[]): Promise<number[]> {
    const id = (view: View) => this.viewIds.get(viewKey(view)) ?? this.stagedViews.get(viewKey(view))
    const missing = [...new Map(views.filter((view) => id(view) === undefined).map((view) => [viewKey(view), view])).values()].sort((a, b) =>
      viewKey(a) < viewKey(b) ? -1 : viewKey(a) > viewKey(b) ? 1 : 0,
    )
    if (missing.length > 0) {
      const columns = [missing.map(([mesh]) => mesh), missing.map(([, kind]) => kind), missing.map(([, , entity]) => entity)]
      await execute(this.db, 'INSERT INTO views (mesh, kind, entity) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING', columns)
      const rows = await query<{ id: number; mesh: string; kind: string; entity: string }>(
        this.db,
        'SELECT v.id, v.mesh, v.kind, v.entity FROM views AS v JOIN unnest($1::text[], $2::text[], $3::text[]) AS u (mesh, kind, entity) ON v.mesh = u.mesh AND v.kind = u.kind AND v.entity = u.entity',
        columns,
      )
      for (const row of rows) this.stagedViews.set(viewKey([row.mesh, row.kind, row.entity]), row.id)
    }
    return views.map((view) => id(view)!)
  }

  /** Writes the pending events and their links: inserts, updates, link deletes and inserts. */
  async flush(): Promise<void> {
    const pending = [...this.events.values()].filter((state) => state.pending)
    if (pending.length === 0) return
    const ids = await this.intern(pending.flatMap((state) => state.pending!.views))
    let offset = 0
    const next = pending.map((state) => {
      const count = state.pending!.views.length
      offset += count
      return { state, seq: state.pending!.seq, ids: ids.slice(offset - count, offset), secondary: secondaryOf(state.pending!.views) }
    })

    const inserts = next.filter(({ state }) => state.rid === undefined)
    if (inserts.length > 0) {
      const secondaryIds = inserts.map(({ ids: viewIds, secondary }) => `{${viewIds.filter((_, index) => secondary[index]).join(',')}}`)
      const returned = await query<{ id: string; rid: number }>(this.db, INSERT_EVENTS, [...eventArrays(inserts), secondaryIds])
      const rids = new Map(returned.map(({ id, rid }) => [id, rid]))
      for (const { state } of inserts) state.rid = rids.get(state.row.id)
    }
    const updates = next.filter(({ state }) => !inserts.some((insert) => insert.state === state))
    if (updates.length > 0) await execute(this.db, UPDATE_EVENTS, [...eventArrays(updates), updates.map(({ state }) => state.rid!)])

    // Links: drop what no longer holds, add what is new (an unchanged time keeps the rows it can).
    const removed: LinkRow[] = []
    const added: LinkRow[] = []
    for (const { state, ids: viewIds, secondary } of next) {
      // A link row carries time, type and source: when any changed, every link is written again. It
      // also carries whether it is secondary, which depends on the views before it: the links of
      // the views linked before are kept when those views still come first (views were added).
      const { linked } = state
      const unchanged = linked && linked.time === state.row.time && linked.type === state.row.type && linked.source === state.row.source
      const kept = unchanged && linked.ids.every((view, index) => viewIds[index] === view) ? linked.ids.length : 0
      if (linked) for (const view of linked.ids.slice(kept)) removed.push({ view, time: linked.time, rid: state.rid!, source: 0, warning: false })
      // A new event's links were written with it (INSERT_EVENTS).
      if (linked) viewIds.forEach((view, index) => index >= kept && added.push(linkRow(view, state.row, state.rid!, secondary[index]!)))
      state.linked = { time: state.row.time, ids: viewIds, type: state.row.type, source: state.row.source }
      state.pending = undefined
    }
    if (removed.length > 0) {
      await execute(
        this.db,
        `DELETE FROM event_links AS l USING unnest($1::int[], $2::bigint[], $3::bigint[]) AS d (view, time, rid)
         WHERE l.view = d.view AND l.time = d.time AND l.rid = d.rid`,
        [removed.map(({ view }) => view), removed.map(({ time }) => time), removed.map(({ rid }) => rid)],
      )
    }
    // Links of an update reach the new row's links; an update's row keeps its rid.
    await insertLinks(this.db, added)
  }

  /**
   * One closing statement: the applications and services the events named, the mesh event counts,
   * and the notice that wakes every replica's live feed (delivered on commit) when `seq` is given.
   */
  async close(channel: string, seq: number | undefined): Promise<void> {
    const { applications, services } = this.catalog.takeNamed()
    const counts = changedCounts(this.meshDeltas)
    if (applications.length === 0 && services.length === 0 && counts.length === 0 && seq === undefined) return
    await execute(
      this.db,
      `WITH named_applications AS (
         INSERT INTO applications (mesh, name) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING),
       named_services AS (
         INSERT INTO services (mesh, name) SELECT * FROM unnest($3::text[], $4::text[]) ON CONFLICT DO NOTHING),
       counts AS (
         INSERT INTO mesh_event_counts AS c (mesh, events) SELECT * FROM unnest($5::text[], $6::bigint[])
         ON CONFLICT (mesh) DO UPDATE SET events = c.events + excluded.events)
       SELECT pg_notify($7, $8) WHERE $8::text IS NOT NULL`,
      [
        applications.map(([mesh]) => mesh),
        applications.map(([, name]) => name),
        services.map(([mesh]) => mesh),
        services.map(([, name]) => name),
        counts.map(([mesh]) => mesh),
        counts.map(([, delta]) => delta),
        channel,
        seq === undefined ? null : String(seq),
      ],
    )
  }
}

interface LinkRow {
  view: number
  time: number
  rid: number
  source: number
  warning: boolean
}

function linkRow(view: number, row: EventRow, rid: number, secondary: boolean): LinkRow {
  return { view, time: row.time, rid, source: SOURCE_CODE[row.source] + (secondary ? SECONDARY_LINK : 0), warning: row.type === 'warning' }
}

/**
 * For each of `views`, whether its link is secondary (see `SECONDARY_LINK`): it names an entity
 * that an earlier view, of `before` (the event's views already linked) or of `views`, names.
 */
function secondaryOf(views: readonly View[], before: readonly View[] = []): boolean[] {
  const entityOf = ([, kind, entity]: View) => `${kind}\u0000${entity}`
  const named = new Set(before.map(entityOf))
  return views.map((view) => {
    if (named.has(entityOf(view))) return true
    named.add(entityOf(view))
    return false
  })
}

async function insertLinks(db: Queryable, links: readonly LinkRow[]): Promise<void> {
  if (links.length === 0) return
  await execute(
    db,
    `INSERT INTO event_links (view, time, rid, source, warning)
     SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::smallint[], $5::boolean[]) ON CONFLICT DO NOTHING`,
    [links.map(({ view }) => view), links.map(({ time }) => time), links.map(({ rid }) => rid), links.map(({ source }) => source), links.map(({ warning }) => warning)],
  )
}

/** `unnest` of the column arrays of `eventArrays`, plus `extra` trailing columns. */
function eventUnnest(extra: ReadonlyArray<[name: string, type: string]>): string {
  const columns: Array<[string, string]> = [...ROW_COLUMNS.map((column): [string, string] => [column, ROW_TYPES[column]]), ['seq', 'bigint'], ['views', 'text'], ['search', 'text'], ...extra]
  return `unnest(${columns.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')}) AS u (${columns.map(([name]) => name).join(', ')})`
}
/** A link row's source code, from the event's source (fixed SQL from SOURCE_CODE). */
const SOURCE_CODE_SQL = (column: string) => `CASE ${column} ${Object.entries(SOURCE_CODE)
  .map(([source, code]) => `WHEN '${source}' THEN ${code}`)
  .join(' ')} END`
/**
 * New events and their links in one statement: the links come from the inserted rows' own
 * `views`, so the batch's largest write is one round trip and the row ids never travel. The last
 * parameter lists each event's views whose links are secondary (see `SECONDARY_LINK`).
 */
const INSERT_EVENTS = `WITH input AS MATERIALIZED (SELECT * FROM ${eventUnnest([['secondary', 'text']])}),
  inserted AS (
    INSERT INTO events (${ROW_COLUMNS.join(', ')}, seq, views, search)
    SELECT ${ROW_COLUMNS.map((column) => `u.${column}`).join(', ')}, u.seq, u.views::int[], to_tsvector('simple', u.search) FROM input AS u
    RETURNING id, rid, time, type, source, views),
  linked AS (
    INSERT INTO event_links (view, time, rid, source, warning)
    SELECT v.view, i.time, i.rid, ${SOURCE_CODE_SQL('i.source')} + CASE WHEN v.view = ANY(u.secondary::int[]) THEN ${SECONDARY_LINK} ELSE 0 END, i.type = 'warning'
    FROM inserted AS i JOIN input AS u ON u.id = i.id CROSS JOIN unnest(i.views) AS v (view))
  SELECT id, rid FROM inserted`
const UPDATE_EVENTS = `UPDATE events AS e SET ${ROW_COLUMNS.filter((column) => column !== 'id')
  .map((column) => `${column} = u.${column}`)
  .join(', ')}, seq = u.seq, views = u.views::int[], search = to_tsvector('simple', u.search)
  FROM ${eventUnnest([['rid', 'bigint']])} WHERE e.rid = u.rid`

/** Column arrays of the events' rows, then seq, views (as array literals) and search text. */
function eventArrays(rows: ReadonlyArray<{ state: EventState; seq: number; ids: number[] }>): unknown[] {
  return [
    ...ROW_COLUMNS.map((column) => rows.map(({ state }) => state.row[column])),
    rows.map(({ seq }) => seq),
    rows.map(({ ids }) => `{${ids.join(',')}}`),
    rows.map(({ state }) => searchText(state.row.reason, state.row.message)),
  ]
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  counts.set(key, (counts.get(key) ?? 0) + delta)
}

/** The meshes whose event count changed, sorted (so concurrent writers queue rather than deadlock). */
function changedCounts(deltas: Map<string, number>): Array<[mesh: string, delta: number]> {
  return [...deltas].filter(([, delta]) => delta !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

async function applyMeshDeltas(db: Queryable, deltas: Map<string, number>): Promise<void> {
  const changed = changedCounts(deltas)
  if (changed.length === 0) return
  await execute(
    db,
    `INSERT INTO mesh_event_counts AS c (mesh, events) SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (mesh) DO UPDATE SET events = c.events + excluded.events`,
    [changed.map(([mesh]) => mesh), changed.map(([, delta]) => delta)],
  )
}

/**
 * Outbox entries of the batch (see `WriteBatch.outbox`), numbered from the outbox sequence in
 * batch order. An event entry repeated in the batch keeps its last position, as successive
 * upserts would leave it.
 */
async function writeOutbox(db: Queryable, batch: WriteBatch, stored: readonly StoredEvent[]): Promise<void> {
  if (batch.outbox.length === 0) return
  const changed = new Set(stored.map(({ item }) => item.id))
  const unchanged = new Set(batch.events.map(({ id }) => id).filter((id) => !changed.has(id)))
  const entries = batch.outbox.filter((entry) => !('eventId' in entry) || !unchanged.has(entry.eventId))
  const last = new Map<string, number>()
  entries.forEach((entry, index) => {
    if ('eventId' in entry) last.set(`${entry.sink}\u0000${entry.eventId}`, index)
  })
  const kept = entries.filter((entry, index) => !('eventId' in entry) || last.get(`${entry.sink}\u0000${entry.eventId}`) === index)
  if (kept.length === 0) return
  const seqs = (await query<{ seq: number }>(db, "SELECT nextval('outbox_seq') AS seq FROM generate_series(1, $1)", [kept.length])).map(({ seq }) => seq)
  await execute(
    db,
    `INSERT INTO outbox (sink, seq, event_id, alert, created_at)
     SELECT u.sink, u.seq, u.event_id, u.alert, $5 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS u (sink, seq, event_id, alert)
     ON CONFLICT (sink, event_id) WHERE event_id IS NOT NULL DO UPDATE SET seq = excluded.seq`,
    [
      kept.map(({ sink }) => sink),
      seqs,
      kept.map((entry) => ('eventId' in entry ? entry.eventId : null)),
      kept.map((entry) => ('alert' in entry ? JSON.stringify(entry.alert) : null)),
      Date.now(),
    ],
  )
}

/** Checkpoints of the batch; the last write of a key wins, `null` deletes it. */
async function writeCheckpoints(db: Queryable, batch: WriteBatch): Promise<void> {
  if (batch.checkpoints.length === 0) return
  const last = new Map(batch.checkpoints.map(({ key, value }) => [key, value]))
  const set = [...last].filter(([, value]) => value !== null) as Array<[string, string]>
  const deleted = [...last].filter(([, value]) => value === null).map(([key]) => key)
  if (deleted.length > 0) await execute(db, 'DELETE FROM checkpoints WHERE key = ANY($1::text[])', [deleted])
  if (set.length > 0) {
    await execute(
      db,
      `INSERT INTO checkpoints (key, value, updated_at) SELECT u.key, u.value, $3 FROM unnest($1::text[], $2::text[]) AS u (key, value)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [set.map(([key]) => key), set.map(([, value]) => value), Date.now()],
    )
  }
}

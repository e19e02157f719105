/**
 * The benchmark's baseline: the rows our write path stored (the interned views, events with their
 * view ids, and the event_links those ids name), inserted again into a fresh database of the same schema with
 * nothing but prepared better-sqlite3 statements, in transactions of 1,000 events. Copying the
 * stored rows makes "the same rows" exact by construction, correlation added after the fact
 * included; only the inserts are timed, reading them back from our database is not.
 */
import type { EventSource } from '@eventline/shared'
import { rmSync } from 'node:fs'
import type { Statement } from 'better-sqlite3'
import { openDatabase } from '../src/store/sqlite/db.ts'
import type { Db } from '../src/store/sqlite/db.ts'
import { SOURCE_CODE } from '../src/store/sqlite/timelineSql.ts'

const COLUMNS = [
  'id', 'time', 'first_time', 'count', 'type', 'reason', 'message', 'source', 'component', 'host', 'mesh', 'obj_kind', 'obj_name',
  'obj_namespace', 'obj_uid', 'obj_field_path', 'application', 'instance', 'ip', 'service', 'category', 'action', 'seq', 'views',
] as const
type EventRow = Record<(typeof COLUMNS)[number], string | number | null>

export class RawInserter {
  readonly db: Db
  private readonly insertEvent: Statement
  private readonly insertLink: Statement
  private readonly insertBatch: (rows: readonly EventRow[]) => void

  constructor(path: string) {
    this.db = openDatabase(path)
    this.insertEvent = this.db.prepare(`INSERT INTO events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`)
    this.insertLink = this.db.prepare('INSERT INTO event_links (view, time, rid, source, warning) VALUES (?, ?, ?, ?, ?)')
    // The full-text rows once per transaction, as the store's writer does (migration 10).
    const indexText = this.db.prepare('INSERT INTO events_fts (rowid, reason, message) SELECT rid, reason, message FROM events WHERE rid BETWEEN ? AND ?')
    this.insertBatch = this.db.transaction((rows: readonly EventRow[]) => {
      let first: number | undefined
      let rid = 0
      for (const row of rows) {
        rid = Number(this.insertEvent.run(...COLUMNS.map((column) => row[column])).lastInsertRowid)
        first ??= rid
        const [source, warning] = [SOURCE_CODE[row.source as EventSource], row.type === 'warning' ? 1 : 0]
        for (const view of (row.views as string).split(' ')) if (view !== '') this.insertLink.run(Number(view), row.time, rid, source, warning)
      }
      if (first !== undefined) indexText.run(first, rid)
    })
  }

  /** Copies every event of `source` (in insertion order) with its links; returns the milliseconds spent inserting. */
  copyFrom(source: Db, batchSize = 1000): number {
    const read = source.prepare(`SELECT ${COLUMNS.join(', ')} FROM events WHERE rid > ? ORDER BY rid LIMIT ?`)
    const lastRid = source.prepare('SELECT rid FROM events WHERE id = ?').pluck()
    // The interned views, as they are (a few thousand rows): the events name them by id.
    const views = source.prepare('SELECT id, mesh, kind, entity FROM views').all()
    const insertView = this.db.prepare('INSERT INTO views (id, mesh, kind, entity) VALUES (@id, @mesh, @kind, @entity)')
    let insertMs = performance.now()
    this.db.transaction(() => {
      this.db.exec('DELETE FROM views') // the every-mesh view a fresh database starts with, under ours' id
      for (const view of views) insertView.run(view)
    })()
    insertMs = performance.now() - insertMs
    let after = 0
    for (;;) {
      const rows = read.all(after, batchSize) as EventRow[]
      if (rows.length === 0) return insertMs
      const started = performance.now()
      this.insertBatch(rows)
      insertMs += performance.now() - started
      after = lastRid.get(rows.at(-1)!.id) as number
    }
  }

  close(): void {
    this.db.close()
  }
}

/**
 * The physical-limit anchor (issue 14): the same event rows inserted into a table with only its
 * primary key (no other index, no links, no full-text index, no constraint), 1,000 per transaction
 * with one prepared statement, in a fresh database with the store's own settings. Our ingest over
 * this is the share of the disk's and SQLite's speed that Eventline's indexing leaves. Returns the
 * ms spent inserting (reading the rows back from `source` is not counted); the file is removed.
 */
export function primaryKeyOnlyAnchor(path: string, source: Db, batchSize = 1000): { insertMs: number; bytes: number } {
  const db = openDatabase(path)
  try {
    db.exec(`CREATE TABLE raw_events (rid INTEGER PRIMARY KEY, ${COLUMNS.map((column) => `${column} ANY`).join(', ')}) STRICT`)
    const insert = db.prepare(`INSERT INTO raw_events (rid, ${COLUMNS.join(', ')}) VALUES (?, ${COLUMNS.map(() => '?').join(', ')})`)
    const insertBatch = db.transaction((rows: ReadonlyArray<EventRow & { rid: number }>) => {
      for (const row of rows) insert.run(row.rid, ...COLUMNS.map((column) => row[column]))
    })
    const read = source.prepare(`SELECT rid, ${COLUMNS.join(', ')} FROM events WHERE rid > ? ORDER BY rid LIMIT ?`)
    let insertMs = 0
    let after = 0
    for (;;) {
      const rows = read.all(after, batchSize) as Array<EventRow & { rid: number }>
      if (rows.length === 0) break
      const started = performance.now()
      insertBatch(rows)
      insertMs += performance.now() - started
      after = rows.at(-1)!.rid
    }
    db.pragma('wal_checkpoint(TRUNCATE)')
    const bytes = (db.prepare('PRAGMA page_count').pluck().get() as number) * (db.prepare('PRAGMA page_size').pluck().get() as number)
    return { insertMs, bytes }
  } finally {
    db.close()
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
  }
}

/**
 * The benchmark's baseline: the rows our write path stored (the interned views, events with their
 * view ids, and the event_links those ids name), inserted again into a fresh database of the same schema with
 * nothing but prepared better-sqlite3 statements, in transactions of 1,000 events. Copying the
 * stored rows makes "the same rows" exact by construction, correlation added after the fact
 * included; only the inserts are timed, reading them back from our database is not.
 */
import type { EventSource } from '@eventline/shared'
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
    this.insertBatch = this.db.transaction((rows: readonly EventRow[]) => {
      for (const row of rows) {
        const rid = this.insertEvent.run(...COLUMNS.map((column) => row[column])).lastInsertRowid
        const [source, warning] = [SOURCE_CODE[row.source as EventSource], row.type === 'warning' ? 1 : 0]
        for (const view of (row.views as string).split(' ')) if (view !== '') this.insertLink.run(Number(view), row.time, rid, source, warning)
      }
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

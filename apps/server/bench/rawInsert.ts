/**
 * The benchmark's baseline: the rows our write path stored (events with their views, and the
 * event_links those views name), inserted again into a fresh database of the same schema with
 * nothing but prepared better-sqlite3 statements, in transactions of 1,000 events. Copying the
 * stored rows makes "the same rows" exact by construction, correlation added after the fact
 * included; only the inserts are timed, reading them back from our database is not.
 */
import type { Statement } from 'better-sqlite3'
import type { View } from '../src/store/eventViews.ts'
import { openDatabase } from '../src/store/sqlite/db.ts'
import type { Db } from '../src/store/sqlite/db.ts'

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
    this.insertLink = this.db.prepare('INSERT INTO event_links (mesh, kind, entity, time, event_id, type, source) VALUES (?, ?, ?, ?, ?, ?, ?)')
    this.insertBatch = this.db.transaction((rows: readonly EventRow[]) => {
      for (const row of rows) {
        this.insertEvent.run(...COLUMNS.map((column) => row[column]))
        for (const [mesh, kind, entity] of JSON.parse(row.views as string) as View[]) this.insertLink.run(mesh, kind, entity, row.time, row.id, row.type, row.source)
      }
    })
  }

  /** Copies every event of `source` (in insertion order) with its links; returns the milliseconds spent inserting. */
  copyFrom(source: Db, batchSize = 1000): number {
    const read = source.prepare(`SELECT ${COLUMNS.join(', ')} FROM events WHERE rid > ? ORDER BY rid LIMIT ?`)
    const lastRid = source.prepare('SELECT rid FROM events WHERE id = ?').pluck()
    let insertMs = 0
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

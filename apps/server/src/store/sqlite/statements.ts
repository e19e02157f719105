/** Prepared-statement cache: each distinct SQL text is prepared once per connection. */
import type { Statement } from 'better-sqlite3'
import type { Db } from './db.ts'

export class Statements {
  private readonly cache = new Map<string, Statement>()

  constructor(private readonly db: Db) {}

  /** The prepared statement for `sql`, preparing it on first use. */
  get(sql: string): Statement {
    let statement = this.cache.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      // Timeline filters combine into a bounded but large set of shapes; keep the cache bounded.
      if (this.cache.size >= 512) this.cache.delete(this.cache.keys().next().value!)
      this.cache.set(sql, statement)
    }
    return statement
  }
}

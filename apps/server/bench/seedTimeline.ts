/**
 * The seed design's timeline, kept only as the benchmark's point of comparison: read every event of
 * the mesh into JS objects, filter to the entity, sort newest first, slice by offset. It knows no
 * correlation, so for an application whose view also holds correlated pod events it returns fewer
 * matches than ours, and does less work than a faithful port would.
 */
import type { Db } from '../src/store/sqlite/db.ts'

interface SeedRow {
  id: string
  time: number
  application: string | null
}

/**
 * One page of `application`'s events in `mesh` at `offset`, the way the seed design served it,
 * with the number of matches it paged through.
 */
export function seedApplicationPage(db: Db, mesh: string, application: string, offset: number, limit: number): { items: SeedRow[]; matches: number } {
  const rows = db.prepare('SELECT * FROM events WHERE mesh = ?').all(mesh) as SeedRow[]
  const matches = rows
    .filter((row) => row.application === application)
    .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  return { items: matches.slice(offset, offset + limit), matches: matches.length }
}

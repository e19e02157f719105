/**
 * Bytes per event by table and index (SQLite `dbstat`) after ingesting `BENCH_EVENTS` generated
 * events (default 100,000) through the real server into `BENCH_DB_FILE` (kept), or of an existing
 * database file given as `BENCH_DB_FILE` with `BENCH_EVENTS=0`.
 */
import Database from 'better-sqlite3'
import { startEventline } from '../src/eventline.ts'
import { silentLogger } from '../src/log.ts'
import { createWorld, generateEvents, inChunks } from './generate.ts'

const path = process.env.BENCH_DB_FILE ?? '/tmp/eventline-bytes.db'
const count = Number(process.env.BENCH_EVENTS ?? 100_000)
if (count > 0) {
  const server = await startEventline({ port: 0, host: '127.0.0.1', db: path, retentionMs: 30 * 86_400_000, demo: false }, silentLogger)
  const world = createWorld(20_240_601)
  const inFlight: Array<Promise<void>> = []
  for (const events of inChunks(generateEvents(world, { count, seed: 7, end: Date.now(), spanMs: 7 * 86_400_000 }), 1000)) {
    inFlight.push(server.bus.publish({ events }))
    if (inFlight.length >= 4) await inFlight.shift()
  }
  await Promise.all(inFlight)
  await server.stop()
}
const db = new Database(path, { readonly: true })
const events = db.prepare('SELECT count(*) FROM events').pluck().get() as number
const rows = db
  .prepare(`SELECT name, sum(pgsize) AS bytes, sum(payload) AS payload, sum(ncell) AS cells FROM dbstat GROUP BY name ORDER BY bytes DESC`)
  .all() as Array<{ name: string; bytes: number; payload: number; cells: number }>
const total = rows.reduce((sum, row) => sum + row.bytes, 0)
console.log(`${events} events, ${total} bytes in pages, ${(total / events).toFixed(1)} bytes/event`)
for (const row of rows) if (row.bytes / events >= 0.5) console.log(`${row.name.padEnd(40)} ${(row.bytes / events).toFixed(1).padStart(8)} B/event  payload ${(row.payload / events).toFixed(1).padStart(7)}  cells ${row.cells}`)
db.close()

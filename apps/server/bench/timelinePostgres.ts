/**
 * The timeline benchmark on PostgreSQL (`BENCH_DB=postgres://...`): the same generated events,
 * through the real server (bus, batched writer, PostgreSQL store), into a database created for the
 * run and dropped after it. Figures: ingest events/s; the raw-insert anchor (the same event rows,
 * copied back from ours, inserted with plain multi-row INSERTs in transactions of 1,000 into a
 * table with only its primary key) and ours as a ratio of it; bytes per event
 * (`pg_total_relation_size` of every Eventline table: heap, indexes, TOAST); timeline p50/p99 over
 * HTTP and from the store alone for the same shapes as SQLite.
 *
 * Known limits: the database server runs on the same machine as the benchmark (and, here, other
 * work), so both compete for the CPU; the anchor excludes our indexes by design (it is the floor
 * of what inserting these rows costs, not a fair rival).
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { EventBus } from '../src/bus.ts'
import { startEventline } from '../src/eventline.ts'
import { silentLogger } from '../src/log.ts'
import { ROW_COLUMNS, ROW_TYPES } from '../src/store/eventRows.ts'
import type { EventStore } from '../src/store/types.ts'
import { mergeResults, printTable, round } from './results.ts'
import type { IngestFigures } from './timeline.bench.ts'
import { latencyFigures, timelineShapes } from './timelineShapes.ts'
import type { Shape, ShapeFigures, ViewSize } from './timelineShapes.ts'

const DAY_MS = 86_400_000
const BATCH = 1000

export interface PostgresBenchHooks {
  ingest(bus: EventBus): Promise<IngestFigures>
  measureShape(base: string, shape: Shape, store: EventStore): Promise<ShapeFigures>
}

const log = (message: string) => console.error(`[bench:postgres] ${message}`)

/** `url` with its database replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Copies our events into a primary-key-only table, 1,000 rows per transaction; returns the ms spent inserting. */
async function rawAnchor(client: pg.Client): Promise<number> {
  await client.query('CREATE TABLE raw_events (LIKE events, PRIMARY KEY (rid))')
  const columns: Array<[string, string]> = [['rid', 'bigint'], ...ROW_COLUMNS.map((column): [string, string] => [column, ROW_TYPES[column]]), ['seq', 'bigint'], ['views', 'text'], ['search', 'tsvector']]
  const insert = `INSERT INTO raw_events (${columns.map(([name]) => name).join(', ')})
    SELECT ${columns.map(([name]) => (name === 'views' ? 'u.views::int[]' : `u.${name}`)).join(', ')}
    FROM unnest(${columns.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')}) AS u (${columns.map(([name]) => name).join(', ')})`
  let after = 0
  let insertMs = 0
  for (;;) {
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT ${columns.map(([name]) => (name === 'views' || name === 'search' ? `${name}::text AS ${name}` : name)).join(', ')} FROM events WHERE rid > $1 ORDER BY rid LIMIT $2`,
      [after, BATCH],
    )
    if (rows.length === 0) return insertMs
    const values = columns.map(([name]) => rows.map((row) => row[name]))
    const started = performance.now()
    await client.query('BEGIN')
    await client.query({ name: 'raw_insert', text: insert, values })
    await client.query('COMMIT')
    insertMs += performance.now() - started
    after = Number(rows.at(-1)!.rid)
  }
}

/** The five shapes, chosen from what was stored, as on SQLite. */
async function chooseShapes(client: pg.Client): Promise<Shape[]> {
  const views = async (kind: string): Promise<ViewSize[]> =>
    (
      await client.query<{ mesh: string; entity: string; n: string }>(
        `SELECT v.mesh, v.entity, count(*) AS n FROM event_links AS l JOIN views AS v ON v.id = l.view
         WHERE v.mesh <> '' AND v.kind = $1 GROUP BY v.mesh, v.entity ORDER BY n DESC`,
        [kind],
      )
    ).rows.map((row) => ({ ...row, n: Number(row.n) }))
  const busiest = (await client.query<{ mesh: string; n: string }>('SELECT mesh, count(*) AS n FROM events GROUP BY mesh ORDER BY n DESC LIMIT 1')).rows[0]!
  const applications = await views('a')
  // The largest application's events in any mesh: an event correlated into it in two meshes is one.
  const everyMesh = (
    await client.query<{ n: string }>(
      "SELECT count(DISTINCT l.rid) AS n FROM views AS v JOIN event_links AS l ON l.view = v.id WHERE v.mesh <> '' AND v.kind = 'a' AND v.entity = $1",
      [applications[0]!.entity],
    )
  ).rows[0]!.n
  return timelineShapes({ application: applications, instance: await views('i'), service: await views('s') }, { mesh: busiest.mesh, n: Number(busiest.n) }, Number(everyMesh))
}

const VIEW_WARMUP = 5
const VIEW_SAMPLES = 30

/**
 * The histogram and facets over HTTP, as the SQLite run measures them: the largest application
 * over 7 days (all, warnings, and a reason, which reads event rows within the row budget), the
 * busiest mesh, the largest application's name in every mesh (its views in each mesh), and facets of reason.
 */
async function measureViews(base: string, shapes: readonly Shape[]): Promise<Record<string, { url: string; p50Ms: number; p99Ms: number; maxMs: number }>> {
  const largest = shapes[0]!.path
  const mesh = shapes.find((shape) => shape.name === 'mesh-wide')!.path
  const everyMesh = shapes.find((shape) => shape.name === 'largest application, every mesh')!.path
  const views = [
    ['histogram largest application, 7 days', `${largest.replace('/events?', '/events/histogram?')}&since=7d`],
    ['histogram largest application, 7 days, warnings', `${largest.replace('/events?', '/events/histogram?')}&since=7d&type=warning`],
    ['histogram largest application, 7 days, reason BackOff', `${largest.replace('/events?', '/events/histogram?')}&since=7d&reason=BackOff`],
    ['histogram mesh-wide, 7 days', `${mesh.replace('/events?', '/events/histogram?')}&since=7d`],
    ['histogram largest application, every mesh, 7 days', `${everyMesh.replace('/events?', '/events/histogram?')}&since=7d`],
    ['facets of reason, largest application', `${largest.replace('/events?', '/events/facets?')}&field=reason`],
    ['facets of reason, largest application, every mesh', `${everyMesh.replace('/events?', '/events/facets?')}&field=reason`],
  ] as const
  const timed = async (url: string) => {
    const started = performance.now()
    const response = await fetch(url)
    await response.arrayBuffer()
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
    return performance.now() - started
  }
  const figures: Record<string, { url: string; p50Ms: number; p99Ms: number; maxMs: number }> = {}
  for (const [name, path] of views) {
    log(name)
    for (let i = 0; i < VIEW_WARMUP; i++) await timed(`${base}${path}`)
    const times: number[] = []
    for (let i = 0; i < VIEW_SAMPLES; i++) times.push(await timed(`${base}${path}`))
    figures[name] = latencyFigures(path, times)
  }
  return figures
}

export async function benchPostgres(url: string, count: number, hooks: PostgresBenchHooks): Promise<void> {
  const database = `eventline_bench_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  const dbUrl = withDatabase(url, database)
  const client = new pg.Client({ connectionString: dbUrl })
  try {
    const server = await startEventline({ port: 0, host: '127.0.0.1', db: dbUrl, retentionMs: 30 * DAY_MS, demo: false }, silentLogger)
    await client.connect()
    try {
      log(`ingesting ${count.toLocaleString('en-US')} events through the bus and batched writer into ${database}`)
      const ours = await hooks.ingest(server.bus)
      log(`ours: ${ours.eventsPerSecond.toLocaleString('en-US')} events/s`)
      await client.query('VACUUM ANALYZE')

      const sizes = (
        await client.query<{ relname: string; bytes: string; rows: string }>(
          `SELECT c.relname, pg_total_relation_size(c.oid) AS bytes, c.reltuples::bigint AS rows FROM pg_class AS c
           JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY bytes DESC`,
        )
      ).rows.map(({ relname, bytes, rows }) => ({ table: relname, bytes: Number(bytes), rows: Number(rows) }))
      const totalBytes = sizes.reduce((sum, { bytes }) => sum + bytes, 0)
      const events = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n)
      const links = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM event_links')).rows[0]!.n)
      const bytesPerEvent = Math.round(totalBytes / events)

      log('inserting the same event rows into a primary-key-only table')
      const rawMs = await rawAnchor(client)
      const raw = { events, seconds: round(rawMs / 1000), generationSeconds: 0, eventsPerSecond: Math.round(events / (rawMs / 1000)) }
      const rawBytes = Number((await client.query<{ n: string }>("SELECT pg_total_relation_size('raw_events') AS n")).rows[0]!.n)
      await client.query('DROP TABLE raw_events')
      const ratio = round(ours.eventsPerSecond / raw.eventsPerSecond)
      log(`raw: ${raw.eventsPerSecond.toLocaleString('en-US')} events/s, ours/raw ${ratio}`)

      const shapes = await chooseShapes(client)
      const timeline: Record<string, ShapeFigures> = {}
      for (const shape of shapes) {
        log(`timeline "${shape.name}": ${shape.viewEvents.toLocaleString('en-US')} events`)
        timeline[shape.name] = await hooks.measureShape(server.url, shape, server.store)
      }
      const histogram = await measureViews(server.url, shapes)

      const fmt = (n: number) => n.toLocaleString('en-US')
      console.log(`\nEventline benchmark on PostgreSQL: ${fmt(count)} events\n`)
      printTable([
        ['figure', 'value', 'detail', 'note'],
        ['ingest, ours (bus + batched writer)', `${fmt(ours.eventsPerSecond)} events/s`, `${ours.seconds} s`, `+${ours.generationSeconds} s generation excluded`],
        ['ingest, raw (PK-only table, 1,000/tx)', `${fmt(raw.eventsPerSecond)} events/s`, `${raw.seconds} s`, `ours/raw ${ratio}`],
        ['bytes per event (all tables)', fmt(bytesPerEvent), `${round(totalBytes / 1024 / 1024, 1)} MB`, `${fmt(events)} events, ${fmt(links)} links (${round(links / events, 2)} per event)`],
        ['raw table bytes per event', fmt(Math.round(rawBytes / events)), `${round(rawBytes / 1024 / 1024, 1)} MB`, 'event rows with search column, PK only'],
        ...shapes.map((shape): [string, string, string, string] => {
          const figures = timeline[shape.name]!
          return [
            `timeline ${shape.name} p50 / p99 / max`,
            `${figures.p50Ms} / ${figures.p99Ms} / ${figures.maxMs} ms`,
            `${fmt(figures.viewEvents)} events`,
            `store alone p50 / p99 ${figures.storeP50Ms} / ${figures.storeP99Ms} ms`,
          ]
        }),
        ...Object.entries(histogram).map(([name, figures]): [string, string, string, string] => [`${name} p50 / p99 / max`, `${figures.p50Ms} / ${figures.p99Ms} / ${figures.maxMs} ms`, '', figures.url]),
      ])
      mergeResults({
        timelinePostgres: {
          date: new Date().toISOString(),
          events: count,
          server: (await client.query<{ v: string }>('SHOW server_version')).rows[0]!.v,
          ingest: { ours, raw, ratio, rawNote: 'the same event rows (copied from ours) into a table with only its primary key, multi-row INSERT of 1,000 per transaction' },
          storage: { bytesPerEvent, totalBytes, linksPerEvent: round(links / events, 2), tables: sizes, rawBytesPerEvent: Math.round(rawBytes / events) },
          timeline,
          histogram,
        },
      })
    } finally {
      await server.stop()
    }
  } finally {
    await client.end().catch(() => undefined)
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await admin.end()
  }
}

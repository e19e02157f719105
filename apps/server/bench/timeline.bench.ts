/**
 * `pnpm bench`: ingest and timeline performance on generated production-shaped events.
 *
 * 1. Ingest `BENCH_EVENTS` (default 1,000,000) events through the real server (bus, batched
 *    writer, SQLite file), then the same rows with raw prepared inserts into a second database of
 *    the same schema; events/s of each and the ratio.
 * 2. Resident memory of this process right after our ingest (the server runs in-process).
 * 3. HTTP timeline pages (limit 20) at random depths for five shapes: p50 and p99. The server reads
 *    through its reader threads; the same pages are also timed from the store through those threads
 *    and from a `SqliteStore` on this thread, alternately, to show what the hop costs.
 * 4. The seed design (load the whole mesh, filter, sort, slice) on the same pages: speedup.
 * 5. Searches (`q`: one letter, common, rare, absent words) combined with the largest
 *    application, a mesh and a 24 h range: first page with its total, p50 and p99.
 * 6. The event-rate histogram of the largest application over 7 days (target p99 <= 50 ms), and
 *    of the mesh; facets of the largest application.
 * 7. An export of every event (NDJSON and CSV) over HTTP: rows/s and the growth of resident
 *    memory while it streams (constant memory: it must not grow with the rows).
 *
 * Prints a table and writes `bench-results.json` at the repository root. Not part of CI.
 *
 * With `BENCH_DB=postgres://...` the same ingest and timeline shapes run on PostgreSQL too (in a
 * database the benchmark creates and drops), with the bytes per event and a raw-insert anchor
 * (timelinePostgres.ts); `BENCH_SQLITE=0` skips the SQLite run.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { Agent, get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EventPage } from '@eventline/shared'
import Database from 'better-sqlite3'
import type { EventBus } from '../src/bus.ts'
import { startEventline } from '../src/eventline.ts'
import { silentLogger } from '../src/log.ts'
import { openStore } from '../src/store/openStore.ts'
import { startServerProcess } from '../src/testing/eventlineProcess.ts'
import type { ServerProcess } from '../src/testing/eventlineProcess.ts'
import type { Db } from '../src/store/sqlite/db.ts'
import { SqliteStore } from '../src/store/sqlite/sqliteStore.ts'
import { LINK_KIND } from '../src/store/eventViews.ts'
import { decodeCursor } from '../src/store/cursor.ts'
import type { EventStore, IngestEvent } from '../src/store/types.ts'
import { createRandom, createWorld, generateEvents, inChunks, MESHES } from './generate.ts'
import type { GenerateOptions, Random, World } from './generate.ts'
import { primaryKeyOnlyAnchor, RawInserter } from './rawInsert.ts'
import { mergeResults, percentile, printTable, RESULTS_FILE, round } from './results.ts'
import { seedApplicationPage } from './seedTimeline.ts'
import { latencyFigures, shapeFigures, timelineShapes } from './timelineShapes.ts'
import type { Shape, ShapeFigures, ViewSize } from './timelineShapes.ts'
import { benchPostgres } from './timelinePostgres.ts'

const DAY_MS = 86_400_000
const WORLD_SEED = 20_240_601
const EVENT_SEED = 7
const SAMPLE_SEED = 11
const PUBLICATION_SIZE = 1000
/** Publications awaiting storage at most: a source that awaits its publishes behaves like this. */
const MAX_IN_FLIGHT = 4
const PAGE_LIMIT = 20
/** Cursor-collecting walks read the largest pages; their cursors are valid for any limit. */
const WALK_LIMIT = 200
const WARMUP_REQUESTS = 50
const SAMPLES_PER_SHAPE = 400
const SEED_DEPTHS = 7
const SEARCH_WORDS = ['a', 'container', 'timeout', 'insufficient', '超时'] as const
const SEARCH_SAMPLES = 20
const HISTOGRAM_SAMPLES = 200
const OURS_REPEATS_PER_SEED_DEPTH = 15

interface Target {
  name: string
  value: number
  target: string
  met: boolean
}

export interface IngestFigures {
  events: number
  seconds: number
  /** Event generation time, excluded from `seconds` (it is the benchmark's, not the store's). */
  generationSeconds: number
  eventsPerSecond: number
}

interface Position {
  cursor: string | undefined
  /** Items before this page. */
  depth: number
}

function eventCount(): number {
  const raw = process.env.BENCH_EVENTS
  if (raw === undefined || raw === '') return 1_000_000
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1000) throw new Error(`BENCH_EVENTS must be an integer >= 1000, got "${raw}"`)
  return n
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1)

interface EventStats {
  messageChars: number
  warnings: number
}

/** Generates publications while accounting the time spent generating, so it can be left out. */
function* timedPublications(world: World, options: GenerateOptions, stats: EventStats, clock: { generationMs: number }): Generator<IngestEvent[]> {
  const chunks = inChunks(generateEvents(world, options), PUBLICATION_SIZE)
  for (;;) {
    const started = performance.now()
    const next = chunks.next()
    if (!next.done) {
      for (const event of next.value) {
        stats.messageChars += event.message.length
        if (event.type === 'warning') stats.warnings++
      }
    }
    clock.generationMs += performance.now() - started
    if (next.done) return
    yield next.value
  }
}

async function ingestOurs(bus: EventBus, world: World, options: GenerateOptions, stats: EventStats): Promise<IngestFigures> {
  const clock = { generationMs: 0 }
  const inFlight: Array<Promise<void>> = []
  const started = performance.now()
  for (const events of timedPublications(world, options, stats, clock)) {
    inFlight.push(bus.publish({ events }))
    if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift()
  }
  await Promise.all(inFlight)
  return ingestFigures(options.count, performance.now() - started, clock.generationMs)
}

/** Inserts the rows our path stored into a fresh database with raw prepared statements (see rawInsert.ts). */
function ingestRaw(path: string, ours: Db, events: number): { figures: IngestFigures; raw: RawInserter } {
  const raw = new RawInserter(path)
  const insertMs = raw.copyFrom(ours)
  return { figures: ingestFigures(events, insertMs, 0), raw }
}

function ingestFigures(events: number, wallMs: number, generationMs: number): IngestFigures {
  const seconds = (wallMs - generationMs) / 1000
  return { events, seconds: round(seconds), generationSeconds: round(generationMs / 1000), eventsPerSecond: Math.round(events / seconds) }
}

function fileBytes(path: string): number {
  let bytes = 0
  for (const suffix of ['', '-wal']) {
    try {
      bytes += statSync(path + suffix).size
    } catch {
      // no WAL file: nothing to add
    }
  }
  return bytes
}

const countRows = (db: Db, table: 'events' | 'event_links') => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number

/** Whether a sample of 1,000 event rows (every column, views included) is identical in both databases. */
function sameSampledEvents(ours: Db, raw: Db, events: number): boolean {
  const read = (db: Db) => db.prepare('SELECT * FROM events WHERE rid = ?')
  const [a, b] = [read(ours), read(raw)]
  for (let i = 0; i < 1000; i++) {
    const rid = 1 + Math.floor((i * events) / 1000)
    if (JSON.stringify(a.get(rid)) !== JSON.stringify(b.get(rid))) return false
  }
  return true
}

/** Every view of one entity kind in the named meshes, with its number of events, largest first. */
function views(db: Db, kind: 'application' | 'instance' | 'service'): ViewSize[] {
  const statement = db.prepare('SELECT v.mesh, v.entity, count(*) AS n FROM views AS v JOIN event_links AS l ON l.view = v.id WHERE v.mesh = ? AND v.kind = ? GROUP BY v.id')
  return MESHES.flatMap((mesh) => statement.all(mesh.name, LINK_KIND[kind]) as ViewSize[]).sort((a, b) => b.n - a.n)
}

/** The six timeline shapes, chosen from what was stored. */
function chooseShapes(db: Db): Shape[] {
  const busiest = db.prepare('SELECT mesh, count(*) AS n FROM events GROUP BY mesh ORDER BY n DESC LIMIT 1').get() as { mesh: string; n: number }
  const applications = views(db, 'application')
  // The largest application's events in any mesh: an event correlated into it in two meshes is one.
  const everyMesh = db
    .prepare("SELECT count(DISTINCT l.rid) FROM views AS v JOIN event_links AS l ON l.view = v.id WHERE v.mesh <> '' AND v.kind = 'a' AND v.entity = ?")
    .pluck()
    .get(applications[0]!.entity) as number
  return timelineShapes({ application: applications, instance: views(db, 'instance'), service: views(db, 'service') }, busiest, everyMesh)
}

function pageUrl(base: string, shape: Shape, limit: number, cursor: string | undefined): string {
  return `${base}${shape.path}&limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
}

// node:http with one kept-alive connection: undici's fetch added its own allocations (and GC pauses)
// to every sample.
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

/** GETs `url`, returning the body and the wall time from request to last byte. */
function get(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    httpGet(url, { agent }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const ms = performance.now() - started
        const body = Buffer.concat(chunks).toString('utf8')
        if (response.statusCode !== 200) reject(new Error(`GET ${url}: ${response.statusCode} ${body}`))
        else resolve({ ms, body })
      })
      response.on('error', reject)
    }).on('error', reject)
  })
}

/** Times the same kind of pages straight from the store (the JSON body the handlers send), to tell SQL time from HTTP time. */
async function sampleStorePages(store: EventStore, shape: Shape, positions: readonly Position[], random: Random, count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const { cursor } = positions[Math.floor(random() * positions.length)]!
    const after = cursor === undefined ? undefined : (([time, id]) => ({ time, id }))(decodeCursor(cursor, ['n', 's'] as const))
    const started = performance.now()
    await store.timelineBody(shape.filter, PAGE_LIMIT, after)
    times.push(performance.now() - started)
  }
  return times
}

/**
 * The same pages through the threaded store and straight from a `SqliteStore` on this thread, one
 * after the other in alternating order (so machine load falls on both alike).
 */
async function sampleStorePairs(threaded: EventStore, direct: EventStore, shape: Shape, positions: readonly Position[], random: Random, count: number): Promise<{ threaded: number[]; direct: number[] }> {
  const times = { threaded: [] as number[], direct: [] as number[] }
  for (let i = 0; i < count; i++) {
    const { cursor } = positions[Math.floor(random() * positions.length)]!
    const after = cursor === undefined ? undefined : (([time, id]) => ({ time, id }))(decodeCursor(cursor, ['n', 's'] as const))
    const order = i % 2 === 0 ? (['threaded', 'direct'] as const) : (['direct', 'threaded'] as const)
    for (const which of order) {
      const started = performance.now()
      await (which === 'threaded' ? threaded : direct).timelineBody(shape.filter, PAGE_LIMIT, after)
      times[which].push(performance.now() - started)
    }
  }
  return times
}

/**
 * An untimed request after the event loop was blocked for seconds (the seed design's run): the
 * server's keep-alive timer fired meanwhile, so the pooled connection may be reset under the first
 * request. One retry opens a fresh connection.
 */
async function reconnect(url: string): Promise<void> {
  try {
    await get(url)
  } catch {
    await get(url)
  }
}

/** Follows nextCursor through the whole view, recording every page start it passes. */
async function walk(base: string, shape: Shape): Promise<{ positions: Position[]; walked: number }> {
  const positions: Position[] = []
  let cursor: string | undefined
  let walked = 0
  for (;;) {
    positions.push({ cursor, depth: walked })
    const page = JSON.parse((await get(pageUrl(base, shape, WALK_LIMIT, cursor))).body) as EventPage
    walked += page.items.length
    if (page.nextCursor === null) break
    cursor = page.nextCursor
  }
  return { positions, walked }
}

async function samplePages(base: string, shape: Shape, positions: readonly Position[], random: Random, count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const position = positions[Math.floor(random() * positions.length)]!
    const { ms, body } = await get(pageUrl(base, shape, PAGE_LIMIT, position.cursor))
    const page = JSON.parse(body) as EventPage
    if (page.items.length === 0 && position.depth < shape.viewEvents) throw new Error(`${shape.name}: empty page at depth ${position.depth}`)
    times.push(ms)
  }
  return times
}

/**
 * Streams an export to the end, counting rows and bytes without keeping them, and samples this
 * process's resident memory meanwhile (server and client share it): the growth over the start.
 */
/** Resident memory of a process, from /proc (Linux). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'))
  return Number(line?.match(/(\d+)/)?.[1] ?? 0) * 1024
}

/** Streams an export from the server process, counting rows, and samples that process's resident memory meanwhile. */
function measureExport(served: ServerProcess, url: string, format: 'csv' | 'ndjson'): Promise<{ rows: number; seconds: number; rowsPerSecond: number; rssGrowthMb: number; bytesMb: number }> {
  const pid = served.child.pid!
  const rssStart = rssOf(pid)
  let rssPeak = rssStart
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssOf(pid))
  }, 50)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    httpGet(url, (response) => {
      let newlines = 0
      let bytes = 0
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++
      })
      response.on('end', () => {
        clearInterval(sampler)
        const seconds = (performance.now() - started) / 1000
        // CSV: the header row, and messages may hold quoted newlines (the generator's do not).
        const rows = format === 'csv' ? newlines - 1 : newlines
        resolve({ rows, seconds: round(seconds), rowsPerSecond: Math.round(rows / seconds), rssGrowthMb: mb(rssPeak - rssStart), bytesMb: mb(bytes) })
      })
      response.on('error', reject)
    }).on('error', reject)
  })
}

/**
 * Warm-up pages, then timed pages at random depths over HTTP and from the store alone: the shape's
 * figures. With `direct` (SQLite: a store on this thread), the store's pages alternate with the same
 * pages read directly, so the difference is what the reader threads cost.
 */
async function sampleShape(base: string, shape: Shape, store: EventStore, positions: readonly Position[], walked: number, random: Random, direct?: EventStore): Promise<ShapeFigures> {
  await samplePages(base, shape, positions, random, WARMUP_REQUESTS)
  const times = await samplePages(base, shape, positions, random, SAMPLES_PER_SHAPE)
  if (direct === undefined) return shapeFigures(shape, walked, times, await sampleStorePages(store, shape, positions, random, SAMPLES_PER_SHAPE))
  const pairs = await sampleStorePairs(store, direct, shape, positions, random, SAMPLES_PER_SHAPE)
  return shapeFigures(shape, walked, times, pairs.threaded, pairs.direct)
}

/** The PostgreSQL run: the same events, ingest path and page sampling (see timelinePostgres.ts). */
async function mainPostgres(url: string): Promise<void> {
  const count = eventCount()
  const world = createWorld(WORLD_SEED)
  const options: GenerateOptions = { count, seed: EVENT_SEED, end: Date.now(), spanMs: 7 * DAY_MS }
  await benchPostgres(url, count, {
    ingest: (bus) => ingestOurs(bus, world, options, { messageChars: 0, warnings: 0 }),
    measureShape: async (base, shape, store) => {
      const { positions, walked } = await walk(base, shape)
      return sampleShape(base, shape, store, positions, walked, createRandom(SAMPLE_SEED))
    },
  })
  agent.destroy()
}

async function main(): Promise<void> {
  const count = eventCount()
  const dir = mkdtempSync(join(tmpdir(), 'eventline-bench-'))
  const world = createWorld(WORLD_SEED)
  const options: GenerateOptions = { count, seed: EVENT_SEED, end: Date.now(), spanMs: 7 * DAY_MS }
  const log = (message: string) => console.error(`[bench] ${message}`)
  const oursPath = join(dir, 'ours.db')
  const rawPath = join(dir, 'raw.db')
  const server = await startEventline({ port: 0, host: '127.0.0.1', db: oursPath, retentionMs: 30 * DAY_MS, demo: false }, silentLogger)
  // After the ingest: Eventline in its own process on the same file, and a store in this one.
  let served: ServerProcess | undefined
  let store: EventStore | undefined
  try {
    globalThis.gc?.()
    const rssBeforeIngest = process.memoryUsage().rss

    // 1. Ingest through our path.
    log(`ingesting ${count.toLocaleString('en-US')} events through the bus and batched writer`)
    const stats: EventStats = { messageChars: 0, warnings: 0 }
    const ours = await ingestOurs(server.bus, world, options, stats)
    log(`ours: ${ours.eventsPerSecond.toLocaleString('en-US')} events/s`)

    // 2. Memory right after ingest, before anything else is loaded into this process.
    globalThis.gc?.()
    const memory = process.memoryUsage()

    // 1b. The raw baseline into a second database of the same schema.
    log('inserting the same rows with raw prepared statements')
    // The store's connections live on its threads: the benchmark reads through one of its own.
    const db = new Database(oursPath, { readonly: true })
    const { figures: raw, raw: rawDb } = ingestRaw(rawPath, db, count)
    log(`raw: ${raw.eventsPerSecond.toLocaleString('en-US')} events/s`)
    const rows = {
      ours: { events: countRows(db, 'events'), eventLinks: countRows(db, 'event_links'), bytes: fileBytes(oursPath) },
      raw: { events: countRows(rawDb.db, 'events'), eventLinks: countRows(rawDb.db, 'event_links'), bytes: fileBytes(rawPath) },
    }
    const sameRows = rows.ours.events === rows.raw.events && rows.ours.eventLinks === rows.raw.eventLinks && sameSampledEvents(db, rawDb.db, count)
    rawDb.close()
    rmSync(rawPath, { force: true })
    rmSync(`${rawPath}-wal`, { force: true })
    rmSync(`${rawPath}-shm`, { force: true })
    if (!sameRows) log(`WARNING: the raw baseline wrote different rows (${JSON.stringify(rows)})`)

    // 1c. The physical-limit anchor: the same event rows into a table with only its primary key.
    log('inserting the same event rows into a primary-key-only table')
    const anchor = primaryKeyOnlyAnchor(rawPath, db)
    const pkOnly = { ...ingestFigures(count, anchor.insertMs, 0), bytesPerEvent: Math.round(anchor.bytes / count) }
    log(`primary-key-only: ${pkOnly.eventsPerSecond.toLocaleString('en-US')} events/s`)

    // 3. HTTP timeline pages at random depths, and the same pages from the store: through its
    // reader threads, and from a connection on this thread (the hop's cost). The pages are asked of
    // Eventline in a process of its own on the ingested file, as it runs for users: in this
    // process its event loop and heap were shared with the benchmark's client, generator and
    // cursors, whose GC pauses landed in the server's samples (the 10-27 ms outliers of p99).
    await server.stop()
    served = await startServerProcess(['--db', oursPath, '--retention', '30d', '--kubeconfig', 'off'])
    store = await openStore(oursPath)
    const direct = new SqliteStore(oursPath, { readonly: true })
    const shapes = chooseShapes(db)
    const random = createRandom(SAMPLE_SEED)
    const timeline: Record<string, ShapeFigures> = {}
    const positionsByShape = new Map<string, Position[]>()
    for (const shape of shapes) {
      log(`timeline "${shape.name}": walking ${shape.viewEvents.toLocaleString('en-US')} events to collect cursors`)
      const { positions, walked } = await walk(served.url, shape)
      if (walked !== shape.viewEvents) log(`WARNING: ${shape.name}: walked ${walked} events, the view holds ${shape.viewEvents}`)
      positionsByShape.set(shape.name, positions)
      timeline[shape.name] = await sampleShape(served.url, shape, store, positions, walked, random, direct)
    }
    await direct.close()

    // 4. The seed design on the same pages of the largest application.
    const largest = shapes[0]!
    const meshWide = shapes.find((shape) => shape.name === 'mesh-wide')!
    const everyMesh = shapes.find((shape) => shape.name === 'largest application, every mesh')!
    const largestPositions = positionsByShape.get(largest.name)!
    log(`seed design: ${SEED_DEPTHS} pages of "${largest.application}" in ${largest.mesh}`)
    // The seed design knows no correlation, so it pages through fewer matches than our view holds:
    // compare on depths both can serve. Its first run is the warm-up and counts its matches.
    const seedMatches = seedApplicationPage(db, largest.mesh, largest.application!, 0, PAGE_LIMIT).matches
    const comparable = largestPositions.filter((position) => position.depth < seedMatches)
    const depths = Array.from({ length: SEED_DEPTHS }, () => comparable[Math.floor(random() * comparable.length)]!)
    const seedTimes: number[] = []
    const oursTimes: number[] = []
    for (const position of depths) {
      globalThis.gc?.()
      const started = performance.now()
      const page = seedApplicationPage(db, largest.mesh, largest.application!, position.depth, PAGE_LIMIT)
      seedTimes.push(performance.now() - started)
      if (page.items.length === 0) throw new Error(`seed design: empty page at depth ${position.depth}`)
      globalThis.gc?.()
      await reconnect(pageUrl(served.url, largest, PAGE_LIMIT, position.cursor))
      for (let i = 0; i < OURS_REPEATS_PER_SEED_DEPTH; i++) oursTimes.push((await get(pageUrl(served.url, largest, PAGE_LIMIT, position.cursor))).ms)
    }
    const seed = {
      application: largest.application!,
      mesh: largest.mesh,
      depths: depths.map((position) => position.depth),
      seedMatches,
      viewEvents: largest.viewEvents,
      seedP50Ms: round(percentile(seedTimes, 0.5)),
      oursP50Ms: round(percentile(oursTimes, 0.5)),
      speedup: Math.round(percentile(seedTimes, 0.5) / percentile(oursTimes, 0.5)),
      note: 'seed: SELECT * of the mesh into JS objects, filter to the application, sort, slice, in-process (no HTTP) and without correlation, so it matches seedMatches of the viewEvents our view holds; ours: HTTP GET at the same depths',
    }

    // 5. Searches combined with an entity, a mesh and a time range (issue 11).
    const search: Record<string, { total: number; totalCapped: boolean; p50Ms: number; p99Ms: number }> = {}
    const searchBases = [
      ['largest application', largest.path],
      ['largest application, every mesh', everyMesh.path],
      ['mesh-wide', meshWide.path],
      ['every mesh, 24h', '/api/v1/events?since=24h'],
    ] as const
    for (const word of SEARCH_WORDS) {
      for (const [name, path] of searchBases) {
        const url = `${served.url}${path}&q=${encodeURIComponent(word)}&limit=${PAGE_LIMIT}`
        log(`search "${word}" in ${name}`)
        const first = JSON.parse((await get(url)).body) as EventPage
        const times: number[] = []
        for (let i = 0; i < SEARCH_SAMPLES; i++) times.push((await get(url)).ms)
        search[`${name} q=${word}`] = { total: first.total, totalCapped: first.totalCapped, p50Ms: round(percentile(times, 0.5)), p99Ms: round(percentile(times, 0.99)) }
      }
    }

    // 6. Histograms and facets.
    const histogramShapes = [
      ['largest application, 7 days', `${largest.path.replace('/events?', '/events/histogram?')}&since=7d`],
      ['largest application, 7 days, warnings', `${largest.path.replace('/events?', '/events/histogram?')}&since=7d&type=warning`],
      ['largest application, every mesh, 7 days', `${everyMesh.path.replace('/events?', '/events/histogram?')}&since=7d`],
      ['mesh-wide, 7 days', `${meshWide.path.replace('/events?', '/events/histogram?')}&since=7d`],
      ['largest application, facets of reason', `${largest.path.replace('/events?', '/events/facets?')}&field=reason`],
    ] as const
    const histogram: Record<string, { url: string; p50Ms: number; p99Ms: number; maxMs: number }> = {}
    for (const [name, path] of histogramShapes) {
      log(`${name}`)
      for (let i = 0; i < WARMUP_REQUESTS; i++) await get(`${served.url}${path}`)
      const times: number[] = []
      for (let i = 0; i < HISTOGRAM_SAMPLES; i++) times.push((await get(`${served.url}${path}`)).ms)
      histogram[name] = latencyFigures(path, times)
    }

    // 7. Export of every event, streamed.
    const exports: Record<string, { rows: number; seconds: number; rowsPerSecond: number; rssGrowthMb: number; bytesMb: number }> = {}
    for (const format of ['ndjson', 'csv'] as const) {
      log(`export of every event as ${format}`)
      exports[format] = await measureExport(served, `${served.url}/api/v1/events/export?format=${format}&max=1000000`, format)
    }

    const ratio = round(ours.eventsPerSecond / raw.eventsPerSecond)
    const pkOnlyRatio = round(ours.eventsPerSecond / pkOnly.eventsPerSecond)
    const bytesPerEvent = Math.round(rows.ours.bytes / count)
    const rssMb = mb(memory.rss)
    const targets: Target[] = [
      { name: 'ingest ratio ours/raw', value: ratio, target: '>= 0.5', met: ratio >= 0.5 },
      { name: 'ingest ratio ours/primary-key-only table', value: pkOnlyRatio, target: '>= 0.4', met: pkOnlyRatio >= 0.4 },
      { name: 'bytes per event (database file)', value: bytesPerEvent, target: '<= 1000', met: bytesPerEvent <= 1000 },
      ...shapes.map((shape) => {
        const value = timeline[shape.name]!.p99Ms
        return { name: `timeline p99 ms: ${shape.name}`, value, target: '<= 5', met: value <= 5 }
      }),
      {
        name: 'histogram p99 ms: largest application, 7 days',
        value: histogram['largest application, 7 days']!.p99Ms,
        target: '<= 50',
        met: histogram['largest application, 7 days']!.p99Ms <= 50,
      },
      { name: 'speedup over seed design (p50)', value: seed.speedup, target: '>= 100', met: seed.speedup >= 100 },
      { name: 'RSS MB after ingest', value: rssMb, target: '<= 300', met: rssMb <= 300 },
    ]
    const results = {
      date: new Date().toISOString(),
      node: process.version,
      events: count,
      data: {
        meshes: MESHES.map((mesh) => mesh.name),
        applications: world.applications.length,
        instances: world.instanceCount,
        services: world.serviceCount,
        days: 7,
        averageMessageChars: round(stats.messageChars / count, 1),
        warningShare: round(stats.warnings / count, 3),
      },
      ingest: {
        ours,
        raw,
        ratio,
        pkOnly,
        pkOnlyRatio,
        bytesPerEvent,
        publicationSize: PUBLICATION_SIZE,
        maxPublicationsInFlight: MAX_IN_FLIGHT,
        rows,
        sameRows,
      },
      memory: {
        rssMb,
        rssBeforeIngestMb: mb(rssBeforeIngest),
        heapUsedMb: mb(memory.heapUsed),
        externalMb: mb(memory.external),
        includes: 'the whole bench process right after our ingest, after gc: server (Express, bus, writer, SQLite connection with its 64 MiB page cache), tsx, the event generator; before the raw baseline database is opened',
      },
      timeline,
      seed,
      search,
      histogram,
      exports,
      targets,
    }

    console.log(`\nEventline benchmark: ${count.toLocaleString('en-US')} events, ${results.data.applications} applications, ${results.data.instances} instances, ${results.data.services} services, 3 meshes, 7 days`)
    console.log(`messages ${results.data.averageMessageChars} chars on average, ${round(results.data.warningShare * 100, 1)}% warnings\n`)
    const fmt = (n: number) => n.toLocaleString('en-US')
    printTable([
      ['figure', 'value', 'detail', 'note'],
      ['ingest, ours (bus + batched writer)', `${fmt(ours.eventsPerSecond)} events/s`, `${ours.seconds} s`, `+${ours.generationSeconds} s generation excluded`],
      ['ingest, raw prepared inserts', `${fmt(raw.eventsPerSecond)} events/s`, `${raw.seconds} s`, `+${raw.generationSeconds} s generation excluded`],
      ['ingest, raw into a primary-key-only table', `${fmt(pkOnly.eventsPerSecond)} events/s`, `${pkOnly.seconds} s`, `ours/this ${pkOnlyRatio}; ${fmt(pkOnly.bytesPerEvent)} bytes/event`],
      ['bytes per event, ours', fmt(bytesPerEvent), `${mb(rows.ours.bytes)} MB`, 'database file and WAL'],
      ['rows written (events / event_links), ours', `${fmt(rows.ours.events)} / ${fmt(rows.ours.eventLinks)}`, `${mb(rows.ours.bytes)} MB`, ''],
      ['rows written (events / event_links), raw', `${fmt(rows.raw.events)} / ${fmt(rows.raw.eventLinks)}`, `${mb(rows.raw.bytes)} MB`, sameRows ? 'same rows as ours (counts, 1,000 sampled events)' : 'DIFFERENT ROWS FROM OURS'],
      ['RSS after ingest (heap used)', `${rssMb} MB`, `${mb(memory.heapUsed)} MB`, `before ingest ${mb(rssBeforeIngest)} MB`],
      ...shapes.map((shape): [string, string, string, string] => {
        const figures = timeline[shape.name]!
        return [
          `timeline ${shape.name} p50 / p99 / max`,
          `${figures.p50Ms} / ${figures.p99Ms} / ${figures.maxMs} ms`,
          `${fmt(figures.viewEvents)} events`,
          `store alone p50 / p99 ${figures.storeP50Ms} / ${figures.storeP99Ms} ms (reader threads), ${figures.directP50Ms} / ${figures.directP99Ms} ms (this thread); ${shape.path}`,
        ]
      }),
      ['seed design p50 / ours p50, same pages', `${seed.seedP50Ms} / ${seed.oursP50Ms} ms`, `${seed.speedup}x`, `depths ${seed.depths.join(', ')}`],
      ...Object.entries(search).map(([name, figures]): [string, string, string, string] => [
        `search ${name} p50 / p99`,
        `${figures.p50Ms} / ${figures.p99Ms} ms`,
        `total ${fmt(figures.total)}${figures.totalCapped ? '+' : ''}`,
        '',
      ]),
      ...Object.entries(histogram).map(([name, figures]): [string, string, string, string] => [`${name} p50 / p99 / max`, `${figures.p50Ms} / ${figures.p99Ms} / ${figures.maxMs} ms`, '', figures.url]),
      ...Object.entries(exports).map(([format, figures]): [string, string, string, string] => [
        `export ${format}`,
        `${fmt(figures.rowsPerSecond)} rows/s`,
        `${fmt(figures.rows)} rows, ${figures.bytesMb} MB in ${figures.seconds} s`,
        `RSS growth while streaming ${figures.rssGrowthMb} MB`,
      ]),
    ])
    console.log('')
    printTable([
      ['target', 'value', 'target', 'result'],
      ...targets.map((target): [string, string, string, string] => [target.name, String(target.value), target.target, target.met ? 'PASS' : 'MISS']),
    ])
    mergeResults(results)
    console.log(`\nwrote ${RESULTS_FILE}`)
  } finally {
    await served?.stop()
    await store?.close()
    await server.stop()
    agent.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.env.BENCH_SQLITE !== '0') await main()
if (process.env.BENCH_DB) await mainPostgres(process.env.BENCH_DB)

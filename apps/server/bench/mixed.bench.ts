/**
 * `pnpm bench` (alone: `BENCH=mixed pnpm bench`): reads and writes at once, against a real server
 * process (`src/main.ts` with its writer and reader threads, a temp SQLite file).
 *
 * 1. Seeds `MIXED_SEED` events (default 100,000) through the API, so timelines are not trivially small.
 * 2. For `MIXED_SECONDS` (default 30) posts 2,000 events/s in batches of 100 every 50 ms, while 20
 *    clients page timelines one request after another (an application, a service, the mesh, each
 *    with and without `q`, following `nextCursor` up to 5 pages) and a prober asks `/healthz`.
 * 3. Stops the server and checks from the database that every posted event is stored exactly once.
 *
 * `MIXED_SEED`, `MIXED_SECONDS`, `MIXED_Q=0` (no `q` walks) and `MIXED_THINK_MS` (a pause after each
 * page: each reader then pages at most 1000 / that many times a second) change the run. By
 * default the readers do not pause, so the server is saturated and a page's latency is mostly its
 * wait behind the other 19 readers' pages (20 readers over the pages served per second).
 *
 * Reports timeline p50/p99/max with and without `q`, `/healthz` worst case, POST latency and the
 * achieved rate. Targets: timeline p99 <= 50 ms, `/healthz` <= 1 s. This process is the client
 * only: the server's CPU use is its own, but both share the machine.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { EventPage } from '@eventline/shared'
import { startServerProcess } from '../src/testing/eventlineProcess.ts'
import { latency, mergeResults, printTable, RESULTS_FILE, round, showLatency } from './results.ts'
import { cpuSeconds, scrape, showStage, stage } from './serverBreakdown.ts'
import type { Scrape } from './serverBreakdown.ts'

const SEED = Number(process.env.MIXED_SEED ?? 100_000)
const SECONDS = Number(process.env.MIXED_SECONDS ?? 30)
/** `MIXED_Q=0` leaves `q` out of the readers' walks (to tell full-text search from the rest). */
const WITH_Q = process.env.MIXED_Q !== '0'
/** Pause of each reader after each page, ms (default 0: one request after another). */
const THINK_MS = Number(process.env.MIXED_THINK_MS ?? 0)
const RATE_PER_S = 2_000
const BATCH = 100
const READERS = 20
const PAGES_PER_WALK = 5
const TOKEN = 'bench-token-123'
const MESH = 'mixed'
const APPLICATIONS = Array.from({ length: 50 }, (_, i) => `app-${i}`)
const SERVICES = Array.from({ length: 20 }, (_, i) => `com.example.mixed.Service${i}`)
const WORDS = 'timeout refused restarted pulled scheduled evicted backoff unhealthy registered deregistered throttled upgraded degraded recovered'.split(' ')

/**
 * One connection pool per kind of client, as separate clients would have: with one shared pool of 64
 * sockets, POSTs answered slowly held every socket and the readers' and the prober's requests queued
 * in this process for a free one (a run measured `/healthz` at 14.9 s while the server's event loop
 * was never blocked for more than 0.8 s).
 */
const agents = {
  post: new Agent({ keepAlive: true }),
  read: new Agent({ keepAlive: true, maxSockets: READERS }),
  probe: new Agent({ keepAlive: true, maxSockets: 1 }),
}

/** One HTTP request with the token; resolves with status, body and wall time. */
function call(base: string, method: 'GET' | 'POST', path: string, body?: unknown, agent: Agent = method === 'POST' ? agents.post : agents.read): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now()
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, agent, headers: { authorization: `Bearer ${TOKEN}`, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

let nextId = 0
function postedBatch(size: number) {
  return Array.from({ length: size }, () => {
    const n = nextId++
    return {
      id: `mixed:${n}`,
      type: n % 7 === 0 ? 'warning' : 'normal',
      reason: `Reason${n % 30}`,
      message: `${WORDS[n % WORDS.length]} ${WORDS[(n * 7) % WORDS.length]} on ${APPLICATIONS[n % APPLICATIONS.length]} instance ${n % 400}`,
      mesh: MESH,
      application: APPLICATIONS[(n * 13) % APPLICATIONS.length],
      service: SERVICES[(n * 11) % SERVICES.length],
      instance: `10.1.${n % 250}.${n % 200}:20880`,
    }
  })
}

const timelinePaths = [
  `/api/v1/applications/${APPLICATIONS[1]}/events?mesh=${MESH}`,
  `/api/v1/services/${SERVICES[3]}/events?mesh=${MESH}`,
  `/api/v1/events?mesh=${MESH}`,
]

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-mixed-'))
  const db = join(dir, 'mixed.db')
  const log = (message: string) => console.error(`[bench] ${message}`)
  const server = await startServerProcess(['--db', db, '--token', TOKEN])
  try {
    log(`seeding ${SEED.toLocaleString('en-US')} events through the API`)
    for (let seeded = 0; seeded < SEED; seeded += 1000) {
      const answer = await call(server.url, 'POST', '/api/v1/events', postedBatch(Math.min(1000, SEED - seeded)))
      if (answer.status !== 202) throw new Error(`seeding: ${answer.status} ${answer.text}`)
    }
    const seededIds = nextId

    log(`mixed load: ${RATE_PER_S} events/s for ${SECONDS} s, ${READERS} timeline readers, /healthz probed`)
    const postMs: number[] = []
    const postFailures: string[] = []
    const acknowledged = new Set<string>()
    const pages = { plain: [] as number[], q: [] as number[] }
    const readFailures = { plain: [] as string[], q: [] as string[] }
    const health: number[] = []
    let running = true
    // Where the server's time goes in the window (its /metrics), and whose CPU the machine spends.
    const before = await scrape(server.url)
    const serverCpuBefore = cpuSeconds(server.child.pid!)
    const clientCpuBefore = process.cpuUsage()
    const loadBefore = loadavg()[0]!
    const started = performance.now()

    const posts: Array<Promise<void>> = []
    const writer = (async () => {
      const batches = (SECONDS * RATE_PER_S) / BATCH
      for (let i = 0; i < batches; i++) {
        // A steady schedule: batch i goes out at i * 50 ms, whether or not earlier ones answered.
        const due = started + (i * BATCH * 1000) / RATE_PER_S
        const wait = due - performance.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        const body = postedBatch(BATCH)
        posts.push(
          call(server.url, 'POST', '/api/v1/events', body).then(
            (answer) => {
              postMs.push(answer.ms)
              if (answer.status === 202) for (const event of body) acknowledged.add(event.id)
              else postFailures.push(`${answer.status} ${answer.text.slice(0, 200)}`)
            },
            (error: unknown) => void postFailures.push(String(error)),
          ),
        )
      }
      await Promise.all(posts)
    })()

    const reader = async (index: number) => {
      let walk = index
      while (running) {
        const withQ = WITH_Q && walk % 2 === 1
        const base = timelinePaths[walk % timelinePaths.length]! + (withQ ? `&q=${WORDS[walk % WORDS.length]}` : '')
        walk++
        let cursor: string | null = null
        for (let page = 0; page < PAGES_PER_WALK && running; page++) {
          const answer = await call(server.url, 'GET', `${base}&limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
          if (answer.status !== 200) {
            // Counted and reported, not fatal: a 503 at the query budget is a figure of the run.
            ;(withQ ? readFailures.q : readFailures.plain).push(`${answer.status} ${answer.text.slice(0, 200)}`)
            break
          }
          ;(withQ ? pages.q : pages.plain).push(answer.ms)
          cursor = (JSON.parse(answer.text) as EventPage).nextCursor
          if (THINK_MS > 0) await new Promise((resolve) => setTimeout(resolve, THINK_MS))
          if (cursor === null) break
        }
      }
    }
    const readers = Array.from({ length: READERS }, (_, index) => reader(index))
    const prober = (async () => {
      while (running) health.push((await call(server.url, 'GET', '/healthz', undefined, agents.probe)).ms)
    })()

    await writer
    const loadSeconds = (performance.now() - started) / 1000
    const after = await scrape(server.url)
    const serverCpu = cpuSeconds(server.child.pid!) - serverCpuBefore
    const clientCpuMicros = process.cpuUsage(clientCpuBefore)
    const clientCpu = (clientCpuMicros.user + clientCpuMicros.system) / 1e6
    const loadAfter = loadavg()[0]!
    running = false
    await Promise.all([...readers, prober])
    expectNothing(postFailures, 'POST failures')
    for (const [kind, failures] of Object.entries(readFailures)) if (failures.length > 0) log(`timeline failures (${kind}): ${failures.length}, first: ${failures[0]}`)

    log('stopping the server and counting what was stored')
    const code = await server.stop()
    // null: it ended itself by SIGTERM because query threads cut off at their budget still ran (main.ts).
    if (code !== 0 && code !== null) throw new Error(`the server exited with ${code}:\n${server.output().slice(-2000)}`)
    const check = new Database(db, { readonly: true })
    const storedIds = new Set(check.prepare("SELECT id FROM events WHERE id LIKE 'mixed:%'").pluck().all() as string[])
    const rows = check.prepare("SELECT count(*) FROM events WHERE id LIKE 'mixed:%'").pluck().get() as number
    check.close()
    const posted = nextId
    const missing = [...acknowledged].filter((id) => !storedIds.has(id)).length
    const exactlyOnce = rows === posted && storedIds.size === posted && missing === 0

    const plain = latency(pages.plain)
    const qLatency = latency(pages.q)
    const healthz = latency(health)
    const post = latency(postMs)
    const loadEvents = posted - seededIds
    const results = {
      date: new Date().toISOString(),
      node: process.version,
      seedEvents: seededIds,
      loadSeconds: round(loadSeconds),
      loadEvents,
      achievedEventsPerSecond: Math.round(loadEvents / loadSeconds),
      readers: READERS,
      thinkMs: THINK_MS,
      timeline: { ...plain, failures: readFailures.plain.length },
      timelineWithQ: { ...qLatency, failures: readFailures.q.length },
      healthz,
      post,
      stored: { posted, rows, distinct: storedIds.size, acknowledgedMissing: missing, exactlyOnce },
      loadAverage: { before: loadBefore, after: loadAfter },
      cpu: { serverCores: round(serverCpu / loadSeconds), clientCores: round(clientCpu / loadSeconds) },
      server: breakdown(before, after),
      targets: [
        { name: 'timeline p99 ms during the load (no q)', value: plain.p99Ms, target: '<= 50', met: plain.p99Ms <= 50 && readFailures.plain.length === 0 },
        // Only when the walks searched (`MIXED_Q=0` leaves `q` out: no figure, not a miss).
        ...(WITH_Q ? [{ name: 'timeline p99 ms during the load (q)', value: qLatency.p99Ms, target: '<= 50', met: qLatency.p99Ms <= 50 && readFailures.q.length === 0 }] : []),
        { name: '/healthz worst ms during the load', value: healthz.maxMs, target: '<= 1000', met: healthz.maxMs <= 1000 },
        { name: 'every event stored exactly once', value: exactlyOnce ? 1 : 0, target: '1', met: exactlyOnce },
      ],
    }
    console.log(`\nMixed load: ${loadEvents.toLocaleString('en-US')} events posted in ${results.loadSeconds} s over ${seededIds.toLocaleString('en-US')} seeded, ${READERS} timeline readers${THINK_MS > 0 ? `, each pausing ${THINK_MS} ms after a page` : ''}\n`)
    printTable([
      ['figure', 'value', 'detail', 'note'],
      ['timeline page p50 / p99 / max (no q)', showLatency(plain), `${plain.samples} pages`, `limit 20, up to 5 pages per walk; ${readFailures.plain.length} not 200`],
      ['timeline page p50 / p99 / max (q)', showLatency(qLatency), `${qLatency.samples} pages`, `one word of the messages; ${readFailures.q.length} not 200 (503 at the query budget)`],
      ['/healthz p50 / p99 / max', showLatency(healthz), `${healthz.samples} probes`, ''],
      ['POST of 100 events p50 / p99 / max', showLatency(post), `${post.samples} posts`, `${results.achievedEventsPerSecond} events/s achieved`],
      ['stored (rows / distinct / acknowledged missing)', `${rows} / ${storedIds.size} / ${missing}`, `${posted} posted`, exactlyOnce ? 'every event exactly once' : 'NOT EXACTLY ONCE'],
    ])
    console.log(`\nWhere the server's time went (its /metrics over the load window; load average ${round(loadBefore)} -> ${round(loadAfter)}, server ${results.cpu.serverCores} cores, this client ${results.cpu.clientCores} cores of ${cpus().length})\n`)
    printTable([['stage', 'figures', 'calls', 'seconds in all'], ...Object.entries(results.server).map(([name, figures]): [string, string, string, string] => ('meanMs' in figures ? [name, showStage(figures), String(figures.count), String(figures.totalS)] : [name, figures.text, '', '']))])
    console.log('')
    printTable([['target', 'value', 'target', 'result'], ...results.targets.map((t): [string, string, string, string] => [t.name, String(t.value), t.target, t.met ? 'PASS' : 'MISS'])])
    // A paced run is kept beside the saturated one, not over it.
    mergeResults(THINK_MS > 0 ? { mixedPaced: results } : { mixed: results })
    console.log(`\nwrote ${RESULTS_FILE}`)
  } finally {
    await server.stop()
    for (const agent of Object.values(agents)) agent.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The server's stages over the window: store threads, the writer's queue, its event loop, GC. */
function breakdown(before: Scrape, after: Scrape) {
  const lag = (name: string) => round((after.get(`nodejs_eventloop_lag_${name}_seconds`) ?? NaN) * 1000)
  const gcSeconds = [...after.keys()].filter((key) => key.startsWith('nodejs_gc_duration_seconds_sum')).reduce((sum, key) => sum + after.get(key)! - (before.get(key) ?? 0), 0)
  return {
    // prom-client samples the loop with a 10 ms timer and records the whole interval between its
    // runs: an idle loop reads about 10 ms at every percentile, not 0.
    'event loop delay (main thread)': { text: `p50 ${lag('p50')} / p99 ${lag('p99')} / max ${lag('max')} ms (an idle loop reads ~10: the 10 ms sampling timer)` },
    'GC pauses (main thread)': { text: `${round(gcSeconds, 3)} s in all` },
    'reader: wait for a reader': stage(before, after, 'eventline_store_call_seconds', 'role="reader",stage="wait"'),
    'reader: run in the thread': stage(before, after, 'eventline_store_call_seconds', 'role="reader",stage="run"'),
    'reader: hop between threads': stage(before, after, 'eventline_store_call_seconds', 'role="reader",stage="hop"'),
    'POST: wait in the batched writer': stage(before, after, 'eventline_write_wait_seconds'),
    'writer: one batch (call to answer)': stage(before, after, 'eventline_batch_write_seconds'),
    'writer: run in the thread (commit)': stage(before, after, 'eventline_store_call_seconds', 'role="writer",stage="run"'),
    'writer: hop between threads': stage(before, after, 'eventline_store_call_seconds', 'role="writer",stage="hop"'),
  }
}

function expectNothing(failures: readonly string[], what: string): void {
  if (failures.length > 0) throw new Error(`${what}: ${failures.length}, first: ${failures[0]}`)
}

await main()

/**
 * `pnpm bench` (alone: `BENCH=kubernetes pnpm bench`): the Kubernetes source end to end, from the
 * test API server writing a watch line to the event coming back from `GET /api/v1/events`.
 *
 * 1. Freshness: 1,000 events at 200/s (one every 5 ms on a drift-free schedule). For each, the
 *    time from `api.add()` returning (the server has written the watch line) to the event first
 *    appearing on a poller's page. One poller fetches the newest 200 events of the cluster in a
 *    tight loop and stamps each id when its response arrives: the stamp is late by at most one
 *    poll, so the poll interval is the resolution. The in-process commit time (the bus's `stored`
 *    notification) splits the latency into "watch to commit" and "commit to seen".
 * 2. Storm: 20,000 events as fast as the test API server can write them (yielding every
 *    `STORM_YIELD_EVERY` events so sockets flush), into a fresh Eventline. All must be stored
 *    exactly once (a walk of the whole cluster timeline through the API: 20,000 items, 20,000
 *    distinct ids, exactly the ids added). Meanwhile one client reads the cluster timeline and an
 *    application timeline (limit 20) back to back without pause: their p50 and p99.
 *
 * Everything (test API server, Eventline with its SQLite writer, poller and clients) shares one
 * Node process and one event loop; the output says so. Prints a table, merges its figures into
 * `bench-results.json` at the repository root under `kubernetes`. Not part of CI.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { IntervalHistogram } from 'node:perf_hooks'
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises'
import type { EventPage } from '@eventline/shared'
import type { SqliteStore } from '../src/store/sqlite/sqliteStore.ts'
import type { StoredEvent } from '../src/store/types.ts'
import { APPLICATIONS, benchEvent, CLUSTER, startBenchCluster, until } from './kubernetesCluster.ts'
import { latency, mergeResults, printTable, RESULTS_FILE, round, showLatency } from './results.ts'
import type { BenchCluster } from './kubernetesCluster.ts'

const FRESH_EVENTS = 1_000
const FRESH_INTERVAL_MS = 5
const FRESH_POLL_LIMIT = 200
const STORM_EVENTS = 20_000
/** The test API server writes this many watch lines between yields to the event loop. */
const STORM_YIELD_EVERY = 100
const TIMELINE_LIMIT = 20
const IDLE_SAMPLES = 200
const WARMUP_REQUESTS = 50
const SETTLE_TIMEOUT_MS = 10_000
const STORM_TIMEOUT_MS = 90_000
const FRESHNESS_TARGET_MS = 500
const STORM_P99_TARGET_MS = 50

interface Target {
  name: string
  value: number | string
  target: string
  met: boolean
}

const fmt = (n: number) => n.toLocaleString('en-US')


async function get(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now()
  const response = await fetch(url)
  const body = await response.text()
  const ms = performance.now() - started
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${body}`)
  return { ms, body }
}

const eventsUrl = (base: string, limit: number, cursor?: string) =>
  `${base}/api/v1/events?mesh=${CLUSTER}&limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`

/** The i-th URL of the timeline client: the cluster timeline, then each application's in turn. */
function timelineUrl(base: string, i: number): { kind: 'cluster' | 'application'; url: string } {
  if (i % 2 === 0) return { kind: 'cluster', url: eventsUrl(base, TIMELINE_LIMIT) }
  const application = APPLICATIONS[Math.floor(i / 2) % APPLICATIONS.length]!
  return { kind: 'application', url: `${base}/api/v1/applications/${application}/events?mesh=${CLUSTER}&limit=${TIMELINE_LIMIT}` }
}

/** Every item id of the cluster timeline, walking it in pages of 200. */
async function walkCluster(base: string): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | undefined
  for (;;) {
    const page = JSON.parse((await get(eventsUrl(base, 200, cursor))).body) as EventPage
    ids.push(...page.items.map((item) => item.id))
    if (page.nextCursor === null) return ids
    cursor = page.nextCursor
  }
}

/** Whether the cluster timeline holds exactly `expected`, each once. */
async function exactlyOnce(base: string, expected: ReadonlySet<string>): Promise<{ items: number; distinct: number; missing: number; unexpected: number; ok: boolean }> {
  const ids = await walkCluster(base)
  const distinct = new Set(ids)
  const missing = [...expected].filter((id) => !distinct.has(id)).length
  const unexpected = [...distinct].filter((id) => !expected.has(id)).length
  return { items: ids.length, distinct: distinct.size, missing, unexpected, ok: ids.length === expected.size && distinct.size === expected.size && missing === 0 && unexpected === 0 }
}

/** One histogram of `/metrics` (Prometheus text): count, sum, and the cumulative buckets. */
async function histogram(base: string, name: string): Promise<{ count: number; sumSeconds: number; buckets: Array<{ le: string; count: number }> }> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN)
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((match) => ({ le: match[1]!, count: Number(match[2]) }))
  return { count: value(new RegExp(`^${name}_count (\\d+)$`, 'm')), sumSeconds: value(new RegExp(`^${name}_sum ([\\d.e+-]+)$`, 'm')), buckets }
}

/** Batch write figures from `/metrics`: how many transactions, their mean, and the slowest bucket reached. */
async function batchWrites(base: string): Promise<{ batches: number; meanMs: number; slowestBucketMs: string }> {
  const { count, sumSeconds, buckets } = await histogram(base, 'eventline_batch_write_seconds')
  const finite = buckets.filter((bucket) => bucket.le !== '+Inf')
  const below = finite.filter((bucket) => bucket.count < count)
  const slowest = below.length === finite.length ? '> 1000' : below.length === 0 ? `<= ${Number(finite[0]!.le) * 1000}` : `${Number(below.at(-1)!.le) * 1000}-${Number(finite[below.length]!.le) * 1000}`
  return { batches: count, meanMs: round((sumSeconds / count) * 1000), slowestBucketMs: slowest }
}

const loopDelay = (h: IntervalHistogram) => ({ p99Ms: round(h.percentile(99) / 1e6, 1), maxMs: round(h.max / 1e6, 1) })

/** Requests of the test API server for the events collection: how often the source listed and watched. */
function eventRequests(cluster: BenchCluster): { lists: number; watches: number } {
  const requests = cluster.api.requests.filter((request) => request.path === '/api/v1/events')
  return { lists: requests.filter((request) => !request.watch).length, watches: requests.filter((request) => request.watch).length }
}

const countRows = (cluster: BenchCluster, table: 'events' | 'event_links') => (cluster.eventline.store as SqliteStore).database.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number

async function freshness(cluster: BenchCluster) {
  const { api, eventline, pods } = cluster
  const addedAt = new Map<string, number>()
  const storedAt = new Map<string, number>()
  const seenAt = new Map<string, number>()
  const unsubscribe = eventline.bus.onStored((events: readonly StoredEvent[]) => {
    const now = performance.now()
    for (const { item } of events) if (!storedAt.has(item.id)) storedAt.set(item.id, now)
  })

  // The poller: newest FRESH_POLL_LIMIT events of the cluster, back to back.
  let polling = true
  const pollIntervals: number[] = []
  const poller = (async () => {
    let previous = performance.now()
    while (polling) {
      const { body } = await get(eventsUrl(eventline.url, FRESH_POLL_LIMIT))
      const now = performance.now()
      const page = JSON.parse(body) as EventPage
      pollIntervals.push(now - previous)
      previous = now
      for (const { id } of page.items) if (!seenAt.has(id)) seenAt.set(id, now)
    }
  })()
  await sleep(200)
  pollIntervals.length = 0

  // Drift-free pacing: event i is due at start + i * interval, however late the previous one was.
  const lateness: number[] = []
  const start = performance.now() + 10
  let first = 0
  let last = 0
  for (let i = 0; i < FRESH_EVENTS; i++) {
    const due = start + i * FRESH_INTERVAL_MS
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    const object = benchEvent(`fresh-${i}`, pods[i % pods.length]!, 'BenchFresh', `fresh event ${i}`)
    const sentAt = performance.now()
    const added = api.add('events', object)
    const returned = performance.now()
    addedAt.set(`kubernetes:${added.metadata.uid!}`, returned)
    lateness.push(sentAt - due)
    if (i === 0) first = sentAt
    last = sentAt
  }
  const sendSeconds = (last - first) / 1000
  // Failing to settle is reported by the figures (stored, seen), not thrown.
  await until(() => [...addedAt.keys()].every((id) => storedAt.has(id)), SETTLE_TIMEOUT_MS, 'the fresh events to be stored').catch(() => undefined)
  // A moment for the poller to see the last ones (what the page pushed out meanwhile it cannot).
  await until(() => [...addedAt.keys()].every((id) => seenAt.has(id)), 2_000, 'the poller').catch(() => undefined)
  polling = false
  await poller
  unsubscribe()

  const toSeen: number[] = []
  const toStored: number[] = []
  const storedToSeen: number[] = []
  for (const [id, added] of addedAt) {
    const seen = seenAt.get(id)
    const stored = storedAt.get(id)
    if (seen !== undefined) toSeen.push(seen - added)
    if (stored !== undefined) toStored.push(stored - added)
    if (seen !== undefined && stored !== undefined) storedToSeen.push(seen - stored)
  }
  const check = await exactlyOnce(eventline.url, new Set(addedAt.keys()))
  return {
    events: FRESH_EVENTS,
    rateTarget: 1000 / FRESH_INTERVAL_MS,
    rateAchieved: round((FRESH_EVENTS - 1) / sendSeconds, 1),
    sendLateness: latency(lateness),
    pollLimit: FRESH_POLL_LIMIT,
    pollInterval: latency(pollIntervals),
    seen: toSeen.length,
    notSeenByPoller: FRESH_EVENTS - toSeen.length,
    writeToApi: latency(toSeen),
    writeToCommit: latency(toStored),
    commitToSeen: latency(storedToSeen),
    stored: check,
    batchWrites: await batchWrites(eventline.url),
    eventsRequests: eventRequests(cluster),
  }
}

async function storm(cluster: BenchCluster) {
  const { api, eventline, pods } = cluster
  for (let i = 0; i < WARMUP_REQUESTS; i++) await get(timelineUrl(eventline.url, i).url)
  // The same reads with no storm, for comparison.
  const idle = { cluster: [] as number[], application: [] as number[] }
  for (let i = 0; i < IDLE_SAMPLES; i++) {
    const { kind, url } = timelineUrl(eventline.url, i)
    idle[kind].push((await get(url)).ms)
  }

  const created = new Set<string>()
  let rewrites = 0
  let lastStored = 0
  const unsubscribe = eventline.bus.onStored((events: readonly StoredEvent[]) => {
    lastStored = performance.now()
    for (const event of events) {
      if (event.created) created.add(event.item.id)
      else rewrites++
    }
  })
  const requestsBefore = eventRequests(cluster)
  const loop = monitorEventLoopDelay({ resolution: 5 })

  // The timeline client: back to back until the storm is stored.
  let reading = true
  const during = { cluster: [] as number[], application: [] as number[] }
  const client = (async () => {
    for (let i = 0; reading; i++) {
      const { kind, url } = timelineUrl(eventline.url, i)
      during[kind].push((await get(url)).ms)
    }
  })()

  loop.enable()
  const expected = new Set<string>()
  let addMs = 0
  const started = performance.now()
  for (let i = 0; i < STORM_EVENTS; i++) {
    const object = benchEvent(`storm-${i}`, pods[i % pods.length]!, i % 10 === 0 ? 'BackOff' : 'Pulled', `storm event ${i}`)
    const before = performance.now()
    expected.add(`kubernetes:${api.add('events', object).metadata.uid!}`)
    addMs += performance.now() - before
    if (i % STORM_YIELD_EVERY === STORM_YIELD_EVERY - 1) await yieldToLoop()
  }
  const sent = performance.now()
  await until(() => created.size + rewrites >= STORM_EVENTS && [...expected].every((id) => created.has(id)), STORM_TIMEOUT_MS, 'the storm to be stored').catch((error: unknown) =>
    console.error(`[bench] ${(error as Error).message}`),
  )
  const ingested = lastStored
  reading = false
  await client
  loop.disable()
  unsubscribe()

  const ingestSeconds = (ingested - started) / 1000
  const requestsAfter = eventRequests(cluster)
  return {
    events: STORM_EVENTS,
    sendSeconds: round((sent - started) / 1000),
    sendEventsPerSecond: Math.round(STORM_EVENTS / ((sent - started) / 1000)),
    addSeconds: round(addMs / 1000),
    yieldEvery: STORM_YIELD_EVERY,
    ingestSeconds: round(ingestSeconds),
    ingestEventsPerSecond: Math.round(STORM_EVENTS / ingestSeconds),
    stored: await exactlyOnce(eventline.url, expected),
    linksPerEvent: round(countRows(cluster, 'event_links') / countRows(cluster, 'events'), 1),
    created: created.size,
    rewrites,
    timelineDuringStorm: { cluster: latency(during.cluster), application: latency(during.application) },
    timelineIdle: { cluster: latency(idle.cluster), application: latency(idle.application) },
    eventLoopDelay: loopDelay(loop),
    batchWrites: await batchWrites(eventline.url),
    eventsRequests: { lists: requestsAfter.lists - requestsBefore.lists, watches: requestsAfter.watches - requestsBefore.watches },
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-bench-kubernetes-'))
  const log = (message: string) => console.error(`[bench] ${message}`)
  const logged: string[] = []
  try {
    log(`freshness: ${fmt(FRESH_EVENTS)} events at ${1000 / FRESH_INTERVAL_MS}/s`)
    const freshCluster = await startBenchCluster(dir, 'freshness')
    const fresh = await freshness(freshCluster).finally(async () => {
      logged.push(...freshCluster.logged)
      await freshCluster.stop()
    })
    log(`freshness: p50 ${fresh.writeToApi.p50Ms} ms, p99 ${fresh.writeToApi.p99Ms} ms`)

    log(`storm: ${fmt(STORM_EVENTS)} events as fast as the test API server writes them`)
    const stormCluster = await startBenchCluster(dir, 'storm')
    const stormed = await storm(stormCluster).finally(async () => {
      logged.push(...stormCluster.logged)
      await stormCluster.stop()
    })
    log(`storm: ${fmt(stormed.ingestEventsPerSecond)} events/s, timeline p99 ${stormed.timelineDuringStorm.cluster.p99Ms} / ${stormed.timelineDuringStorm.application.p99Ms} ms`)

    const cores = availableParallelism()
    const setup = `one Node ${process.version} process on ${cores} cores: test API server, Eventline (source, bus, batched writer, HTTP) and the measuring clients share one event loop; SQLite writes run on Eventline's writer thread`
    const targets: Target[] = [
      { name: 'freshness p99 ms (watch line written -> in GET /api/v1/events)', value: fresh.writeToApi.p99Ms, target: `<= ${FRESHNESS_TARGET_MS}`, met: fresh.writeToApi.p99Ms <= FRESHNESS_TARGET_MS && fresh.notSeenByPoller === 0 },
      { name: 'freshness: every event stored exactly once', value: `${fmt(fresh.stored.distinct)} / ${fmt(fresh.events)}`, target: 'all, once', met: fresh.stored.ok },
      { name: 'storm: every event stored exactly once', value: `${fmt(stormed.stored.distinct)} / ${fmt(stormed.events)}`, target: 'all, once', met: stormed.stored.ok },
      ...(['cluster', 'application'] as const).map((kind) => {
        const value = stormed.timelineDuringStorm[kind].p99Ms
        return { name: `storm: ${kind} timeline p99 ms (limit ${TIMELINE_LIMIT})`, value, target: `<= ${STORM_P99_TARGET_MS}`, met: value <= STORM_P99_TARGET_MS }
      }),
    ]
    const results = { date: new Date().toISOString(), node: process.version, cores, setup, freshness: fresh, storm: stormed, eventlineWarnings: logged.length, targets }

    console.log(`\nEventline Kubernetes benchmark: cluster "${CLUSTER}", ${APPLICATIONS.length} applications, ${freshCluster.pods.length} pods, test API server over HTTP on 127.0.0.1`)
    console.log(`${setup}.\n`)
    const walked = (check: typeof fresh.stored) => `${fmt(check.items)} items, ${fmt(check.distinct)} distinct`
    const once = (check: typeof fresh.stored) => (check.ok ? 'exactly the ids added' : `${check.missing} missing, ${check.unexpected} unexpected`)
    printTable([
      ['figure', 'value', 'detail', 'note'],
      ['freshness: sending', `${fresh.rateAchieved} events/s`, `${fmt(fresh.events)} events`, `target ${fresh.rateTarget}/s; lateness against schedule p50 / p99 / max ${showLatency(fresh.sendLateness)}`],
      ['freshness: write -> in API p50 / p99 / max', showLatency(fresh.writeToApi), `${fmt(fresh.seen)} seen`, `resolution: poll interval p50 / p99 ${fresh.pollInterval.p50Ms} / ${fresh.pollInterval.p99Ms} ms (limit ${fresh.pollLimit}, newest first)`],
      ['freshness: write -> committed p50 / p99 / max', showLatency(fresh.writeToCommit), 'in-process', 'watch read, normalise, publish, batch wait (100 ms timer), transaction'],
      ['freshness: committed -> in API p50 / p99 / max', showLatency(fresh.commitToSeen), 'polling', 'bounded by the poll interval'],
      ['freshness: stored (API walk)', walked(fresh.stored), `${fmt(fresh.batchWrites.batches)} batches`, `${once(fresh.stored)}; batch mean ${fresh.batchWrites.meanMs} ms; events lists / watches ${fresh.eventsRequests.lists} / ${fresh.eventsRequests.watches}`],
      ['storm: test API server writing', `${fmt(stormed.sendEventsPerSecond)} events/s`, `${stormed.sendSeconds} s`, `${stormed.addSeconds} s of it inside add(); yields every ${stormed.yieldEvery} lines`],
      ['storm: ingest (first write -> last commit)', `${fmt(stormed.ingestEventsPerSecond)} events/s`, `${stormed.ingestSeconds} s`, `${fmt(stormed.created)} created, ${fmt(stormed.rewrites)} rewritten`],
      ['storm: stored (API walk)', walked(stormed.stored), `${fmt(stormed.batchWrites.batches)} batches`, `${once(stormed.stored)}; ${stormed.linksPerEvent} links per event; events lists / watches during storm ${stormed.eventsRequests.lists} / ${stormed.eventsRequests.watches}`],
      ['storm: batch transaction mean / slowest', `${stormed.batchWrites.meanMs} ms / ${stormed.batchWrites.slowestBucketMs} ms`, '', 'from /metrics eventline_batch_write_seconds (whole run of this instance); on the writer thread'],
      ...(['cluster', 'application'] as const).map((kind): [string, string, string, string] => [
        `storm: ${kind} timeline p50 / p99 / max`,
        showLatency(stormed.timelineDuringStorm[kind]),
        `${fmt(stormed.timelineDuringStorm[kind].samples)} requests`,
        `idle p50 / p99 / max ${showLatency(stormed.timelineIdle[kind])}`,
      ]),
      ['storm: event loop delay p99 / max', `${stormed.eventLoopDelay.p99Ms} / ${stormed.eventLoopDelay.maxMs} ms`, '', 'the one loop everything shares, during the storm'],
      ['Eventline warnings and errors logged', String(logged.length), '', logged.length > 0 ? clip(logged[0]!) : ''],
    ])
    console.log('')
    printTable([
      ['target', 'value', 'target', 'result'],
      ...targets.map((target): [string, string, string, string] => [target.name, String(target.value), target.target, target.met ? 'PASS' : 'MISS']),
    ])
    mergeResults({ kubernetes: results })
    console.log(`\nmerged under "kubernetes" into ${RESULTS_FILE}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const clip = (line: string) => (line.length > 120 ? `${line.slice(0, 117)}...` : line)

await main()

/**
 * `BENCH=kubernetes-clusters pnpm bench`: three clusters watched by one Eventline
 * (`EVENTLINE_KUBE_CONTEXTS=*`), each from its own test API server.
 *
 * 1. Freshness per cluster: 1,000 events per cluster at 200/s each (600/s in all), the three
 *    interleaved on one drift-free schedule. One poller per cluster reads the newest 200 events
 *    of its mesh (10 ms between polls) and stamps each id when its response arrives: from
 *    `api.add()` returning (the watch line is written) to first seen, p50 / p99 per cluster; the
 *    bus's commit notification gives "written -> committed" without polling.
 * 2. Storm on one: 20,000 events into the first cluster as fast as its test API server writes
 *    them, while the other two keep sending 200/s each and are measured as in 1. The storm must be
 *    stored exactly once (its mesh's event count), the others must stay fresh.
 *
 * Everything (three test API servers, Eventline with its SQLite writer thread, pollers) shares one
 * Node process and event loop; the output says so. Merges its figures into `bench-results.json`
 * under `kubernetesClusters`. Not part of CI.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises'
import type { EventPage, Mesh } from '@eventline/shared'
import type { StoredEvent } from '../src/store/types.ts'
import { benchEvent, startBenchClusters, until } from './kubernetesCluster.ts'
import type { BenchClusters } from './kubernetesCluster.ts'
import { latency, mergeResults, printTable, RESULTS_FILE, showLatency } from './results.ts'
import type { Latency } from './results.ts'

const NAMES = ['bench-east', 'bench-west', 'bench-north'] as const
const FRESH_EVENTS = 1_000
const FRESH_INTERVAL_MS = 5
const POLL_LIMIT = 200
const POLL_PAUSE_MS = 10
const STORM_EVENTS = 20_000
const STORM_YIELD_EVERY = 100
const SETTLE_TIMEOUT_MS = 15_000
const STORM_TIMEOUT_MS = 120_000
const FRESHNESS_TARGET_MS = 500

const fmt = (n: number) => n.toLocaleString('en-US')

/** Pollers of the newest POLL_LIMIT events of each mesh, stamping when each id is first seen. */
function startPollers(base: string, meshes: readonly string[]) {
  const seenAt = new Map<string, number>()
  let polling = true
  const loops = meshes.map(async (mesh) => {
    while (polling) {
      const response = await fetch(`${base}/api/v1/events?mesh=${mesh}&limit=${POLL_LIMIT}`)
      const page = (await response.json()) as EventPage
      const now = performance.now()
      for (const { id } of page.items) if (!seenAt.has(id)) seenAt.set(id, now)
      // A short pause: back-to-back pages of 200 from several pollers would load the one event
      // loop more than the clusters do. Resolution stays well under the targets.
      await sleep(POLL_PAUSE_MS)
    }
  })
  return {
    seenAt,
    stop: async () => {
      polling = false
      await Promise.all(loops)
    },
  }
}

/**
 * Sends FRESH_EVENTS events to each of `clusters` at 1 per FRESH_INTERVAL_MS each, interleaved,
 * until `keepGoing()` is false when given (then as long as it holds, at least FRESH_EVENTS).
 */
async function sendFresh(
  setup: BenchClusters,
  clusters: readonly number[],
  prefix: string,
  addedAt: Map<string, { cluster: number; at: number }>,
  keepGoing?: () => boolean,
): Promise<void> {
  const start = performance.now() + 10
  for (let i = 0; i < FRESH_EVENTS || keepGoing?.(); i++) {
    const wait = start + i * FRESH_INTERVAL_MS - performance.now()
    if (wait > 0) await sleep(wait)
    for (const index of clusters) {
      const { api, pods } = setup.clusters[index]!
      const added = api.add('events', benchEvent(`${prefix}-${i}`, pods[i % pods.length]!, 'BenchFresh', `fresh event ${i}`))
      addedAt.set(`kubernetes:${added.metadata.uid!}`, { cluster: index, at: performance.now() })
    }
  }
}

/** Commit stamps from the bus (in-process): when each event id was first stored. */
function stampCommits(setup: BenchClusters) {
  const storedAt = new Map<string, number>()
  const unsubscribe = setup.eventline.bus.onStored((events: readonly StoredEvent[]) => {
    const now = performance.now()
    for (const { item } of events) if (!storedAt.has(item.id)) storedAt.set(item.id, now)
  })
  return { storedAt, unsubscribe }
}

/** Freshness per cluster from send, commit and seen stamps. */
function perCluster(addedAt: Map<string, { cluster: number; at: number }>, storedAt: Map<string, number>, seenAt: Map<string, number>, clusters: readonly number[]) {
  return clusters.map((index) => {
    const delays: number[] = []
    const commits: number[] = []
    let sent = 0
    for (const [id, { cluster, at }] of addedAt) {
      if (cluster !== index) continue
      sent++
      const seen = seenAt.get(id)
      if (seen !== undefined) delays.push(seen - at)
      const stored = storedAt.get(id)
      if (stored !== undefined) commits.push(stored - at)
    }
    return { cluster: NAMES[index]!, sent, notSeen: sent - delays.length, notStored: sent - commits.length, writeToApi: latency(delays), writeToCommit: latency(commits) }
  })
}

const meshEvents = async (base: string): Promise<Map<string, number>> => {
  const body = (await (await fetch(`${base}/api/v1/meshes`)).json()) as { items: Mesh[] }
  return new Map(body.items.map((mesh) => [mesh.name, mesh.counts.events]))
}

async function freshness(setup: BenchClusters) {
  const all = NAMES.map((_, index) => index)
  const commits = stampCommits(setup)
  const pollers = startPollers(setup.eventline.url, NAMES)
  await sleep(200)
  const addedAt = new Map<string, { cluster: number; at: number }>()
  await sendFresh(setup, all, 'fresh', addedAt)
  await until(() => [...addedAt.keys()].every((id) => pollers.seenAt.has(id)), SETTLE_TIMEOUT_MS, 'every fresh event to be seen').catch(() => undefined)
  await pollers.stop()
  commits.unsubscribe()
  return perCluster(addedAt, commits.storedAt, pollers.seenAt, all)
}

async function stormOnOne(setup: BenchClusters) {
  const quiet = [1, 2]
  const before = await meshEvents(setup.eventline.url)
  const commits = stampCommits(setup)
  const pollers = startPollers(setup.eventline.url, quiet.map((index) => NAMES[index]!))
  await sleep(200)
  const addedAt = new Map<string, { cluster: number; at: number }>()
  let storming = true
  const fresh = sendFresh(setup, quiet, 'during-storm', addedAt, () => storming)

  const { api, pods } = setup.clusters[0]!
  const started = performance.now()
  for (let i = 0; i < STORM_EVENTS; i++) {
    api.add('events', benchEvent(`storm-${i}`, pods[i % pods.length]!, i % 10 === 0 ? 'BackOff' : 'Pulled', `storm event ${i}`))
    if (i % STORM_YIELD_EVERY === STORM_YIELD_EVERY - 1) await yieldToLoop()
  }
  const sent = performance.now()
  const target = (before.get(NAMES[0]) ?? 0) + STORM_EVENTS
  let stored = before.get(NAMES[0]) ?? 0
  await until(
    async () => {
      stored = (await meshEvents(setup.eventline.url)).get(NAMES[0]) ?? 0
      return stored >= target
    },
    STORM_TIMEOUT_MS,
    'the storm to be stored',
  ).catch((error: unknown) => console.error(`[bench] ${(error as Error).message}`))
  const ingested = performance.now()
  storming = false
  await fresh
  await until(() => [...addedAt.keys()].every((id) => pollers.seenAt.has(id)), SETTLE_TIMEOUT_MS, 'every fresh event to be seen').catch(() => undefined)
  await pollers.stop()
  commits.unsubscribe()
  return {
    storm: {
      cluster: NAMES[0],
      events: STORM_EVENTS,
      sendSeconds: Math.round(sent - started) / 1000,
      ingestSeconds: Math.round(ingested - started) / 1000,
      ingestEventsPerSecond: Math.round(STORM_EVENTS / ((ingested - started) / 1000)),
      storedOnce: stored - (before.get(NAMES[0]) ?? 0),
    },
    quiet: perCluster(addedAt, commits.storedAt, pollers.seenAt, quiet),
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-bench-clusters-'))
  const log = (message: string) => console.error(`[bench] ${message}`)
  try {
    log(`freshness: ${fmt(FRESH_EVENTS)} events per cluster at ${1000 / FRESH_INTERVAL_MS}/s each, ${NAMES.length} clusters`)
    const first = await startBenchClusters(dir, 'freshness', NAMES)
    const fresh = await freshness(first).finally(() => first.stop())
    for (const each of fresh) log(`${each.cluster}: p50 ${each.writeToApi.p50Ms} ms, p99 ${each.writeToApi.p99Ms} ms`)

    log(`storm: ${fmt(STORM_EVENTS)} events into ${NAMES[0]} while the others send ${1000 / FRESH_INTERVAL_MS}/s each`)
    const second = await startBenchClusters(dir, 'storm', NAMES)
    const storm = await stormOnOne(second).finally(() => second.stop())
    const logged = [...first.logged, ...second.logged]

    const cores = availableParallelism()
    const setup = `one Node ${process.version} process on ${cores} cores: three test API servers, Eventline (three Kubernetes sources, bus, batched writer, HTTP) and the pollers share one event loop; SQLite writes run on Eventline's writer thread`
    const met = (figures: { notStored: number; writeToApi: Latency }) => figures.notStored === 0 && figures.writeToApi.p99Ms <= FRESHNESS_TARGET_MS
    const targets = [
      ...fresh.map((each) => ({ name: `freshness p99 ms, ${each.cluster} (3 clusters at 200/s each)`, value: each.writeToApi.p99Ms, target: `<= ${FRESHNESS_TARGET_MS}`, met: met(each) })),
      ...storm.quiet.map((each) => ({ name: `freshness p99 ms, ${each.cluster}, during a storm on ${NAMES[0]}`, value: each.writeToApi.p99Ms, target: `<= ${FRESHNESS_TARGET_MS}`, met: met(each) })),
      { name: `storm on ${NAMES[0]}: every event stored once`, value: `${fmt(storm.storm.storedOnce)} / ${fmt(STORM_EVENTS)}`, target: 'all, once', met: storm.storm.storedOnce === STORM_EVENTS },
    ]
    const results = { date: new Date().toISOString(), node: process.version, cores, setup, freshness: fresh, stormOnOne: storm, eventlineWarnings: logged.length, targets }

    console.log(`\nEventline Kubernetes benchmark, several clusters: ${NAMES.join(', ')}; ${setup}.\n`)
    printTable([
      ['figure', 'write -> in API p50 / p99 / max', 'events', 'write -> committed p50 / p99 / max'],
      ...fresh.map((each): [string, string, string, string] => [`freshness ${each.cluster}`, showLatency(each.writeToApi), fmt(each.sent), `${showLatency(each.writeToCommit)}; ${each.notSeen} not seen by its poller`]),
      [`storm ${NAMES[0]}: send / ingest`, `${storm.storm.sendSeconds} s / ${storm.storm.ingestSeconds} s`, fmt(storm.storm.events), `${fmt(storm.storm.ingestEventsPerSecond)} events/s stored; ${fmt(storm.storm.storedOnce)} counted in its mesh`],
      ...storm.quiet.map((each): [string, string, string, string] => [`freshness ${each.cluster} during storm`, showLatency(each.writeToApi), fmt(each.sent), `${showLatency(each.writeToCommit)}; ${each.notSeen} not seen by its poller (page of ${POLL_LIMIT})`]),
      ['Eventline warnings and errors logged', String(logged.length), '', logged[0]?.slice(0, 100) ?? ''],
    ])
    console.log('')
    printTable([['target', 'value', 'target', 'result'], ...targets.map((target): [string, string, string, string] => [target.name, String(target.value), target.target, target.met ? 'PASS' : 'MISS'])])
    mergeResults({ kubernetesClusters: results })
    console.log(`\nmerged under "kubernetesClusters" into ${RESULTS_FILE}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()

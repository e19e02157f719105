/**
 * `pnpm bench` (alone: `BENCH=zookeeper pnpm bench`): the ZooKeeper source end to end, against a
 * real ZooKeeper (Debian's package, started by `src/testing/zookeeperServer.ts`).
 *
 * 1. Register burst: 1,000 Dubbo providers (ephemeral URL nodes under one interface, as 1,000
 *    provider processes starting at once) created by one writer client without waiting for each
 *    reply. Measured: from the first create sent to all 1,000 `ProviderRegistered` events counted
 *    by `GET /api/v1/events` (polled back to back: the poll interval is the resolution), then a
 *    walk of the mesh timeline checks each provider has exactly one event.
 * 2. Unregister burst: the writer's session closes, ZooKeeper deletes the 1,000 nodes at once;
 *    the same measure for `ProviderUnregistered`.
 *
 * The server's packet counter (`srvr`) gives how many requests the source made meanwhile: one-shot
 * watches re-armed per burst of fires, not one re-read of the folder per provider. Everything but
 * ZooKeeper (a JVM) shares one Node process. Prints a table and merges its figures into
 * `bench-results.json` at the repository root under `zookeeper`. Not part of CI.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EventPage, Mesh } from '@eventline/shared'
import { parseRegistries } from '../src/config.ts'
import { startEventline } from '../src/eventline.ts'
import type { Eventline } from '../src/eventline.ts'
import { createLogger } from '../src/log.ts'
import { connectWriter, dubboUrl, dubboUrlPath, receivedPackets, startZooKeeper } from '../src/testing/zookeeperServer.ts'
import type { ZooKeeperServer } from '../src/testing/zookeeperServer.ts'
import { mergeResults, printTable, RESULTS_FILE, round } from './results.ts'

const MESH = 'zk-bench'
const SERVICE = 'org.apache.dubbo.demo.DemoService'
const PROVIDERS = 1_000
const TARGET_MS = 2_000
const TIMEOUT_MS = 30_000


async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const total = async (eventline: Eventline, reason: string) => (await getJson<EventPage>(`${eventline.url}/api/v1/events?mesh=${MESH}&reason=${reason}&limit=1`)).total

/** Every event of `reason` in the mesh, walking the timeline: how many, and how many distinct instances. */
async function walk(eventline: Eventline, reason: string): Promise<{ items: number; instances: Set<string> }> {
  const instances = new Set<string>()
  let items = 0
  let cursor: string | null = null
  do {
    const page: EventPage = await getJson<EventPage>(`${eventline.url}/api/v1/events?mesh=${MESH}&reason=${reason}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    items += page.items.length
    for (const item of page.items) if (item.instance) instances.add(item.instance)
    cursor = page.nextCursor
  } while (cursor)
  return { items, instances }
}

interface BurstResult {
  providers: number
  /** First write sent -> all events counted by the API. */
  toApiMs: number
  polls: number
  events: number
  distinctInstances: number
  missing: number
  /** Requests the source sent to ZooKeeper during the burst (server packets minus the writer's; pings included). */
  sourceRequests: number
  ok: boolean
}

async function measure(eventline: Eventline, zk: ZooKeeperServer, reason: string, writerPackets: number, expected: Set<string>, burst: () => Promise<void>): Promise<BurstResult> {
  const before = await receivedPackets(zk)
  const started = performance.now()
  await burst()
  let polls = 0
  await until(
    async () => {
      polls++
      return (await total(eventline, reason)) >= PROVIDERS
    },
    TIMEOUT_MS,
    `${PROVIDERS} ${reason} events`,
  ).catch((error: unknown) => console.error(`[bench] ${(error as Error).message}`))
  const toApiMs = performance.now() - started
  const after = await receivedPackets(zk)
  const { items, instances } = await walk(eventline, reason)
  const missing = [...expected].filter((instance) => !instances.has(instance)).length
  return {
    providers: PROVIDERS,
    toApiMs: round(toApiMs, 1),
    polls,
    events: items,
    distinctInstances: instances.size,
    missing,
    // Approximate: the counter also holds pings of both clients.
    sourceRequests: after - before - writerPackets,
    ok: items === PROVIDERS && instances.size === PROVIDERS && missing === 0,
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-bench-zookeeper-'))
  const log = (message: string) => console.error(`[bench] ${message}`)
  const logged: string[] = []
  const zk = await startZooKeeper()
  let eventline: Eventline | undefined
  try {
    eventline = await startEventline(
      { port: 0, host: '127.0.0.1', db: join(dir, 'bench.db'), retentionMs: 30 * 86_400_000, demo: false, registries: parseRegistries(`zookeeper://127.0.0.1:${zk.serverPort}?name=${MESH}`) },
      createLogger('warn', (line) => logged.push(line)),
    )
    const url = eventline.url
    await until(async () => (await getJson<{ items: Mesh[] }>(`${url}/api/v1/meshes`)).items.find((mesh) => mesh.name === MESH)?.status === 'connected', TIMEOUT_MS, 'the mesh to connect')
    await until(async () => (await total(eventline!, 'RegistrySynced')) === 1, TIMEOUT_MS, 'the first sync')

    const writer = await connectWriter(`127.0.0.1:${zk.serverPort}`)
    const nodes = Array.from({ length: PROVIDERS }, (_, i) => {
      const ip = `10.20.${Math.floor(i / 250)}.${(i % 250) + 1}`
      return { instance: `${ip}:20880`, path: dubboUrlPath(dubboUrl({ ip, service: SERVICE, application: `bench-app-${i % 20}`, version: '1.0.0', timestamp: Date.now() }), { service: SERVICE }) }
    })
    // The folders exist before the burst, as they do once the interface has had a provider.
    await new Promise<void>((resolve, reject) => writer.client.mkdirp(`/dubbo/${SERVICE}/providers`, (error) => (error ? reject(error) : resolve())))
    await until(async () => (await receivedPackets(zk)) > 0, TIMEOUT_MS, 'ZooKeeper')
    const expected = new Set(nodes.map((node) => node.instance))

    log(`register burst: ${PROVIDERS} providers`)
    const registered = await measure(eventline, zk, 'ProviderRegistered', PROVIDERS, expected, () => writer.createMany(nodes))
    log(`register burst: ${registered.toApiMs} ms, ${registered.events} events`)
    log(`unregister burst: the writer's session closes`)
    // Closing the session is one packet; ZooKeeper then deletes the ephemeral nodes itself.
    const unregistered = await measure(eventline, zk, 'ProviderUnregistered', 1, expected, async () => writer.close())
    log(`unregister burst: ${unregistered.toApiMs} ms, ${unregistered.events} events`)

    const cores = availableParallelism()
    const setup = `ZooKeeper 3.8 (one JVM, standalone, on 127.0.0.1) and one Node ${process.version} process on ${cores} cores: writer client, Eventline (source, bus, batched writer, HTTP) and the polling client share one event loop`
    const targets = [
      { name: `register burst: ${PROVIDERS} providers -> all in GET /api/v1/events (ms)`, value: registered.toApiMs, target: `<= ${TARGET_MS}`, met: registered.toApiMs <= TARGET_MS && registered.ok },
      { name: 'register burst: one event per provider, none missing', value: `${registered.distinctInstances} / ${PROVIDERS}, ${registered.missing} missing`, target: 'all, once', met: registered.ok },
      { name: 'unregister burst: one event per provider, none missing', value: `${unregistered.distinctInstances} / ${PROVIDERS}, ${unregistered.missing} missing`, target: 'all, once', met: unregistered.ok },
    ]
    const results = { date: new Date().toISOString(), node: process.version, cores, setup, register: registered, unregister: unregistered, eventlineWarnings: logged.length, targets }

    console.log(`\nEventline ZooKeeper benchmark: ${PROVIDERS} Dubbo providers of one interface registering, then unregistering, at once`)
    console.log(`${setup}.\n`)
    const row = (name: string, burst: BurstResult): Array<[string, string, string, string]> => [
      [`${name}: write -> all in API`, `${burst.toApiMs} ms`, `${burst.polls} polls`, 'from the first create sent (or the session closed) to the API counting them all'],
      [`${name}: stored (API walk)`, `${burst.events} events`, `${burst.distinctInstances} instances`, burst.ok ? 'exactly one per provider' : `${burst.missing} missing`],
      [`${name}: source requests to ZooKeeper`, String(burst.sourceRequests), '', 'coalesced re-reads of the folder after its watch fired'],
    ]
    printTable([
      ['figure', 'value', 'detail', 'note'],
      ...row('register', registered),
      ...row('unregister', unregistered),
      ['Eventline warnings and errors logged', String(logged.length), '', logged.length > 0 ? clip(logged[0]!) : ''],
    ])
    console.log('')
    printTable([['target', 'value', 'target', 'result'], ...targets.map((target): [string, string, string, string] => [target.name, String(target.value), target.target, target.met ? 'PASS' : 'MISS'])])
    mergeResults({ zookeeper: results })
    console.log(`\nmerged under "zookeeper" into ${RESULTS_FILE}`)
  } finally {
    await eventline?.stop()
    await zk.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const clip = (line: string) => (line.length > 120 ? `${line.slice(0, 117)}...` : line)

await main()

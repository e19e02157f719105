/**
 * `pnpm bench` (alone: `BENCH=nacos pnpm bench`): the Nacos source end to end, against the test
 * Nacos server (`src/testing/nacosServer.ts`, a 2.x: v1 and v2 API, UDP push; no JVM here).
 *
 * Measured: one instance registered on Nacos -> that instance `registered: true` in
 * `GET /api/v1/instances/{ip:port}` (the API polled back to back, 2 ms apart: its resolution),
 * one registration at a time, p50 / p99 / max over `SAMPLES` registrations, each of a new instance
 * of a service the source already follows:
 * 1. with push (the default for a Nacos on this machine): Nacos sends a datagram, the source polls
 *    that service at once;
 * 2. polling only (`push=off`): the change waits for the service's next poll, every `cacheMillis`.
 *    Real Nacos asks for 10 s (`cacheMillis` of its answers); this benchmark serves 1 s so it ends
 *    in a minute: with polling only, the latency is spread over one poll interval, whatever it is
 *    (p50 about half of it, p99 nearly all of it).
 * Registrations are spread over `SERVICES` services with one instance each to start with, each at
 * a random point of the poll cycle. The batched writer's flush (every 100 ms) is the floor of both.
 *
 * Everything shares one Node process (the test Nacos server, Eventline, the polling client).
 * Prints a table and merges its figures into `bench-results.json` under `nacos`. Not part of CI.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EventPage, Instance, Mesh } from '@eventline/shared'
import { parseRegistries } from '../src/config.ts'
import { startEventline } from '../src/eventline.ts'
import type { Eventline } from '../src/eventline.ts'
import { createLogger } from '../src/log.ts'
import { startNacosServer } from '../src/testing/nacosServer.ts'
import type { NacosServer } from '../src/testing/nacosServer.ts'
import { latency, mergeResults, printTable, RESULTS_FILE, showLatency } from './results.ts'
import type { Latency } from './results.ts'

const MESH = 'nacos-bench'
const SERVICES = 20
const SAMPLES = Number(process.env.NACOS_BENCH_SAMPLES ?? 60)
/** `cacheMillis` the test server asks for (real Nacos: 10,000). */
const CACHE_MILLIS = 1_000
const TARGET_PUSH_P99_MS = 500
const TIMEOUT_MS = 30_000

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url)
  return { status: response.status, body: (await response.json()) as T }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

const service = (i: number) => `providers:com.bench.Service${String(i).padStart(2, '0')}::`

interface Run {
  mode: 'push' | 'polling'
  latency: Latency
  /** Requests the source sent to Nacos during the samples. */
  requests: number
  pushes: number
}

async function run(mode: 'push' | 'polling', log: (message: string) => void): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-bench-nacos-'))
  const nacos: NacosServer = await startNacosServer({ version: '2.x', cacheMillis: CACHE_MILLIS })
  let eventline: Eventline | undefined
  try {
    for (let i = 0; i < SERVICES; i++) nacos.register(service(i), { ip: `10.30.${i}.1`, port: 20880, metadata: { application: `bench-app-${i}` } })
    eventline = await startEventline(
      {
        port: 0,
        host: '127.0.0.1',
        db: join(dir, 'bench.db'),
        retentionMs: 30 * 86_400_000,
        demo: false,
        registries: parseRegistries(`nacos://${nacos.address}?name=${MESH}${mode === 'polling' ? '&push=off' : ''}`),
      },
      createLogger('warn', () => {}),
    )
    const url = eventline.url
    await until(async () => (await getJson<{ items: Mesh[] }>(`${url}/api/v1/meshes`)).body.items.find((mesh) => mesh.name === MESH)?.status === 'connected', TIMEOUT_MS, 'the mesh to connect')
    await until(async () => (await getJson<EventPage>(`${url}/api/v1/events?mesh=${MESH}&reason=RegistrySynced&limit=1`)).body.total === 1, TIMEOUT_MS, 'the first sync')
    const requestsBefore = nacos.requests.length
    const samples: number[] = []
    for (let n = 0; n < SAMPLES; n++) {
      const i = n % SERVICES
      const ip = `10.30.${i}.${Math.floor(n / SERVICES) + 2}`
      // Registered at a random point of the poll cycle, as real registrations are (right after the
      // last detection would be just after a poll: a whole interval to wait every time).
      await new Promise((resolve) => setTimeout(resolve, Math.random() * CACHE_MILLIS))
      const started = performance.now()
      nacos.register(service(i), { ip, port: 20880, metadata: { application: `bench-app-${i}` } })
      await until(async () => {
        const answer = await getJson<Instance>(`${url}/api/v1/instances/${ip}:20880?mesh=${MESH}`)
        return answer.status === 200 && answer.body.registered
      }, TIMEOUT_MS, `${ip}:20880 in the API`, 2)
      samples.push(performance.now() - started)
    }
    const figures = latency(samples)
    log(`${mode}: ${showLatency(figures)}`)
    return { mode, latency: figures, requests: nacos.requests.length - requestsBefore, pushes: nacos.pushes.length }
  } finally {
    await eventline?.stop()
    await nacos.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const log = (message: string) => console.error(`[bench] ${message}`)
  const push = await run('push', log)
  const polling = await run('polling', log)
  const cores = availableParallelism()
  const setup = `test Nacos server (2.x: v1 + v2 API, UDP push) and Eventline in one Node ${process.version} process on ${cores} cores; ${SAMPLES} registrations, one at a time, over ${SERVICES} followed services; cacheMillis ${CACHE_MILLIS} ms (real Nacos: 10,000)`
  const targets = [{ name: 'registration -> queryable, with push, p99 (ms)', value: push.latency.p99Ms, target: `<= ${TARGET_PUSH_P99_MS}`, met: push.latency.p99Ms <= TARGET_PUSH_P99_MS }]
  console.log('\nEventline Nacos benchmark: an instance registered on Nacos -> registered in GET /api/v1/instances/{ip:port}')
  console.log(`${setup}.\n`)
  printTable([
    ['mode', 'p50 / p99 / max', 'requests to Nacos', 'note'],
    ['with UDP push', showLatency(push.latency), String(push.requests), `${push.pushes} pushes; the pushed service polled at once`],
    ['polling only (push=off)', showLatency(polling.latency), String(polling.requests), `bounded by the poll interval (${CACHE_MILLIS} ms here)`],
  ])
  console.log('')
  printTable([['target', 'value', 'target', 'result'], ...targets.map((target): [string, string, string, string] => [target.name, String(target.value), target.target, target.met ? 'PASS' : 'MISS'])])
  mergeResults({ nacos: { date: new Date().toISOString(), node: process.version, cores, setup, push, polling, targets } })
  console.log(`\nmerged under "nacos" into ${RESULTS_FILE}`)
}

await main()

/**
 * The set-up the Nacos source's integration specs share: a test Nacos server, an Eventline on a
 * temp SQLite file following it as one mesh, and the reads of that mesh through the HTTP API.
 * Each test starts what it needs (its Nacos version, URL query, tuning); every test's servers are
 * stopped and its files removed after it.
 */
import type { EventItem, EventPage, Mesh } from '@eventline/shared'
import { afterEach, beforeEach, expect } from 'vitest'
import { parseRegistries } from '../config.ts'
import type { NacosTuning } from '../sources/nacos/nacosSource.ts'
import { startNacosServer } from './nacosServer.ts'
import type { NacosHost, NacosServer, NacosServerOptions } from './nacosServer.ts'
import { restartableTestServer } from './testServer.ts'
import type { RestartableTestServer, TestServer } from './testServer.ts'

export interface NacosHarnessOptions {
  /** Name of the mesh, and so of the `nacos://` URL's `name`. */
  mesh: string
  /** Options every `startNacos` call starts from (a spec's cache times). */
  server: NacosServerOptions
  /** The source's tuning where `start` is given none. */
  tuning: NacosTuning
}

export interface NacosHarness {
  /** The test's Nacos server; throws before `startNacos`. */
  readonly nacos: NacosServer
  /** The test's Eventline; throws before `start` or after `stop`. */
  readonly eventline: TestServer
  /** Starts the test Nacos server with the harness's `server` options under `options`. */
  startNacos(options?: NacosServerOptions): Promise<NacosServer>
  /**
   * Starts Eventline on the test's database following `nacos://<address>?name=<mesh><query>`;
   * `address` defaults to the test Nacos server's (a list of servers may be given).
   */
  start(query?: string, tuning?: NacosTuning, address?: string): Promise<TestServer>
  /** Stops Eventline, keeping its database for the next `start`. */
  stop(): Promise<void>
  /** Stops both servers and starts over on a new, empty database (a test that runs several set-ups in turn). */
  reset(): Promise<void>
  /** The mesh's events, newest first, up to 200; `query` is appended (`&reason=...`). */
  events(query?: string): Promise<EventPage>
  /** The mesh as `/api/v1/meshes` shows it, if listed. */
  mesh(): Promise<Mesh | undefined>
  /** The mesh's one event of `reason`; fails unless there is exactly one. */
  one(reason: string): Promise<EventItem>
  /** A Dubbo provider host of application `demo-provider`, version `1.0`, on port 20880; `extra` adds metadata. */
  provider(ip: string, extra?: Record<string, string>): Pick<NacosHost, 'ip' | 'port' | 'metadata'>
}

/**
 * Registers, in the calling `describe`, hooks that give each test a fresh temp directory and stop
 * its Eventline and Nacos server after it; returns the harness those tests start them with.
 */
export function useNacosHarness(options: NacosHarnessOptions): NacosHarness {
  let nacos: NacosServer | undefined
  let eventline: RestartableTestServer | undefined

  const stopAll = async () => {
    await eventline?.close()
    eventline = undefined
    await nacos?.close()
    nacos = undefined
  }
  beforeEach(() => {
    eventline = restartableTestServer()
  })
  afterEach(stopAll)

  const harness: NacosHarness = {
    get nacos() {
      if (!nacos) throw new Error('the test Nacos server is not started: call startNacos() first')
      return nacos
    },
    get eventline() {
      return eventline!.current
    },
    async startNacos(serverOptions = {}) {
      nacos = await startNacosServer({ ...options.server, ...serverOptions })
      return nacos
    },
    start: (query = '', tuning = options.tuning, address = harness.nacos.address) =>
      eventline!.start({ registries: parseRegistries(`nacos://${address}?name=${options.mesh}${query}`), registryTuning: { nacos: tuning } }),
    stop: () => eventline!.stop(),
    async reset() {
      await stopAll()
      eventline = restartableTestServer()
    },
    events: async (query = '') => (await harness.eventline.get<EventPage>(`/api/v1/events?mesh=${options.mesh}&limit=200${query}`)).body,
    mesh: async () => (await harness.eventline.get<{ items: Mesh[] }>('/api/v1/meshes')).body.items.find((item) => item.name === options.mesh),
    async one(reason) {
      const { items } = await harness.events(`&reason=${reason}`)
      expect(items).toHaveLength(1)
      return items[0]!
    },
    provider: (ip, extra = {}) => ({ ip, port: 20880, metadata: { application: 'demo-provider', version: '1.0', ...extra } }),
  }
  return harness
}

import { setTimeout as sleep } from 'node:timers/promises'
import type { ApplicationSummary, EventItem, EventPage, Instance, Mesh, MeshStatus, ServiceDetail } from '@eventline/shared'
import type { EventEmitter } from 'node:events'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Publication } from '../../bus.ts'
import { parseRegistries } from '../../config.ts'
import { silentLogger } from '../../log.ts'
import { ThreadedSqliteStore } from '../../store/sqlite/threadedStore.ts'
import type { WriteBatch } from '../../store/types.ts'
import { eventually as poll } from '../../testing/eventually.ts'
import { startTestServer, tempDir } from '../../testing/testServer.ts'
import type { TestServer } from '../../testing/testServer.ts'
import { connectWriter, dubboUrl, dubboUrlPath, receivedPackets, serviceInstanceJson, sessionCount, skipWithoutZooKeeper, startTcpProxy, startZooKeeper } from '../../testing/zookeeperServer.ts'
import type { TcpProxy, ZkWriter, ZooKeeperServer } from '../../testing/zookeeperServer.ts'
import Database from 'better-sqlite3'
import { MIGRATIONS } from '../../store/sqlite/migrations.ts'
import { ZookeeperSource } from './zookeeperSource.ts'
import type { ZookeeperSourceOptions } from './zookeeperSource.ts'

const MESH = 'zk-test'
const DEMO = 'org.apache.dubbo.demo.DemoService'
const GREETER = 'org.apache.dubbo.demo.GreetingService'
const RESTART_NOTE = 'detected at start-up'
const RECONNECT_NOTE = 'detected on reconnection'

/** ZooKeeper round trips, a JVM and a SQLite writer share two busy cores: a longer default wait than the shared poller's. */
const eventually = <T>(check: () => Promise<T>, timeoutMs = 10_000) => poll(check, timeoutMs)

const provider = (ip: string, port = 20880, service = DEMO, application = 'demo-provider', extra: Partial<Parameters<typeof dubboUrl>[0]> = {}) => {
  const url = dubboUrl({ ip, port, service, application, version: '1.0.0', ...extra })
  return dubboUrlPath(url, { service })
}
const consumer = (ip: string, service = DEMO, application = 'demo-consumer') => dubboUrlPath(dubboUrl({ side: 'consumer', ip, service, application, version: '1.0.0' }), { service, side: 'consumer' })

/** Whether a batch stores the checkpoint `key` of the test mesh (`synced`, `node:/dubbo/...`). */
const stores = (key: string) => (batch: WriteBatch) => batch.checkpoints.some((checkpoint) => checkpoint.key === `${MESH}:${key}`)

/**
 * Makes the store fail writes of batches that `matches` (after `delayMs`, a slow failing disk), as
 * SQLite does on a full disk or an I/O error: the first `times` of them, or all until `heal()`.
 * The server's store is created inside `startEventline`, so the test wraps the class's writer,
 * before or after the server starts.
 */
const failWrites = (matches: (batch: WriteBatch) => boolean, options: { delayMs?: number; times?: number } = {}) => {
  const write = ThreadedSqliteStore.prototype.writeBatch
  let failures = 0
  let healed = false
  let asked!: () => void
  const failing = new Promise<void>((resolve) => (asked = resolve))
  vi.spyOn(ThreadedSqliteStore.prototype, 'writeBatch').mockImplementation(async function (this: ThreadedSqliteStore, batch: WriteBatch) {
    if (healed || failures >= (options.times ?? Infinity) || !matches(batch)) return write.call(this, batch)
    failures++
    asked()
    await sleep(options.delayMs ?? 0)
    throw new Error('disk I/O error (simulated)')
  })
  return { failing, failures: () => failures, heal: () => (healed = true) }
}
const failWriteOnce = (matches: (batch: WriteBatch) => boolean, delayMs = 0) => failWrites(matches, { delayMs, times: 1 })

/**
 * The listeners node-zookeeper-client holds per watched path. Its private registry:
 * `client.connectionManager.watcherManager.{data,child,existence}Watchers`, an EventEmitter per
 * path with one `notification` listener per distinct watcher function (identical functions are
 * registered once; node-zookeeper-client 1.1.x).
 */
const watcherListeners = (source: ZookeeperSource): Map<string, number> => {
  type Registry = Record<string, EventEmitter>
  const session = (source as unknown as { session: { client: { connectionManager: { watcherManager: Record<'dataWatchers' | 'childWatchers' | 'existenceWatchers', Registry> } } } }).session
  const manager = session.client.connectionManager.watcherManager
  const counts = new Map<string, number>()
  for (const type of ['dataWatchers', 'childWatchers', 'existenceWatchers'] as const) {
    for (const [path, emitter] of Object.entries(manager[type])) {
      const listeners = emitter.listeners('notification').length
      if (listeners > 0) counts.set(`${type} ${path}`, listeners)
    }
  }
  return counts
}

/** A source started without a server (`startDirect`), and what it published and reported. */
interface DirectSource {
  source: ZookeeperSource
  publications: Publication[]
  statuses: MeshStatus[]
  /** Full listings so far (each publishes `mesh-synced`). */
  listings(): number
}

describe.skipIf(skipWithoutZooKeeper())('ZooKeeper source', () => {
  let zk: ZooKeeperServer
  let proxy: TcpProxy
  let writer: ZkWriter
  let tmp: ReturnType<typeof tempDir>
  let eventline: TestServer | undefined
  let direct: DirectSource | undefined

  beforeAll(async () => {
    zk = await startZooKeeper()
  })
  afterAll(async () => {
    await zk?.close()
  })
  beforeEach(async () => {
    proxy = await startTcpProxy(zk.port)
    writer = await connectWriter(zk.connectString)
    tmp = tempDir()
  })
  afterEach(async () => {
    vi.restoreAllMocks()
    await eventline?.stop()
    eventline = undefined
    await direct?.source.stop()
    direct = undefined
    for (const root of ['/dubbo', '/gov', '/services']) await writer.removeTree(root)
    writer.close()
    await proxy.close()
    tmp.cleanup()
  })

  /** Eventline on this test's database, watching ZooKeeper through the proxy. */
  const start = async (options: ZookeeperSourceOptions = {}, query = '') => {
    eventline = await startTestServer({
      db: `${tmp.dir}/eventline.db`,
      registries: parseRegistries(`zookeeper://127.0.0.1:${proxy.port}?name=${MESH}${query}`),
      registryTuning: { zookeeper: { spinDelayMs: 50, retryMs: 200, ...options } },
    })
    await eventually(async () => expect((await meshOf()).status).toBe('connected'))
    return eventline
  }
  const stop = async () => {
    await eventline!.stop()
    eventline = undefined
  }
  /**
   * The source alone over an in-memory store, for what only the source itself shows: its client's
   * watcher registry, and each publication (a full listing publishes `mesh-synced`).
   */
  const startDirect = async (options: ZookeeperSourceOptions = {}) => {
    const stored = new Map<string, string>()
    const publications: Publication[] = []
    const statuses: MeshStatus[] = []
    const source = new ZookeeperSource(parseRegistries(`zookeeper://127.0.0.1:${proxy.port}?name=${MESH}`)[0]!, { spinDelayMs: 50, retryMs: 200, ...options })
    await source.start({
      publish: async (publication) => {
        publications.push(publication)
        for (const { key, value } of publication.checkpoints ?? []) {
          if (value === null) stored.delete(key)
          else stored.set(key, value)
        }
      },
      readCheckpoint: async (key) => stored.get(key),
      readCheckpoints: async (prefix) => new Map([...stored].filter(([key]) => key.startsWith(prefix)).map(([key, value]) => [key.slice(prefix.length), value])),
      setStatus: (status) => statuses.push(status),
      reportMalformed: () => undefined,
      log: silentLogger,
    })
    const listings = () => publications.filter((publication) => publication.catalog?.some((change) => change.op === 'mesh-synced')).length
    await eventually(async () => expect(listings()).toBe(1))
    direct = { source, publications, statuses, listings }
    return direct
  }
  /** Cuts the proxy, waits for the source to see it, lets it reconnect and waits for the re-list. */
  const reconnectDirect = async (harness: DirectSource) => {
    const listed = harness.listings()
    proxy.pause()
    await eventually(async () => expect(harness.statuses.at(-1)).toBe('connecting'))
    proxy.resume()
    await eventually(async () => expect(harness.listings()).toBe(listed + 1))
    await eventually(async () => expect(harness.statuses.at(-1)).toBe('connected'))
  }
  const rejectedTotal = async () => {
    const metrics = await (await fetch(`${eventline!.url}/metrics`)).text()
    return [...metrics.matchAll(/^eventline_events_rejected_total\{source="zookeeper",reason="[^"]+"\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0)
  }
  const meshOf = async () => (await eventline!.get<{ items: Mesh[] }>('/api/v1/meshes')).body.items.find((mesh) => mesh.name === MESH)!
  /** Every event of the mesh, newest first. */
  const events = async (query = '') => {
    const items: EventItem[] = []
    let cursor: string | null = null
    do {
      const page: EventPage = (await eventline!.get<EventPage>(`/api/v1/events?mesh=${MESH}&limit=200${query}${cursor ? `&cursor=${cursor}` : ''}`)).body
      items.push(...page.items)
      cursor = page.nextCursor
    } while (cursor)
    return items
  }
  const reasons = async () => (await events()).map((event) => event.reason).sort()
  /** Waits for the first sync's summary, so the changes that follow are watched ones. */
  const synced = async () => eventually(async () => expect(await reasons()).toEqual(['RegistrySynced']))

  it('records one RegistrySynced on the first sync, and the catalog shows what ZooKeeper holds', async () => {
    await writer.create(provider('10.0.0.7'))
    await writer.create(provider('10.0.0.9'))
    await writer.create(provider('10.0.0.7', 20880, GREETER))
    await writer.create(consumer('10.0.0.8'))
    await writer.create('/services/demo-provider/10.0.0.7:20880', serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.7', port: 20880, revision: 'r1' }))
    await writer.create('/dubbo/config/dubbo/demo-provider.tag-router', 'enabled: true\nkey: demo-provider\ntags:\n  - name: gray\n    addresses: ["10.0.0.9:20880"]\n', { persistent: true })
    await writer.create(`/dubbo/mapping/${DEMO}`, 'demo-provider', { persistent: true })
    await start()
    const [summary] = await eventually(async () => {
      const items = await events()
      expect(items.map((item) => item.reason)).toEqual(['RegistrySynced'])
      return items
    })
    expect(summary).toMatchObject({ type: 'normal', category: 'registry', source: 'zookeeper', mesh: MESH })
    expect(summary!.message).toContain('2 applications, 3 instances, 2 services, 3 providers, 1 consumer, 1 config')
    expect((await meshOf()).lastSyncAt).toBeDefined()

    const applications = (await eventline!.get<{ items: ApplicationSummary[] }>(`/api/v1/applications?mesh=${MESH}`)).body.items
    expect(applications.map((app) => app.name).sort()).toEqual(['demo-consumer', 'demo-provider'])
    const service = (await eventline!.get<ServiceDetail>(`/api/v1/services/${DEMO}?mesh=${MESH}`)).body
    expect(service).toMatchObject({ name: DEMO, version: '1.0.0', providers: 2, consumers: 1 })
    expect(service.providerInstances.map((instance) => instance.name).sort()).toEqual(['10.0.0.7:20880', '10.0.0.9:20880'])
    expect(service.consumerInstances.map((instance) => instance.name)).toEqual(['demo-consumer@10.0.0.8'])
    const instances = (await eventline!.get<{ items: Instance[] }>(`/api/v1/instances?mesh=${MESH}`)).body.items
    expect(instances.map((instance) => instance.name).sort()).toEqual(['10.0.0.7:20880', '10.0.0.9:20880', 'demo-consumer@10.0.0.8'])
    expect(instances.find((instance) => instance.name === '10.0.0.7:20880')).toMatchObject({ ip: '10.0.0.7', port: 20880, application: 'demo-provider', registered: true, sources: ['zookeeper'] })
  })

  it('records providers and consumers registering and unregistering', async () => {
    await start()
    await synced()
    const path = provider('10.0.0.7')
    await writer.create(path)
    const consumerWriter = await connectWriter(zk.connectString)
    await consumerWriter.create(consumer('10.0.0.8'))
    const registered = await eventually(async () => {
      const items = await events('&reason=ProviderRegistered,ConsumerRegistered')
      expect(items).toHaveLength(2)
      return items
    })
    expect(registered.find((item) => item.reason === 'ProviderRegistered')).toMatchObject({
      type: 'normal',
      message: `Provider registered: demo-provider 10.0.0.7:20880 -> ${DEMO}`,
      application: 'demo-provider',
      instance: '10.0.0.7:20880',
      ip: '10.0.0.7',
      service: DEMO,
      source: 'zookeeper',
      component: 'zookeeper',
      mesh: MESH,
      category: 'provider',
      action: 'registered',
      object: { kind: 'Provider', name: `${DEMO}:1.0.0` },
    })
    expect(registered.find((item) => item.reason === 'ConsumerRegistered')).toMatchObject({ message: `Consumer registered: demo-consumer 10.0.0.8 -> ${DEMO}`, category: 'consumer', instance: 'demo-consumer@10.0.0.8', ip: '10.0.0.8' })

    await writer.remove(path)
    // The consumer's process dies: its session closes and ZooKeeper removes its ephemeral node.
    consumerWriter.close()
    const gone = await eventually(async () => {
      const items = await events('&reason=ProviderUnregistered,ConsumerUnregistered')
      expect(items).toHaveLength(2)
      return items
    })
    expect(gone.find((item) => item.reason === 'ProviderUnregistered')).toMatchObject({ type: 'warning', category: 'provider', action: 'deregistered', message: `Provider unregistered: demo-provider 10.0.0.7:20880 -> ${DEMO}` })
    expect(gone.find((item) => item.reason === 'ConsumerUnregistered')).toMatchObject({ type: 'normal', category: 'consumer', action: 'deregistered' })
    expect(await reasons()).toEqual(['ConsumerRegistered', 'ConsumerUnregistered', 'ProviderRegistered', 'ProviderUnregistered', 'RegistrySynced'])
    await eventually(async () => expect((await eventline!.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body.registered).toBe(false))
    expect((await eventline!.get<ServiceDetail>(`/api/v1/services/${DEMO}?mesh=${MESH}`)).body).toMatchObject({ providers: 0, consumers: 0 })
    const timeline = (await eventline!.get<EventPage>(`/api/v1/services/${DEMO}/events?mesh=${MESH}`)).body
    expect(timeline.total).toBe(4)
  })

  it('records an application-level instance added, updated and removed', async () => {
    await start()
    await synced()
    const path = '/services/demo-provider/10.0.0.7:20880'
    await writer.create(path, serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.7', port: 20880, revision: 'r1' }))
    await eventually(async () =>
      expect((await events('&reason=InstanceRegistered'))[0]).toMatchObject({
        type: 'normal',
        category: 'instance',
        action: 'registered',
        message: 'Instance registered: demo-provider 10.0.0.7:20880 (revision r1)',
        application: 'demo-provider',
        instance: '10.0.0.7:20880',
        object: { kind: 'Instance', name: '10.0.0.7:20880' },
      }),
    )
    await writer.setData(path, serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.7', port: 20880, revision: 'r2' }))
    await eventually(async () => expect((await events('&reason=InstanceUpdated'))[0]?.message).toBe('Instance updated: demo-provider 10.0.0.7:20880: dubbo.metadata.revision: r1 -> r2'))
    const instance = (await eventline!.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body
    expect(instance).toMatchObject({ application: 'demo-provider', registered: true })
    expect(instance.labels?.['dubbo.metadata.revision']).toBe('r2')
    await writer.remove(path)
    await eventually(async () => expect((await events('&reason=InstanceUnregistered'))[0]).toMatchObject({ type: 'warning', action: 'deregistered' }))
    expect(await reasons()).toEqual(['InstanceRegistered', 'InstanceUnregistered', 'InstanceUpdated', 'RegistrySynced'])
    expect((await eventline!.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body.labels).toBeUndefined()
  })

  it('drops the labels of a deleted application-level instance that its interface-level URL keeps registered', async () => {
    await writer.create(provider('10.0.0.7'))
    await writer.create('/services/demo-provider/10.0.0.7:20880', serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.7', port: 20880, revision: 'r1' }))
    await start()
    await synced()
    const instance = async () => (await eventline!.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body
    expect((await instance()).labels?.['dubbo.metadata.revision']).toBe('r1')
    await writer.remove('/services/demo-provider/10.0.0.7:20880')
    await eventually(async () => expect(await reasons()).toEqual(['InstanceUnregistered', 'RegistrySynced']))
    expect(await instance()).toMatchObject({ registered: true, application: 'demo-provider' })
    expect((await instance()).labels).toBeUndefined()
  })

  it('keeps two consumer applications on one host apart: catalog, counts, membership, restart diff and the IP timeline', async () => {
    const web = consumer('10.5.0.9', DEMO, 'cart-web')
    const job = consumer('10.5.0.9', DEMO, 'cart-job')
    const jobWriter = await connectWriter(zk.connectString)
    await writer.create(web)
    await jobWriter.create(job)
    await writer.create(provider('10.5.0.9', 20880, GREETER, 'cart-api'))
    await start()
    await synced()
    const service = async () => (await eventline!.get<ServiceDetail>(`/api/v1/services/${DEMO}?mesh=${MESH}`)).body
    expect(await service()).toMatchObject({ consumers: 2 })
    expect((await service()).consumerInstances.map((instance) => [instance.name, instance.application, instance.ip])).toEqual([
      ['cart-job@10.5.0.9', 'cart-job', '10.5.0.9'],
      ['cart-web@10.5.0.9', 'cart-web', '10.5.0.9'],
    ])
    const appInstances = async (app: string) => (await eventline!.get<{ instances: Instance[] }>(`/api/v1/applications/${app}?mesh=${MESH}`)).body.instances.map((instance) => instance.name)
    expect(await appInstances('cart-job')).toEqual(['cart-job@10.5.0.9'])
    expect(await appInstances('cart-web')).toEqual(['cart-web@10.5.0.9'])

    // One leaves while the other stays registered.
    jobWriter.close()
    await eventually(async () => expect((await events('&reason=ConsumerUnregistered')).map((item) => item.instance)).toEqual(['cart-job@10.5.0.9']))
    await eventually(async () => expect(await service()).toMatchObject({ consumers: 1 }))
    expect((await service()).consumerInstances.map((instance) => instance.name)).toEqual(['cart-web@10.5.0.9'])
    expect((await eventline!.get<Instance>(`/api/v1/instances/cart-job@10.5.0.9?mesh=${MESH}`)).body.registered).toBe(false)
    expect((await eventline!.get<Instance>(`/api/v1/instances/cart-web@10.5.0.9?mesh=${MESH}`)).body.registered).toBe(true)

    // While Eventline is down, cart-job comes back and cart-web leaves: the restart diff names each.
    await stop()
    const jobAgain = await connectWriter(zk.connectString)
    await jobAgain.create(job)
    await writer.remove(web)
    await start()
    const missed = await eventually(async () => {
      const items = await events('&reason=ConsumerRegistered,ConsumerUnregistered&q=start-up')
      expect(items).toHaveLength(2)
      return items
    })
    expect(missed.map((item) => `${item.reason} ${item.instance}`).sort()).toEqual(['ConsumerRegistered cart-job@10.5.0.9', 'ConsumerUnregistered cart-web@10.5.0.9'])
    expect(await service()).toMatchObject({ consumers: 1 })
    expect((await service()).consumerInstances.map((instance) => instance.name)).toEqual(['cart-job@10.5.0.9'])
    // The instance timeline is the consumer's own; the IP timeline shows every consumer and provider on the host.
    const timeline = async (name: string) => (await eventline!.get<EventPage>(`/api/v1/instances/${name}/events?mesh=${MESH}&limit=200`)).body.items
    expect((await timeline('cart-job@10.5.0.9')).map((item) => item.reason).sort()).toEqual(['ConsumerRegistered', 'ConsumerUnregistered'])
    expect((await timeline('10.5.0.9')).map((item) => item.instance).sort()).toEqual(['cart-job@10.5.0.9', 'cart-job@10.5.0.9', 'cart-web@10.5.0.9'])
    await writer.create(provider('10.5.0.9', 20881, DEMO, 'cart-api'))
    await eventually(async () => expect((await timeline('10.5.0.9')).map((item) => item.instance)).toContain('10.5.0.9:20881'))
    jobAgain.close()
  })

  it('records governance rules added, changed and deleted with what changed', async () => {
    await start()
    await synced()
    const tag = '/dubbo/config/dubbo/demo-provider.tag-router'
    await writer.create(tag, 'force: false\nenabled: true\nkey: demo-provider\ntags:\n  - name: gray\n    addresses: ["10.0.0.9:20880"]\n', { persistent: true })
    await eventually(async () =>
      expect((await events('&reason=ConfigAdded'))[0]).toMatchObject({
        category: 'config',
        action: 'added',
        application: 'demo-provider',
        object: { kind: 'Config', name: 'demo-provider.tag-router' },
        message: 'Config added: tag-router demo-provider: force: false, enabled: true, key: demo-provider, 1 tag (gray (addresses=[10.0.0.9:20880]))',
      }),
    )
    await writer.setData(tag, 'force: false\nenabled: false\nkey: demo-provider\ntags:\n  - name: gray\n    addresses: ["10.0.0.9:20880"]\n')
    await eventually(async () => expect((await events('&reason=ConfigUpdated'))[0]?.message).toBe('Config updated: tag-router demo-provider: enabled: true -> false'))

    const condition = `/dubbo/config/dubbo/${DEMO}::.condition-router`
    await writer.create(condition, `scope: service\nkey: ${DEMO}\nenabled: true\nconditions:\n  - method = sayHello => host = 10.0.0.7\n`, { persistent: true })
    await eventually(async () => expect(await events('&reason=ConfigAdded')).toHaveLength(2))
    await writer.setData(condition, `scope: service\nkey: ${DEMO}\nenabled: true\nconditions:\n  - method = sayHello => host = 10.0.0.7\n  - host = 10.0.0.8 => host != 10.0.0.9\n`)
    await eventually(async () =>
      expect((await events('&reason=ConfigUpdated'))[0]).toMatchObject({ service: DEMO, message: `Config updated: condition-router ${DEMO}::: condition added: host = 10.0.0.8 => host != 10.0.0.9` }),
    )
    await writer.remove(tag)
    await eventually(async () => expect((await events('&reason=ConfigDeleted'))[0]).toMatchObject({ action: 'deleted', message: 'Config deleted: tag-router demo-provider' }))

    // Dubbo 2.6 override rules are URL nodes under the interface.
    const override = `override://0.0.0.0/${DEMO}?category=configurators&dynamic=false&enabled=true&timeout=5000`
    await writer.create(`/dubbo/${DEMO}/configurators/${encodeURIComponent(override)}`, undefined, { persistent: true })
    await eventually(async () =>
      expect((await events('&reason=ConfigAdded'))[0]?.message).toBe(`Config added: override rule for ${DEMO} on all addresses: enabled=true, timeout=5000`),
    )
    expect(await reasons()).toEqual(['ConfigAdded', 'ConfigAdded', 'ConfigAdded', 'ConfigDeleted', 'ConfigUpdated', 'ConfigUpdated', 'RegistrySynced'])
  })

  it('records metadata added and updated, and feeds the catalog from the mapping', async () => {
    await start()
    await synced()
    const definition = (methods: string[]) => JSON.stringify({ canonicalName: DEMO, methods: methods.map((name) => ({ name, parameterTypes: ['java.lang.String'], returnType: 'java.lang.String' })) })
    const path = `/dubbo/metadata/${DEMO}/1.0.0/provider/demo-provider`
    await writer.create(path, definition(['sayHello']), { persistent: true })
    await eventually(async () =>
      expect((await events('&reason=MetadataAdded'))[0]).toMatchObject({
        category: 'metadata',
        action: 'added',
        application: 'demo-provider',
        service: DEMO,
        message: `Metadata added: demo-provider provider -> ${DEMO}:1.0.0`,
      }),
    )
    await writer.setData(path, definition(['sayHello', 'sayGoodbye']))
    await eventually(async () => expect((await events('&reason=MetadataUpdated'))[0]?.message).toBe(`Metadata updated: demo-provider provider -> ${DEMO}:1.0.0: methods added: sayGoodbye`))
    await writer.create('/dubbo/metadata/demo-provider/3f2a9c', JSON.stringify({ app: 'demo-provider', revision: '3f2a9c', services: { [`${DEMO}:dubbo`]: { name: DEMO } } }), { persistent: true })
    await eventually(async () => expect((await events('&reason=MetadataAdded')).map((item) => item.message)).toContain('Metadata added: demo-provider revision 3f2a9c (1 service)'))

    await writer.create(`/dubbo/mapping/${GREETER}`, 'greeting-provider,demo-provider', { persistent: true })
    await eventually(async () => {
      const names = (await eventline!.get<{ items: ApplicationSummary[] }>(`/api/v1/applications?mesh=${MESH}`)).body.items.map((app) => app.name)
      expect(names).toContain('greeting-provider')
    })
    expect((await eventline!.get(`/api/v1/services/${GREETER}?mesh=${MESH}`)).status).toBe(200)
    expect(await reasons()).toEqual(['MetadataAdded', 'MetadataAdded', 'MetadataUpdated', 'RegistrySynced'])
  })

  it('records a burst of 1,000 providers as exactly 1,000 events, reading the folder a few times only', async () => {
    await start()
    await synced()
    const paths = Array.from({ length: 1000 }, (_, i) => provider(`10.1.${Math.floor(i / 250)}.${i % 250}`, 20880, DEMO, `app-${i % 10}`))
    await writer.create(paths[0]!)
    await eventually(async () => expect(await events('&reason=ProviderRegistered')).toHaveLength(1))
    const before = await receivedPackets(zk)
    await writer.createMany(paths.slice(1).map((path) => ({ path })))
    const created = await receivedPackets(zk)
    await eventually(async () => expect((await events('&reason=ProviderRegistered')).length).toBe(1000), 20_000)
    const items = await events('&reason=ProviderRegistered')
    expect(new Set(items.map((item) => item.id)).size).toBe(1000)
    expect(new Set(items.map((item) => item.instance)).size).toBe(1000)
    // Packets the source sent while the burst came in: coalesced re-reads of the folder, not one per provider.
    const reads = (await receivedPackets(zk)) - created + (created - before - 999)
    expect(reads).toBeLessThan(200)
    expect((await eventline!.get<ServiceDetail>(`/api/v1/services/${DEMO}?mesh=${MESH}`)).body.providers).toBe(1000)
  })

  it('starts on a database of the IP-named consumers without inventing events, with the consumers under their new names', async () => {
    // ZooKeeper holds two consumer applications on one host and a provider there.
    const web = consumer('10.5.0.9', DEMO, 'cart-web')
    const job = consumer('10.5.0.9', DEMO, 'cart-job')
    const api = provider('10.5.0.9', 20880, GREETER, 'cart-api')
    const jobWriter = await connectWriter(zk.connectString)
    await writer.create(web)
    await jobWriter.create(job)
    await writer.create(api)

    // The database as the code before `<application>@<ip>` left it (schema 3): one consumer instance
    // named by the IP, whose membership row the two applications overwrote in turn, a consumer gone
    // long ago, the node state by znode path, and the events with their views and links.
    const t0 = Date.now() - 3_600_000
    const old = new Database(`${tmp.dir}/eventline.db`)
    old.pragma('journal_mode = WAL')
    for (const [index, sql] of MIGRATIONS.slice(0, 3).entries()) {
      old.exec(sql)
      old.pragma(`user_version = ${index + 1}`)
    }
    const row = (table: string, values: Record<string, unknown>) =>
      old.prepare(`INSERT INTO ${table} (${Object.keys(values).join(', ')}) VALUES (${Object.keys(values).map((key) => `@${key}`).join(', ')})`).run(values)
    row('meshes', { name: MESH, kind: 'zookeeper', address: 'zookeeper://zk', last_sync_at: t0 })
    for (const name of ['cart-web', 'cart-job', 'cart-api', 'old-app']) row('applications', { mesh: MESH, name })
    for (const name of [DEMO, GREETER]) row('services', { mesh: MESH, name, version: '1.0.0', grp: null })
    const instance = (name: string, ip: string, port: number | null, application: string, goneAt: number | null) =>
      row('instances', { mesh: MESH, name, ip, port, application, registered: goneAt === null ? 1 : 0, gone_at: goneAt, sources: '["zookeeper"]', labels: null, updated_at: t0 })
    instance('10.5.0.9', '10.5.0.9', null, 'cart-job', null)
    instance('10.5.0.9:20880', '10.5.0.9', 20880, 'cart-api', null)
    instance('10.5.0.11', '10.5.0.11', null, 'old-app', t0 + 2)
    row('service_instances', { mesh: MESH, service: DEMO, side: 'consumer', instance: '10.5.0.9', application: 'cart-job' })
    row('service_instances', { mesh: MESH, service: GREETER, side: 'provider', instance: '10.5.0.9:20880', application: 'cart-api' })
    for (const [key, value] of [['synced', String(t0)], [`node:${web}`, ''], [`node:${job}`, ''], [`node:${api}`, '']]) {
      row('checkpoints', { key: `${MESH}:${key}`, value, updated_at: t0 })
    }
    let seq = 0
    const oldEvent = (id: string, time: number, reason: string, application: string, ip: string, service: string) => {
      const views = [MESH, ''].flatMap((mesh) => [[mesh, 'a', application], [mesh, 'i', ip], [mesh, 'p', ip], [mesh, 's', service]])
      const kind = reason.startsWith('Consumer') ? 'Consumer' : 'Provider'
      row('events', {
        id, time, first_time: time, count: 1, type: 'normal', reason, message: `${kind} registered: ${application} ${ip} -> ${service}`, source: 'zookeeper', component: 'zookeeper',
        mesh: MESH, obj_kind: kind, obj_name: `${service}:1.0.0`, application, instance: ip, ip, service, category: kind.toLowerCase(), action: 'registered', seq: ++seq, views: JSON.stringify(views),
      })
      for (const [mesh, kindCode, entity] of views) row('event_links', { mesh, kind: kindCode, entity, time, event_id: id, type: 'normal', source: 'zookeeper' })
    }
    oldEvent('old:web', t0, 'ConsumerRegistered', 'cart-web', '10.5.0.9', DEMO)
    oldEvent('old:job', t0 + 1, 'ConsumerRegistered', 'cart-job', '10.5.0.9', DEMO)
    oldEvent('old:gone', t0 + 2, 'ConsumerUnregistered', 'old-app', '10.5.0.11', DEMO)
    row('mesh_event_counts', { mesh: MESH, events: 3 })
    old.close()

    await start()
    // The start diffed the node state: nothing changed, so nothing is recorded.
    expect((await events()).map((item) => item.id).sort()).toEqual(['old:gone', 'old:job', 'old:web'])
    const service = (await eventline!.get<ServiceDetail>(`/api/v1/services/${DEMO}?mesh=${MESH}`)).body
    expect(service).toMatchObject({ consumers: 2, providers: 0 })
    expect(service.consumerInstances.map((item) => [item.name, item.application, item.registered])).toEqual([
      ['cart-job@10.5.0.9', 'cart-job', true],
      ['cart-web@10.5.0.9', 'cart-web', true],
    ])
    const instances = (await eventline!.get<{ items: Instance[] }>(`/api/v1/instances?mesh=${MESH}`)).body.items
    expect(instances.map((item) => [item.name, item.registered]).sort()).toEqual([
      ['10.5.0.9:20880', true],
      ['cart-job@10.5.0.9', true],
      ['cart-web@10.5.0.9', true],
      ['old-app@10.5.0.11', false],
    ])
    expect((await meshOf()).counts).toMatchObject({ instances: 3, events: 3 })
    // The stored events moved with their instances, and the IP timeline still holds them all.
    const timeline = async (name: string) => (await eventline!.get<EventPage>(`/api/v1/instances/${name}/events?mesh=${MESH}&limit=200`)).body.items.map((item) => item.id)
    expect(await timeline('cart-web@10.5.0.9')).toEqual(['old:web'])
    expect(await timeline('cart-job@10.5.0.9')).toEqual(['old:job'])
    expect(await timeline('old-app@10.5.0.11')).toEqual(['old:gone'])
    expect(await timeline('10.5.0.9')).toEqual(['old:job', 'old:web'])
    expect((await events()).find((item) => item.id === 'old:web')?.instance).toBe('cart-web@10.5.0.9')

    // And the watches carry on under the new names.
    jobWriter.close()
    await eventually(async () => expect((await events('&reason=ConsumerUnregistered')).map((item) => item.instance).sort()).toEqual(['cart-job@10.5.0.9', 'old-app@10.5.0.11']))
    await eventually(async () => expect((await eventline!.get<ServiceDetail>(`/api/v1/services/${DEMO}?mesh=${MESH}`)).body).toMatchObject({ consumers: 1 }))
  })

  it('records after an Eventline restart what changed while it was down, and nothing else', async () => {
    const stays = provider('10.0.0.7')
    const leaves = provider('10.0.0.9')
    const rule = '/dubbo/config/dubbo/demo-provider.tag-router'
    await writer.create(stays)
    await writer.create(leaves)
    await writer.create(rule, 'enabled: true\nkey: demo-provider\n', { persistent: true })
    await start()
    await synced()
    await stop()

    await writer.remove(leaves)
    await writer.create(provider('10.0.0.11'))
    await writer.setData(rule, 'enabled: false\nkey: demo-provider\n')
    await start()
    const missed = await eventually(async () => {
      const items = (await events()).filter((item) => item.reason !== 'RegistrySynced')
      expect(items.map((item) => item.reason).sort()).toEqual(['ConfigUpdated', 'ProviderRegistered', 'ProviderUnregistered'])
      return items
    })
    for (const item of missed) expect(item.message).toContain(RESTART_NOTE)
    expect(missed.find((item) => item.reason === 'ProviderRegistered')?.instance).toBe('10.0.0.11:20880')
    expect(missed.find((item) => item.reason === 'ConfigUpdated')?.message).toContain('enabled: true -> false')
    expect((await eventline!.get<Instance>(`/api/v1/instances/10.0.0.9:20880?mesh=${MESH}`)).body.registered).toBe(false)

    // Nothing changed: another restart records nothing, and the watches work after it.
    await stop()
    await start()
    await writer.create(provider('10.0.0.12'))
    await eventually(async () => expect(await events('&reason=ProviderRegistered')).toHaveLength(2))
    expect((await events()).length).toBe(5)
  })

  it('re-reads and diffs after a reconnection within the session, and after a ZooKeeper restart', { timeout: 60_000 }, async () => {
    const leaves = provider('10.0.0.9')
    await writer.create(leaves)
    // Longer than a ZooKeeper restart: the session survives it.
    await start({ sessionTimeoutMs: 20_000 })
    await synced()

    // Cut off (not expired): changes meanwhile are found by the re-read on reconnection.
    proxy.pause()
    await eventually(async () => expect((await meshOf()).status).toBe('connecting'))
    await writer.remove(leaves)
    await writer.create(provider('10.0.0.10'))
    proxy.resume()
    const found = await eventually(async () => {
      const items = (await events()).filter((item) => item.reason !== 'RegistrySynced')
      expect(items.map((item) => item.reason).sort()).toEqual(['ProviderRegistered', 'ProviderUnregistered'])
      return items
    })
    for (const item of found) expect(item.message).toContain(RECONNECT_NOTE)
    await eventually(async () => expect((await meshOf()).status).toBe('connected'))

    // A provider behind its own proxy dies while ZooKeeper restarts: its session is restored with the
    // server and expires soon after, which removes its node; our session survives the restart.
    // Whether the removal is watched or found by the re-read on reconnection, it is recorded once.
    const dyingProxy = await startTcpProxy(zk.port)
    const dying = await connectWriter(`127.0.0.1:${dyingProxy.port}`, { sessionTimeout: 1_000 })
    await dying.create(provider('10.0.0.13'))
    await eventually(async () => expect(await events('&reason=ProviderRegistered')).toHaveLength(2))
    dyingProxy.pause()
    dying.close()
    await zk.stop()
    await eventually(async () => expect((await meshOf()).status).toBe('connecting'))
    await zk.start()
    await eventually(async () => expect((await events('&reason=ProviderUnregistered')).map((item) => item.instance)).toContain('10.0.0.13:20880'), 30_000)
    await eventually(async () => expect((await meshOf()).status).toBe('connected'))
    await writer.create(provider('10.0.0.14'))
    await eventually(async () => expect(await events('&reason=ProviderRegistered')).toHaveLength(3))
    expect(await reasons()).toEqual(['ProviderRegistered', 'ProviderRegistered', 'ProviderRegistered', 'ProviderUnregistered', 'ProviderUnregistered', 'RegistrySynced'])
    await dyingProxy.close()
  })

  it('opens a new session after expiry and records what changed meanwhile', async () => {
    const leaves = provider('10.0.0.9')
    const instance = '/services/demo-provider/10.0.0.7:20880'
    await writer.create(leaves)
    await writer.create(instance, serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.7', port: 20880, revision: 'r1' }))
    await start({ sessionTimeoutMs: 1_000 })
    await synced()
    const sessions = await sessionCount(zk)

    proxy.pause()
    // The server expires our session (the writer's lives on, it is not behind the proxy).
    await eventually(async () => expect(await sessionCount(zk)).toBe(sessions - 1), 15_000)
    expect((await meshOf()).status).toBe('connecting')
    await writer.remove(leaves)
    await writer.create(provider('10.0.0.10'))
    await writer.setData(instance, serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.7', port: 20880, revision: 'r2' }))
    proxy.resume()
    const found = await eventually(async () => {
      const items = (await events()).filter((item) => item.reason !== 'RegistrySynced')
      expect(items.map((item) => item.reason).sort()).toEqual(['InstanceUpdated', 'ProviderRegistered', 'ProviderUnregistered'])
      return items
    }, 15_000)
    for (const item of found) expect(item.message).toContain(RECONNECT_NOTE)
    await eventually(async () => expect((await meshOf()).status).toBe('connected'))

    // The new session watches as the old one did.
    await writer.create(provider('10.0.0.15'))
    await eventually(async () => expect(await events('&reason=ProviderRegistered')).toHaveLength(2))
    expect((await events('&reason=ProviderRegistered'))[0]?.message).not.toContain(RECONNECT_NOTE)
  })

  it('skips and counts malformed nodes, and keeps the rest', async () => {
    await start()
    await synced()
    await writer.create(`/dubbo/${DEMO}/providers/not%ZZa-url`)
    await writer.create('/services/demo-provider/10.0.0.7:20880', '{"name": "demo-provider", "address": ')
    await writer.create('/dubbo/config/dubbo/demo-provider.condition-router', 'conditions: [unclosed\n', { persistent: true })
    await writer.create(provider('10.0.0.7'))
    await eventually(async () => expect(await events('&reason=ProviderRegistered')).toHaveLength(1))
    await eventually(async () => {
      const metrics = await (await fetch(`${eventline!.url}/metrics`)).text()
      const rejected = [...metrics.matchAll(/^eventline_events_rejected_total\{source="zookeeper",reason="[^"]+"\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0)
      expect(rejected).toBe(3)
    })
    expect(await reasons()).toEqual(['ProviderRegistered', 'RegistrySynced'])
    expect((await meshOf()).status).toBe('connected')
  })

  it('connects through any of several hosts and watches the configured root', async () => {
    const dead = await startTcpProxy(zk.port)
    dead.pause()
    eventline = await startTestServer({
      db: `${tmp.dir}/eventline.db`,
      registries: parseRegistries(`zookeeper://127.0.0.1:${dead.port},127.0.0.1:${proxy.port}?name=${MESH}&root=gov`),
      registryTuning: { zookeeper: { spinDelayMs: 50, retryMs: 200 } },
    })
    await eventually(async () => expect((await meshOf()).status).toBe('connected'))
    await synced()
    await writer.create(provider('10.0.0.7'))
    await writer.create(provider('10.0.0.8').replace(/^\/dubbo\//, '/gov/'))
    await eventually(async () => expect((await events('&reason=ProviderRegistered')).map((item) => item.instance)).toEqual(['10.0.0.8:20880']))
    await dead.close()
  })

  it('reads an ACL-protected registry with digest credentials, and shows the refusal without them', async () => {
    const { createHash } = await import('node:crypto')
    const zookeeper = (await import('node-zookeeper-client')).default
    const hash = createHash('sha1').update('dubbo:secret').digest('base64')
    const acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', `dubbo:${hash}`))]
    writer.client.addAuthInfo('digest', Buffer.from('dubbo:secret'))
    await new Promise<void>((resolve, reject) => writer.client.create('/dubbo', Buffer.alloc(0), acl, zookeeper.CreateMode.PERSISTENT, (error) => (error ? reject(error) : resolve())))
    try {
      eventline = await startTestServer({
        db: `${tmp.dir}/eventline.db`,
        registries: parseRegistries(`zookeeper://127.0.0.1:${proxy.port}?name=${MESH}&username=dubbo&password=wrong`),
        registryTuning: { zookeeper: { spinDelayMs: 50, retryMs: 200 } },
      })
      const refused = await eventually(async () => {
        const mesh = await meshOf()
        expect(mesh.status).toBe('error')
        return mesh
      })
      expect(refused.error).toMatch(/not authorised to read \/dubbo/)
      expect(refused.address).not.toContain('wrong')
      await stop()

      await start({}, '&username=dubbo&password=secret')
      await synced()
    } finally {
      await new Promise<void>((resolve) => writer.client.setACL('/dubbo', [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))], -1, () => resolve()))
    }
  })

  it('records one RegistrySynced and no event per node when the first sync fails to be stored once', async () => {
    for (const ip of ['10.0.0.7', '10.0.0.8', '10.0.0.9']) await writer.create(provider(ip))
    const failure = failWriteOnce(stores('synced'))
    await start()
    const [summary] = await eventually(async () => {
      const items = await events()
      expect(items.map((item) => item.reason)).toEqual(['RegistrySynced'])
      return items
    })
    expect(failure.failures()).toBe(1)
    expect(summary!.message).toContain('3 providers')
    await sleep(500)
    expect(await reasons()).toEqual(['RegistrySynced'])

    // The summary's write stored `synced`: a restart diffs (nothing changed) instead of syncing first again.
    await stop()
    await start()
    await writer.create(provider('10.0.0.10'))
    await eventually(async () => expect(await reasons()).toEqual(['ProviderRegistered', 'RegistrySynced']))
  })

  it('records a registration whose write failed, though a later change of the node was written after it', async () => {
    await start()
    await synced()
    const path = '/services/demo-provider/10.0.0.2:20880'
    const instance = (revision: string) => serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.2', port: 20880, revision })
    // The registration's write fails slowly: the update is read and published meanwhile.
    const failure = failWriteOnce(stores(`node:${path}`), 500)
    await writer.create(path, instance('r1'))
    await failure.failing
    await writer.setData(path, instance('r2'))
    const [registered] = await eventually(async () => {
      const items = await events('&reason=InstanceRegistered')
      expect(items).toHaveLength(1)
      return items
    })
    expect(registered!.message).toBe('Instance registered: demo-provider 10.0.0.2:20880 (revision r2)')
    await sleep(500)
    expect(await reasons()).toEqual(['InstanceRegistered', 'RegistrySynced'])
    expect((await eventline!.get<Instance>(`/api/v1/instances/10.0.0.2:20880?mesh=${MESH}`)).body.labels?.['dubbo.metadata.revision']).toBe('r2')
    // What is stored matches ZooKeeper again: later changes are diffed against it as usual.
    await writer.setData(path, instance('r3'))
    await eventually(async () => expect((await events('&reason=InstanceUpdated')).map((item) => item.message)).toEqual(['Instance updated: demo-provider 10.0.0.2:20880: dubbo.metadata.revision: r2 -> r3']))
  })

  it('shows the mesh in error while the re-list keeps failing, and connected once it succeeds', async () => {
    await start()
    await synced()
    const read = ThreadedSqliteStore.prototype.readCheckpoints
    let broken = true
    vi.spyOn(ThreadedSqliteStore.prototype, 'readCheckpoints').mockImplementation(async function (this: ThreadedSqliteStore, prefix: string) {
      if (broken) throw new Error('database is locked (simulated)')
      return read.call(this, prefix)
    })
    // A failed write makes the source reload the stored state, which it cannot read for now.
    failWriteOnce(stores(`node:${provider('10.0.0.7')}`))
    await writer.create(provider('10.0.0.7'))
    // The failed write shows first; then the re-list's own failure, while it keeps retrying.
    await eventually(async () => expect(await meshOf()).toMatchObject({ status: 'error', error: expect.stringContaining('database is locked (simulated)') }))
    await sleep(500)
    expect(await meshOf()).toMatchObject({ status: 'error', error: expect.stringContaining('listing the registry failed') })
    broken = false
    await eventually(async () => expect((await meshOf()).status).toBe('connected'))
    expect((await meshOf()).error).toBeUndefined()
    await eventually(async () => expect(await reasons()).toEqual(['ProviderRegistered', 'RegistrySynced']))
  })

  it('keeps the mesh in error while writes keep failing, re-listing at the retry interval, until one is stored', async () => {
    await start()
    await synced()
    const path = provider('10.0.0.7')
    const failure = failWrites(stores(`node:${path}`))
    await writer.create(path)
    await eventually(async () => expect((await meshOf()).status).toBe('error'))
    expect((await meshOf()).error).toContain('disk I/O error (simulated)')
    // Each re-list's own write fails: the mesh stays in error meanwhile, and it lists every retryMs (200), not in a loop.
    const failed = failure.failures()
    for (let sample = 0; sample < 10; sample++) {
      expect((await meshOf()).status).toBe('error')
      await sleep(100)
    }
    expect(failure.failures() - failed).toBeGreaterThan(0)
    expect(failure.failures() - failed).toBeLessThanOrEqual(6)
    failure.heal()
    await eventually(async () => expect((await meshOf()).status).toBe('connected'))
    await eventually(async () => expect(await reasons()).toEqual(['ProviderRegistered', 'RegistrySynced']))
  })

  it('keeps one watcher per watched path across reconnections', { timeout: 60_000 }, async () => {
    await writer.create(provider('10.0.0.7'))
    await writer.create('/dubbo/config/dubbo/demo-provider.tag-router', 'enabled: true\nkey: demo-provider\n', { persistent: true })
    await writer.create('/services/demo-provider/10.0.0.7:20880', serviceInstanceJson({ application: 'demo-provider', ip: '10.0.0.7', port: 20880, revision: 'r1' }))
    const harness = await startDirect()
    const before = watcherListeners(harness.source)
    expect(before.size).toBeGreaterThan(5)
    expect(Math.max(...before.values())).toBe(1)
    for (let cut = 0; cut < 3; cut++) await reconnectDirect(harness)
    expect(watcherListeners(harness.source)).toEqual(before)
    // And the one watcher still fires.
    await writer.setData('/dubbo/config/dubbo/demo-provider.tag-router', 'enabled: false\nkey: demo-provider\n')
    await eventually(async () => expect(harness.publications.flatMap((publication) => publication.events ?? []).map((event) => event.reason)).toContain('ConfigUpdated'))
  })

  it('counts a malformed node once, not again on every re-list', async () => {
    await start()
    await synced()
    await writer.create(`/dubbo/${DEMO}/providers/not%ZZa-url`)
    await writer.create('/services/demo-provider/10.0.0.7:20880', '{"name": "demo-provider", "address": ')
    await eventually(async () => expect(await rejectedTotal()).toBe(2))
    for (let cut = 0; cut < 2; cut++) {
      const syncedAt = (await meshOf()).lastSyncAt
      proxy.pause()
      await eventually(async () => expect((await meshOf()).status).toBe('connecting'))
      proxy.resume()
      await eventually(async () => expect((await meshOf()).lastSyncAt).not.toBe(syncedAt))
    }
    expect(await rejectedTotal()).toBe(2)
    // A new malformed content of the same node is counted.
    await writer.setData('/services/demo-provider/10.0.0.7:20880', '{"name": "demo-provider"}')
    await eventually(async () => expect(await rejectedTotal()).toBe(3))
    expect(await reasons()).toEqual(['RegistrySynced'])
  })

  it('lists once per reconnection when a re-read was in flight as the connection dropped', async () => {
    const rule = '/dubbo/config/dubbo/demo-provider.tag-router'
    await writer.create(rule, 'enabled: true\nkey: demo-provider\n', { persistent: true })
    const harness = await startDirect()
    // The fire reaches the source, its re-read does not reach ZooKeeper: the cut fails it with CONNECTION_LOSS.
    proxy.stall()
    await writer.setData(rule, 'enabled: false\nkey: demo-provider\n')
    await sleep(300)
    proxy.pause()
    await eventually(async () => expect(harness.statuses.at(-1)).toBe('connecting'))
    proxy.resume()
    await eventually(async () => expect(harness.listings()).toBe(2))
    await eventually(async () => expect(harness.statuses.at(-1)).toBe('connected'))
    await sleep(1_000)
    expect(harness.listings()).toBe(2)
    expect(harness.publications.flatMap((publication) => publication.events ?? []).map((event) => event.reason)).toEqual(['RegistrySynced', 'ConfigUpdated'])
  })
})

import type { EventPage, Instance, ServiceDetail, ServiceSummary, ApplicationDetail } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import { eventually } from '../../testing/eventually.ts'
import { useNacosHarness } from '../../testing/nacosHarness.ts'
import { startNacosServer } from '../../testing/nacosServer.ts'
import { missedChangeNote } from '../registry/registryState.ts'
import type { NacosTuning } from './nacosSource.ts'

const MESH = 'nacos-test'
const DEMO = 'providers:org.apache.dubbo.demo.DemoService:1.0.0:'
const CART = 'providers:com.shop.CartService::blue'
const INSTANCE_LIST = '/nacos/v1/ns/instance/list'
const SERVICE_LIST = '/nacos/v1/ns/service/list'
const INSTANCE_DETAIL = '/nacos/v1/ns/instance'
// A generous request timeout: a loaded test machine must not turn slow answers into failures.
const TUNING: NacosTuning = { requestTimeoutMs: 2_000, minPollMs: 20, serviceListIntervalMs: 150, backoff: { initialMs: 20, maxMs: 100 } }

describe('Nacos source', () => {
  const harness = useNacosHarness({ mesh: MESH, server: { cacheMillis: 30 }, tuning: TUNING })
  const { startNacos, start, stop, events, mesh, one, provider } = harness
  /** Starts against a registry with one provider and waits for the first sync. */
  const startSynced = async (query = '', tuning = TUNING) => {
    harness.nacos.register(DEMO, provider('10.0.0.7'))
    await start(query, tuning)
    await eventually(async () => expect((await events()).items.map((item) => item.reason)).toEqual(['RegistrySynced']))
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
  }

  it('records the first sync of a new mesh as one RegistrySynced event and fills the catalog', async () => {
    const nacos = await startNacos()
    nacos.register(DEMO, provider('10.0.0.7'))
    nacos.register(DEMO, provider('10.0.0.8'))
    nacos.register(CART, { ip: '10.0.0.7', port: 20880, metadata: { application: 'demo-provider' } })
    nacos.register('consumers:com.shop.CartService::blue', { ip: '10.0.1.1', port: 0, metadata: { application: 'web' } })
    nacos.register('shop-cart', { ip: '10.0.2.1', port: 20880, metadata: {} })
    await start()
    const synced = await eventually(async () => one('RegistrySynced'))
    expect(synced).toMatchObject({ type: 'normal', category: 'registry', source: 'nacos', mesh: MESH })
    expect(synced.message).toContain('3 applications, 4 instances, 2 services')
    // Nothing more arrives: the registry as found is not history we saw happen.
    await eventually(async () => expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(20))
    expect((await events()).total).toBe(1)

    const current = await eventually(async () => {
      const found = await mesh()
      expect(found).toMatchObject({ kind: 'nacos', status: 'connected', counts: { applications: 3, instances: 4, services: 2 } })
      return found!
    })
    expect(current.address).toBe(`nacos://${nacos.address}?name=${MESH}`)
    expect(current.lastSyncAt).toBeDefined()

    const services = (await harness.eventline.get<{ items: ServiceSummary[] }>(`/api/v1/services?mesh=${MESH}`)).body.items
    expect(services).toEqual([
      { name: 'com.shop.CartService', mesh: MESH, group: 'blue', providers: 1, consumers: 1, applications: ['demo-provider', 'web'] },
      { name: 'org.apache.dubbo.demo.DemoService', mesh: MESH, version: '1.0.0', providers: 2, consumers: 0, applications: ['demo-provider'] },
    ])
    const demo = (await harness.eventline.get<ServiceDetail>(`/api/v1/services/org.apache.dubbo.demo.DemoService?mesh=${MESH}`)).body
    expect(demo.providerInstances.map((instance) => instance.name)).toEqual(['10.0.0.7:20880', '10.0.0.8:20880'])
    const application = (await harness.eventline.get<ApplicationDetail>(`/api/v1/applications/demo-provider?mesh=${MESH}`)).body
    expect(application.instances.map((instance) => instance.name)).toEqual(['10.0.0.7:20880', '10.0.0.8:20880'])
    expect(application.services).toEqual(['com.shop.CartService', 'org.apache.dubbo.demo.DemoService'])
    const instance = (await harness.eventline.get<Instance>(`/api/v1/instances/10.0.2.1:20880?mesh=${MESH}`)).body
    expect(instance).toMatchObject({ name: '10.0.2.1:20880', ip: '10.0.2.1', port: 20880, application: 'shop-cart', registered: true, sources: ['nacos'] })
    const applications = (await harness.eventline.get<{ items: Array<{ name: string }> }>(`/api/v1/applications?mesh=${MESH}`)).body.items.map((item) => item.name)
    expect(applications).toEqual(['demo-provider', 'shop-cart', 'web'])
  })

  it('records registration, deregistration, health flips, weight and metadata changes', async () => {
    const nacos = await startNacos()
    await startSynced()
    const base = { application: 'demo-provider', instance: '10.0.0.9:20880', ip: '10.0.0.9', service: 'org.apache.dubbo.demo.DemoService', source: 'nacos', mesh: MESH, category: 'instance' }

    nacos.register(DEMO, provider('10.0.0.9'))
    expect(await eventually(async () => one('InstanceRegistered'))).toMatchObject({
      ...base,
      type: 'normal',
      action: 'registered',
      message: 'Instance registered: demo-provider 10.0.0.9:20880 -> org.apache.dubbo.demo.DemoService',
    })
    await eventually(async () => expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.9:20880?mesh=${MESH}`)).body.registered).toBe(true))

    nacos.update(DEMO, '10.0.0.9', 20880, { healthy: false })
    expect(await eventually(async () => one('InstanceUnhealthy'))).toMatchObject({ ...base, type: 'warning', action: 'updated', message: 'Instance unhealthy: demo-provider 10.0.0.9:20880 -> org.apache.dubbo.demo.DemoService' })
    nacos.update(DEMO, '10.0.0.9', 20880, { healthy: true })
    expect(await eventually(async () => one('InstanceHealthy'))).toMatchObject({ ...base, type: 'normal', action: 'updated' })

    nacos.update(DEMO, '10.0.0.9', 20880, { weight: 0.5 })
    expect(await eventually(async () => one('InstanceUpdated'))).toMatchObject({
      ...base,
      type: 'normal',
      action: 'updated',
      message: 'Instance updated: demo-provider 10.0.0.9:20880 -> org.apache.dubbo.demo.DemoService: weight 1 -> 0.5',
    })
    nacos.update(DEMO, '10.0.0.9', 20880, { metadata: { application: 'demo-provider', version: '1.1' } })
    await eventually(async () => expect((await events('&reason=InstanceUpdated')).items[0]?.message).toBe('Instance updated: demo-provider 10.0.0.9:20880 -> org.apache.dubbo.demo.DemoService: metadata version 1.0 -> 1.1'))
    nacos.update(DEMO, '10.0.0.9', 20880, { enabled: false })
    await eventually(async () => expect((await events('&reason=InstanceUpdated')).items[0]?.message).toMatch(/: enabled true -> false$/))

    nacos.deregister(DEMO, '10.0.0.9', 20880)
    expect(await eventually(async () => one('InstanceUnregistered'))).toMatchObject({
      ...base,
      type: 'warning',
      action: 'deregistered',
      message: 'Instance unregistered: demo-provider 10.0.0.9:20880 -> org.apache.dubbo.demo.DemoService',
    })
    await eventually(async () => expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.9:20880?mesh=${MESH}`)).body.registered).toBe(false))
    const timeline = (await harness.eventline.get<EventPage>(`/api/v1/instances/10.0.0.9:20880/events?mesh=${MESH}`)).body
    expect(timeline.items.map((item) => item.reason)).toEqual(['InstanceUnregistered', 'InstanceUpdated', 'InstanceUpdated', 'InstanceUpdated', 'InstanceHealthy', 'InstanceUnhealthy', 'InstanceRegistered'])
    expect(timeline.items.every((item) => !item.message.includes('detected'))).toBe(true)
  })

  it('invents no health change while Nacos serves every instance as healthy under protection', async () => {
    const nacos = await startNacos()
    await startSynced()
    nacos.register(DEMO, provider('10.0.0.8'))
    await eventually(async () => one('InstanceRegistered'))
    nacos.update(DEMO, '10.0.0.8', 20880, { healthy: false })
    await eventually(async () => expect((await one('InstanceUnhealthy')).instance).toBe('10.0.0.8:20880'))
    // The last healthy one fails too: at the (default 0) threshold Nacos answers "all healthy".
    nacos.update(DEMO, '10.0.0.7', 20880, { healthy: false })
    const protectedAnswers = nacos.count(INSTANCE_LIST)
    await eventually(async () => expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(protectedAnswers + 5))
    nacos.update(DEMO, '10.0.0.7', 20880, { healthy: true })
    const recovered = nacos.count(INSTANCE_LIST)
    await eventually(async () => expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(recovered + 5))
    expect((await events('&reason=InstanceHealthy,InstanceUnhealthy')).items.map((item) => `${item.reason} ${item.instance}`)).toEqual(['InstanceUnhealthy 10.0.0.8:20880'])
    nacos.update(DEMO, '10.0.0.8', 20880, { healthy: true })
    await eventually(async () => expect((await one('InstanceHealthy')).instance).toBe('10.0.0.8:20880'))
  })

  it('the test server answers as Nacos does: disabled instances left out of the list, kept in the detail', async () => {
    for (const version of ['2.x', '1.x'] as const) {
      const server = await startNacosServer({ version })
      try {
        server.register(DEMO, { ...provider('10.0.0.7'), weight: 2 })
        server.register(DEMO, provider('10.0.0.8'))
        server.update(DEMO, '10.0.0.7', 20880, { enabled: false })
        const get = async (path: string, query: Record<string, string>) => {
          const response = await fetch(`${server.url}${path}?${new URLSearchParams(query)}`)
          return { status: response.status, body: await response.text() }
        }
        const list = JSON.parse((await get(INSTANCE_LIST, { serviceName: DEMO })).body) as { hosts: Array<{ ip: string }> }
        expect(list.hosts.map((host) => host.ip)).toEqual(['10.0.0.8'])
        // 1.x never sends the protection flag in a list answer (2.x always does), protected or not.
        expect('reachProtectionThreshold' in list).toBe(version === '2.x')
        // None healthy (1.x counts the disabled one too): protection, all served healthy.
        server.update(DEMO, '10.0.0.7', 20880, { healthy: false })
        server.update(DEMO, '10.0.0.8', 20880, { healthy: false })
        const protectedList = JSON.parse((await get(INSTANCE_LIST, { serviceName: DEMO })).body) as { hosts: Array<{ healthy: boolean }>; reachProtectionThreshold?: boolean }
        expect(protectedList.hosts.map((host) => host.healthy)).toEqual([true])
        expect(protectedList.reachProtectionThreshold).toBe(version === '2.x' ? true : undefined)
        const realHealth = JSON.parse((await get(INSTANCE_DETAIL, { serviceName: DEMO, ip: '10.0.0.8', port: '20880' })).body) as { healthy: boolean }
        expect(realHealth.healthy).toBe(false)
        server.update(DEMO, '10.0.0.7', 20880, { healthy: true })
        server.update(DEMO, '10.0.0.8', 20880, { healthy: true })
        const detail = await get(INSTANCE_DETAIL, { serviceName: DEMO, ip: '10.0.0.7', port: '20880', clusterName: 'DEFAULT', namespaceId: 'public', groupName: 'DEFAULT_GROUP' })
        expect(detail.status).toBe(200)
        expect(JSON.parse(detail.body)).toEqual({
          service: `DEFAULT_GROUP@@${DEMO}`,
          ip: '10.0.0.7',
          port: 20880,
          clusterName: 'DEFAULT',
          weight: 2,
          healthy: true,
          instanceId: `10.0.0.7#20880#DEFAULT#DEFAULT_GROUP@@${DEMO}`,
          metadata: { application: 'demo-provider', version: '1.0' },
        })
        const missing = await get(INSTANCE_DETAIL, { serviceName: DEMO, ip: '10.0.0.9', port: '20880' })
        const noService = await get(INSTANCE_DETAIL, { serviceName: 'nothing', ip: '10.0.0.9', port: '20880' })
        if (version === '2.x') {
          expect(missing).toEqual({ status: 500, body: 'caused: no matched ip found!;' })
          expect(noService).toEqual({ status: 500, body: 'caused: no ips found for cluster DEFAULT in service DEFAULT_GROUP@@nothing;' })
        } else {
          expect(missing).toEqual({ status: 404, body: 'no matched ip found!' })
          expect(noService).toEqual({ status: 404, body: 'no service DEFAULT_GROUP@@nothing found!' })
        }
        expect((await get(INSTANCE_DETAIL, { serviceName: DEMO, port: '20880' })).status).toBe(400)
      } finally {
        await server.close()
      }
    }
  })

  it('on Nacos 1.x (no protection flag) believes a recovery only once the instance detail confirms it', async () => {
    const nacos = await startNacos({ version: '1.x' })
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3']
    for (const ip of ips) nacos.register(DEMO, provider(ip))
    await start()
    await eventually(async () => one('RegistrySynced'))
    const health = async () => (await events('&reason=InstanceHealthy,InstanceUnhealthy')).items.map((item) => `${item.reason} ${item.instance}`).sort()
    // One by one: the third leaves none healthy, and 1.x then lists all three as healthy, unflagged.
    for (const [n, ip] of ips.entries()) {
      nacos.update(DEMO, ip, 20880, { healthy: false })
      await eventually(async () => expect((await events('&reason=InstanceUnhealthy')).total).toBe(n + 1))
    }
    const polls = nacos.count(INSTANCE_LIST)
    await eventually(async () => expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(polls + 5))
    expect(await health()).toEqual(ips.map((ip) => `InstanceUnhealthy ${ip}:20880`))
    // A real recovery is still one: the detail confirms it.
    nacos.update(DEMO, '10.0.0.2', 20880, { healthy: true })
    await eventually(async () => expect((await one('InstanceHealthy')).instance).toBe('10.0.0.2:20880'))
    const later = nacos.count(INSTANCE_LIST)
    await eventually(async () => expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(later + 5))
    expect((await health()).length).toBe(4)
  })

  it('reads an instance disabled in Nacos as InstanceUpdated, follows it while unlisted, and sees it come back or leave', async () => {
    const nacos = await startNacos()
    await startSynced()
    const disabledMessage = 'Instance updated: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService: enabled true -> false'
    nacos.update(DEMO, '10.0.0.7', 20880, { enabled: false })
    expect(await eventually(async () => one('InstanceUpdated'))).toMatchObject({ type: 'normal', category: 'instance', action: 'updated', message: disabledMessage })
    // While it stays unlisted it is looked up at each poll, and nothing more is recorded.
    const lookups = nacos.count(INSTANCE_DETAIL, 200)
    await eventually(async () => expect(nacos.count(INSTANCE_DETAIL, 200)).toBeGreaterThan(lookups + 3))
    expect((await events()).items.map((item) => item.reason)).toEqual(['InstanceUpdated', 'RegistrySynced'])
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body.registered).toBe(true)
    expect((await mesh())?.status).toBe('connected')

    nacos.update(DEMO, '10.0.0.7', 20880, { enabled: true })
    await eventually(async () => expect((await events('&reason=InstanceUpdated')).items[0]?.message).toMatch(/: enabled false -> true$/))
    // Listed again: no more detail requests for it.
    const afterBack = nacos.count(INSTANCE_DETAIL)
    const polls = nacos.count(INSTANCE_LIST)
    await eventually(async () => expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(polls + 3))
    expect(nacos.count(INSTANCE_DETAIL)).toBe(afterBack)

    nacos.update(DEMO, '10.0.0.7', 20880, { enabled: false })
    await eventually(async () => expect((await events('&reason=InstanceUpdated')).total).toBe(3))
    nacos.deregister(DEMO, '10.0.0.7', 20880)
    expect(await eventually(async () => one('InstanceUnregistered'))).toMatchObject({ type: 'warning', action: 'deregistered', instance: '10.0.0.7:20880' })
    await eventually(async () => expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body.registered).toBe(false))
    const { items } = await events()
    expect(items.map((item) => item.reason)).toEqual(['InstanceUnregistered', 'InstanceUpdated', 'InstanceUpdated', 'InstanceUpdated', 'RegistrySynced'])
    expect(items.every((item) => !item.message.includes('detected'))).toBe(true)
    // Gone: not looked up any more.
    const afterGone = nacos.count(INSTANCE_DETAIL)
    const pollsAfterGone = nacos.count(INSTANCE_LIST)
    await eventually(async () => expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(pollsAfterGone + 3))
    expect(nacos.count(INSTANCE_DETAIL)).toBe(afterGone)
  })

  it('reads the 404 of a Nacos 1.x instance detail as the disabled instance leaving', async () => {
    const nacos = await startNacos({ version: '1.x' })
    await startSynced()
    nacos.update(DEMO, '10.0.0.7', 20880, { enabled: false })
    await eventually(async () => expect((await one('InstanceUpdated')).message).toMatch(/: enabled true -> false$/))
    nacos.deregister(DEMO, '10.0.0.7', 20880)
    await eventually(async () => expect((await one('InstanceUnregistered')).instance).toBe('10.0.0.7:20880'))
    expect(nacos.count(INSTANCE_DETAIL, 404)).toBeGreaterThan(0)
  })

  it.each([
    ['HTTP 500 without a not-found message', { kind: 'status', status: 500 } as const],
    ['HTTP 503', { kind: 'status', status: 503, body: 'server is DOWN now, please try again later!' } as const],
    ['a 404 of something else', { kind: 'status', status: 404, body: '<html><body>Not Found</body></html>' } as const],
  ])('records nothing for an unlisted instance while its detail fails (%s), then what the detail says', async (_name, failure) => {
    const nacos = await startNacos()
    await startSynced()
    nacos.fail(failure, INSTANCE_DETAIL)
    nacos.update(DEMO, '10.0.0.7', 20880, { enabled: false })
    await eventually(async () => expect((await mesh())?.error).toMatch(/answered \/v1\/ns\/instance with HTTP/))
    await eventually(async () => expect(nacos.count(INSTANCE_DETAIL, failure.status)).toBeGreaterThan(3))
    expect((await events()).total).toBe(1)
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body.registered).toBe(true)

    nacos.heal()
    const updated = await eventually(async () => one('InstanceUpdated'))
    expect(updated.message).toBe(`Instance updated: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService: enabled true -> false${missedChangeNote('reconnect')}`)
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
    expect((await events('&reason=InstanceUnregistered')).total).toBe(0)
  })

  it('keeps a disabled instance across a restart and records only what changed', async () => {
    const nacos = await startNacos()
    await startSynced()
    nacos.update(DEMO, '10.0.0.7', 20880, { enabled: false })
    await eventually(async () => one('InstanceUpdated'))
    await stop()
    await start()
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
    const seen = nacos.count(SERVICE_LIST)
    await eventually(async () => expect(nacos.count(SERVICE_LIST)).toBeGreaterThan(seen + 2))
    expect((await events()).total).toBe(2)
    await stop()
    nacos.deregister(DEMO, '10.0.0.7', 20880)
    await start()
    const unregistered = await eventually(async () => one('InstanceUnregistered'))
    expect(unregistered.message).toBe(`Instance unregistered: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService${missedChangeNote('restart')}`)
  })

  it('finds new services and deleted ones by listing the services again', async () => {
    const nacos = await startNacos()
    await startSynced()
    nacos.register(CART, { ip: '10.0.0.20', port: 20880, metadata: { application: 'cart' } })
    await eventually(async () => expect((await one('InstanceRegistered')).service).toBe('com.shop.CartService'))
    nacos.deleteService(CART)
    await eventually(async () => expect((await one('InstanceUnregistered')).instance).toBe('10.0.0.20:20880'))
    await eventually(async () => expect((await harness.eventline.get<ServiceSummary>(`/api/v1/services/com.shop.CartService?mesh=${MESH}`)).body.providers).toBe(0))
  })

  it.each(['sorted', 'created'] as const)(
    'does not take a service missed by a torn service-list read (%s order) for deleted',
    async (listOrder) => {
      const nacos = await startNacos({ listOrder })
      const name = (i: number) => `providers:com.shop.S${String(i).padStart(3, '0')}::`
      for (let i = 0; i < 150; i++) nacos.register(name(i), { ip: `10.1.0.${i}`, port: 20880, metadata: { application: `app-${i % 5}` } })
      // S010 has no instance left: an empty service, the kind Nacos cleans up.
      nacos.deregister(name(10), '10.1.0.10', 20880)
      await start('', { ...TUNING, minPollMs: 500 })
      await eventually(async () => one('RegistrySynced'))
      await eventually(async () => expect((await mesh())?.status).toBe('connected'))
      // Between pages 1 and 2 of one listing S010 goes and a new service comes: the count stays
      // 150, and S100 moves onto page 1, already read. That listing never names S100.
      nacos.beforeServicePage(2, () => {
        nacos.deleteService(name(10))
        nacos.register('providers:com.shop.Zeta::', { ip: '10.2.0.1', port: 20880, metadata: { application: 'zeta' } })
      })
      // Generous waits: a round polls 150 services, slow on a loaded machine.
      await eventually(async () => expect((await events('&reason=InstanceRegistered')).items.map((item) => item.application)).toContain('zeta'), 15_000)
      const seen = nacos.count(SERVICE_LIST)
      await eventually(async () => expect(nacos.count(SERVICE_LIST)).toBeGreaterThan(seen + 6), 15_000)
      expect((await events('&reason=InstanceUnregistered,InstanceRegistered')).items.map((item) => `${item.reason} ${item.instance}`)).toEqual(['InstanceRegistered 10.2.0.1:20880'])
      expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.1.0.100:20880?mesh=${MESH}`)).body.registered).toBe(true)
    },
    45_000,
  )

  it('does not start from a torn service-list read at the first sync', async () => {
    const nacos = await startNacos({ listOrder: 'created' })
    const name = (i: number) => `providers:com.shop.S${String(i).padStart(3, '0')}::`
    for (let i = 0; i < 150; i++) nacos.register(name(i), { ip: `10.1.0.${i}`, port: 20880, metadata: { application: `app-${i % 5}` } })
    nacos.deregister(name(10), '10.1.0.10', 20880)
    nacos.beforeServicePage(2, () => {
      nacos.deleteService(name(10))
      nacos.register('providers:com.shop.Zeta::', { ip: '10.2.0.1', port: 20880, metadata: { application: 'zeta' } })
    })
    await start('', { ...TUNING, minPollMs: 500 })
    // S100, missed by the torn first read, is part of the sync, not "registered" later.
    expect((await eventually(async () => one('RegistrySynced'))).message).toContain('6 applications, 150 instances, 150 services')
    const seen = nacos.count(SERVICE_LIST)
    await eventually(async () => expect(nacos.count(SERVICE_LIST)).toBeGreaterThan(seen + 4))
    expect((await events()).total).toBe(1)
  }, 20_000)

  it('pages through more than 100 services', async () => {
    const nacos = await startNacos()
    for (let i = 0; i < 250; i++) nacos.register(`providers:com.shop.Service${String(i).padStart(3, '0')}::`, { ip: `10.1.${Math.floor(i / 200)}.${i % 200}`, port: 20880, metadata: { application: `app-${i % 5}` } })
    await start()
    expect((await eventually(async () => one('RegistrySynced'))).message).toContain('5 applications, 250 instances, 250 services')
    // Past the one-name page that asks which API the server has (and the cheap count checks).
    const pages = nacos.requests.filter((request) => request.path === SERVICE_LIST && request.query.pageSize !== '1')
    expect(pages.slice(0, 3).map((request) => request.query)).toEqual([1, 2, 3].map((pageNo) => ({ pageNo: String(pageNo), pageSize: '100', namespaceId: 'public', groupName: 'DEFAULT_GROUP' })))
    await eventually(async () => expect((await harness.eventline.get<{ total: number }>(`/api/v1/services?mesh=${MESH}`)).body.total).toBe(250))
    nacos.register('providers:com.shop.Service249::', { ip: '10.9.9.9', port: 1, metadata: { application: 'late' } })
    await eventually(async () => expect((await one('InstanceRegistered')).application).toBe('late'))
  })

  it.each([
    ['HTTP 503', { kind: 'status', status: 503, body: 'server is DOWN now, please try again later!' } as const, /HTTP 503: server is DOWN now/],
    ['a timeout', { kind: 'hang' } as const, /did not answer .* within 300 ms/],
    ['invalid JSON', { kind: 'bad-json' } as const, /invalid JSON/],
  ])('reads %s as an error, never as deregistration, and recovers', async (_name, failure, reason) => {
    const nacos = await startNacos()
    await startSynced('', { ...TUNING, requestTimeoutMs: 300 })
    nacos.fail(failure)
    const failed = await eventually(async () => {
      const found = await mesh()
      expect(found?.status).toBe('error')
      return found!
    })
    expect(failed.error).toMatch(reason)
    // Changes while it keeps failing: retries back off, and nothing is read as gone.
    nacos.register(DEMO, provider('10.0.0.10'))
    nacos.deregister(DEMO, '10.0.0.7', 20880)
    const failedRequests = nacos.requests.length
    await eventually(async () => expect(nacos.requests.length).toBeGreaterThan(failedRequests + 3))
    expect((await events()).total).toBe(1)
    expect((await mesh())?.status).toBe('error')
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.7:20880?mesh=${MESH}`)).body.registered).toBe(true)

    nacos.heal()
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
    // What changed meanwhile is recorded once Nacos answers, with the note saying when it was found.
    const registered = await eventually(async () => one('InstanceRegistered'))
    const unregistered = await eventually(async () => one('InstanceUnregistered'))
    expect(registered.message).toBe(`Instance registered: demo-provider 10.0.0.10:20880 -> org.apache.dubbo.demo.DemoService${missedChangeNote('reconnect')}`)
    expect(unregistered.instance).toBe('10.0.0.7:20880')
    expect((await mesh())?.error).toBeUndefined()
  })

  it('does not read a failing instance list of one service as its instances leaving', async () => {
    const nacos = await startNacos()
    await startSynced()
    nacos.fail({ kind: 'status', status: 500 }, INSTANCE_LIST)
    await eventually(async () => expect((await mesh())?.error).toMatch(/instance\/list with HTTP 500/))
    await eventually(async () => expect(nacos.count(INSTANCE_LIST, 500)).toBeGreaterThan(3))
    expect((await events()).total).toBe(1)
    nacos.heal()
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
    expect((await events()).total).toBe(1)
  })

  it('keeps a failing service to itself: the others are recorded, the mesh stays connected, its instances stay', async () => {
    const nacos = await startNacos()
    nacos.register(CART, { ip: '10.0.0.20', port: 20880, metadata: { application: 'cart' } })
    nacos.register('shop-cart', { ip: '10.0.2.1', port: 20880 })
    await startSynced()
    nacos.failService(CART, { kind: 'status', status: 500 })
    await eventually(async () => expect((await mesh())?.error).toMatch(/^1 of 3 Nacos services failing: providers:com.shop.CartService::blue: .*instance\/list with HTTP 500/))
    nacos.register(DEMO, provider('10.0.0.9'))
    nacos.deregister(CART, '10.0.0.20', 20880)
    nacos.update('shop-cart', '10.0.2.1', 20880, { weight: 3 })
    expect((await eventually(async () => one('InstanceRegistered'))).instance).toBe('10.0.0.9:20880')
    expect((await eventually(async () => one('InstanceUpdated'))).instance).toBe('10.0.2.1:20880')
    const failed = nacos.count(INSTANCE_LIST, 500)
    const mark = nacos.requests.length
    await eventually(async () => expect(nacos.count(INSTANCE_LIST, 500)).toBeGreaterThan(failed + 3))
    // The failing service backs off on its own (no round is forced for it): asked less than a healthy one.
    const polls = (service: string) => nacos.requests.slice(mark).filter((request) => request.path === INSTANCE_LIST && request.query.serviceName === service).length
    expect(polls(CART)).toBeLessThan(polls(DEMO))
    expect(await mesh()).toMatchObject({ status: 'connected', error: expect.stringMatching(/^1 of 3 Nacos services failing/) })
    expect((await events('&reason=InstanceUnregistered')).total).toBe(0)
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.20:20880?mesh=${MESH}`)).body.registered).toBe(true)

    nacos.heal()
    const unregistered = await eventually(async () => one('InstanceUnregistered'))
    expect(unregistered.message).toBe(`Instance unregistered: cart 10.0.0.20:20880 -> com.shop.CartService${missedChangeNote('reconnect')}`)
    await eventually(async () => expect(await mesh()).toMatchObject({ status: 'connected' }))
    expect((await mesh())?.error).toBeUndefined()
  })

  it('puts the mesh in error when most services fail', async () => {
    const nacos = await startNacos()
    nacos.register(CART, { ip: '10.0.0.20', port: 20880, metadata: { application: 'cart' } })
    await startSynced()
    nacos.failService(CART, { kind: 'status', status: 500 })
    nacos.failService(DEMO, { kind: 'status', status: 500 })
    await eventually(async () => expect(await mesh()).toMatchObject({ status: 'error', error: expect.stringMatching(/^2 of 2 Nacos services failing/) }))
    nacos.heal()
    // The mesh reads connected once one service heals; the error clears at the poll of the other.
    await eventually(async () => {
      const status = await mesh()
      expect(status).toMatchObject({ status: 'connected' })
      expect(status?.error).toBeUndefined()
    })
    expect((await events()).total).toBe(1)
  })

  it('completes the first sync without a service that keeps failing, and records its instances once it answers', async () => {
    const nacos = await startNacos()
    nacos.register(DEMO, provider('10.0.0.7'))
    nacos.register('shop-cart', { ip: '10.0.2.1', port: 20880 })
    nacos.register(CART, { ip: '10.0.0.20', port: 20880, metadata: { application: 'cart' } })
    nacos.failService(CART, { kind: 'status', status: 503, body: 'server is DOWN now, please try again later!' })
    await start()
    expect((await eventually(async () => one('RegistrySynced'))).message).toContain('synced 2 applications, 2 instances, 1 service, 1 unread Nacos service;')
    await eventually(async () => expect(await mesh()).toMatchObject({ status: 'connected', error: expect.stringMatching(/^1 of 3 Nacos services failing: providers:com.shop.CartService::blue: .*HTTP 503/) }))
    // The rest is followed meanwhile.
    nacos.register(DEMO, provider('10.0.0.8'))
    expect((await eventually(async () => one('InstanceRegistered'))).instance).toBe('10.0.0.8:20880')

    nacos.heal()
    await eventually(async () => expect((await events('&reason=InstanceRegistered')).total).toBe(2))
    const late = (await events('&reason=InstanceRegistered')).items.find((item) => item.instance === '10.0.0.20:20880')
    expect(late?.message).toMatch(/^Instance registered: cart 10.0.0.20:20880 -> com.shop.CartService \(.*could not be read at the first sync.*\)$/)
    // The error clears at the poll that reads the healed service, which may come after the count.
    await eventually(async () => {
      const status = await mesh()
      expect(status).toMatchObject({ status: 'connected', counts: { instances: 4 } })
      expect(status?.error).toBeUndefined()
    })
  })

  it('logs in, renews the token before it runs out, and logs in again when it expires early', async () => {
    const nacos = await startNacos({ auth: { username: 'eventline', password: 's3cret' }, tokenTtlSeconds: 1 })
    await startSynced('&username=eventline&password=s3cret')
    expect((await mesh())?.address).toBe(`nacos://${nacos.address}?name=${MESH}&username=eventline&password=***`)
    // Renewed ahead of the 1 s lifetime: no call is refused for an expired token.
    await eventually(async () => expect(nacos.logins).toBeGreaterThanOrEqual(3), 5_000)
    expect(nacos.requests.filter((request) => request.status === 403)).toEqual([])

    nacos.expireTokens()
    nacos.register(DEMO, provider('10.0.0.11'))
    await eventually(async () => expect((await one('InstanceRegistered')).instance).toBe('10.0.0.11:20880'))
    expect(nacos.requests.some((request) => request.status === 403)).toBe(true)
    expect((await events('&reason=InstanceUnregistered')).total).toBe(0)
    expect((await mesh())?.status).toBe('connected')
  })

  it('shows wrong credentials as an auth error', async () => {
    const nacos = await startNacos({ auth: { username: 'eventline', password: 's3cret' } })
    nacos.register(DEMO, provider('10.0.0.7'))
    await start('&username=eventline&password=wrong')
    const failed = await eventually(async () => {
      const found = await mesh()
      expect(found?.status).toBe('error')
      return found!
    })
    expect(failed.error).toBe(`Nacos login failed for user "eventline" at ${nacos.address} (HTTP 403): user not found!`)
    expect((await events()).total).toBe(0)
  })

  it('tells that a Nacos with auth needs credentials when none are given', async () => {
    await startNacos({ auth: { username: 'eventline', password: 's3cret' } })
    await start()
    await eventually(async () => expect((await mesh())?.error).toMatch(/denied .*set username and password.*user not found!/))
  })

  it('after a restart records what changed while it was down, and nothing else', async () => {
    const nacos = await startNacos()
    nacos.register(DEMO, provider('10.0.0.7'))
    nacos.register(DEMO, provider('10.0.0.8'))
    nacos.register(DEMO, provider('10.0.0.12'))
    nacos.register(CART, { ip: '10.0.0.30', port: 20880, metadata: { application: 'cart' } })
    await start()
    await eventually(async () => one('RegistrySynced'))
    await stop()

    nacos.deregister(DEMO, '10.0.0.8', 20880)
    nacos.register(DEMO, provider('10.0.0.9'))
    nacos.update(DEMO, '10.0.0.7', 20880, { weight: 2 })
    nacos.deleteService(CART)
    const restartedAt = Date.now()
    await start()
    await eventually(async () => expect((await events()).total).toBe(5))
    // Let a few more rounds run: an unchanged registry adds nothing.
    const seen = nacos.count(SERVICE_LIST)
    await eventually(async () => expect(nacos.count(SERVICE_LIST)).toBeGreaterThan(seen + 2))
    const { items } = await events()
    expect(items.map((item) => `${item.reason} ${item.instance ?? ''}`.trim()).sort()).toEqual([
      'InstanceRegistered 10.0.0.9:20880',
      'InstanceUnregistered 10.0.0.30:20880',
      'InstanceUnregistered 10.0.0.8:20880',
      'InstanceUpdated 10.0.0.7:20880',
      'RegistrySynced',
    ])
    for (const item of items.filter((event) => event.reason !== 'RegistrySynced')) {
      expect(item.message.endsWith(missedChangeNote('restart'))).toBe(true)
      expect(Date.parse(item.time)).toBeGreaterThanOrEqual(restartedAt - 1000)
    }
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.8:20880?mesh=${MESH}`)).body.registered).toBe(false)
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.30:20880?mesh=${MESH}`)).body.registered).toBe(false)
    expect((await harness.eventline.get<Instance>(`/api/v1/instances/10.0.0.9:20880?mesh=${MESH}`)).body.registered).toBe(true)

    // A restart with nothing changed records nothing.
    await stop()
    await start()
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
    const later = nacos.count(SERVICE_LIST)
    await eventually(async () => expect(nacos.count(SERVICE_LIST)).toBeGreaterThan(later + 2))
    expect((await events()).total).toBe(5)
  })

  it('skips and counts a malformed host and keeps the rest', async () => {
    const nacos = await startNacos()
    await startSynced()
    nacos.injectHost(DEMO, { ip: '10.0.0.50', metadata: {} })
    nacos.injectHost(DEMO, { ip: '10.0.0.7', port: 20880, clusterName: 'DEFAULT', metadata: 'not an object' })
    nacos.register(DEMO, provider('10.0.0.51'))
    await eventually(async () => expect((await one('InstanceRegistered')).instance).toBe('10.0.0.51:20880'))
    const metrics = await (await fetch(`${harness.eventline.url}/metrics`)).text()
    expect(metrics).toMatch(/eventline_events_rejected_total\{source="nacos",reason="host without a valid port"\} [1-9]/)
    expect(metrics).toMatch(/eventline_events_rejected_total\{source="nacos",reason="host metadata is not an object"\} [1-9]/)
    // The known instance whose entry turned unreadable is not taken for deregistered.
    expect((await events('&reason=InstanceUnregistered')).total).toBe(0)
  })

  it('fails over to the next server of the URL when one cannot be reached', async () => {
    const nacos = await startNacos()
    nacos.register(DEMO, provider('10.0.0.7'))
    const unreachable = await startNacosServer()
    const deadAddress = unreachable.address
    await unreachable.close()
    await start('', TUNING, `${deadAddress},${nacos.address}`)
    await eventually(async () => one('RegistrySynced'))
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
  })

  it('reads the configured namespace and group, and stops polling on stop', async () => {
    const nacos = await startNacos()
    nacos.register('demo-app', { ip: '10.3.0.1', port: 8080 }, { namespace: 'dev', group: 'SHOP' })
    nacos.register(DEMO, provider('10.0.0.7'))
    await start('&namespace=dev&group=SHOP')
    expect((await eventually(async () => one('RegistrySynced'))).message).toContain('1 application, 1 instance, 0 services')
    // Nacos on this machine: push is on, so every list subscribes (`udpPort`, `clientIP`).
    expect(nacos.requests.find((request) => request.path === INSTANCE_LIST)?.query).toEqual({
      serviceName: 'demo-app',
      namespaceId: 'dev',
      groupName: 'SHOP',
      clusters: '',
      healthyOnly: 'false',
      udpPort: expect.stringMatching(/^[1-9]\d*$/),
      clientIP: '127.0.0.1',
    })
    expect(nacos.requests.find((request) => request.path === SERVICE_LIST)?.query).toEqual({ pageNo: '1', pageSize: '1', namespaceId: 'dev', groupName: 'SHOP' })
    await stop()
    const after = nacos.requests.length
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(nacos.requests.length).toBe(after)
  })
})

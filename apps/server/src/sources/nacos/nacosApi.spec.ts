import { describe, expect, it } from 'vitest'
import { eventually } from '../../testing/eventually.ts'
import { useNacosHarness } from '../../testing/nacosHarness.ts'
import type { NacosServer, NacosVersion } from '../../testing/nacosServer.ts'
import type { NacosTuning } from './nacosSource.ts'

const MESH = 'nacos-api'
const DEMO = 'providers:org.apache.dubbo.demo.DemoService:1.0.0:'
const CART = 'providers:com.shop.CartService::blue'
const AUTH = { username: 'eventline', password: 's3cret' }
const CREDENTIALS = '&username=eventline&password=s3cret'
// Full listings rarely (a minute): new services must be found by the cheap count check.
const TUNING: NacosTuning = { requestTimeoutMs: 2_000, minPollMs: 20, serviceListIntervalMs: 60_000, serviceCountIntervalMs: 100, backoff: { initialMs: 20, maxMs: 100 } }

describe('Nacos source across server versions', () => {
  const harness = useNacosHarness({ mesh: MESH, server: { cacheMillis: 30 }, tuning: TUNING })
  const { startNacos, start, events, mesh, one, provider } = harness
  /** The naming paths (`/vN/ns/...`) the source asked, after detection. */
  const namingApis = (from = 0) => new Set(harness.nacos.requests.slice(from).filter((request) => request.status === 200 && request.path.includes('/ns/')).map((request) => request.path.split('/')[2]))

  it.each<[NacosVersion, string, 'v1' | 'v2']>([
    ['1.x', '', 'v1'],
    ['1.x', '&push=off', 'v1'],
    ['2.x', '', 'v1'],
    ['2.x', '&push=off', 'v2'],
    ['3.x', '', 'v2'],
    ['3.x', '&push=off', 'v2'],
  ])('follows a Nacos %s server (URL "%s") with the %s API: sync, registration, disabling, deregistration, new services', async (version, query, api) => {
    const nacos = await startNacos({ version, auth: AUTH })
    nacos.register(DEMO, provider('10.0.0.7'))
    await start(`${query}${CREDENTIALS}`)
    expect((await eventually(async () => one('RegistrySynced'))).message).toContain('1 application, 1 instance, 1 service')
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
    const detected = nacos.requests.length
    expect(nacos.logins).toBeGreaterThan(0)

    nacos.register(DEMO, provider('10.0.0.8'))
    expect((await eventually(async () => one('InstanceRegistered'))).instance).toBe('10.0.0.8:20880')
    // Disabled: left out of the list, found by the instance detail.
    nacos.update(DEMO, '10.0.0.8', 20880, { enabled: false })
    await eventually(async () => expect((await one('InstanceUpdated')).message).toMatch(/: enabled true -> false$/))
    // Gone: the detail's not-found answer (each version's own) is a deregistration.
    nacos.deregister(DEMO, '10.0.0.8', 20880)
    expect((await eventually(async () => one('InstanceUnregistered'))).instance).toBe('10.0.0.8:20880')
    // A new service, found by the count check long before the next full listing.
    nacos.register(CART, { ip: '10.0.0.20', port: 20880, metadata: { application: 'cart' } })
    await eventually(async () => expect((await events('&reason=InstanceRegistered')).items.map((item) => item.instance)).toContain('10.0.0.20:20880'))

    expect(namingApis(detected)).toEqual(new Set([api]))
    expect(nacos.requests.filter((request) => request.status === 403)).toEqual([])
    expect((await events()).total).toBe(5)
  })

  it('probes the preferred API first and falls back on 404 (1.x) and 501 (1.x with auth)', async () => {
    for (const auth of [undefined, AUTH]) {
      const nacos = await startNacos({ version: '1.x', ...(auth ? { auth } : {}) })
      nacos.register(DEMO, provider('10.0.0.7'))
      await start(`&push=off${auth ? CREDENTIALS : ''}`)
      await eventually(async () => one('RegistrySynced'))
      const probe = nacos.requests.find((request) => request.path === '/nacos/v2/ns/service/list')
      expect(probe?.status).toBe(auth ? 501 : 404)
      // Asked once for the connection, not at every round.
      const polls = nacos.count('/nacos/v1/ns/instance/list')
      await eventually(async () => expect(nacos.count('/nacos/v1/ns/instance/list')).toBeGreaterThan(polls + 5))
      expect(nacos.count('/nacos/v2/ns/service/list')).toBe(1)
      await harness.reset()
    }
  })

  it('asks again which API the server has after it could not be reached: a server upgraded in place', async () => {
    const seed = (server: NacosServer) => server.register(DEMO, provider('10.0.0.7'))
    let nacos = await startNacos({ version: '2.x' })
    seed(nacos)
    await start('')
    await eventually(async () => one('RegistrySynced'))
    expect(namingApis()).toEqual(new Set(['v1']))
    const port = nacos.port
    await nacos.close()
    await eventually(async () => expect((await mesh())?.status).toBe('error'))
    // The same address now serves 3.x: v2 only.
    nacos = await startNacos({ version: '3.x', port })
    seed(nacos)
    nacos.register(DEMO, provider('10.0.0.9'))
    const registered = await eventually(async () => one('InstanceRegistered'))
    expect(registered.instance).toBe('10.0.0.9:20880')
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
    expect(namingApis()).toEqual(new Set(['v2']))
    expect((await events('&reason=InstanceUnregistered')).total).toBe(0)
  })

  it.each<NacosVersion>(['2.x', '3.x'])('shows wrong credentials on Nacos %s as an auth error', async (version) => {
    const nacos = await startNacos({ version, auth: AUTH })
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

  it('says so when the server offers neither API', async () => {
    const nacos = await startNacos({ version: '3.x' })
    nacos.fail({ kind: 'status', status: 404, body: 'Not Found' }, '/nacos/v2/ns/service/list')
    await start('&push=off')
    await eventually(async () => expect((await mesh())?.error).toMatch(/offers neither the v1 nor the v2 naming open API/))
    nacos.heal()
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
  })

  it('the test server answers v2 as Nacos documents it: the envelope, its parameters and error codes', async () => {
    const nacos = await startNacos({ version: '3.x' })
    nacos.register(DEMO, { ...provider('10.0.0.7'), weight: 2 })
    const get = async (path: string, query: Record<string, string>) => {
      const response = await fetch(`${nacos.url}${path}?${new URLSearchParams(query)}`)
      return { status: response.status, body: (await response.json()) as { code: number; message: string; data: Record<string, unknown> | string } }
    }
    expect(await get('/nacos/v2/ns/service/list', {})).toEqual({ status: 200, body: { code: 0, message: 'success', data: { count: 1, services: [DEMO] } } })
    const list = await get('/nacos/v2/ns/instance/list', { serviceName: DEMO })
    expect(list.body).toMatchObject({ code: 0, message: 'success', data: { name: `DEFAULT_GROUP@@${DEMO}`, groupName: 'DEFAULT_GROUP', reachProtectionThreshold: false, hosts: [{ ip: '10.0.0.7', port: 20880, weight: 2 }] } })
    expect(await get('/nacos/v2/ns/instance', { serviceName: DEMO, ip: '10.0.0.7', port: '20880' })).toEqual({
      status: 200,
      body: {
        code: 0,
        message: 'success',
        data: {
          serviceName: `DEFAULT_GROUP@@${DEMO}`,
          ip: '10.0.0.7',
          port: 20880,
          clusterName: 'DEFAULT',
          weight: 2,
          healthy: true,
          instanceId: `10.0.0.7#20880#DEFAULT#DEFAULT_GROUP@@${DEMO}`,
          metadata: { application: 'demo-provider', version: '1.0' },
        },
      },
    })
    expect(await get('/nacos/v2/ns/instance', { serviceName: DEMO, ip: '10.0.0.9', port: '20880' })).toEqual({ status: 404, body: { code: 20004, message: 'resource not found', data: 'no matched ip found!' } })
    expect(await get('/nacos/v2/ns/instance/list', {})).toMatchObject({ status: 400, body: { code: 10000, message: 'parameter missing' } })
    expect(await get('/nacos/v2/ns/instance', { serviceName: DEMO, ip: '10.0.0.7', port: 'x' })).toMatchObject({ status: 400, body: { code: 20002 } })
    // 3.x here has no v1: 404, and logs in at the v3 path.
    expect((await fetch(`${nacos.url}/nacos/v1/ns/service/list?pageNo=1&pageSize=1`)).status).toBe(404)
  })
})

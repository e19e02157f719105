/**
 * Replays the requests apache/dubbo-admin's console (ui-vue3) sends to its event endpoints, as
 * axios serialises them, and checks what the console reads: `data.list`, `data.total` and each
 * item's `time`, `type`, `message`, `source` and `desc`. The expected events are Eventline's own
 * timeline for the same entity, so the compatible endpoints serve the same data.
 */
import type { DubboAdminEventList, DubboAdminResponse, EventItem, EventPage } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, tempDir } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

const BASE = Math.floor((Date.now() - 86_400_000) / 1000) * 1000
const HOST = '10.5.0.9'
const POD = 'cart-7f9c-abcde'

/** 60 events over two meshes: a provider instance, the pod at its IP, and a consumer app. */
function seed() {
  return Array.from({ length: 60 }, (_, i) => {
    const mesh = i % 4 === 3 ? 'other' : 'shop'
    const event = {
      id: `da-${String(i).padStart(3, '0')}`,
      time: new Date(BASE + i * 61_000).toISOString(),
      type: i % 5 === 0 ? 'warning' : 'normal',
      reason: i % 5 === 0 ? 'ProviderUnregistered' : 'ProviderRegistered',
      message: `event ${i} of ${i % 3 === 0 ? 'web' : 'cart'}`,
      mesh,
      application: i % 3 === 0 ? 'web' : 'cart',
      service: 'org.example.CartService',
    }
    if (i % 3 === 0) return { ...event, instance: `web@${HOST}`, ip: HOST }
    if (i % 3 === 1) return { ...event, instance: `${HOST}:20880`, ip: HOST }
    return { ...event, instance: POD, ip: HOST, object: { kind: 'Pod', name: POD, namespace: 'shop' } }
  })
}

/** Query string as axios builds it from the console's params object (undefined left out). */
function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.append(key, String(value))
  const text = search.toString()
  return text ? `?${text}` : ''
}

describe('Dubbo admin compatible endpoints, as dubbo-admin console calls them', () => {
  const tmp = tempDir()
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ db: `${tmp.dir}/dubbo-admin.db` })
    // The pod is known to the catalog (as the Kubernetes source would report it) under its own name.
    await server.bus.publish({
      catalog: [{ op: 'instance', instance: { mesh: 'shop', name: POD, ip: HOST, application: 'cart', registered: false, source: 'kubernetes' } }],
    })
    expect((await server.post('/api/v1/events', seed())).status).toBe(202)
  })
  afterAll(async () => {
    await server.stop()
    tmp.cleanup()
  })

  /** Every event of one of Eventline's own timelines, newest first. */
  async function native(path: string): Promise<EventItem[]> {
    const items: EventItem[] = []
    let cursor: string | null = null
    do {
      const separator = path.includes('?') ? '&' : '?'
      const page: { status: number; body: EventPage } = await server.get<EventPage>(`${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      expect(page.status).toBe(200)
      items.push(...page.body.items)
      cursor = page.body.nextCursor
    } while (cursor)
    return items
  }

  async function dubboAdmin(path: string, params: Record<string, string | number | undefined>) {
    const { status, body } = await server.get<DubboAdminResponse<DubboAdminEventList>>(`/api/v1${path}${query(params)}`)
    expect(status).toBe(200)
    return body
  }

  /** The page the console shows, checked field by field against the expected events. */
  function expectPage(body: DubboAdminResponse<DubboAdminEventList>, expected: EventItem[], offset = 0, size = 20) {
    expect(body.code, body.message).toBe('Success')
    expect(body.data!.total).toBe(expected.length)
    const page = expected.slice(offset, offset + size)
    expect(body.data!.list).toHaveLength(page.length)
    body.data!.list.forEach((item, index) => {
      const event = page[index]!
      expect(item.time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
      expect(item).toEqual({ time: event.time.slice(0, 19).replace('T', ' '), type: event.type, message: event.message, source: event.source, desc: event.message })
    })
  }

  it('answers the application tab of older consoles (no parameters at all) with an empty list', async () => {
    const body = await dubboAdmin('/application/event', {})
    expect(body).toEqual({ code: 'Success', message: 'success', data: { list: [], total: 0 } })
  })

  it('answers the first render (empty appName) with an empty list', async () => {
    const body = await dubboAdmin('/application/event', { appName: '', mesh: 'default', pageOffset: 0, pageSize: 20 })
    expect(body.data).toEqual({ list: [], total: 0 })
  })

  it('searches every mesh when mesh is the console\'s own (default), empty, or names no mesh', async () => {
    const expected = await native('/api/v1/applications/cart/events')
    expect(new Set(expected.map((event) => event.mesh))).toEqual(new Set(['shop', 'other']))
    for (const mesh of ['default', '', 'no-such-mesh', undefined]) {
      expectPage(await dubboAdmin('/application/event', { appName: 'cart', mesh, pageOffset: 0, pageSize: 20 }), expected)
    }
  })

  it('narrows to a mesh Eventline has', async () => {
    const expected = await native('/api/v1/applications/cart/events?mesh=shop')
    expect(expected.length).toBeGreaterThan(0)
    expectPage(await dubboAdmin('/application/event', { appName: 'cart', mesh: 'shop', pageOffset: 0, pageSize: 20 }), expected)
  })

  it('reads pageSize 0 or absent as 20 and pages by offset through every event', async () => {
    const expected = await native('/api/v1/applications/cart/events')
    expect(expected.length).toBeGreaterThan(20)
    expectPage(await dubboAdmin('/application/event', { appName: 'cart', mesh: '', pageOffset: 0, pageSize: 0 }), expected)
    expectPage(await dubboAdmin('/application/event', { appName: 'cart' }), expected)
    // The console's infinite scroll: offset += list.length while offset < total.
    const seen: string[] = []
    let offset = 0
    for (;;) {
      const body = await dubboAdmin('/application/event', { appName: 'cart', mesh: 'default', pageOffset: offset, pageSize: 20 })
      expectPage(body, expected, offset)
      seen.push(...body.data!.list.map((item) => item.message))
      offset += body.data!.list.length
      if (!(offset < body.data!.total && body.data!.list.length > 0)) break
    }
    expect(seen).toEqual(expected.map((event) => event.message))
  })

  it('matches an instance by its IP when instanceName is empty', async () => {
    const expected = await native(`/api/v1/instances/${HOST}/events`)
    expect(expected.length).toBe(60)
    expectPage(await dubboAdmin('/instance/event', { instanceName: '', ip: HOST, mesh: 'default', pageOffset: 0, pageSize: 20 }), expected)
  })

  it('matches an instance by its ip:port name, in instanceName or in ip', async () => {
    const expected = await native(`/api/v1/instances/${HOST}:20880/events`)
    expect(expected.length).toBeGreaterThan(0)
    expectPage(await dubboAdmin('/instance/event', { instanceName: `${HOST}:20880`, ip: '', mesh: 'default', pageOffset: 0, pageSize: 20 }), expected)
    expectPage(await dubboAdmin('/instance/event', { instanceName: '', ip: `${HOST}:20880`, mesh: 'default', pageOffset: 0, pageSize: 20 }), expected)
  })

  it('matches an instance by its name when Eventline knows it, else by the IP sent beside it', async () => {
    const byName = await native(`/api/v1/instances/${POD}/events`)
    expect(byName.length).toBeGreaterThan(0)
    expectPage(await dubboAdmin('/instance/event', { instanceName: POD, ip: HOST, mesh: 'default', pageOffset: 0, pageSize: 20 }), byName)
    // dubbo-admin's own instance name, which Eventline does not use: the IP still finds the instance.
    const byIp = await native(`/api/v1/instances/${HOST}/events`)
    expectPage(await dubboAdmin('/instance/event', { instanceName: 'cart-dubbo-admin-name', ip: HOST, mesh: 'default', pageOffset: 0, pageSize: 20 }), byIp)
  })

  it('answers an instance request naming no instance with an empty list', async () => {
    const body = await dubboAdmin('/instance/event', { instanceName: '', ip: '', mesh: 'default', pageOffset: 0, pageSize: 20 })
    expect(body.data).toEqual({ list: [], total: 0 })
  })

  it('narrows /service/event by appName', async () => {
    const all = await native('/api/v1/services/org.example.CartService/events')
    const web = await native('/api/v1/services/org.example.CartService/events?application=web')
    expect(web.length).toBeGreaterThan(0)
    expect(web.length).toBeLessThan(all.length)
    expectPage(await dubboAdmin('/service/event', { serviceName: 'org.example.CartService', appName: 'web', mesh: 'default', pageOffset: 0, pageSize: 20 }), web)
    expectPage(await dubboAdmin('/service/event', { serviceName: 'org.example.CartService', appName: '', mesh: '', pageOffset: 0, pageSize: 20 }), all)
  })

  it('ignores parameters it does not know (the console adds its own)', async () => {
    const expected = await native('/api/v1/applications/web/events')
    expectPage(await dubboAdmin('/application/event', { appName: 'web', mesh: 'default', pageOffset: 0, pageSize: 20, keywords: '', _t: 1 }), expected)
  })

  it('keeps HTTP 200 with InvalidArgument naming the parameter for values out of range', async () => {
    for (const [params, field] of [
      [{ appName: 'cart', pageSize: 1000 }, 'pageSize'],
      [{ appName: 'cart', pageSize: 'many' }, 'pageSize'],
      [{ appName: 'cart', pageOffset: -1 }, 'pageOffset'],
    ] as const) {
      const body = await dubboAdmin('/application/event', params)
      expect(body.code).toBe('InvalidArgument')
      expect(body.message).toContain(field)
      expect(body.data).toBeNull()
    }
  })
})

import { describe, expect, it } from 'vitest'
import { missedChangeNote, STATE_PREFIX } from '../registry/registryState.ts'
import {
  changeEvents,
  diffEvents,
  goneCatalog,
  holdHealth,
  instanceCatalog,
  instanceKey,
  isInstanceNotFound,
  parseInstance,
  readInstanceDetail,
  readInstanceList,
  readServicePage,
  serializeInstance,
} from './normalize.ts'
import type { NacosInstance } from './normalize.ts'

const SERVICE = 'providers:org.apache.dubbo.demo.DemoService:1.0.0:'
const base: NacosInstance = {
  service: SERVICE,
  ip: '10.0.0.7',
  port: 20880,
  cluster: 'DEFAULT',
  healthy: true,
  enabled: true,
  weight: 1,
  ephemeral: true,
  metadata: { application: 'demo-provider', version: '1.0' },
}
const KEY = instanceKey(SERVICE, 'DEFAULT', '10.0.0.7', 20880)
const context = { mesh: 'nacos-test', time: 1_700_000_000_000 }
const with_ = (patch: Partial<NacosInstance>): NacosInstance => ({ ...base, ...patch })

describe('changeEvents (the instance diff)', () => {
  it.each<[string, NacosInstance | undefined, NacosInstance | undefined, Array<{ reason: string; type: string; action: string; message: string }>]>([
    [
      'registered',
      undefined,
      base,
      [{ reason: 'InstanceRegistered', type: 'normal', action: 'registered', message: 'Instance registered: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService' }],
    ],
    [
      'unregistered',
      base,
      undefined,
      [{ reason: 'InstanceUnregistered', type: 'warning', action: 'deregistered', message: 'Instance unregistered: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService' }],
    ],
    [
      'healthy true -> false',
      base,
      with_({ healthy: false }),
      [{ reason: 'InstanceUnhealthy', type: 'warning', action: 'updated', message: 'Instance unhealthy: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService' }],
    ],
    [
      'healthy false -> true',
      with_({ healthy: false }),
      base,
      [{ reason: 'InstanceHealthy', type: 'normal', action: 'updated', message: 'Instance healthy again: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService' }],
    ],
    [
      'weight',
      base,
      with_({ weight: 0.5 }),
      [{ reason: 'InstanceUpdated', type: 'normal', action: 'updated', message: 'Instance updated: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService: weight 1 -> 0.5' }],
    ],
    [
      'enabled',
      base,
      with_({ enabled: false }),
      [{ reason: 'InstanceUpdated', type: 'normal', action: 'updated', message: 'Instance updated: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService: enabled true -> false' }],
    ],
    [
      'metadata changed, added and removed',
      base,
      with_({ metadata: { application: 'demo-provider', version: '1.1', zone: 'a' } }),
      [
        {
          reason: 'InstanceUpdated',
          type: 'normal',
          action: 'updated',
          message: 'Instance updated: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService: metadata version 1.0 -> 1.1, metadata zone (unset) -> a',
        },
      ],
    ],
    [
      'health flip and weight at once: two events',
      base,
      with_({ healthy: false, weight: 0 }),
      [
        { reason: 'InstanceUnhealthy', type: 'warning', action: 'updated', message: 'Instance unhealthy: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService' },
        { reason: 'InstanceUpdated', type: 'normal', action: 'updated', message: 'Instance updated: demo-provider 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService: weight 1 -> 0' },
      ],
    ],
    ['only the instance id changed: nothing to report', base, with_({ instanceId: 'other' }), []],
    [
      'application-level service (Dubbo 3): the service name is the application',
      undefined,
      with_({ service: 'shop-cart', metadata: {} }),
      [{ reason: 'InstanceRegistered', type: 'normal', action: 'registered', message: 'Instance registered: shop-cart 10.0.0.7:20880' }],
    ],
    [
      'interface-level without application metadata, in another cluster',
      undefined,
      with_({ metadata: {}, cluster: 'east' }),
      [{ reason: 'InstanceRegistered', type: 'normal', action: 'registered', message: 'Instance registered: 10.0.0.7:20880 -> org.apache.dubbo.demo.DemoService (cluster east)' }],
    ],
  ])('%s', (_name, before, after, expected) => {
    const events = changeEvents(context, KEY, before, after)
    expect(events.map(({ reason, type, action, message }) => ({ reason, type, action, message }))).toEqual(expected)
    for (const event of events) expect(event).toMatchObject({ source: 'nacos', component: 'nacos', mesh: 'nacos-test', category: 'instance', instance: '10.0.0.7:20880', ip: '10.0.0.7', time: context.time })
  })

  it('names an IPv6 instance with brackets, as every registry source does', () => {
    const v6 = with_({ ip: '2001:db8::1' })
    const key = instanceKey(SERVICE, 'DEFAULT', '2001:db8::1', 20880)
    const [event] = changeEvents(context, key, undefined, v6)
    expect(event).toMatchObject({
      message: 'Instance registered: demo-provider [2001:db8::1]:20880 -> org.apache.dubbo.demo.DemoService',
      instance: '[2001:db8::1]:20880',
      ip: '2001:db8::1',
      object: { kind: 'Instance', name: '[2001:db8::1]:20880' },
    })
    expect(instanceCatalog('m', v6)).toContainEqual({ op: 'instance', instance: { mesh: 'm', name: '[2001:db8::1]:20880', ip: '2001:db8::1', port: 20880, application: 'demo-provider', registered: true, source: 'nacos' } })
    expect(instanceCatalog('m', v6)).toContainEqual({ op: 'service-instance', mesh: 'm', service: 'org.apache.dubbo.demo.DemoService', instance: '[2001:db8::1]:20880', side: 'provider', application: 'demo-provider' })
  })

  it('names the owner application and the Dubbo interface on the event', () => {
    const [event] = changeEvents(context, KEY, undefined, base)
    expect(event).toMatchObject({ application: 'demo-provider', service: 'org.apache.dubbo.demo.DemoService', object: { kind: 'Instance', name: '10.0.0.7:20880' } })
  })

  it('lists many metadata changes up to a bound and cuts long values', () => {
    const metadata = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'x'.repeat(100)]))
    const [event] = changeEvents(context, KEY, base, with_({ metadata: { ...base.metadata, ...metadata } }))
    expect(event!.message).toMatch(/metadata k00 \(unset\) -> x{59}…/)
    expect(event!.message).toMatch(/ and 4 more$/)
  })
})

describe('diffEvents', () => {
  it('turns a service poll into events and state checkpoints, with the missed-change note', () => {
    const gone = with_({ ip: '10.0.0.8' })
    const before = new Map([
      [KEY, serializeInstance(base)],
      [instanceKey(SERVICE, 'DEFAULT', '10.0.0.8', 20880), serializeInstance(gone)],
    ])
    const added = with_({ ip: '10.0.0.9' })
    const after = new Map([
      [KEY, serializeInstance(with_({ weight: 2 }))],
      [instanceKey(SERVICE, 'DEFAULT', '10.0.0.9', 20880), serializeInstance(added)],
    ])
    const { events, checkpoints } = diffEvents(before, after, { ...context, note: missedChangeNote('restart') })
    expect(events.map((event) => event.reason)).toEqual(['InstanceRegistered', 'InstanceUpdated', 'InstanceUnregistered'])
    expect(events.every((event) => event.message.endsWith(missedChangeNote('restart')))).toBe(true)
    expect(new Set(events.map((event) => event.id)).size).toBe(3)
    expect(checkpoints).toEqual([
      { key: STATE_PREFIX + instanceKey(SERVICE, 'DEFAULT', '10.0.0.9', 20880), value: serializeInstance(added) },
      { key: STATE_PREFIX + KEY, value: serializeInstance(with_({ weight: 2 })) },
      { key: STATE_PREFIX + instanceKey(SERVICE, 'DEFAULT', '10.0.0.8', 20880), value: null },
    ])
  })

  it('gives the same change seen twice the same event id', () => {
    const once = diffEvents(new Map(), new Map([[KEY, serializeInstance(base)]]), context).events[0]!.id
    expect(diffEvents(new Map(), new Map([[KEY, serializeInstance(base)]]), context).events[0]!.id).toBe(once)
  })

  it('serialises the same instance to the same string whatever the metadata order', () => {
    const reordered = with_({ metadata: { version: '1.0', application: 'demo-provider' } })
    expect(serializeInstance(reordered)).toBe(serializeInstance(base))
    expect(parseInstance(serializeInstance(base))).toEqual(base)
    expect(parseInstance('not json')).toBeUndefined()
  })
})

describe('readInstanceList', () => {
  const host = { instanceId: 'x', ip: '10.0.0.7', port: 20880, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', serviceName: `DEFAULT_GROUP@@${SERVICE}`, metadata: { application: 'demo-provider' } }

  it.each<[string, unknown, string, string | undefined]>([
    ['no ip', { ...host, ip: undefined }, 'host without ip', undefined],
    ['no port', { ...host, port: undefined }, 'host without a valid port', undefined],
    ['port out of range', { ...host, port: 70000 }, 'host without a valid port', undefined],
    ['metadata a string', { ...host, metadata: 'a=b' }, 'host metadata is not an object', KEY],
    ['metadata value an object', { ...host, metadata: { nested: { a: 1 } } }, 'host metadata value is not a string', KEY],
    ['weight a string', { ...host, weight: 'heavy' }, 'host with a non-numeric weight', KEY],
    ['healthy a string', { ...host, healthy: 'yes' }, 'host with a non-boolean healthy, enabled or ephemeral', KEY],
    ['not an object', 'host', 'host is not an object', undefined],
  ])('skips a host with %s and keeps the rest', (_name, bad, reason, key) => {
    const result = readInstanceList(SERVICE, { cacheMillis: 3000, hosts: [bad, { ...host, ip: '10.0.0.9' }] })
    if (!result.ok) throw new Error(result.reason)
    expect([...result.instances.keys()]).toEqual([instanceKey(SERVICE, 'DEFAULT', '10.0.0.9', 20880)])
    expect(result.malformed).toEqual([key === undefined ? { reason, host: bad } : { reason, key, host: bad }])
    expect(result.cacheMillis).toBe(3000)
  })

  it('reads a good host, defaulting what Nacos may leave out', () => {
    const result = readInstanceList(SERVICE, { hosts: [{ ip: '10.0.0.7', port: 20880, metadata: { n: 5 } }] })
    if (!result.ok) throw new Error(result.reason)
    expect(result.instances.get(KEY)).toEqual({ ...base, metadata: { n: '5' } })
    expect(result.cacheMillis).toBeUndefined()
  })

  it.each([['null', null], ['no hosts', { name: 'x' }], ['hosts not an array', { hosts: {} }], ['an array', []]])('rejects an answer that is %s', (_name, body) => {
    expect(readInstanceList(SERVICE, body).ok).toBe(false)
  })

  it('reads service pages', () => {
    expect(readServicePage({ count: 2, doms: ['a', 'b'] })).toEqual({ ok: true, count: 2, names: ['a', 'b'] })
    expect(readServicePage({ count: 2 }).ok).toBe(false)
    expect(readServicePage({ count: 1, doms: [3] }).ok).toBe(false)
    // v2's data names them `services`.
    expect(readServicePage({ count: 3, services: ['c'] })).toEqual({ ok: true, count: 3, names: ['c'] })
    expect(readServicePage({ count: 1, services: [null] }).ok).toBe(false)
  })
})

describe('holdHealth', () => {
  it.each<[string, boolean | undefined, boolean, boolean]>([
    ['a known unhealthy instance stays unhealthy', false, true, false],
    ['a known healthy instance stays healthy', true, true, true],
    ['a new instance takes what is reported', undefined, true, true],
  ])('%s', (_name, knownHealthy, reported, expected) => {
    const known = knownHealthy === undefined ? undefined : with_({ healthy: knownHealthy })
    const held = holdHealth(new Map([[KEY, with_({ healthy: reported, weight: 3 })]]), (key) => (key === KEY ? known : undefined))
    expect(held.get(KEY)).toEqual(with_({ healthy: expected, weight: 3 }))
  })

  it('reads the protection flag of an answer', () => {
    const read = (reachProtectionThreshold: unknown) => {
      const result = readInstanceList(SERVICE, { hosts: [], reachProtectionThreshold })
      return result.ok && result.protectionReached
    }
    expect([read(true), read(false), read(undefined)]).toEqual([true, false, false])
    // Nacos 1.x sends no flag at all: "not known", which is not "not reached".
    const known = (body: Record<string, unknown>) => {
      const result = readInstanceList(SERVICE, { hosts: [], ...body })
      return result.ok && result.protectionKnown
    }
    expect([known({ reachProtectionThreshold: true }), known({ reachProtectionThreshold: false }), known({})]).toEqual([true, true, false])
  })
})

describe('catalog', () => {
  it('describes a provider: application, instance, service with version and group, membership', () => {
    expect(instanceCatalog('m', with_({ service: 'providers:com.shop.Cart:2.0:blue' }))).toEqual([
      { op: 'application', mesh: 'm', name: 'demo-provider' },
      { op: 'instance', instance: { mesh: 'm', name: '10.0.0.7:20880', ip: '10.0.0.7', port: 20880, application: 'demo-provider', registered: true, source: 'nacos' } },
      { op: 'service', mesh: 'm', name: 'com.shop.Cart', version: '2.0', group: 'blue' },
      { op: 'service-instance', mesh: 'm', service: 'com.shop.Cart', instance: '10.0.0.7:20880', side: 'provider', application: 'demo-provider' },
    ])
  })

  it('keeps a process that another service still lists, and drops links no registration holds', () => {
    const cart = with_({ service: 'providers:com.shop.Cart::' })
    const demo = base
    expect(goneCatalog('m', [cart], [demo])).toEqual([{ op: 'service-instance-gone', mesh: 'm', service: 'com.shop.Cart', instance: '10.0.0.7:20880', side: 'provider' }])
    expect(goneCatalog('m', [cart, demo], [])).toEqual([
      { op: 'service-instance-gone', mesh: 'm', service: 'com.shop.Cart', instance: '10.0.0.7:20880', side: 'provider' },
      { op: 'instance-gone', mesh: 'm', name: '10.0.0.7:20880' },
      { op: 'service-instance-gone', mesh: 'm', service: 'org.apache.dubbo.demo.DemoService', instance: '10.0.0.7:20880', side: 'provider' },
    ])
  })
})

describe('the instance detail', () => {
  it.each<[string, number, string, boolean]>([
    ['2.x, instance missing', 500, 'caused: no matched ip found!;', true],
    ['2.x, service without instances', 500, `caused: no ips found for cluster DEFAULT in service DEFAULT_GROUP@@${SERVICE};`, true],
    ['1.x, instance missing', 404, 'no matched ip found!', true],
    ['1.x, cluster without instances', 404, `no ips found for cluster blue in service DEFAULT_GROUP@@${SERVICE}`, true],
    ['1.x, service missing', 404, `no service DEFAULT_GROUP@@${SERVICE} found!`, true],
    ['a server error', 500, 'server error', false],
    ['a server error naming no instance', 500, 'caused: java.lang.NullPointerException;', false],
    ['a proxy 404', 404, '<html><body>Not Found</body></html>', false],
    ['a 503 with the message', 503, 'caused: no matched ip found!;', false],
    ['a 200', 200, 'caused: no matched ip found!;', false],
    ['v2, instance missing', 404, '{"code":20004,"message":"resource not found","data":"no matched ip found!"}', true],
    ['v2, service without instances', 404, `{"code":20004,"message":"resource not found","data":"no ips found for cluster DEFAULT in service DEFAULT_GROUP@@${SERVICE}"}`, true],
    ['v2, another error code', 404, '{"code":30000,"message":"server error","data":"no matched ip found!"}', false],
    ['v2, another message', 404, '{"code":20004,"message":"resource not found","data":"no such namespace"}', false],
    ['v2, unreadable envelope', 404, '{"code":20004,', false],
  ])('tells a not-found answer from a failure: %s', (_name, status, body, notFound) => {
    expect(isInstanceNotFound(status, body)).toBe(notFound)
  })

  it('reads a detail answer as the instance, disabled, with its weight, health and metadata', () => {
    const known = with_({ instanceId: 'id-1', ephemeral: false })
    const body = { service: `DEFAULT_GROUP@@${SERVICE}`, ip: '10.0.0.7', port: 20880, clusterName: 'DEFAULT', weight: 0.5, healthy: false, instanceId: 'id-1', metadata: { application: 'demo-provider', version: '1.1' } }
    expect(readInstanceDetail(known, body)).toEqual({
      ok: true,
      instance: { ...known, enabled: false, weight: 0.5, healthy: false, metadata: { application: 'demo-provider', version: '1.1' } },
    })
  })

  it('refuses a detail answer that is not one, or is for another address', () => {
    expect(readInstanceDetail(base, 'ok')).toMatchObject({ ok: false })
    expect(readInstanceDetail(base, { ip: '10.0.0.8', port: 20880 })).toEqual({ ok: false, reason: 'instance detail answer for another address' })
    expect(readInstanceDetail(base, { ip: '10.0.0.7', port: 20880, weight: 'heavy' })).toEqual({ ok: false, reason: 'instance detail answer: host with a non-numeric weight' })
  })
})

import { describe, expect, it } from 'vitest'
import { missedChangeNote } from '../registry/registryState.ts'
import { classifyPath, describeChange, goneCatalog, itemFacts, malformedReason, normalizeRoot, presentCatalog, watchedRoots } from './normalize.ts'
import type { ZkItem } from './normalize.ts'

const DEMO = 'org.apache.dubbo.demo.DemoService'
const PROVIDER_URL = `dubbo://10.0.0.7:20880/${DEMO}?anyhost=true&application=demo-provider&dubbo=2.0.2&interface=${DEMO}&methods=sayHello,sayHelloAsync&side=provider&timestamp=1700000000000&version=1.0.0`
const PROVIDER_NODE = encodeURIComponent(PROVIDER_URL)
const CONSUMER_NODE = encodeURIComponent(`consumer://10.0.0.8/${DEMO}?application=demo-consumer&category=consumers&side=consumer&version=1.0.0`)
const INSTANCE = (revision: string) => JSON.stringify({ name: 'demo-provider', address: '10.0.0.7', port: 20880, payload: { metadata: { 'dubbo.metadata.revision': revision } } })
const CONTEXT = { mesh: 'zk-prod', time: 1_700_000_000_000 }

describe('classifyPath', () => {
  const folder = { children: true, data: false }
  it.each([
    ['/dubbo', folder],
    [`/dubbo/${DEMO}`, folder],
    [`/dubbo/${DEMO}/providers`, folder],
    [`/dubbo/${DEMO}/providers/${PROVIDER_NODE}`, { children: false, data: false, item: { kind: 'url', category: 'providers', service: DEMO, name: PROVIDER_NODE } }],
    [`/dubbo/${DEMO}/consumers/${CONSUMER_NODE}`, { children: false, data: false, item: { kind: 'url', category: 'consumers', service: DEMO } }],
    [`/dubbo/${DEMO}/configurators/x`, { item: { kind: 'url', category: 'configurators' } }],
    [`/dubbo/${DEMO}/routers/x`, { item: { kind: 'url', category: 'routers' } }],
    ['/services', folder],
    ['/services/demo-provider', folder],
    ['/services/demo-provider/10.0.0.7:20880', { children: false, data: true, item: { kind: 'instance', application: 'demo-provider', address: '10.0.0.7:20880' } }],
    ['/dubbo/config', folder],
    ['/dubbo/config/dubbo', folder],
    ['/dubbo/config/dubbo/demo-provider.tag-router', { data: true, item: { kind: 'rule', group: 'dubbo', key: 'demo-provider', ruleType: 'tag-router' } }],
    [`/dubbo/config/dubbo/${DEMO}::.condition-router`, { item: { kind: 'rule', key: `${DEMO}::`, ruleType: 'condition-router' } }],
    ['/dubbo/config/dubbo/demo-provider.configurators', { item: { kind: 'rule', ruleType: 'configurators' } }],
    ['/dubbo/config/dubbo/dubbo.properties', { item: { kind: 'rule', key: 'dubbo.properties' } }],
    ['/dubbo/metadata', folder],
    [`/dubbo/metadata/${DEMO}`, folder],
    [`/dubbo/metadata/${DEMO}/provider/demo-provider`, { data: true, item: { kind: 'service-metadata', service: DEMO, side: 'provider', application: 'demo-provider' } }],
    [`/dubbo/metadata/${DEMO}/1.0.0/g1/consumer/demo-consumer`, { item: { kind: 'service-metadata', version: '1.0.0', group: 'g1', side: 'consumer', application: 'demo-consumer' } }],
    // Told apart from an `{interface}/{version}` folder by its data, once read.
    ['/dubbo/metadata/demo-provider/3f2a9c', { children: true, data: true, item: { kind: 'app-metadata', application: 'demo-provider', revision: '3f2a9c' } }],
    [`/dubbo/metadata/${DEMO}/provider`, folder],
    ['/dubbo/mapping', folder],
    [`/dubbo/mapping/${DEMO}`, { data: true, item: { kind: 'mapping', service: DEMO } }],
  ])('classifies %s', (path, info) => {
    expect(classifyPath(path, '/dubbo')).toMatchObject(info)
  })

  it.each([[`/dubbo/${DEMO}/other`], [`/dubbo/${DEMO}/providers/a/b`], ['/zookeeper'], ['/dubbox'], ['/services/a/b/c'], ['/dubbo/config/mapping/x'], ['/dubbo//x']])('ignores %s', (path) => {
    expect(classifyPath(path, '/dubbo')).toBeUndefined()
  })

  it('honours another root, and keeps /services at the ZooKeeper root', () => {
    expect(normalizeRoot(undefined)).toBe('/dubbo')
    expect(normalizeRoot('gov/')).toBe('/gov')
    expect(watchedRoots('/gov')).toEqual(['/gov', '/services'])
    expect(classifyPath('/gov/x.S/providers', '/gov')).toEqual({ children: true, data: false })
    expect(classifyPath('/dubbo/x.S/providers', '/gov')).toBeUndefined()
  })
})

describe('malformedReason', () => {
  const item = (path: string) => classifyPath(path, '/dubbo')!.item!
  it.each([
    [`/dubbo/${DEMO}/providers/${PROVIDER_NODE}`, '', undefined],
    [`/dubbo/${DEMO}/providers/not%ZZurl`, '', 'node name is not a URL-encoded URL'],
    [`/dubbo/${DEMO}/providers/plain-text`, '', 'not a Dubbo URL (protocol://host[:port]/path?params)'],
    ['/services/a/10.0.0.7:1', INSTANCE('r1'), undefined],
    ['/services/a/10.0.0.7:1', '{"name":', 'instance data is not JSON'],
    ['/services/a/10.0.0.7:1', '{"name":"a"}', 'instance data has no address'],
    ['/dubbo/config/dubbo/a.tag-router', 'conditions: [', expect.stringMatching(/^rule is not valid YAML/)],
    ['/dubbo/config/dubbo/dubbo.properties', 'a=b', undefined],
    [`/dubbo/metadata/${DEMO}/provider/a`, '{]', 'metadata is not JSON'],
  ])('judges %s with %j', (path, value, reason) => {
    expect(malformedReason(item(path), value)).toEqual(reason)
  })
})

describe('describeChange', () => {
  const providerItem: ZkItem = { kind: 'url', category: 'providers', service: DEMO, name: PROVIDER_NODE }
  const consumerItem: ZkItem = { kind: 'url', category: 'consumers', service: DEMO, name: CONSUMER_NODE }
  const instanceItem: ZkItem = { kind: 'instance', application: 'demo-provider', address: '10.0.0.7:20880' }
  const ruleItem: ZkItem = { kind: 'rule', group: 'dubbo', key: 'demo-provider', ruleType: 'tag-router' }
  const serviceRule: ZkItem = { kind: 'rule', group: 'dubbo', key: `${DEMO}:1.0.0:`, ruleType: 'condition-router' }
  const metadataItem: ZkItem = { kind: 'service-metadata', service: DEMO, version: '1.0.0', side: 'provider', application: 'demo-provider' }
  const appMetadata: ZkItem = { kind: 'app-metadata', application: 'demo-provider', revision: 'r9' }
  const override = encodeURIComponent(`override://10.0.0.7:20880/${DEMO}?category=configurators&dynamic=false&timeout=5000`)

  it.each([
    ['a provider added', providerItem, undefined, '', { reason: 'ProviderRegistered', type: 'normal', category: 'provider', action: 'registered', message: `Provider registered: demo-provider 10.0.0.7:20880 -> ${DEMO}`, application: 'demo-provider', instance: '10.0.0.7:20880', ip: '10.0.0.7', service: DEMO, object: { kind: 'Provider', name: `${DEMO}:1.0.0` } }],
    ['a provider removed', providerItem, '', undefined, { reason: 'ProviderUnregistered', type: 'warning', action: 'deregistered', message: `Provider unregistered: demo-provider 10.0.0.7:20880 -> ${DEMO}` }],
    ['a consumer added', consumerItem, undefined, '', { reason: 'ConsumerRegistered', type: 'normal', category: 'consumer', instance: 'demo-consumer@10.0.0.8', ip: '10.0.0.8', message: `Consumer registered: demo-consumer 10.0.0.8 -> ${DEMO}` }],
    ['a consumer removed', consumerItem, '', undefined, { reason: 'ConsumerUnregistered', type: 'normal', action: 'deregistered' }],
    ['an instance added', instanceItem, undefined, INSTANCE('r1'), { reason: 'InstanceRegistered', type: 'normal', category: 'instance', action: 'registered', message: 'Instance registered: demo-provider 10.0.0.7:20880 (revision r1)', object: { kind: 'Instance', name: '10.0.0.7:20880' } }],
    ['an instance updated', instanceItem, INSTANCE('r1'), INSTANCE('r2'), { reason: 'InstanceUpdated', type: 'normal', action: 'updated', message: 'Instance updated: demo-provider 10.0.0.7:20880: dubbo.metadata.revision: r1 -> r2' }],
    ['an instance removed', instanceItem, INSTANCE('r1'), undefined, { reason: 'InstanceUnregistered', type: 'warning', action: 'deregistered', message: 'Instance unregistered: demo-provider 10.0.0.7:20880' }],
    ['a rule added', ruleItem, undefined, 'enabled: true\n', { reason: 'ConfigAdded', category: 'config', action: 'added', application: 'demo-provider', message: 'Config added: tag-router demo-provider: enabled: true', object: { kind: 'Config', name: 'demo-provider.tag-router' } }],
    ['a rule updated', ruleItem, 'enabled: true\n', 'enabled: false\n', { reason: 'ConfigUpdated', action: 'updated', message: 'Config updated: tag-router demo-provider: enabled: true -> false' }],
    ['a rule deleted', ruleItem, 'enabled: true\n', undefined, { reason: 'ConfigDeleted', action: 'deleted', message: 'Config deleted: tag-router demo-provider' }],
    ['a service rule added', serviceRule, undefined, 'enabled: true\n', { service: DEMO }],
    ['a 2.6 override added', { kind: 'url', category: 'configurators', service: DEMO, name: override } as ZkItem, undefined, '', { reason: 'ConfigAdded', message: `Config added: override rule for ${DEMO} on 10.0.0.7:20880: timeout=5000`, object: { kind: 'Config', name: `${DEMO}.configurators` } }],
    ['service metadata added', metadataItem, undefined, '{}', { reason: 'MetadataAdded', category: 'metadata', action: 'added', message: `Metadata added: demo-provider provider -> ${DEMO}:1.0.0` }],
    ['service metadata updated', metadataItem, '{"methods":[{"name":"a"}]}', '{"methods":[{"name":"b"}]}', { reason: 'MetadataUpdated', action: 'updated', message: `Metadata updated: demo-provider provider -> ${DEMO}:1.0.0: methods added: b; methods removed: a` }],
    ['application metadata added', appMetadata, undefined, '{"services":{"a":{},"b":{}}}', { reason: 'MetadataAdded', message: 'Metadata added: demo-provider revision r9 (2 services)', object: { kind: 'Metadata', name: 'demo-provider r9' } }],
  ])('records %s', (_name, item, before, after, expected) => {
    const event = describeChange('/dubbo/x', item, before, after, CONTEXT)
    expect(event).toMatchObject({ time: CONTEXT.time, source: 'zookeeper', component: 'zookeeper', mesh: 'zk-prod', ...expected })
    expect(event!.id.startsWith('zookeeper:zk-prod:1700000000000:')).toBe(true)
  })

  it.each([
    ['metadata removed', { kind: 'app-metadata', application: 'a', revision: 'r' } as ZkItem, '{}'],
    ['a mapping added', { kind: 'mapping', service: DEMO } as ZkItem, undefined],
  ])('records nothing for %s', (_name, item, before) => {
    expect(describeChange('/dubbo/x', item, before, before === undefined ? 'a' : undefined, CONTEXT)).toBeUndefined()
  })

  it('appends the note of a change found by a diff, and gives another change another id', () => {
    const note = missedChangeNote('restart')
    const event = describeChange('/p', providerItem, undefined, '', { ...CONTEXT, note })!
    expect(event.message.endsWith(note)).toBe(true)
    expect(describeChange('/p', providerItem, '', undefined, CONTEXT)!.id).not.toBe(event.id)
    expect(describeChange('/p', providerItem, undefined, '', { ...CONTEXT, time: CONTEXT.time + 1 })!.id).not.toBe(event.id)
  })
})

describe('catalog', () => {
  it('registers a provider as instance, service and membership, and removes only the membership', () => {
    const item: ZkItem = { kind: 'url', category: 'providers', service: DEMO, name: PROVIDER_NODE }
    const facts = itemFacts(item, '')!
    expect(presentCatalog('zk', item, facts)).toEqual([
      { op: 'service', mesh: 'zk', name: DEMO, version: '1.0.0' },
      { op: 'instance', instance: { mesh: 'zk', name: '10.0.0.7:20880', ip: '10.0.0.7', port: 20880, application: 'demo-provider', registered: true, source: 'zookeeper' } },
      { op: 'service-instance', mesh: 'zk', service: DEMO, instance: '10.0.0.7:20880', side: 'provider', application: 'demo-provider' },
    ])
    expect(goneCatalog('zk', item, facts)).toEqual([{ op: 'service-instance-gone', mesh: 'zk', service: DEMO, instance: '10.0.0.7:20880', side: 'provider' }])
  })

  it('registers an application-level instance with its metadata as labels', () => {
    const item: ZkItem = { kind: 'instance', application: 'demo-provider', address: '10.0.0.7:20880' }
    expect(presentCatalog('zk', item, itemFacts(item, INSTANCE('r1'))!)).toEqual([
      { op: 'instance', instance: { mesh: 'zk', name: '10.0.0.7:20880', ip: '10.0.0.7', port: 20880, application: 'demo-provider', registered: true, source: 'zookeeper', labels: { 'dubbo.metadata.revision': 'r1' } } },
    ])
  })

  it('names an application-level instance on IPv6 in brackets', () => {
    const item: ZkItem = { kind: 'instance', application: 'demo-provider', address: '[fd00::7]:20880' }
    const facts = itemFacts(item, JSON.stringify({ name: 'demo-provider', address: 'fd00::7', port: 20880 }))!
    expect(facts).toMatchObject({ instance: '[fd00::7]:20880', ip: 'fd00::7', port: 20880 })
  })

  it('removes the labels of a deleted application-level instance, which may stay registered by its URLs', () => {
    const item: ZkItem = { kind: 'instance', application: 'demo-provider', address: '10.0.0.7:20880' }
    expect(goneCatalog('zk', item, itemFacts(item, INSTANCE('r1'))!)).toEqual([{ op: 'instance-labels', mesh: 'zk', name: '10.0.0.7:20880', labels: null }])
  })

  it('names the applications of a mapping', () => {
    const item: ZkItem = { kind: 'mapping', service: DEMO }
    expect(presentCatalog('zk', item, itemFacts(item, 'a, b,')!)).toEqual([
      { op: 'service', mesh: 'zk', name: DEMO },
      { op: 'application', mesh: 'zk', name: 'a' },
      { op: 'application', mesh: 'zk', name: 'b' },
    ])
  })
})

/**
 * Node names as real clients write them, byte for byte: Java Dubbo encodes the URL with
 * `URLEncoder` (`URL.encode(url.toFullString())`), sofa-rpc-node (egg Dubbo) with `urlencode`.
 * What each one registers: the instance, the application, the interface and the address.
 */
describe('registrations as real clients write them', () => {
  const DUBBO27_PROVIDER =
    'dubbo%3A%2F%2F192.168.1.5%3A20880%2Forg.apache.dubbo.demo.DemoService%3Fanyhost%3Dtrue%26application%3Ddemo-provider%26deprecated%3Dfalse%26dubbo%3D2.0.2%26dynamic%3Dtrue%26generic%3Dfalse%26interface%3Dorg.apache.dubbo.demo.DemoService%26methods%3DsayHello%2CsayHelloAsync%26pid%3D12345%26release%3D2.7.8%26side%3Dprovider%26timestamp%3D1600000000000'
  const DUBBO27_CONSUMER =
    'consumer%3A%2F%2F192.168.1.6%2Forg.apache.dubbo.demo.DemoService%3Fapplication%3Ddemo-consumer%26category%3Dconsumers%26check%3Dfalse%26dubbo%3D2.0.2%26init%3Dfalse%26interface%3Dorg.apache.dubbo.demo.DemoService%26methods%3DsayHello%2CsayHelloAsync%26pid%3D23456%26release%3D2.7.8%26side%3Dconsumer%26sticky%3Dfalse%26timestamp%3D1600000000001'
  const DUBBO27_GROUPED_PROVIDER =
    'dubbo%3A%2F%2F192.168.1.5%3A20881%2Forg.apache.dubbo.demo.DemoService%3Fanyhost%3Dtrue%26application%3Ddemo-provider%26dubbo%3D2.0.2%26generic%3Dfalse%26group%3Dgray%26interface%3Dorg.apache.dubbo.demo.DemoService%26methods%3DsayHello%26pid%3D12346%26release%3D2.7.8%26revision%3D1.2.0%26side%3Dprovider%26timestamp%3D1600000000002%26version%3D1.2.0'
  const DUBBO3_PROVIDER =
    'tri%3A%2F%2F10.0.0.7%3A50051%2Forg.apache.dubbo.demo.GreeterService%3Fanyhost%3Dtrue%26application%3Ddubbo-demo-triple-api-provider%26background%3Dfalse%26deprecated%3Dfalse%26dubbo%3D2.0.2%26dynamic%3Dtrue%26executor-management-mode%3Disolation%26file-cache%3Dtrue%26generic%3Dfalse%26interface%3Dorg.apache.dubbo.demo.GreeterService%26methods%3DsayHello%2CsayHelloAsync%26pid%3D4242%26prefer.serialization%3Dfastjson2%2Chessian2%26release%3D3.2.9%26serialization%3Dprotobuf%26service-name-mapping%3Dtrue%26side%3Dprovider%26timestamp%3D1702000000000'
  const DUBBO3_CONSUMER =
    'consumer%3A%2F%2F10.0.0.8%2Forg.apache.dubbo.demo.GreeterService%3Fapplication%3Ddubbo-demo-triple-api-consumer%26background%3Dfalse%26category%3Dconsumers%26check%3Dfalse%26dubbo%3D2.0.2%26executor-management-mode%3Disolation%26file-cache%3Dtrue%26interface%3Dorg.apache.dubbo.demo.GreeterService%26methods%3DsayHello%2CsayHelloAsync%26pid%3D4343%26release%3D3.2.9%26side%3Dconsumer%26sticky%3Dfalse%26timestamp%3D1702000000001%26unloadClusterRelated%3Dfalse'
  const DUBBO3_IPV6_CONSUMER =
    'consumer%3A%2F%2F%5Bfd00%3A%3A8%5D%2Forg.apache.dubbo.demo.GreeterService%3Fapplication%3Dcart-web%26category%3Dconsumers%26interface%3Dorg.apache.dubbo.demo.GreeterService%26side%3Dconsumer'
  // sofa-rpc-node 2.x: no path, `appName=` and no `application=`; its consumer URL has no interface either.
  const SOFA_PROVIDER =
    'bolt%3A%2F%2F10.0.0.21%3A12200%3FstartTime%3D1796291942174%26pid%3D28584%26uniqueId%3D%26dynamic%3Dtrue%26appName%3Dsofa-provider%26timeout%3D3000%26serialization%3Dhessian2%26weight%3D100%26accepts%3D100000%26language%3Dnodejs%26rpcVer%3D50400%26protocol%3D%26interface%3Dcom.example.EchoService%26version%3D1.0%26group%3DSOFA'
  const SOFA_CONSUMER =
    'bolt%3A%2F%2F10.5.0.9%3FuniqueId%3D%26version%3D1.0%26pid%3D28584%26timeout%3D3000%26appName%3Dcart-job%26serialization%3Dhessian2%26startTime%3D1796291942275'
  // Both names present: `application=` wins.
  const BOTH_NAMES = encodeURIComponent('consumer://10.5.0.9/org.x.S?appName=ignored&application=cart-web&side=consumer')
  // No path and no `interface=`: the interface is the znode's parent.
  const PATHLESS = encodeURIComponent('dubbo://10.0.0.30:20880?application=bare-provider&side=provider')
  // Java's URLEncoder writes a space as `+`.
  const SPACED = 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fapplication%3Dcart-web%26owner%3DTeam+Cart'
  // Nothing names the application: the consumer keeps its IP as its name.
  const NAMELESS = encodeURIComponent('consumer://10.5.0.10/org.x.S?side=consumer')

  it.each([
    ['a Dubbo 2.7 provider', 'providers', 'org.apache.dubbo.demo.DemoService', DUBBO27_PROVIDER, { instance: '192.168.1.5:20880', ip: '192.168.1.5', port: 20880, application: 'demo-provider', service: 'org.apache.dubbo.demo.DemoService', address: '192.168.1.5:20880' }],
    ['a Dubbo 2.7 consumer', 'consumers', 'org.apache.dubbo.demo.DemoService', DUBBO27_CONSUMER, { instance: 'demo-consumer@192.168.1.6', ip: '192.168.1.6', application: 'demo-consumer', service: 'org.apache.dubbo.demo.DemoService', address: '192.168.1.6' }],
    ['a Dubbo 2.7 provider with group and version', 'providers', 'org.apache.dubbo.demo.DemoService', DUBBO27_GROUPED_PROVIDER, { instance: '192.168.1.5:20881', version: '1.2.0', group: 'gray' }],
    ['a Dubbo 3 triple provider', 'providers', 'org.apache.dubbo.demo.GreeterService', DUBBO3_PROVIDER, { instance: '10.0.0.7:50051', application: 'dubbo-demo-triple-api-provider', service: 'org.apache.dubbo.demo.GreeterService' }],
    ['a Dubbo 3 consumer', 'consumers', 'org.apache.dubbo.demo.GreeterService', DUBBO3_CONSUMER, { instance: 'dubbo-demo-triple-api-consumer@10.0.0.8', ip: '10.0.0.8' }],
    ['a Dubbo 3 consumer on IPv6', 'consumers', 'org.apache.dubbo.demo.GreeterService', DUBBO3_IPV6_CONSUMER, { instance: 'cart-web@fd00::8', ip: 'fd00::8' }],
    ['a sofa-rpc-node provider (no path, appName)', 'providers', 'com.example.EchoService', SOFA_PROVIDER, { instance: '10.0.0.21:12200', application: 'sofa-provider', service: 'com.example.EchoService', version: '1.0', group: 'SOFA' }],
    ['a sofa-rpc-node consumer (no path, no interface, appName)', 'consumers', 'com.example.EchoService', SOFA_CONSUMER, { instance: 'cart-job@10.5.0.9', application: 'cart-job', service: 'com.example.EchoService' }],
    ['a URL naming both application and appName', 'consumers', 'org.x.S', BOTH_NAMES, { instance: 'cart-web@10.5.0.9', application: 'cart-web' }],
    ['a provider URL without path or interface', 'providers', 'org.x.Bare', PATHLESS, { instance: '10.0.0.30:20880', application: 'bare-provider', service: 'org.x.Bare' }],
    ['a URL with a space encoded as +', 'consumers', 'org.x.S', SPACED, { instance: 'cart-web@10.5.0.9' }],
    ['a consumer naming no application', 'consumers', 'org.x.S', NAMELESS, { instance: '10.5.0.10', ip: '10.5.0.10' }],
  ] as const)('reads %s', (_name, category, service, node, expected) => {
    const path = `/dubbo/${service}/${category}/${node}`
    const item = classifyPath(path, '/dubbo')!.item!
    expect(item).toMatchObject({ kind: 'url', category, service })
    expect(malformedReason(item, '')).toBeUndefined()
    const facts = itemFacts(item, '')!
    expect(facts).toMatchObject(expected)
    if (!('application' in expected)) return
    // The event and the membership name the same instance and application.
    const event = describeChange(path, item, undefined, '', CONTEXT)!
    expect(event).toMatchObject({ instance: expected.instance, application: expected.application })
    expect(event.message).toContain(`${expected.application} ${facts.address} -> ${facts.service}`)
    const side = category === 'providers' ? 'provider' : 'consumer'
    expect(presentCatalog('zk', item, facts)).toContainEqual({ op: 'service-instance', mesh: 'zk', service: facts.service, instance: expected.instance, side, application: expected.application })
    expect(goneCatalog('zk', item, facts)).toEqual([{ op: 'service-instance-gone', mesh: 'zk', service: facts.service, instance: expected.instance, side }])
  })

  it('keeps two consumer applications on one host apart', () => {
    const consumer = (application: string) => {
      const item = classifyPath(`/dubbo/org.x.S/consumers/${encodeURIComponent(`consumer://10.5.0.9/org.x.S?application=${application}&side=consumer`)}`, '/dubbo')!.item!
      return itemFacts(item, '')!.instance
    }
    expect([consumer('cart-web'), consumer('cart-job')]).toEqual(['cart-web@10.5.0.9', 'cart-job@10.5.0.9'])
  })
})

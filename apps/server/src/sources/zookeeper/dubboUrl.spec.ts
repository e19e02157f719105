import { describe, expect, it } from 'vitest'
import { parseDubboUrl, parseDubboUrlNode, serviceKey, urlAddress, urlApplication, urlInterface, urlMethods } from './dubboUrl.ts'

const PROVIDER =
  'dubbo://10.0.0.7:20880/org.apache.dubbo.demo.DemoService?anyhost=true&application=demo-provider&dubbo=2.0.2&interface=org.apache.dubbo.demo.DemoService&methods=sayHello,sayHelloAsync&side=provider&timestamp=1700000000000&version=1.0.0'

describe('parseDubboUrl', () => {
  it.each([
    ['a provider', PROVIDER, { protocol: 'dubbo', host: '10.0.0.7', port: 20880, path: 'org.apache.dubbo.demo.DemoService' }, { application: 'demo-provider', side: 'provider', version: '1.0.0' }],
    ['a consumer without a port', 'consumer://10.0.0.8/org.apache.dubbo.demo.DemoService?application=demo-consumer&category=consumers&side=consumer', { protocol: 'consumer', host: '10.0.0.8', path: 'org.apache.dubbo.demo.DemoService' }, { category: 'consumers' }],
    ['an override for every address', 'override://0.0.0.0/org.x.S?category=configurators&timeout=5000', { protocol: 'override', host: '0.0.0.0', path: 'org.x.S' }, { timeout: '5000' }],
    ['an IPv6 provider', 'tri://[fd00::7]:50051/org.x.S?side=provider', { protocol: 'tri', host: 'fd00::7', port: 50051, path: 'org.x.S' }, { side: 'provider' }],
    ['encoded parameter values', 'route://0.0.0.0/org.x.S?rule=host%3D10.0.0.7%20%3D%3E%20host%21%3D10.0.0.8&flag', { protocol: 'route' }, { rule: 'host=10.0.0.7 => host!=10.0.0.8', flag: '' }],
  ])('parses %s', (_name, text, url, params) => {
    const parsed = parseDubboUrl(text)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.value).toMatchObject(url)
    expect(parsed.value.params).toMatchObject(params)
  })

  it.each([
    ['no scheme', '10.0.0.7:20880/org.x.S'],
    ['no host', 'dubbo:///org.x.S'],
    ['a port out of range', 'dubbo://10.0.0.7:99999/org.x.S'],
    ['plain text', 'hello'],
  ])('refuses %s', (_name, text) => {
    expect(parseDubboUrl(text).ok).toBe(false)
  })

  it('reads a port of 0 as no port', () => {
    const parsed = parseDubboUrl('consumer://10.0.0.8:0/org.x.S')
    expect(parsed.ok && parsed.value.port).toBeUndefined()
  })

  it('decodes a node name once, and refuses one that is not URL-encoded', () => {
    const node = parseDubboUrlNode(encodeURIComponent(PROVIDER))
    expect(node.ok && node.value.params.methods).toBe('sayHello,sayHelloAsync')
    expect(parseDubboUrlNode('dubbo%ZZ')).toEqual({ ok: false, reason: 'node name is not a URL-encoded URL' })
  })
})

describe('URL facts', () => {
  const url = (text: string) => {
    const parsed = parseDubboUrl(text)
    if (!parsed.ok) throw new Error(parsed.reason)
    return parsed.value
  }

  it.each([
    [PROVIDER, '10.0.0.7:20880'],
    ['consumer://10.0.0.8/org.x.S', '10.0.0.8'],
    ['tri://[fd00::7]:50051/org.x.S', '[fd00::7]:50051'],
    ['consumer://[fd00::8]/org.x.S', 'fd00::8'],
  ])('gives %s the address %s', (text, address) => {
    expect(urlAddress(url(text))).toBe(address)
  })

  it('names the interface from the parameter, else the path, and lists methods', () => {
    expect(urlInterface(url('dubbo://h:1/path.Name?interface=org.x.S'))).toBe('org.x.S')
    expect(urlInterface(url('dubbo://h:1/org.x.S'))).toBe('org.x.S')
    expect(urlMethods(url(PROVIDER))).toEqual(['sayHello', 'sayHelloAsync'])
    expect(urlMethods(url('dubbo://h:1/org.x.S'))).toEqual([])
  })

  it.each([
    ['dubbo://h:1/org.x.S?application=a', 'a'],
    ['bolt://h:1?appName=sofa-app', 'sofa-app'],
    ['consumer://h/org.x.S?application=a&appName=b', 'a'],
    ['consumer://h/org.x.S?application=&appName=b', 'b'],
    ['consumer://h/org.x.S?side=consumer', undefined],
  ])('reads the application of %s as %s', (text, application) => {
    expect(urlApplication(url(text))).toBe(application)
  })

  it('reads a URL without a path as one with an empty path', () => {
    expect(url('bolt://10.0.0.21:12200?appName=a&interface=org.x.S')).toMatchObject({ host: '10.0.0.21', port: 12200, path: '' })
    expect(url('dubbo://10.0.0.30:20880?application=a')).toMatchObject({ port: 20880, path: '', params: { application: 'a' } })
    expect(urlInterface(url('dubbo://10.0.0.30:20880?application=a'))).toBe('')
    expect(url('bolt://10.5.0.9?appName=a')).toMatchObject({ host: '10.5.0.9', path: '' })
  })

  it('reads a + in a node name as a space, as Java encodes it', () => {
    const node = parseDubboUrlNode('consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fowner%3DTeam+Cart%26tag%3Da%2Bb')
    expect(node.ok && node.value.params).toMatchObject({ owner: 'Team Cart', tag: 'a+b' })
  })

  it.each([
    ['org.x.S', undefined, undefined, 'org.x.S'],
    ['org.x.S', '1.0.0', undefined, 'org.x.S:1.0.0'],
    ['org.x.S', '1.0.0', 'g1', 'g1/org.x.S:1.0.0'],
    ['org.x.S', undefined, 'g1', 'g1/org.x.S'],
  ])('keys %s version %s group %s as %s', (service, version, group, key) => {
    expect(serviceKey(service, version, group)).toBe(key)
  })
})

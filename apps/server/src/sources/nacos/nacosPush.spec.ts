import { createSocket } from 'node:dgram'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { parseRegistries } from '../../config.ts'
import { eventually } from '../../testing/eventually.ts'
import { useNacosHarness } from '../../testing/nacosHarness.ts'
import type { NacosTuning } from './nacosSource.ts'
import { pushSettings, readPushPacket } from './pushReceiver.ts'

const MESH = 'nacos-push'
const DEMO = 'providers:org.apache.dubbo.demo.DemoService:1.0.0:'
const INSTANCE_LIST = '/nacos/v1/ns/instance/list'
const HOUR = 3_600_000
/** Nothing is polled again within the test: only a push can bring a change in. */
const NO_POLLING: NacosTuning = { requestTimeoutMs: 2_000, minPollMs: HOUR, defaultPollMs: HOUR, serviceListIntervalMs: HOUR, serviceCountIntervalMs: HOUR, backoff: { initialMs: 20, maxMs: 100 } }

describe('Nacos UDP push', () => {
  const harness = useNacosHarness({ mesh: MESH, server: { cacheMillis: HOUR, pushCacheMillis: HOUR }, tuning: NO_POLLING })
  const { startNacos, start, events, mesh, one, provider } = harness
  const synced = async () => {
    await eventually(async () => one('RegistrySynced'))
    await eventually(async () => expect((await mesh())?.status).toBe('connected'))
  }

  it.each(['1.x', '2.x'] as const)('brings every change of a Nacos %s service in by push, with polling an hour away, and acknowledges it', async (version) => {
    const nacos = await startNacos({ version })
    nacos.register(DEMO, provider('10.0.0.7'))
    await start('', NO_POLLING)
    await synced()
    expect(nacos.subscribers()).toEqual([expect.stringMatching(new RegExp(`^DEFAULT_GROUP@@${DEMO.replace(/[.]/g, '\\.')} 127\\.0\\.0\\.1:\\d+$`))])

    nacos.register(DEMO, provider('10.0.0.8'))
    expect((await eventually(async () => one('InstanceRegistered'))).instance).toBe('10.0.0.8:20880')
    nacos.update(DEMO, '10.0.0.8', 20880, { weight: 3 })
    expect((await eventually(async () => one('InstanceUpdated'))).message).toMatch(/weight 1 -> 3$/)
    nacos.deregister(DEMO, '10.0.0.8', 20880)
    expect((await eventually(async () => one('InstanceUnregistered'))).instance).toBe('10.0.0.8:20880')
    // Each push was answered with its ack (Nacos would send it again otherwise).
    await eventually(() => expect(nacos.pushes.map((push) => push.acked)).toEqual([true, true, true]))
    expect(nacos.pushes.every((push) => !push.dropped)).toBe(true)
  })

  it('reads a compressed push (Nacos gzips from 1 KiB on)', async () => {
    const nacos = await startNacos()
    const metadata = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key${i}`, 'x'.repeat(20)]))
    nacos.register(DEMO, { ...provider('10.0.0.7'), metadata: { ...metadata, application: 'demo-provider' } })
    await start('', NO_POLLING)
    await synced()
    nacos.register(DEMO, { ...provider('10.0.0.8'), metadata: { ...metadata, application: 'demo-provider' } })
    expect((await eventually(async () => one('InstanceRegistered'))).instance).toBe('10.0.0.8:20880')
    await eventually(() => expect(nacos.pushes.map((push) => push.acked)).toEqual([true]))
    expect(nacos.pushes[0]?.compressed).toBe(true)
  })

  it('polls again when a push arrives while the poll it triggered is in flight (that answer predates the change)', async () => {
    const nacos = await startNacos()
    nacos.register(DEMO, provider('10.0.0.7'))
    await start('', NO_POLLING)
    await synced()
    // The poll the first push triggers gets an answer made before the second change, held back
    // until the source has acknowledged (so taken in) the second push.
    nacos.afterInstanceList(DEMO, async () => {
      nacos.register(DEMO, provider('10.0.0.9'))
      await eventually(() => expect(nacos.pushes.map((push) => push.acked)).toEqual([true, true]))
    })
    nacos.register(DEMO, provider('10.0.0.8'))
    await eventually(async () => expect((await events('&reason=InstanceRegistered')).items.map((item) => item.instance).sort()).toEqual(['10.0.0.8:20880', '10.0.0.9:20880']))
    expect(nacos.pushes).toHaveLength(2)
  })

  it('finds a change whose push was lost at the next poll', async () => {
    const nacos = await startNacos({ cacheMillis: 200 })
    nacos.register(DEMO, provider('10.0.0.7'))
    await start('', { ...NO_POLLING, minPollMs: 20, defaultPollMs: 200 })
    await synced()
    nacos.dropPushes(true)
    const polls = nacos.count(INSTANCE_LIST)
    nacos.register(DEMO, provider('10.0.0.8'))
    expect((await eventually(async () => one('InstanceRegistered'))).instance).toBe('10.0.0.8:20880')
    // It came with a poll, the push having been lost on the way.
    expect(nacos.count(INSTANCE_LIST)).toBeGreaterThan(polls)
    expect(nacos.pushes).toHaveLength(1)
    expect(nacos.pushes[0]).toMatchObject({ dropped: true, acked: false })
  })

  it('lists without subscribing when push is off, and is not pushed to', async () => {
    const nacos = await startNacos({ version: '1.x', cacheMillis: 100 })
    nacos.register(DEMO, provider('10.0.0.7'))
    await start('&push=off', { ...NO_POLLING, minPollMs: 20, defaultPollMs: 100 })
    await synced()
    nacos.register(DEMO, provider('10.0.0.8'))
    await eventually(async () => one('InstanceRegistered'))
    expect(nacos.subscribers()).toEqual([])
    expect(nacos.pushes).toEqual([])
    expect(nacos.requests.filter((request) => request.path === INSTANCE_LIST).every((request) => request.query.udpPort === undefined)).toBe(true)
  })

  it('is off by default for a Nacos on another host unless pushHost says where Nacos can reach us', () => {
    const settings = (url: string) => pushSettings(parseRegistries(url)[0]!)
    expect(settings('nacos://nacos.example:8848?name=x')).toBeUndefined()
    expect(settings('nacos://nacos.example:8848?name=x&pushHost=10.0.0.5&pushPort=9999')).toEqual({ host: '10.0.0.5', port: 9999 })
    // Every host on this machine: on, on loopback.
    expect(settings('nacos://127.0.0.2:8848,localhost:8849?name=x')).toEqual({ host: '127.0.0.1', port: 0 })
    expect(settings('nacos://127.0.0.1:8848?name=x&push=off')).toBeUndefined()
    // Mistakes are named (the source logs them and polls only).
    expect(settings('nacos://nacos.example:8848?name=x&push=udp')).toMatch(/^push=udp needs pushHost/)
    expect(settings('nacos://nacos.example:8848?name=x&push=sometimes')).toBe('push must be "udp" or "off", got "sometimes"')
    expect(settings('nacos://127.0.0.1:8848?name=x&pushPort=70000')).toBe('pushPort must be a port number (0-65535), got "70000"')
  })

  it('acknowledges push datagrams as the official clients do and names the service pushed', async () => {
    const data = JSON.stringify({ name: 'DEFAULT_GROUP@@svc', hosts: [] })
    const dom = Buffer.from(JSON.stringify({ type: 'dom', lastRefTime: 42, data }))
    expect(readPushPacket(dom)).toEqual({ service: 'DEFAULT_GROUP@@svc', ack: '{"type":"push-ack","lastRefTime":42,"data":""}' })
    expect(readPushPacket(gzipSync(dom))).toEqual(readPushPacket(dom))
    expect(readPushPacket(Buffer.from(JSON.stringify({ type: 'service', lastRefTime: 7, data })))?.service).toBe('DEFAULT_GROUP@@svc')
    expect(readPushPacket(Buffer.from('{"type":"dump","lastRefTime":1}'))).toEqual({ ack: '{"type":"dump-ack","lastRefTime":1,"data":"{}"}' })
    expect(readPushPacket(Buffer.from('{"type":"other","lastRefTime":1}'))).toEqual({ ack: '{"type":"unknown-ack","lastRefTime":1,"data":""}' })
    // Acknowledged, but naming nothing: the poll finds the change.
    expect(readPushPacket(Buffer.from('{"type":"dom","lastRefTime":2,"data":"{"}'))).toEqual({ ack: '{"type":"push-ack","lastRefTime":2,"data":""}' })
    for (const junk of ['', 'not json', '[]', '{"lastRefTime":1}']) expect(readPushPacket(Buffer.from(junk))).toBeUndefined()
    expect(readPushPacket(Buffer.from([0x1f, 0x8b, 0, 1]))).toBeUndefined()
  })

  it('ignores a push naming a service it does not follow, and junk on its port', async () => {
    const nacos = await startNacos()
    nacos.register(DEMO, provider('10.0.0.7'))
    await start('', NO_POLLING)
    await synced()
    const port = Number(nacos.requests.find((request) => request.path === INSTANCE_LIST)?.query.udpPort)
    const sender = createSocket('udp4')
    const acks: string[] = []
    sender.on('message', (message) => acks.push(message.toString()))
    const polls = nacos.count(INSTANCE_LIST)
    for (const message of ['junk', JSON.stringify({ type: 'dom', lastRefTime: 5, data: JSON.stringify({ name: 'DEFAULT_GROUP@@unknown' }) })]) {
      await new Promise<void>((resolve) => sender.send(message, port, '127.0.0.1', () => resolve()))
    }
    await eventually(() => expect(acks).toEqual(['{"type":"push-ack","lastRefTime":5,"data":""}']))
    sender.close()
    expect(nacos.count(INSTANCE_LIST)).toBe(polls)
  })
})

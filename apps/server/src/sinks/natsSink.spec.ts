import { randomBytes } from 'node:crypto'
import { createServer, connect as tcpConnect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { join } from 'node:path'
import type { EventItem } from '@eventline/shared'
import { connect } from 'nats'
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEventline } from '../eventline.ts'
import { createLogger } from '../log.ts'
import { SqliteStore } from '../store/sqlite/sqliteStore.ts'
import type { IngestEvent } from '../store/types.ts'
import { startTestServer, tempDir, TEST_RETENTION_MS, TEST_TOKEN } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'
import { alertCloudEvent, eventCloudEvent, eventSubject, kindPlural, NatsSink, streamCaptures, subjectToken } from './natsSink.ts'
import { reasonOf, SinkError } from './sink.ts'
import type { AlertNotice, NatsSinkConfig } from './types.ts'

const NATS = '127.0.0.1:4222'

const item = (overrides: Partial<EventItem>): EventItem => ({
  id: 'kubernetes:1',
  time: '2026-11-20T08:00:00.000Z',
  firstTime: '2026-11-20T08:00:00.000Z',
  count: 3,
  type: 'warning',
  reason: 'BackOff',
  message: 'Back-off restarting failed container',
  source: 'kubernetes',
  component: 'kubelet',
  mesh: 'k8s-prod',
  object: { kind: 'Pod', name: 'order-7d9f', namespace: 'shop' },
  ...overrides,
})

describe('NATS subjects and CloudEvents', () => {
  it.each([
    ['a namespaced object', item({}), 'el.clusters.k8s-prod.namespaces.shop.pods.order-7d9f.events'],
    ['a node', item({ object: { kind: 'Node', name: 'ip-10-0-0-1.ec2.internal' } }), 'el.clusters.k8s-prod.nodes.ip-10-0-0-1%2Eec2%2Einternal.events'],
    // As the normaliser gives a real node event: Kubernetes files it under namespace `default`.
    [
      'a node event from the cluster (namespace default)',
      item({ reason: 'NodeNotReady', object: { kind: 'Node', name: 'ip-10-0-0-1.ec2.internal', namespace: 'default' } }),
      'el.clusters.k8s-prod.nodes.ip-10-0-0-1%2Eec2%2Einternal.events',
    ],
    ['another cluster-scoped object', item({ object: { kind: 'PersistentVolume', name: 'pv-1' } }), 'el.clusters.k8s-prod.persistentvolumes.pv-1.events'],
    ['an ingress (plural)', item({ object: { kind: 'Ingress', name: 'web', namespace: 'shop' } }), 'el.clusters.k8s-prod.namespaces.shop.ingresses.web.events'],
    [
      'a registry event',
      item({ source: 'zookeeper', mesh: 'zk-prod', application: 'demo-provider', object: { kind: 'Provider', name: 'dubbo://10.0.0.7:20880/org.apache.Demo' } }),
      'el.meshes.zk-prod.applications.demo-provider.events',
    ],
    ['a registry event without application', item({ source: 'nacos', mesh: 'nacos test', object: { kind: 'Registry', name: 'nacos' } }), 'el.meshes.nacos%20test.events'],
  ])('puts %s on the ops-scheme subject', (_name, event, subject) => {
    expect(eventSubject('el', event)).toBe(subject)
  })

  it('maps unsafe characters to reversible percent escapes', () => {
    for (const name of ['a.b', 'a*b', 'a>b', 'a b', 'tab\there', '100%', 'ünï.cødé', 'plain-name_1']) {
      const token = subjectToken(name)
      expect(token).not.toMatch(/[.*>\s]/)
      expect(decodeURIComponent(token)).toBe(name)
    }
    expect(subjectToken('10.0.0.7:20880')).toBe('10%2E0%2E0%2E7:20880')
    expect(subjectToken('')).toBe('_')
    expect(['Pod', 'Endpoints', 'NetworkPolicy', 'Gateway', 'Ingress'].map(kindPlural)).toEqual(['pods', 'endpoints', 'networkpolicies', 'gateways', 'ingresses'])
  })

  it('tells whether an existing stream captures the sink\'s subjects', () => {
    for (const subjects of [['el.x.>'], ['>'], ['el.>'], ['other.>', 'el.x.>'], ['el.*.>'], ['*.x.>'], ['el.x.clusters.>', 'el.x.meshes.>', 'el.x.alerts.>']]) {
      expect(streamCaptures(subjects, 'el.x'), subjects.join(' ')).toBe(true)
    }
    for (const subjects of [[], ['other.>'], ['el.x'], ['el.x.*'], ['el.x.clusters.>'], ['el.x.clusters.>', 'el.x.meshes.>'], ['el.y.>'], ['el.x.y.>'], ['el.*']]) {
      expect(streamCaptures(subjects, 'el.x'), subjects.join(' ')).toBe(false)
    }
  })

  it('builds CloudEvents 1.0 whose id names the occurrence', () => {
    const event = item({})
    expect(eventCloudEvent(event)).toEqual({
      specversion: '1.0',
      id: 'kubernetes:1:3',
      source: 'eventline/k8s-prod',
      type: 'io.eventline.event.kubernetes',
      subject: 'Pod/shop/order-7d9f',
      time: '2026-11-20T08:00:00.000Z',
      datacontenttype: 'application/json',
      data: event,
    })
    expect(eventCloudEvent({ ...event, count: 4 }).id).toBe('kubernetes:1:4')
    const notice: AlertNotice = { rule: 'crashloop', sink: 'nats', kind: 'summary', group: 'g', count: 5, windowStart: 1000, windowEnd: 61_000, event, title: 't', text: 'x' }
    const cloudEvent = alertCloudEvent(notice)
    expect(cloudEvent).toMatchObject({ type: 'io.eventline.alert.summary', subject: 'crashloop', time: new Date(61_000).toISOString(), data: notice })
    expect(alertCloudEvent(notice).id).toBe(cloudEvent.id)
    expect(alertCloudEvent({ ...notice, kind: 'first' }).id).not.toBe(cloudEvent.id)
  })
})

// Against the real JetStream server. Locally a missing server skips these; with CI=true it fails them.
const unreachable = await connect({ servers: NATS, timeout: 2000 }).then(
  async (nc) => {
    await nc.close()
    return undefined
  },
  (error: unknown) => reasonOf(error),
)
const onCi = process.env.CI === 'true'
if (unreachable && !onCi) console.warn(`[nats] JetStream tests skipped: no server at ${NATS} (${unreachable})`)

interface Received {
  subject: string
  msgId: string
  cloudEvent: { id: string; source: string; type: string; specversion: string; subject: string; time: string; datacontenttype: string; data: EventItem }
}

describe.skipIf(unreachable !== undefined && !onCi)('NATS JetStream sink (real server)', () => {
  const { dir, cleanup } = tempDir()
  const run = randomBytes(4).toString('hex')
  const streams: string[] = []
  let nc: NatsConnection

  beforeAll(async () => {
    if (unreachable) throw new Error(`no NATS JetStream server at ${NATS}: ${unreachable}`)
    nc = await connect({ servers: NATS })
  })
  afterAll(async () => {
    if (nc) {
      const manager = await nc.jetstreamManager()
      for (const stream of streams) await manager.streams.delete(stream).catch(() => false)
      await nc.close()
    }
    cleanup()
  })

  /** A sink with its own stream and prefix, deleted after the tests. */
  const natsSink = (name: string, servers = [NATS]): NatsSinkConfig => {
    const stream = `EVENTLINE_TEST_${run}_${name}`.toUpperCase()
    streams.push(stream)
    return { type: 'nats', name, servers, subjectPrefix: `evtest.${run}.${name}`, stream: { name: stream, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 } }
  }

  /** Everything in the stream, through an ordered consumer. */
  async function consume(stream: string): Promise<Received[]> {
    const manager = await nc.jetstreamManager()
    const { state } = await manager.streams.info(stream)
    if (state.messages === 0) return []
    const consumer = await nc.jetstream().consumers.get(stream)
    const received: Received[] = []
    while (received.length < state.messages) {
      const batch = await consumer.fetch({ max_messages: state.messages - received.length, expires: 2000 })
      for await (const message of batch) {
        received.push({ subject: message.subject, msgId: message.headers?.get('Nats-Msg-Id') ?? '', cloudEvent: message.json() })
      }
    }
    return received
  }

  const streamCount = async (stream: string) => {
    const manager = await nc.jetstreamManager()
    return (await manager.streams.info(stream).catch(() => undefined))?.state.messages
  }

  const until = async (check: () => Promise<boolean>, ms = 15_000) => {
    const deadline = Date.now() + ms
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  const warningsTo = (sink: string) => (event: IngestEvent) => (event.type === 'warning' ? [sink] : [])
  const tuning = { retry: { initialMs: 50, maxMs: 300 }, nats: { publishTimeoutMs: 1000, connectTimeoutMs: 1000 } }

  it('publishes exactly the routed events, on their subjects, as CloudEvents, and none twice after a restart before the delete', async () => {
    const config = natsSink('routed')
    const prefix = config.subjectPrefix
    const db = join(dir, 'routed.db')
    let server: TestServer = await startTestServer({ db, sinks: [config], routeEvent: warningsTo(config.name), sinkTuning: tuning })
    const posted = [
      { id: 'p1', time: '2026-11-20T08:00:00Z', type: 'warning', reason: 'BackOff', message: 'Back-off', mesh: 'k8s-prod', object: { kind: 'Pod', name: 'order-7d9f.x', namespace: 'shop' } },
      { id: 'n1', time: '2026-11-20T08:00:01Z', type: 'warning', reason: 'NodeNotReady', message: 'Node is not ready', mesh: 'k8s-prod', object: { kind: 'Node', name: 'ip-10-0-0-1.ec2.internal' } },
      { id: 'r1', time: '2026-11-20T08:00:02Z', type: 'warning', reason: 'ProviderUnregistered', message: 'Provider gone', mesh: 'zk-prod', application: 'demo-provider', object: { kind: 'Provider', name: '10.0.0.7:20880' } },
      { id: 'x1', time: '2026-11-20T08:00:03Z', type: 'normal', reason: 'Pulled', message: 'Pulled', mesh: 'k8s-prod', object: { kind: 'Pod', name: 'order-7d9f', namespace: 'shop' } },
      { id: 'x2', time: '2026-11-20T08:00:04Z', type: 'normal', reason: 'ProviderRegistered', message: 'Provider up', mesh: 'zk-prod', application: 'demo-provider' },
    ]
    expect((await server.post('/api/v1/events', posted)).status).toBe(202)
    // A repeat of p1 is a new occurrence (count 2): a new message. A re-post of r1 as it is, nothing.
    expect((await server.post('/api/v1/events', [{ ...posted[0], time: '2026-11-20T08:05:00Z' }, posted[2]])).status).toBe(202)
    await until(async () => (await streamCount(config.stream.name)) === 4 && (await server.store.outboxCounts()).size === 0)

    const received = await consume(config.stream.name)
    expect(received.map(({ subject, msgId }) => [subject, msgId])).toEqual([
      [`${prefix}.clusters.k8s-prod.namespaces.shop.pods.order-7d9f%2Ex.events`, 'p1:1'],
      [`${prefix}.clusters.k8s-prod.nodes.ip-10-0-0-1%2Eec2%2Einternal.events`, 'n1:1'],
      [`${prefix}.meshes.zk-prod.applications.demo-provider.events`, 'r1:1'],
      [`${prefix}.clusters.k8s-prod.namespaces.shop.pods.order-7d9f%2Ex.events`, 'p1:2'],
    ])
    const [first] = received
    expect(first!.cloudEvent).toMatchObject({
      specversion: '1.0',
      id: 'p1:1',
      source: 'eventline/k8s-prod',
      type: 'io.eventline.event.api',
      subject: 'Pod/shop/order-7d9f.x',
      datacontenttype: 'application/json',
      data: { id: 'p1', count: 1, reason: 'BackOff', mesh: 'k8s-prod', object: { kind: 'Pod', name: 'order-7d9f.x', namespace: 'shop' } },
    })
    // The data is the EventItem as the API serves it (the newest state: count 2).
    const served = (await server.get<{ items: EventItem[] }>('/api/v1/events?mesh=k8s-prod&reason=BackOff')).body.items[0]
    expect(received[3]!.cloudEvent.data).toEqual(served)
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text()
    expect(metrics).toMatch(/eventline_sink_sent_total\{sink="routed"\} 4/)
    expect(metrics).toMatch(/eventline_sink_pending\{sink="routed"\} 0/)

    // A crash after JetStream's ack but before the outbox delete: the entries are still there on
    // the next start and are sent again. JetStream drops them (same Nats-Msg-Id).
    await server.stop()
    const store = new SqliteStore(db)
    await store.writeBatch({ events: [], catalog: [], checkpoints: [], outbox: ['p1', 'n1', 'r1'].map((eventId) => ({ sink: 'routed', eventId })) })
    await store.close()
    server = await startTestServer({ db, sinks: [config], routeEvent: warningsTo(config.name), sinkTuning: tuning })
    await until(async () => (await server.store.outboxCounts()).size === 0)
    expect(await streamCount(config.stream.name)).toBe(4)
    const again = await consume(config.stream.name)
    expect(new Set(again.map(({ cloudEvent }) => cloudEvent.id)).size).toBe(4)
    await server.stop()
  })

  it('creates its stream with the configured limits', async () => {
    const config = natsSink('limits')
    config.stream = { ...config.stream, maxMsgs: 1000, maxBytes: 1_048_576, duplicateWindowMs: 60_000 }
    const server = await startTestServer({ db: join(dir, 'limits.db'), sinks: [config], routeEvent: () => ['limits'], sinkTuning: tuning })
    await until(async () => (await streamCount(config.stream.name)) !== undefined)
    const { config: created } = await (await nc.jetstreamManager()).streams.info(config.stream.name)
    expect(created).toMatchObject({ subjects: [`${config.subjectPrefix}.>`], max_msgs: 1000, max_bytes: 1_048_576, max_age: 3_600_000 * 1e6, duplicate_window: 60_000 * 1e6 })
    await server.stop()
  })

  it('refuses to open on an existing stream that does not capture its subjects, and leaves the stream as it is', async () => {
    const manager = await nc.jetstreamManager()
    const stream = `EVENTLINE_TEST_${run}_FOREIGN`
    streams.push(stream)
    await manager.streams.add({ name: stream, subjects: [`evforeign.${run}.>`] })
    const config: NatsSinkConfig = { type: 'nats', name: 'foreign', servers: [NATS], subjectPrefix: `evtest.${run}.foreign`, stream: { name: stream } }
    const sink = new NatsSink(config, createLogger('error', () => {}), tuning.nats)
    try {
      const error = await sink.open().then(() => undefined, (failure: unknown) => failure)
      expect(error).toBeInstanceOf(SinkError)
      expect(reasonOf(error)).toContain(`NATS stream ${stream} does not capture evtest.${run}.foreign.>`)
      expect(reasonOf(error)).toContain(`its subjects: evforeign.${run}.>`)
    } finally {
      await sink.close()
    }
    expect((await manager.streams.info(stream)).config.subjects).toEqual([`evforeign.${run}.>`])
  })

  it('publishes into an existing stream with wider subjects, and warns once that its limits differ', async () => {
    const manager = await nc.jetstreamManager()
    const stream = `EVENTLINE_TEST_${run}_WIDE`
    streams.push(stream)
    await manager.streams.add({ name: stream, subjects: [`evwide.${run}.>`], max_msgs: 500 })
    const lines: Array<Record<string, unknown>> = []
    const config: NatsSinkConfig = { type: 'nats', name: 'wide', servers: [NATS], subjectPrefix: `evwide.${run}.sink`, stream: { name: stream, maxMsgs: 1000, duplicateWindowMs: 120_000 } }
    const sink = new NatsSink(config, createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), tuning.nats)
    try {
      await sink.open()
      expect(await sink.send([{ seq: 1, event: item({ id: 'wide:1' }) }], new AbortController().signal)).toEqual({ delivered: 1 })
      ;(sink as unknown as { streamReady: boolean }).streamReady = false // as after a failed publish: looked up again
      await sink.open()
    } finally {
      await sink.close()
    }
    expect(await streamCount(stream)).toBe(1)
    const warnings = lines.filter(({ level }) => level === 'warn')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ sink: 'wide', stream, differing: { maxMsgs: { configured: 1000, stream: 500 } } })
    expect((await manager.streams.info(stream)).config).toMatchObject({ subjects: [`evwide.${run}.>`], max_msgs: 500 })
  })

  it('keeps events in the outbox while NATS is unreachable, at start and later, and delivers them once it is back', async () => {
    const proxy = await tcpProxy(4222)
    const config = natsSink('outage', [`127.0.0.1:${proxy.port}`])
    await proxy.stop() // down from the start
    const lines: Array<Record<string, unknown>> = []
    const eventline = await startEventline(
      {
        port: 0,
        host: '127.0.0.1',
        db: join(dir, 'outage.db'),
        retentionMs: TEST_RETENTION_MS,
        demo: false,
        token: TEST_TOKEN,
        sinks: [config],
        routeEvent: () => ['outage'],
        sinkTuning: tuning,
      },
      createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    )
    const post = (body: unknown) =>
      fetch(`${eventline.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    try {
      expect((await post([{ id: 'o1', type: 'warning', reason: 'A', message: 'a' }, { id: 'o2', type: 'warning', reason: 'B', message: 'b' }])).status).toBe(202)
      await until(async () => lines.some((line) => line.level === 'error' && line.sink === 'outage'))
      const failure = lines.find((line) => line.level === 'error' && line.sink === 'outage')!
      expect(String(failure.reason)).toMatch(/CONNECTION_REFUSED|ECONNREFUSED/)
      expect(await eventline.store.outboxCounts()).toEqual(new Map([['outage', 2]]))

      await proxy.start()
      await until(async () => (await eventline.store.outboxCounts()).size === 0)
      expect(await streamCount(config.stream.name)).toBe(2)

      // A connection lost after it worked: publishes fail, the outbox keeps the event, and it goes
      // out once the client has reconnected.
      await proxy.stop()
      expect((await post({ id: 'o3', type: 'warning', reason: 'C', message: 'c' })).status).toBe(202)
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(await eventline.store.outboxCounts()).toEqual(new Map([['outage', 1]]))
      await proxy.start()
      await until(async () => (await eventline.store.outboxCounts()).size === 0)
      await until(async () => (await streamCount(config.stream.name)) === 3)
      expect((await consume(config.stream.name)).map(({ msgId }) => msgId)).toEqual(['o1:1', 'o2:1', 'o3:1'])
      expect(lines.some((line) => line.msg === 'sink recovered' && line.sink === 'outage')).toBe(true)
    } finally {
      await eventline.stop()
      await proxy.stop()
    }
  })
})

/** A TCP proxy to a local port that can be taken down (dropping its connections) and brought back on the same port. */
async function tcpProxy(target: number): Promise<{ port: number; start(): Promise<void>; stop(): Promise<void> }> {
  let server: Server | undefined
  const sockets = new Set<Socket>()
  let port = 0
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = tcpConnect(target, '127.0.0.1')
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on('close', () => sockets.delete(socket))
          socket.on('error', () => socket.destroy())
        }
        client.pipe(upstream).pipe(client)
        client.on('close', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
      })
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port
        resolve()
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      if (!server?.listening) return resolve()
      server.close(() => resolve())
    })
  await start()
  return {
    get port() {
      return port
    },
    start,
    stop,
  }
}

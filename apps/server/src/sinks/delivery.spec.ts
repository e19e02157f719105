import { afterEach, describe, expect, it } from 'vitest'
import { EventBus } from '../bus.ts'
import { BatchWriter } from '../ingest/batchWriter.ts'
import { createLogger, silentLogger } from '../log.ts'
import type { Logger } from '../log.ts'
import { createMetrics } from '../metrics.ts'
import type { Metrics } from '../metrics.ts'
import { SqliteStore } from '../store/sqlite/sqliteStore.ts'
import type { IngestEvent } from '../store/types.ts'
import { SinkDeliveries } from './delivery.ts'
import { SinkError } from './sink.ts'
import type { Delivery, SendOutcome, Sink } from './sink.ts'

const event = (i: number): IngestEvent => ({
  id: `e${i}`,
  time: Date.now() - 1000 + i,
  type: 'normal',
  reason: 'R',
  message: `m${i}`,
  source: 'api',
  component: 'test',
  mesh: 'm',
  object: { kind: 'Event', name: `e${i}` },
})

/** A sink whose answer to each send is scripted; it records what it was sent. */
class ScriptedSink implements Sink {
  readonly maxBatch = 10
  readonly retry = { initialMs: 5, maxMs: 20 }
  readonly sent: string[] = []
  readonly attempts: string[][] = []
  opens = 0
  /** Throws from `open()` while set. */
  openError: Error | undefined
  constructor(
    readonly name: string,
    private readonly answer: (items: readonly Delivery[], signal: AbortSignal) => Promise<SendOutcome> | SendOutcome = (items) => ({ delivered: items.length }),
  ) {}
  async open(): Promise<void> {
    this.opens++
    if (this.openError) throw this.openError
  }
  async send(items: readonly Delivery[], signal: AbortSignal): Promise<SendOutcome> {
    const ids = items.map((item) => ('event' in item ? item.event.id : item.alert.rule))
    this.attempts.push(ids)
    const outcome = await this.answer(items, signal)
    this.sent.push(...ids.slice(0, outcome.delivered))
    return outcome
  }
  async close(): Promise<void> {}
}

const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const counter = async (metrics: Metrics, name: string, labels: string) => {
  const text = await metrics.registry.metrics()
  const line = text.split('\n').find((row) => row.startsWith(`${name}{${labels}}`))
  return line ? Number(line.split(' ').pop()) : undefined
}

let cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  cleanups = []
})

/** A store, bus, writer routing every event to `sinks`, and their delivery loops. */
async function setup(sinks: ScriptedSink[], options: { idlePollMs?: number; stopGraceMs?: number; log?: Logger } = {}) {
  const store = new SqliteStore(':memory:')
  const bus = new EventBus()
  const metrics = createMetrics()
  const writer = new BatchWriter(store, bus, silentLogger, metrics, { flushIntervalMs: 1, routeEvent: () => sinks.map(({ name }) => name) })
  const deliveries = new SinkDeliveries(sinks, store, bus, options.log ?? silentLogger, metrics, { idlePollMs: options.idlePollMs ?? 60_000, stopGraceMs: options.stopGraceMs ?? 100 })
  await deliveries.start()
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await writer.close()
    await deliveries.stop()
  }
  cleanups.push(async () => {
    await stop()
    await store.close()
  })
  return { store, bus, metrics, deliveries, stop }
}

describe('delivery loop', () => {
  it('delivers in order as soon as the writer commits, and deletes what was delivered', async () => {
    const sink = new ScriptedSink('hook')
    const { bus, store, metrics } = await setup([sink]) // a one-minute poll: only the nudge can explain prompt delivery
    await bus.publish({ events: [event(1), event(2), event(3)] })
    await until(() => sink.sent.length === 3)
    expect(sink.sent).toEqual(['e1', 'e2', 'e3'])
    await until(async () => (await store.outboxCounts()).size === 0)
    expect(await counter(metrics, 'eventline_sink_sent_total', 'sink="hook"')).toBe(3)
    expect(await counter(metrics, 'eventline_sink_pending', 'sink="hook"')).toBe(0)
  })

  it('keeps entries through failures, backs off, and delivers everything once the sink recovers', async () => {
    let failing = 3
    const sink = new ScriptedSink('hook', (items) => (failing-- > 0 ? { delivered: 0, error: new SinkError('HTTP 500'), failed: items.length } : { delivered: items.length }))
    const { bus, store, metrics } = await setup([sink])
    await bus.publish({ events: [event(1), event(2)] })
    await until(() => sink.sent.length === 2)
    expect(sink.attempts).toEqual([['e1', 'e2'], ['e1', 'e2'], ['e1', 'e2'], ['e1', 'e2']])
    expect(await counter(metrics, 'eventline_sink_failed_total', 'sink="hook"')).toBe(6)
    await until(async () => (await store.outboxCounts()).size === 0)
  })

  it('opens the sink at start with an empty outbox, and resets its failures when it recovers with nothing to send', async () => {
    const lines: Array<Record<string, unknown>> = []
    const log = createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>))
    let failing = false
    const sink = new ScriptedSink('nats', (items) => (failing ? { delivered: 0, error: new SinkError('no ack'), failed: items.length } : { delivered: items.length }))
    sink.openError = new Error('CONNECTION_REFUSED') // down at start, nothing in the outbox
    const { bus } = await setup([sink], { log })
    const failures = () => lines.filter(({ msg }) => String(msg).startsWith('sink ') && String(msg).includes('unavailable'))
    await until(() => failures().length >= 3)
    expect(failures()[0]).toMatchObject({ level: 'error', sink: 'nats', reason: 'CONNECTION_REFUSED', attempt: 1 })
    expect(failures()[2]).toMatchObject({ level: 'warn', attempt: 3 })
    expect(sink.opens).toBeGreaterThanOrEqual(3)

    sink.openError = undefined // back, still with nothing to send
    await until(() => lines.some(({ msg }) => msg === 'sink recovered'))
    const seen = failures().length
    expect(lines.find(({ msg }) => msg === 'sink recovered')).toMatchObject({ level: 'info', sink: 'nats', failedAttempts: seen })
    expect(sink.attempts).toEqual([])

    // The next outage is a new one: an error again, from the first attempt (and the first backoff).
    failing = true
    await bus.publish({ events: [event(1)] })
    await until(() => failures().length > seen)
    expect(failures()[seen]).toMatchObject({ level: 'error', reason: 'no ack', attempt: 1 })
    failing = false
    await until(() => sink.sent.length === 1)
  })

  it('deletes only the delivered prefix of a partly failed batch', async () => {
    let first = true
    const sink = new ScriptedSink('nats', (items) => {
      if (!first) return { delivered: items.length }
      first = false
      return { delivered: 1, error: new SinkError('no ack'), failed: items.length - 1 }
    })
    const { bus } = await setup([sink])
    await bus.publish({ events: [event(1), event(2), event(3)] })
    await until(() => sink.sent.length === 3)
    expect(sink.attempts).toEqual([['e1', 'e2', 'e3'], ['e2', 'e3']])
  })

  it('narrows a refused batch down to the refused entry and drops it after three refusals', async () => {
    const sink = new ScriptedSink('hook', (items) => {
      const bad = items.findIndex((item) => 'event' in item && item.event.id === 'e3')
      if (bad === -1) return { delivered: items.length }
      // The whole request is refused, as a webhook refuses a body with one bad item.
      return { delivered: 0, error: new SinkError('HTTP 400: bad', true), failed: items.length }
    })
    const { bus, metrics } = await setup([sink])
    await bus.publish({ events: [1, 2, 3, 4, 5, 6].map(event) })
    await until(() => sink.sent.length === 5)
    expect(sink.sent).toEqual(['e1', 'e2', 'e4', 'e5', 'e6'])
    expect(sink.attempts.filter((ids) => ids.length === 1 && ids[0] === 'e3')).toHaveLength(3)
    expect(await counter(metrics, 'eventline_sink_dropped_total', 'sink="hook",reason="rejected"')).toBe(1)
  })

  it('drops entries whose events retention purged before delivery', async () => {
    let open = false
    const sink = new ScriptedSink('hook', (items) => (open ? { delivered: items.length } : { delivered: 0, error: new SinkError('down'), failed: items.length }))
    const { bus, store, metrics } = await setup([sink])
    await bus.publish({ events: [{ ...event(1), time: Date.now() - 10 * 86_400_000 }, event(2)] })
    await until(() => sink.attempts.length > 0)
    await store.purgeBefore(Date.now() - 86_400_000, 100)
    open = true
    await until(() => sink.sent.length === 1)
    expect(sink.sent).toEqual(['e2'])
    await until(async () => (await counter(metrics, 'eventline_sink_dropped_total', 'sink="hook",reason="purged"')) === 1)
  })

  it('abandons an in-flight send on stop without losing its entries, and a new loop sends them', async () => {
    const hanging = new ScriptedSink('hook', (_items, signal) => new Promise<SendOutcome>((resolve) => signal.addEventListener('abort', () => resolve({ delivered: 0, error: new SinkError('abandoned'), failed: 2 }))))
    const { bus, store, stop } = await setup([hanging], { stopGraceMs: 50 })
    await bus.publish({ events: [event(1), event(2)] })
    await until(() => hanging.attempts.length === 1)
    await stop()
    expect(await store.outboxCounts()).toEqual(new Map([['hook', 2]]))

    const healthy = new ScriptedSink('hook')
    const deliveries = new SinkDeliveries([healthy], store, new EventBus(), silentLogger, createMetrics(), { idlePollMs: 60_000 })
    await deliveries.start()
    await until(() => healthy.sent.length === 2)
    await deliveries.stop()
    expect(healthy.sent).toEqual(['e1', 'e2'])
  })

  it('lets an in-flight send finish within the grace period and deletes what it delivered', async () => {
    let release: (() => void) | undefined
    const slow = new ScriptedSink('hook', (items) => new Promise<SendOutcome>((resolve) => (release = () => resolve({ delivered: items.length }))))
    const { bus, store, stop } = await setup([slow], { stopGraceMs: 2000 })
    await bus.publish({ events: [event(1)] })
    await until(() => release !== undefined)
    const stopping = stop()
    setTimeout(() => release!(), 50)
    await stopping
    expect(slow.sent).toEqual(['e1'])
    expect(await store.outboxCounts()).toEqual(new Map())
  })

  it('keeps the entries of a sink that is not configured until they are older than the retention', async () => {
    const store = new SqliteStore(':memory:')
    await store.writeBatch({ events: [event(1)], catalog: [], checkpoints: [], outbox: [{ sink: 'old', eventId: 'e1' }, { sink: 'live', eventId: 'e1' }] })
    const live = new ScriptedSink('live')
    const start = async (retentionMs: number) => {
      const deliveries = new SinkDeliveries([live], store, new EventBus(), silentLogger, createMetrics(), { idlePollMs: 60_000, retentionMs })
      await deliveries.start()
      return deliveries
    }
    let deliveries = await start(86_400_000)
    await until(() => live.sent.length === 1)
    await deliveries.stop()
    expect(await store.outboxCounts()).toEqual(new Map([['old', 1]]))
    await new Promise((resolve) => setTimeout(resolve, 5))
    deliveries = await start(1)
    await deliveries.stop()
    expect(await store.outboxCounts()).toEqual(new Map())
    await store.close()
  })
})

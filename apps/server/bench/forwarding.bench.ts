/**
 * `pnpm bench` (alone: `BENCH=forwarding pnpm bench`): forwarding through the outbox, end to end.
 *
 * A real Eventline (temp SQLite, writer thread) with two sinks that take every event: a webhook
 * (generic JSON) served by a receiver in this process, and NATS JetStream on 127.0.0.1:4222 (a
 * stream of its own, deleted afterwards). `FORWARD_EVENTS` events (default 10,000) are posted at
 * a steady 2,000 events/s in batches of 100; for each sink: the latency from the POST being
 * accepted (the event is stored and its outbox entries committed) to the sink receiving it, the
 * throughput, and whether every event arrived, none twice (JetStream: the stream's message count).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EventItem, PostEvent } from '@eventline/shared'
import { connect } from 'nats'
import { startEventline } from '../src/eventline.ts'
import { silentLogger } from '../src/log.ts'
import type { SinkConfig } from '../src/sinks/types.ts'
import { latency, mergeResults, printTable, RESULTS_FILE, showLatency } from './results.ts'

const COUNT = Number(process.env.FORWARD_EVENTS ?? 10_000)
const BATCH = 100
const RATE_PER_S = 2_000
const NATS = '127.0.0.1:4222'
const TOKEN = 'bench-token-123'

const run = `${process.pid}`
const stream = `BENCH_FWD_${run}`
const prefix = `benchfwd${run}`

async function webhookReceiver() {
  const received = new Map<string, number[]>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const now = performance.now()
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { events?: EventItem[] }
      for (const item of body.events ?? []) received.set(item.id, [...(received.get(item.id) ?? []), now])
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hook`, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

async function main(): Promise<void> {
  const nc = await connect({ servers: NATS, timeout: 2_000 }).catch((error: unknown) => {
    throw new Error(`the forwarding benchmark needs NATS JetStream on ${NATS}: ${String(error)}`)
  })
  // Core NATS sees each JetStream publish as it is stored in the stream: the arrival time per event.
  const natsReceived = new Map<string, number[]>()
  const subscription = nc.subscribe(`${prefix}.>`, {
    callback: (_error, message) => {
      const id = (message.json() as { data: EventItem }).data.id
      natsReceived.set(id, [...(natsReceived.get(id) ?? []), performance.now()])
    },
  })
  const hook = await webhookReceiver()
  const dir = mkdtempSync(join(tmpdir(), 'eventline-bench-forwarding-'))
  const sinks: SinkConfig[] = [
    { type: 'webhook', name: 'hook', url: hook.url, format: 'json', headers: {}, timeoutMs: 5_000, retry: { initialMs: 100, maxMs: 1_000 } },
    { type: 'nats', name: 'nats', servers: [NATS], subjectPrefix: prefix, stream: { name: stream } },
  ]
  const eventline = await startEventline(
    { port: 0, host: '127.0.0.1', db: join(dir, 'eventline.db'), retentionMs: 14 * 86_400_000, demo: false, token: TOKEN, sinks, routeEvent: () => ['hook', 'nats'] },
    silentLogger,
  )
  const accepted = new Map<string, number>()
  const started = performance.now()
  try {
    console.log(`forwarding benchmark: ${COUNT.toLocaleString('en')} events at ${RATE_PER_S.toLocaleString('en')}/s to a webhook and NATS JetStream`)
    const posts: Array<Promise<void>> = []
    for (let first = 0; first < COUNT; first += BATCH) {
      const due = started + (first / RATE_PER_S) * 1_000
      const wait = due - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      const events: PostEvent[] = Array.from({ length: Math.min(BATCH, COUNT - first) }, (_, i) => ({
        id: `fwd-${first + i}`,
        type: (first + i) % 7 === 0 ? 'warning' : 'normal',
        reason: 'Forwarded',
        message: `event ${first + i}`,
        mesh: 'bench',
        application: `app-${(first + i) % 20}`,
      }))
      posts.push(
        fetch(`${eventline.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(events) }).then(async (response) => {
          if (response.status !== 202) throw new Error(`POST answered ${response.status}: ${await response.text()}`)
          const at = performance.now()
          for (const event of events) accepted.set(event.id!, at)
        }),
      )
    }
    await Promise.all(posts)
    const deadline = performance.now() + 60_000
    while ((hook.received.size < COUNT || natsReceived.size < COUNT) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))

    const figures = (received: Map<string, number[]>) => {
      const delays = [...received].map(([id, [first]]) => first! - accepted.get(id)!)
      const last = Math.max(...[...received.values()].map(([first]) => first!))
      return {
        received: received.size,
        duplicates: [...received.values()].reduce((sum, times) => sum + times.length - 1, 0),
        latency: latency(delays),
        eventsPerS: Math.round(received.size / ((last - started) / 1_000)),
      }
    }
    const manager = await nc.jetstreamManager()
    const streamMessages = (await manager.streams.info(stream)).state.messages
    const results = { events: COUNT, ratePerS: RATE_PER_S, webhook: figures(hook.received), nats: { ...figures(natsReceived), streamMessages } }

    printTable([
      ['figure', 'webhook', 'NATS JetStream', 'note'],
      ['received / sent', `${results.webhook.received} / ${COUNT}`, `${results.nats.received} / ${COUNT}`, 'every event, once'],
      ['received twice', String(results.webhook.duplicates), String(results.nats.duplicates), 'at least once allows repeats; none expected here'],
      ['JetStream stream messages', '', String(streamMessages), 'Nats-Msg-Id de-duplicates'],
      ['accepted -> received p50 / p99 / max', showLatency(results.webhook.latency), showLatency(results.nats.latency), 'POST 202 (stored, outbox committed) to the sink'],
      ['throughput (events/s)', String(results.webhook.eventsPerS), String(results.nats.eventsPerS), `posted at ${RATE_PER_S}/s`],
    ])
    mergeResults({ forwarding: results })
    console.log(`results merged into ${RESULTS_FILE}`)
  } finally {
    await eventline.stop()
    await hook.close()
    subscription.unsubscribe()
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => false)
    await nc.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()

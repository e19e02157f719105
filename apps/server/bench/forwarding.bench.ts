/**
 * `pnpm bench` (alone: `BENCH=forwarding pnpm bench`): forwarding through the outbox, end to end.
 *
 * A real Eventline (temp SQLite, writer thread) with four sinks that take every event: a webhook
 * (generic JSON) served by a receiver in this process, NATS JetStream on 127.0.0.1:4222 (a stream
 * of its own, deleted afterwards), and the Loki and Elasticsearch test servers (in this process,
 * speaking their HTTP APIs) with the sinks' default batching (Loki waits up to 1 s for a fuller
 * push, as promtail does). `FORWARD_EVENTS` events (default 10,000) are posted at
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
import { parseFileConfig } from '../src/rules/fileConfig.ts'
import { startElasticsearchServer } from '../src/testing/elasticsearchServer.ts'
import { startLokiServer } from '../src/testing/lokiServer.ts'
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
  const arrived = (received: Map<string, number[]>, id: string) => received.set(id, [...(received.get(id) ?? []), performance.now()])
  const lokiReceived = new Map<string, number[]>()
  const loki = await startLokiServer({ onStored: (line) => arrived(lokiReceived, (JSON.parse(line) as EventItem).id) })
  const esReceived = new Map<string, number[]>()
  const es = await startElasticsearchServer({ onIndexed: (id) => arrived(esReceived, id) })
  const dir = mkdtempSync(join(tmpdir(), 'eventline-bench-forwarding-'))
  // Through the file loader, so each sink runs with the defaults an operator gets.
  const { sinks } = parseFileConfig(
    [
      'sinks:',
      `  - { name: hook, type: webhook, url: "${hook.url}", retry: { initial: 1s, max: 5s } }`,
      `  - { name: nats, type: nats, servers: ["${NATS}"], subjectPrefix: ${prefix}, stream: { name: ${stream} } }`,
      `  - { name: loki, type: loki, url: "${loki.url}" }`,
      `  - { name: es, type: elasticsearch, url: "${es.url}" }`,
    ].join('\n'),
    'bench.yaml',
  )
  const eventline = await startEventline(
    { port: 0, host: '127.0.0.1', db: join(dir, 'eventline.db'), retentionMs: 14 * 86_400_000, demo: false, token: TOKEN, sinks, routeEvent: () => ['hook', 'nats', 'loki', 'es'] },
    silentLogger,
  )
  const accepted = new Map<string, number>()
  const started = performance.now()
  try {
    console.log(`forwarding benchmark: ${COUNT.toLocaleString('en')} events at ${RATE_PER_S.toLocaleString('en')}/s to a webhook, NATS JetStream, Loki and Elasticsearch`)
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
    while ([hook.received, natsReceived, lokiReceived, esReceived].some((received) => received.size < COUNT) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))

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
    const results = {
      events: COUNT,
      ratePerS: RATE_PER_S,
      webhook: figures(hook.received),
      nats: { ...figures(natsReceived), streamMessages },
      loki: figures(lokiReceived),
      elasticsearch: { ...figures(esReceived), documents: es.documents().size },
    }
    const all = [results.webhook, results.nats, results.loki, results.elasticsearch]
    printTable([
      ['figure', 'webhook', 'NATS JetStream', 'Loki', 'Elasticsearch', 'note'],
      ['received / sent', ...all.map(({ received }) => `${received} / ${COUNT}`), 'every event, once'],
      ['received twice', ...all.map(({ duplicates }) => String(duplicates)), 'at least once allows repeats; none expected here'],
      ['stored (stream messages / documents)', '', String(streamMessages), '', String(results.elasticsearch.documents), 'Nats-Msg-Id de-duplicates; documents keyed by id'],
      ['accepted -> received p50 / p99 / max', ...all.map(({ latency: figures }) => showLatency(figures)), 'POST 202 (stored, outbox committed) to the sink; Loki waits up to 1 s to batch'],
      ['throughput (events/s)', ...all.map(({ eventsPerS }) => String(eventsPerS)), `posted at ${RATE_PER_S}/s`],
    ])
    mergeResults({ forwarding: results })
    console.log(`results merged into ${RESULTS_FILE}`)
  } finally {
    await eventline.stop()
    await hook.close()
    await loki.close()
    await es.close()
    subscription.unsubscribe()
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => false)
    await nc.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()

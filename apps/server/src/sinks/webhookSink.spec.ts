import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { EventItem } from '@eventline/shared'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { startEventline } from '../eventline.ts'
import { createLogger } from '../log.ts'
import { startTestServer, tempDir, TEST_RETENTION_MS, TEST_TOKEN } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'
import type { Delivery } from './sink.ts'
import type { AlertNotice, WebhookSinkConfig } from './types.ts'
import { dingtalkBody, slackBody, slackEscape, webhookRequests, WebhookSink } from './webhookSink.ts'

/**
 * How the receiver answers one request: a status; `late`: a 2xx it processed but answers only
 * after the sender gave up (its timeout closed the connection), so the answer is lost; `hang`:
 * never, until released.
 */
type Answer = { status: number; body?: string; late?: boolean } | 'hang'

interface Logged {
  body: { events?: EventItem[]; alerts?: AlertNotice[] } & Record<string, unknown>
  headers: IncomingHttpHeaders
  /** Header names and values as they came on the wire, in order. */
  rawHeaders: string[]
  /** When the receiver got the request (`Date.now()`). */
  at: number
  answer: Answer
}

/**
 * A local webhook receiver. Its log holds every request it read, including those it then failed
 * or answered too late: a receiver processes a request before its answer is lost, which is where
 * at-least-once duplicates come from.
 */
async function startReceiver(script: (n: number, body: Logged['body']) => Answer, port = 0) {
  const log: Logged[] = []
  const hung: ServerResponse[] = []
  const server: Server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (text += chunk))
    req.on('end', () => {
      const body = JSON.parse(text) as Logged['body']
      const answer = script(log.length, body)
      log.push({ body, headers: req.headers, rawHeaders: req.rawHeaders, at: Date.now(), answer })
      if (answer === 'hang') return void hung.push(res)
      // A late answer is never sent: the sender's timeout closes the connection first, however
      // long a loaded machine takes to reach it.
      if (answer.late) return
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const { port: listening } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${listening}/hook`,
    log,
    /**
     * Event ids in the requests answered 2xx in time (`accepted`), or in every request the receiver
     * processed (`processed`: also those whose 2xx came too late or never came). A request answered
     * with an error was not processed.
     */
    ids(which: 'accepted' | 'processed') {
      const counts = ({ answer }: Logged) => (which === 'processed' ? answer === 'hang' || answer.status < 300 : answer !== 'hang' && answer.status < 300 && !answer.late)
      return log.filter(counts).flatMap(({ body }) => (body.events ?? []).map(({ id }) => id))
    },
    release() {
      for (const res of hung.splice(0)) res.writeHead(200).end('{}')
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung.splice(0)) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>

const { dir, cleanup } = tempDir()
afterAll(cleanup)
let closing: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closing.reverse()) await close()
  closing = []
})

const hook = (receiver: Receiver, overrides: Partial<WebhookSinkConfig> = {}): WebhookSinkConfig => ({
  type: 'webhook',
  name: 'hook',
  url: receiver.url,
  format: 'json',
  headers: { authorization: 'Bearer hook-secret', 'x-team': 'ops' },
  timeoutMs: 300,
  retry: { initialMs: 20, maxMs: 200 },
  ...overrides,
})

async function eventline(name: string, sink: WebhookSinkConfig, stopGraceMs = 100): Promise<TestServer> {
  const server = await startTestServer({ db: join(dir, `${name}.db`), sinks: [sink], routeEvent: () => [sink.name], sinkTuning: { stopGraceMs } })
  closing.push(() => server.stop())
  return server
}

const posted = (ids: string[]) => ids.map((id, i) => ({ id, time: new Date(Date.UTC(2026, 10, 20, 8, 0, i)).toISOString(), type: 'warning', reason: 'BackOff', message: `event ${id}`, mesh: 'k8s-prod' }))

const until = async (check: () => boolean | Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Occurrences of each id in a list. */
const tally = (ids: string[]) => ids.reduce((counts, id) => counts.set(id, (counts.get(id) ?? 0) + 1), new Map<string, number>())

describe('webhook sink', () => {
  it('gets every event to a receiver that fails, then times out, then recovers, with duplicates only from the timed-out requests', { timeout: 60_000 }, async () => {
    // Requests 0-1 fail with 500; 2-3 are read but answered only after the sender's timeout; then
    // 200. The timeout is long enough that a loaded machine never makes a prompt answer late.
    const receiver = await startReceiver((n) => (n < 2 ? { status: 500, body: '{"error":"down"}' } : n < 4 ? { status: 200, late: true } : { status: 200 }))
    closing.push(receiver.close)
    const server = await eventline('recovers', hook(receiver, { timeoutMs: 2_000 }))
    const ids = Array.from({ length: 12 }, (_, i) => `w${i}`)
    for (const chunk of [ids.slice(0, 4), ids.slice(4, 8), ids.slice(8)]) expect((await server.post('/api/v1/events', posted(chunk))).status).toBe(202)
    await until(async () => ids.every((id) => receiver.ids('accepted').includes(id)) && (await server.store.outboxCounts()).size === 0, 45_000)

    // Every event arrived. At least once: an event may be logged again only when a request that
    // carried it timed out (the receiver read it, the answer came too late), once per such request.
    const timedOut = receiver.log.filter(({ answer }) => answer !== 'hang' && answer.late)
    expect(timedOut).toHaveLength(2)
    const allowed = tally(timedOut.flatMap(({ body }) => (body.events ?? []).map(({ id }) => id)))
    for (const [id, count] of tally(receiver.ids('processed'))) expect(count, id).toBeLessThanOrEqual(1 + (allowed.get(id) ?? 0))
    expect(tally(receiver.ids('accepted'))).toEqual(new Map(ids.map((id) => [id, 1])))
    expect(receiver.log[0]!.headers).toMatchObject({ authorization: 'Bearer hook-secret', 'x-team': 'ops', 'content-type': 'application/json; charset=utf-8' })
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/eventline_sink_sent_total\{sink="hook"\} 12/)
    expect(metrics).toMatch(/eventline_sink_failed_total\{sink="hook"\} [1-9]/)
    expect(metrics).toMatch(/eventline_sink_pending\{sink="hook"\} 0/)
  })

  it('delivers every pending event after an Eventline restart; only the request abandoned at shutdown comes twice', async () => {
    let mode: 'hang' | 'ok' = 'hang'
    const receiver = await startReceiver(() => (mode === 'hang' ? 'hang' : { status: 200 }))
    closing.push(receiver.close)
    const sink = hook(receiver, { timeoutMs: 60_000 })
    const first = await eventline('restart', sink)
    expect((await first.post('/api/v1/events', posted(['a1', 'a2', 'a3']))).status).toBe(202)
    await until(() => receiver.log.length === 1) // in flight, never answered
    expect((await first.post('/api/v1/events', posted(['b1', 'b2']))).status).toBe(202)
    const metrics = await (await fetch(`${first.url}/metrics`)).text()
    expect(metrics).toMatch(/eventline_sink_pending\{sink="hook"\} 5/)
    // Shutdown waits 100 ms for the in-flight request, then abandons it: nothing is deleted.
    await first.stop()
    mode = 'ok'
    receiver.release()

    const second = await eventline('restart', sink)
    await until(async () => ['a1', 'a2', 'a3', 'b1', 'b2'].every((id) => receiver.ids('accepted').includes(id)) && (await second.store.outboxCounts()).size === 0)
    const abandoned = new Set((receiver.log[0]!.body.events ?? []).map(({ id }) => id))
    expect(abandoned).toEqual(new Set(['a1', 'a2', 'a3']))
    for (const [id, count] of tally(receiver.ids('processed'))) expect(count, id).toBe(abandoned.has(id) ? 2 : 1)
  })

  it('drops a body the receiver refuses (400) after three attempts, and retries through an auth failure (401)', async () => {
    const receiver = await startReceiver((n, body) => {
      if (n < 3) return { status: 401, body: '{"error":"bad token"}' }
      return (body.events ?? []).some(({ id }) => id === 'poison') ? { status: 400, body: '{"error":"bad field"}' } : { status: 200 }
    })
    closing.push(receiver.close)
    const server = await eventline('refused', hook(receiver))
    expect((await server.post('/api/v1/events', posted(['ok1', 'poison', 'ok2', 'ok3']))).status).toBe(202)
    await until(async () => (await server.store.outboxCounts()).size === 0)
    expect(receiver.ids('accepted').sort()).toEqual(['ok1', 'ok2', 'ok3'])
    const alone = receiver.log.filter(({ body }) => body.events?.length === 1 && body.events[0]!.id === 'poison')
    expect(alone).toHaveLength(3)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/eventline_sink_dropped_total\{sink="hook",reason="rejected"\} 1/)
  })

  it('posts Slack and DingTalk messages of the right shape, with alert notices by title and text', async () => {
    const receiver = await startReceiver((n, body) => (body.msgtype && n === 0 ? { status: 200, body: '{"errcode":130101,"errmsg":"send too fast"}' } : { status: 200, body: body.msgtype ? '{"errcode":0}' : 'ok' }))
    closing.push(receiver.close)
    const slack = hook(receiver, { name: 'slack', format: 'slack', url: `${receiver.url}?slack` })
    const dingtalk = hook(receiver, { name: 'dingtalk', format: 'dingtalk', url: `${receiver.url}?dingtalk` })
    const server = await startTestServer({ db: join(dir, 'chat.db'), sinks: [slack, dingtalk], routeEvent: () => ['dingtalk'], sinkTuning: { stopGraceMs: 100 } })
    closing.push(() => server.stop())
    const message = 'Readiness probe failed: <html> & "quotes" *not bold*'
    expect((await server.post('/api/v1/events', { id: 'c1', time: '2026-11-20T08:00:00Z', type: 'warning', reason: 'Unhealthy', message, mesh: 'k8s-prod', object: { kind: 'Pod', name: 'web-1', namespace: 'shop' } })).status).toBe(202)
    await until(() => receiver.log.filter(({ body }) => body.msgtype).length === 2) // DingTalk's first answer is an errcode: sent again
    const [ding] = receiver.log.filter(({ body }) => body.msgtype)
    expect(ding!.body).toEqual({
      msgtype: 'text',
      text: { content: `Warning Unhealthy: Pod shop/web-1\n${message}\nmesh k8s-prod; at 2026-11-20T08:00:00.000Z` },
    })

    const { body: page } = await server.get<{ items: EventItem[] }>('/api/v1/events')
    const alert: AlertNotice = {
      rule: 'probes',
      sink: 'slack',
      kind: 'summary',
      group: 'probes\u0000Pod/shop/web-1\u0000Unhealthy',
      count: 7,
      windowStart: Date.UTC(2026, 10, 20, 8),
      windowEnd: Date.UTC(2026, 10, 20, 8, 5),
      event: page.items[0]!,
      title: 'Unhealthy <web-1> x7',
      text: 'Readiness probe failed & more',
    }
    await server.bus.publish({ outbox: [{ sink: 'slack', alert }] })
    await until(() => receiver.log.some(({ body }) => 'blocks' in body))
    const posted = receiver.log.find(({ body }) => 'blocks' in body)!
    expect(posted.body).toEqual({
      text: 'Unhealthy &lt;web-1&gt; x7\nReadiness probe failed &amp; more',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Unhealthy <web-1> x7', emoji: false } },
        { type: 'section', text: { type: 'plain_text', text: 'Readiness probe failed & more', emoji: false } },
      ],
    })
  })
})

describe('webhook sink requests', () => {
  const item = (id: string): Delivery => ({
    seq: 1,
    event: { id, time: '2026-11-20T08:00:00.000Z', firstTime: '2026-11-20T08:00:00.000Z', count: 1, type: 'warning', reason: 'BackOff', message: 'm', source: 'api', component: 'api', mesh: 'k8s-prod', object: { kind: 'Pod', name: 'p', namespace: 'shop' } },
  })
  const signal = new AbortController().signal

  it('replaces the default content type and user agent with configured headers of any case', async () => {
    const receiver = await startReceiver(() => ({ status: 200 }))
    closing.push(receiver.close)
    const sink = new WebhookSink(hook(receiver, { headers: { 'Content-Type': 'application/json', 'User-Agent': 'ops-bot/1', 'X-Team': 'ops' } }))
    await sink.open()
    expect(await sink.send([item('h1')], signal)).toEqual({ delivered: 1 })
    const { headers, rawHeaders } = receiver.log[0]!
    expect(headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'ops-bot/1', 'x-team': 'ops' })
    // Once each on the wire, not a default and the configured value side by side.
    const sent = (name: string) => rawHeaders.filter((_, i) => i % 2 === 0 && rawHeaders[i]!.toLowerCase() === name).length
    expect([sent('content-type'), sent('user-agent')]).toEqual([1, 1])
  })

  it('starts DingTalk posts at least the configured interval apart, across sends and retries', async () => {
    const receiver = await startReceiver((n) => ({ status: 200, body: n === 1 ? '{"errcode":130101,"errmsg":"send too fast"}' : '{"errcode":0}' }))
    closing.push(receiver.close)
    const sink = new WebhookSink(hook(receiver, { format: 'dingtalk' }), { dingtalkIntervalMs: 150 })
    // When each post starts, on the sender's side: arrival times at the receiver also carry the
    // transit, which a loaded machine stretches for one request and not the next.
    const times: number[] = []
    const original = globalThis.fetch.bind(globalThis)
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation((...args: Parameters<typeof fetch>) => {
      times.push(Date.now())
      return original(...args)
    })
    try {
      expect(await sink.send([item('d1'), item('d2'), item('d3')], signal)).toMatchObject({ delivered: 1, failed: 1 })
      expect(await sink.send([item('d2'), item('d3')], signal)).toEqual({ delivered: 2 })
    } finally {
      fetchSpy.mockRestore()
    }
    expect(receiver.log).toHaveLength(4)
    expect(times).toHaveLength(4)
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `post ${i}`).toBeGreaterThanOrEqual(145)
    // The JSON format is not spaced.
    const json = new WebhookSink(hook(receiver, { format: 'json' }), { dingtalkIntervalMs: 10_000 })
    const started = Date.now()
    for (const id of ['j1', 'j2']) expect(await json.send([item(id)], signal)).toEqual({ delivered: 1 })
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('waits a minute after DingTalk errcode 130101 (send too fast), and not after other errcodes', async () => {
    const receiver = await startReceiver((n) => ({ status: 200, body: n === 0 ? '{"errcode":130101,"errmsg":"send too fast"}' : '{"errcode":310000,"errmsg":"keywords not in content"}' }))
    closing.push(receiver.close)
    const sink = new WebhookSink(hook(receiver, { format: 'dingtalk' }), { dingtalkIntervalMs: 0 })
    const tooFast = await sink.send([item('t1')], signal)
    expect(tooFast).toMatchObject({ delivered: 0, failed: 1 })
    expect(tooFast.error).toMatchObject({ message: 'DingTalk errcode 130101: send too fast', rejected: false, retryAfterMs: 60_000 })
    const other = await sink.send([item('t1')], signal)
    expect(other.error).toMatchObject({ message: 'DingTalk errcode 310000: keywords not in content', retryAfterMs: undefined })
  })

  it('stops waiting for the DingTalk interval when the send is aborted', async () => {
    const receiver = await startReceiver(() => ({ status: 200, body: '{"errcode":0}' }))
    closing.push(receiver.close)
    const sink = new WebhookSink(hook(receiver, { format: 'dingtalk' }), { dingtalkIntervalMs: 60_000 })
    const stop = new AbortController()
    setTimeout(() => stop.abort(), 100)
    const started = Date.now()
    const outcome = await sink.send([item('a1'), item('a2')], stop.signal)
    expect(outcome).toMatchObject({ delivered: 1, failed: 1, error: { message: 'abandoned on shutdown' } })
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('reports an unreachable host at start, with its config location, and delivers once the host listens', async () => {
    // A port nobody listens on, until the receiver takes it below.
    const probe = await startReceiver(() => ({ status: 200 }))
    const port = Number(new URL(probe.url).port)
    await probe.close()
    const sink: WebhookSinkConfig = { type: 'webhook', name: 'pager', url: `http://127.0.0.1:${port}/hook`, format: 'slack', headers: {}, timeoutMs: 300, retry: { initialMs: 50, maxMs: 200 } }
    const lines: Array<Record<string, unknown>> = []
    const eventline = await startEventline(
      {
        port: 0,
        host: '127.0.0.1',
        db: join(dir, 'unreachable.db'),
        retentionMs: TEST_RETENTION_MS,
        demo: false,
        token: TEST_TOKEN,
        sinks: [sink],
        routeEvent: () => ['pager'],
        sinkTuning: { stopGraceMs: 100, locations: { pager: 'eventline.yaml: sinks[0] (line 4)' } },
      },
      createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    )
    closing.push(() => eventline.stop())
    // Nothing in the outbox: the check alone finds it.
    await until(() => lines.some(({ level, sink: name }) => level === 'error' && name === 'pager'))
    const failure = lines.find(({ level, sink: name }) => level === 'error' && name === 'pager')!
    expect(failure).toMatchObject({ msg: 'sink unavailable; its entries stay in the outbox and are retried', config: 'eventline.yaml: sinks[0] (line 4)' })
    expect(String(failure.reason)).toBe(`cannot reach the webhook host 127.0.0.1:${port}: ECONNREFUSED`)

    const response = await fetch(`${eventline.url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(posted(['u1', 'u2'])),
    })
    expect(response.status).toBe(202)
    const receiver = await startReceiver(() => ({ status: 200 }), port)
    closing.push(receiver.close)
    await until(async () => receiver.log.length === 2 && (await eventline.store.outboxCounts()).size === 0)
    expect(receiver.log.map(({ body }) => (body as { text: string }).text.split('\n')[1])).toEqual(['event u1', 'event u2'])
    expect(lines.some(({ msg, sink: name }) => msg === 'sink recovered' && name === 'pager')).toBe(true)
  })
})

describe('webhook bodies', () => {
  const event = (id: string): EventItem => ({
    id,
    time: '2026-11-20T08:00:00.000Z',
    firstTime: '2026-11-20T07:00:00.000Z',
    count: 4,
    type: 'normal',
    reason: 'InstanceRegistered',
    message: 'Instance registered: demo 10.0.0.7:20880',
    source: 'zookeeper',
    component: 'zookeeper',
    mesh: 'zk-prod',
    object: { kind: 'Instance', name: '10.0.0.7:20880' },
    application: 'demo',
  })

  it('groups consecutive events and consecutive alerts in generic JSON, keeping order', () => {
    const alert = { rule: 'r', title: 't', text: 'x' } as AlertNotice
    const requests = webhookRequests('json', [
      { seq: 1, event: event('a') },
      { seq: 2, event: event('b') },
      { seq: 3, alert },
      { seq: 4, event: event('c') },
    ])
    expect(requests.map(({ body, count }) => [body, count])).toEqual([
      [{ events: [event('a'), event('b')] }, 2],
      [{ alerts: [alert] }, 1],
      [{ events: [event('c')] }, 1],
    ])
  })

  it('writes chat messages as plain text, escaping only what Slack mrkdwn requires', () => {
    expect(slackEscape('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d')
    expect(slackBody({ seq: 1, event: event('a') })).toEqual({
      text: 'Normal InstanceRegistered: Instance 10.0.0.7:20880\nInstance registered: demo 10.0.0.7:20880\nmesh zk-prod, application demo; 4 times, last at 2026-11-20T08:00:00.000Z',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Normal InstanceRegistered: Instance 10.0.0.7:20880', emoji: false } },
        { type: 'section', text: { type: 'plain_text', text: 'Instance registered: demo 10.0.0.7:20880\nmesh zk-prod, application demo; 4 times, last at 2026-11-20T08:00:00.000Z', emoji: false } },
      ],
    })
    const long = { seq: 1, alert: { rule: 'r', title: 'T'.repeat(400), text: '<b>' } as AlertNotice }
    const body = slackBody(long) as { blocks: Array<{ text: { text: string } }> }
    expect(body.blocks[0]!.text.text).toHaveLength(150)
    expect(dingtalkBody(long)).toEqual({ msgtype: 'text', text: { content: `${'T'.repeat(400)}\n<b>` } })
  })
})

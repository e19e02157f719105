import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { EventItem, EventPage, PostEvent } from '@eventline/shared'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../config.ts'
import { eventually } from '../testing/eventually.ts'
import type { AlertNotice } from '../sinks/types.ts'
import { startTestServer, tempDir } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

/** A webhook endpoint that keeps every JSON body it is sent. */
async function receiver(): Promise<{ url: string; bodies: Array<{ events?: EventItem[]; alerts?: AlertNotice[] }>; close: () => Promise<void> }> {
  const bodies: Array<{ events?: EventItem[]; alerts?: AlertNotice[] }> = []
  const server: Server = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk: Buffer) => (text += chunk.toString()))
    req.on('end', () => {
      bodies.push(JSON.parse(text) as (typeof bodies)[number])
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

const CONFIG = `
ingest:
  drop:
    - reason: ^Noise$
routes:
  - name: warnings
    match:
      - type: warning
sinks:
  - name: hook
    type: webhook
    url: \${HOOK_URL}
    route: warnings
  - name: pager
    type: webhook
    url: \${PAGER_URL}
alerts:
  - name: crashloop
    sink: pager
    window: 1s
    match:
      - type: warning
        reason: ^BackOff$
`

/**
 * Alert windows run on a clock the test holds still and moves on purpose: on a loaded machine the
 * 1 s window must neither close before the first notice is seen (two notices where one is asserted)
 * nor leave events older than the window (ignored by the grouper) because a POST was slow.
 */
const clock = { ms: 0 }

describe('eventline.yaml in a running Eventline', () => {
  let tmp: ReturnType<typeof tempDir>
  let hook: Awaited<ReturnType<typeof receiver>>
  let pager: Awaited<ReturnType<typeof receiver>>
  let eventline: TestServer

  beforeEach(async () => {
    tmp = tempDir()
    hook = await receiver()
    pager = await receiver()
    writeFileSync(`${tmp.dir}/eventline.yaml`, CONFIG)
    const { file } = loadConfig(['--config', `${tmp.dir}/eventline.yaml`], { HOOK_URL: hook.url, PAGER_URL: pager.url })
    clock.ms = Date.now()
    eventline = await startTestServer({ db: `${tmp.dir}/eventline.db`, ...(file ? { file } : {}), alerting: { flushIntervalMs: 50, now: () => clock.ms } })
  })
  afterEach(async () => {
    await eventline.stop()
    await hook.close()
    await pager.close()
    tmp.cleanup()
  })

  const post = async (events: PostEvent[]) => expect((await eventline.post('/api/v1/events', events)).status).toBe(202)
  const event = (id: string, extra: Partial<PostEvent> = {}): PostEvent => ({
    id,
    time: new Date(clock.ms).toISOString(),
    type: 'warning',
    reason: 'BackOff',
    message: `Back-off restarting failed container (${id})`,
    mesh: 'rules',
    application: 'checkout',
    object: { kind: 'Pod', name: 'checkout-7d9f', namespace: 'shop' },
    ...extra,
  })

  it('drops filtered events before the store, forwards what the route selects, and alerts once per group and window', async () => {
    await post([
      event('noise', { type: 'normal', reason: 'Noise', message: 'chatter' }),
      event('deployed', { type: 'normal', reason: 'Deployed', message: 'rolled out v2' }),
      event('backoff-1'),
      event('backoff-2'),
      event('backoff-3'),
      event('oom', { reason: 'OOMKilling', message: 'Memory cgroup out of memory' }),
    ])

    // The ingestion filter: the noise is neither stored nor forwarded, and it is counted.
    const stored = (await eventline.get<EventPage>('/api/v1/events?mesh=rules&limit=200')).body.items.map((item) => item.id)
    expect(stored.sort()).toEqual(['backoff-1', 'backoff-2', 'backoff-3', 'deployed', 'oom'])
    const metrics = await (await fetch(`${eventline.url}/metrics`)).text()
    expect(metrics).toMatch(/eventline_events_filtered_total\{source="api"\} 1/)

    // The route: warnings only, each once.
    const forwarded = await eventually(() => {
      const ids = hook.bodies.flatMap((body) => body.events ?? []).map((item) => item.id)
      expect(ids.sort()).toEqual(['backoff-1', 'backoff-2', 'backoff-3', 'oom'])
      return ids
    }, 20_000)
    expect(new Set(forwarded).size).toBe(forwarded.length)
    expect(hook.bodies.some((body) => body.alerts)).toBe(false)

    // The alert: one first notice at once, then one summary with the count when the 1 s window closes.
    const notices = () => pager.bodies.flatMap((body) => body.alerts ?? [])
    // Conditions, not durations: each wait is long only so a loaded machine cannot fail it.
    const first = await eventually(() => {
      expect(notices()).toHaveLength(1)
      return notices()[0]!
    }, 20_000)
    expect(first).toMatchObject({ rule: 'crashloop', kind: 'first', count: 1, sink: 'pager' })
    expect(first.event.object).toMatchObject({ kind: 'Pod', name: 'checkout-7d9f' })
    // The window is still open on the held clock: nothing more goes out until it moves past the end.
    expect(notices()).toHaveLength(1)
    clock.ms += 1_001
    const summary = await eventually(() => {
      expect(notices()).toHaveLength(2)
      return notices()[1]!
    }, 20_000)
    expect(summary).toMatchObject({ rule: 'crashloop', kind: 'summary', count: 3, group: first.group })
    // The alert-only sink gets no events, only notices.
    expect(pager.bodies.some((body) => body.events)).toBe(false)
  })
})

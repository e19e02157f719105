import { afterEach, describe, expect, it } from 'vitest'
import { eventFrame } from '../services/stream.ts'
import { eventually } from '../testing/eventually.ts'
import { openSse } from '../testing/sseClient.ts'
import type { SseClient } from '../testing/sseClient.ts'
import { startTestServer, tempDir, TEST_TOKEN } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

const AUTH = { authorization: `Bearer ${TEST_TOKEN}` }
const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function server(overrides: Parameters<typeof startTestServer>[0] = { db: ':memory:' }): Promise<TestServer> {
  const started = await startTestServer(overrides)
  cleanups.push(() => started.stop())
  return started
}

async function stream(url: string, headers: Record<string, string> = AUTH): Promise<SseClient> {
  const client = await openSse(url, headers)
  cleanups.push(() => client.close())
  return client
}

const posted = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'normal', reason: 'Deployed', message: `event ${id}`, mesh: 'a', ...extra })

async function post(target: TestServer, events: unknown[]): Promise<void> {
  const { status } = await target.post('/api/v1/events', events)
  expect(status).toBe(202)
}

const ids = (client: SseClient) => client.events().map((event) => event.item.id)

describe('GET /api/v1/events/stream', () => {
  it('sends new and updated events that match the filters, each with its store sequence as id', async () => {
    const eventline = await server()
    const client = await stream(`${eventline.url}/api/v1/events/stream?mesh=a&type=warning`)
    expect(client.status).toBe(200)
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/)

    await post(eventline, [posted('w1', { type: 'warning' }), posted('n1'), posted('other-mesh', { type: 'warning', mesh: 'b' })])
    await post(eventline, [posted('w1', { type: 'warning', message: 'updated', time: new Date(Date.now() + 1000).toISOString() })])
    await client.until(() => client.events().length >= 2)

    const events = client.events()
    expect(events.map((event) => [event.item.id, event.item.message])).toEqual([
      ['w1', 'event w1'],
      ['w1', 'updated'],
    ])
    expect(client.frames.filter((frame) => frame.data).every((frame) => frame.event === 'event')).toBe(true)
    expect(Number(events[1]!.id)).toBeGreaterThan(Number(events[0]!.id))
  })

  it('replays what a reconnecting client missed from Last-Event-ID, then continues live, without gap or repeat', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    const eventline = await server({ db: `${dir}/eventline.db` })
    const first = await stream(`${eventline.url}/api/v1/events/stream?mesh=a`)
    await post(eventline, [posted('e1'), posted('e2')])
    await first.until(() => first.events().length === 2)
    const lastSeen = first.events()[1]!.id
    first.close()

    // While the client is away: new events, an update of one it saw, and one of another mesh.
    await post(eventline, [posted('e3'), posted('e1', { message: 'e1 again', time: new Date(Date.now() + 1000).toISOString() }), posted('x', { mesh: 'b' })])
    const again = await stream(`${eventline.url}/api/v1/events/stream?mesh=a`, { ...AUTH, 'last-event-id': lastSeen })
    await again.until(() => again.events().length === 2)
    await post(eventline, [posted('e4')])
    await again.until(() => again.events().length === 3)

    expect(ids(again)).toEqual(['e3', 'e1', 'e4'])
    const sequences = again.events().map((event) => Number(event.id))
    expect([...sequences].sort((x, y) => x - y)).toEqual(sequences)
    expect(sequences[0]).toBeGreaterThan(Number(lastSeen))
  })

  it('cuts off a client that does not read, with a retry hint, and keeps serving the others', async () => {
    // The limit is above one batch (100 x 8 KB): a reader that keeps up drains between batches.
    const eventline = await server({ db: ':memory:', stream: { maxBufferedBytes: 1024 * 1024, cutOffRetryMs: 12_345 } })
    const slow = await stream(`${eventline.url}/api/v1/events/stream`)
    const reader = await stream(`${eventline.url}/api/v1/events/stream`)
    await slow.until((client) => client.frames.length > 0)
    slow.pause()

    const metrics = async () => (await fetch(`${eventline.url}/metrics`)).text()
    // Once cut off, the slow client reads again: the server keeps its unread bytes only a few seconds.
    const cutOff = eventually(async () => {
      expect(await metrics()).toMatch(/^eventline_live_streams_cut_off_total 1$/m)
      slow.resume()
    }, 30_000)
    const big = 'x'.repeat(8000)
    for (let batch = 0; batch < 10; batch++) {
      await post(eventline, Array.from({ length: 100 }, (_, index) => posted(`big-${batch}-${index}`, { message: big })))
    }
    await cutOff
    await reader.until((client) => client.events().length === 1000, 15_000)

    await slow.ended
    expect(slow.events().length).toBeLessThan(1000)
    expect(slow.frames.at(-1)?.retry).toBe(12_345)
    // Polled like the cut-off above: a pooled keep-alive connection may have been closed meanwhile.
    await eventually(async () => {
      const text = await metrics()
      expect(text).toMatch(/^eventline_live_streams_cut_off_total 1$/m)
      expect(text).toMatch(/^eventline_live_streams 1$/m)
    })
  })

  it('cuts a client off at the write that passes its limit, within one batch, not at the next batch', async () => {
    const eventline = await server({ db: ':memory:', stream: { maxBufferedBytes: 1024 * 1024, cutOffRetryMs: 12_345 } })
    const slow = await stream(`${eventline.url}/api/v1/events/stream`)
    await slow.until((client) => client.frames.length > 0)
    slow.pause()

    // One POST, one writer batch: ~4.5 MB, far more than the limit and the sockets' kernel buffers.
    const body = 'y'.repeat(4400)
    await post(eventline, Array.from({ length: 1000 }, (_, index) => posted(`one-batch-${index}`, { message: body })))
    const metrics = async () => (await fetch(`${eventline.url}/metrics`)).text()
    // No further batch comes: the cut-off happened while that one batch was written.
    expect(await metrics()).toMatch(/^eventline_live_streams_cut_off_total 1$/m)

    slow.resume()
    await slow.ended
    expect(slow.events().length).toBeLessThan(1000)
    expect(slow.frames.at(-1)?.retry).toBe(12_345)
  })

  it('serialises an event once for every stream that carries it', () => {
    const event = { seq: 7, item: { id: 'x' } as never, created: true, views: [] }
    const frame = eventFrame(event)
    expect(frame.toString()).toBe('event: event\nid: 7\ndata: {"id":"x"}\n\n')
    expect(eventFrame(event)).toBe(frame)
  })

  it('treats a Last-Event-ID ahead of the store (a restored database) as a reset: what follows is sent', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    const eventline = await server({ db: `${dir}/eventline.db` })
    await post(eventline, [posted('before-1'), posted('before-2')])
    // The client last saw sequence 5000 of a store that has since been restored to an older copy.
    const client = await stream(`${eventline.url}/api/v1/events/stream?mesh=a`, { ...AUTH, 'last-event-id': '5000' })
    expect(client.status).toBe(200)
    await post(eventline, [posted('after-1')])
    await post(eventline, [posted('after-2')])
    await client.until(() => client.events().length >= 2)
    expect(ids(client)).toEqual(['after-1', 'after-2'])
    expect(Number(client.events()[0]!.id)).toBeLessThan(5000)
  })

  it('accepts the token in the query, since EventSource cannot send headers, and refuses a stream without one', async () => {
    const eventline = await server()
    const withQuery = await stream(`${eventline.url}/api/v1/events/stream?token=${TEST_TOKEN}`, {})
    expect(withQuery.status).toBe(200)
    const without = await stream(`${eventline.url}/api/v1/events/stream`, {})
    expect(without.status).toBe(401)
    const wrong = await stream(`${eventline.url}/api/v1/events/stream?token=nope`, {})
    expect(wrong.status).toBe(401)
    await wrong.ended
    expect(JSON.parse(wrong.body())).toMatchObject({ error: { code: 'unauthorized' } })
  })

  it('refuses streams over the limit with a Retry-After, and a malformed Last-Event-ID or filter with a 400', async () => {
    const eventline = await server({ db: ':memory:', stream: { maxStreams: 1 } })
    await stream(`${eventline.url}/api/v1/events/stream`)
    const second = await stream(`${eventline.url}/api/v1/events/stream`)
    expect(second.status).toBe(503)
    expect(second.headers['retry-after']).toBe('10')

    const other = await server()
    const badId = await stream(`${other.url}/api/v1/events/stream`, { ...AUTH, 'last-event-id': 'yesterday' })
    await badId.ended
    expect(badId.status).toBe(400)
    expect(JSON.parse(badId.body())).toMatchObject({ error: { code: 'invalid_argument', field: 'Last-Event-ID' } })
    const badType = await stream(`${other.url}/api/v1/events/stream?type=fatal`)
    await badType.ended
    expect(badType.status).toBe(400)
    expect(JSON.parse(badType.body())).toMatchObject({ error: { field: 'type' } })
  })

  it('sends heartbeat comments while nothing happens', async () => {
    const eventline = await server({ db: ':memory:', stream: { heartbeatMs: 50 } })
    const client = await stream(`${eventline.url}/api/v1/events/stream`)
    await client.until(() => client.frames.some((frame) => frame.comments.includes('heartbeat')))
  })
})

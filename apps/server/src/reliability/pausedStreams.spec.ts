/**
 * Reliability: live-stream readers that stop reading cannot grow the server's memory. 40 paused
 * readers while ~29 MB of events arrived used to take a server from 91 MB to 1.7 GB (each stream
 * built its own copy of every frame and was only cut off at the next batch). Here: a real server
 * process, 100 SSE clients that pause their sockets, ~30 MB posted, and the process's resident
 * memory (from the process table) sampled after every POST.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { startEventlineProcess } from '../testing/eventlineProcess.ts'
import type { EventlineProcess } from '../testing/eventlineProcess.ts'
import { openSse } from '../testing/sseClient.ts'
import type { SseClient } from '../testing/sseClient.ts'
import { tempDir } from '../testing/testServer.ts'
import { eventually } from '../testing/eventually.ts'

const TOKEN = 'reliability-token'
const READERS = 100
const POSTS = 30
const EVENTS_PER_POST = 100
const MESSAGE_BYTES = 10_000 // 30 x 100 x 10 KB = 30 MB of events
/** The bound asserted: "a few tens of MB" of growth, with room for the page cache and the heap's slack. */
const MAX_GROWTH_BYTES = 150 * 1024 * 1024

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10

describe('100 paused live-stream readers', () => {
  const tmp = tempDir()
  let server: EventlineProcess
  const clients: SseClient[] = []
  afterAll(async () => {
    for (const client of clients) client.close()
    await server?.stop()
    tmp.cleanup()
  })

  // A process start, 135 requests and 30 MB of writes: the default 30 s did not cover them at a load
  // average of 30 (the test measures memory, not time).
  it('grow the process by a bounded amount while 30 MB of events arrive, and are all cut off', { timeout: 180_000 }, async () => {
    server = startEventlineProcess(['--port', '0', '--db', `${tmp.dir}/streams.db`, '--token', TOKEN])
    const url = await server.listening
    const post = async (batch: number) => {
      const events = Array.from({ length: EVENTS_PER_POST }, (_, index) => ({
        id: `paused-${batch}-${index}`,
        type: 'normal',
        reason: 'Payload',
        message: `${batch}/${index} ${'m'.repeat(MESSAGE_BYTES)}`,
        mesh: 'load',
      }))
      const response = await fetch(`${url}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(events),
      })
      expect(response.status).toBe(202)
    }
    // Warm up what any ingest grows anyway (JIT, SQLite page cache, heap), so the figure is the streams'.
    for (let batch = 0; batch < 5; batch++) await post(-1 - batch)

    for (let index = 0; index < READERS; index++) {
      const client = await openSse(`${url}/api/v1/events/stream?token=${TOKEN}`)
      clients.push(client)
      expect(client.status).toBe(200)
      await client.until((opened) => opened.frames.length > 0)
      client.pause()
    }
    const before = server.rssBytes()
    let peak = before
    for (let batch = 0; batch < POSTS; batch++) {
      await post(batch)
      peak = Math.max(peak, server.rssBytes())
    }
    const metrics = async () => (await fetch(`${url}/metrics`)).text()
    await eventually(async () => expect(await metrics()).toMatch(new RegExp(`^eventline_live_streams_cut_off_total ${READERS}$`, 'm')), 20_000)
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)

    const growth = peak - before
    // The figure the README and the report quote.
    console.log(`paused readers: RSS before ${mb(before)} MB, peak ${mb(peak)} MB, growth ${mb(growth)} MB (${READERS} readers, ${mb(POSTS * EVENTS_PER_POST * MESSAGE_BYTES)} MB posted)`)
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES)
  })
})

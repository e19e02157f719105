/**
 * Two replicas (two Eventline instances in this process, each with its own pools, lease client
 * and live feed) on one PostgreSQL schema: exactly one leads (`/readyz`, `eventline_leader`); a
 * live stream on either replica carries what was posted to the other; `Last-Event-ID` taken from
 * one replica's stream resumes on the other without gap or repeat; `/meshes` on the follower
 * shows the leader's source state; a graceful stop hands leadership over at once.
 */
import type { Mesh } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../testing/eventually.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { openSse } from '../testing/sseClient.ts'
import type { SseClient } from '../testing/sseClient.ts'
import { startTestServer, TEST_TOKEN } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

const skip = await skipWithoutPostgres()
const AUTH = { authorization: `Bearer ${TEST_TOKEN}` }
const LEASE = { leaseMs: 3_000, renewMs: 500, renewDeadlineMs: 2_000, retryMs: 250 }
const posted = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'normal', reason: 'Deployed', message: `event ${id}`, mesh: 'apps', ...extra })

describe.skipIf(skip)('replicas on one PostgreSQL', () => {
  const schema = testSchema()
  const db = `${TEST_PG_URL}?schema=${schema}`
  let one: TestServer
  let two: TestServer
  const streams: SseClient[] = []

  beforeAll(async () => {
    one = await startTestServer({ db, demo: true, leadership: LEASE, liveFeed: { pollMs: 60_000 } })
    await eventually(() => expect(one.leadership.isLeader).toBe(true), 10_000)
    two = await startTestServer({ db, demo: true, leadership: LEASE, liveFeed: { pollMs: 60_000 } })
  })
  afterAll(async () => {
    for (const stream of streams) stream.close()
    await two?.stop()
    await one?.stop()
    await dropSchema(schema)
  })

  const stream = async (server: TestServer, headers: Record<string, string> = {}) => {
    const client = await openSse(`${server.url}/api/v1/events/stream?mesh=apps`, { ...AUTH, ...headers })
    streams.push(client)
    return client
  }
  const post = async (server: TestServer, events: unknown[]) => expect((await server.post('/api/v1/events', events)).status).toBe(202)
  const ids = (client: SseClient) => client.events().map(({ item }) => item.id)

  it('has exactly one leader, on /readyz and in eventline_leader', async () => {
    expect((await one.get('/readyz')).body).toEqual({ status: 'ready', leader: true })
    expect((await two.get('/readyz')).body).toEqual({ status: 'ready', leader: false })
    const metric = async (server: TestServer) => (await (await fetch(`${server.url}/metrics`)).text()).match(/^eventline_leader (\d)$/m)?.[1]
    expect([await metric(one), await metric(two)]).toEqual(['1', '0'])
  })

  it("streams on every replica what any replica wrote; Last-Event-ID from one resumes on the other", async () => {
    const onOne = await stream(one)
    const onTwo = await stream(two)
    await post(one, [posted('r1')])
    await post(two, [posted('r2')])
    await post(one, [posted('r1', { message: 'r1 again', time: new Date(Date.now() + 1_000).toISOString() })])
    for (const client of [onOne, onTwo]) await client.until(() => client.events().length === 3, 10_000)
    expect(ids(onOne)).toEqual(['r1', 'r2', 'r1'])
    expect(ids(onTwo)).toEqual(['r1', 'r2', 'r1'])
    expect(onTwo.events().map(({ id }) => id)).toEqual(onOne.events().map(({ id }) => id))

    // A client of the first replica moves to the second, resuming after what it saw.
    const lastSeen = onOne.events()[1]!.id
    onOne.close()
    await post(two, [posted('r3')])
    const resumed = await stream(two, { 'last-event-id': lastSeen })
    await resumed.until(() => resumed.events().length === 2, 10_000)
    await post(one, [posted('r4')])
    await resumed.until(() => resumed.events().length === 3, 10_000)
    expect(ids(resumed)).toEqual(['r1', 'r3', 'r4'])
  })

  it("shows the leader's source states on the follower's /meshes", async () => {
    const demo = async (server: TestServer) => (await server.get<{ items: Mesh[] }>('/api/v1/meshes')).body.items.find((mesh) => mesh.kind === 'demo')
    await eventually(async () => expect((await demo(one))?.status).toBe('connected'), 10_000)
    expect((await demo(two))?.status).toBe('connected')
  })

  it('hands leadership over at once on a graceful stop, and the new leader runs the sources', async () => {
    await one.stop()
    await eventually(() => expect(two.leadership.isLeader).toBe(true), 5_000)
    expect((await two.get('/readyz')).body).toEqual({ status: 'ready', leader: true })
    // The demo source now runs on the second replica: its mesh reads connected in the new term, and
    // new demo events keep arriving (a tick emits with a chance of 0.3 a second, so the wait for one
    // is long enough not to depend on luck or on the machine's load).
    await eventually(async () => expect((await two.get<{ items: Mesh[] }>('/api/v1/meshes')).body.items.find((mesh) => mesh.kind === 'demo')?.status).toBe('connected'), 15_000)
    const { body } = await two.get<{ items: Array<{ time: string }> }>('/api/v1/events?limit=1')
    const newest = body.items[0]?.time
    await eventually(async () => expect((await two.get<{ items: Array<{ time: string }> }>('/api/v1/events?limit=1')).body.items[0]?.time).not.toBe(newest), 40_000)
  }, 90_000)
})

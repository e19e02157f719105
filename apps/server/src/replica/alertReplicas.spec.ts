/**
 * Alerting with real processes: two Eventline replicas on the machine's PostgreSQL with an alert
 * rule paging a webhook. Events posted to the follower are alerted on by the leader (it reads every
 * committed event from the store, whichever replica wrote it), each group paged once; after a
 * `kill -9` of the leader the next one resumes from the persisted position and groups: what was
 * posted while no replica led is alerted on, a group already paged is not paged again, and its
 * window's summary counts the occurrences seen by both leaders.
 */
import { writeFileSync } from 'node:fs'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../testing/eventually.ts'
import { backOffEvent, crashLoopAlertConfig, pagerServer } from '../testing/pagerServer.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { isLeader, postJson, ReplicaCluster } from '../testing/replicaCluster.ts'
import type { ReplicaSettings } from '../testing/replicaProcess.ts'
import { tempDir } from '../testing/testServer.ts'

const skip = await skipWithoutPostgres()
const TOKEN = 'alert-replicas-token'
const LEASE = { leaseMs: 3_000, renewMs: 500, renewDeadlineMs: 2_000, retryMs: 250 }
/** Long enough to span a takeover on a loaded machine; the summary comes when it closes. */
const WINDOW_S = 15
const CONFIG = crashLoopAlertConfig(WINDOW_S)

describe.skipIf(skip)('alerting on every replica’s writes, across a kill -9 of the leader', () => {
  const schema = testSchema()
  const db = `${TEST_PG_URL}?schema=${schema}`
  const tmp = tempDir()
  const cluster = new ReplicaCluster()
  const pager = pagerServer()
  const notices = pager.notices
  let settings: ReplicaSettings
  const sql = new pg.Client({ connectionString: TEST_PG_URL })

  beforeAll(async () => {
    await pager.start()
    await sql.connect()
    writeFileSync(`${tmp.dir}/eventline.yaml`, CONFIG)
    const pagerUrl = pager.url
    settings = { db, token: TOKEN, leadership: LEASE, config: `${tmp.dir}/eventline.yaml`, configEnv: { PAGER_URL: pagerUrl }, alertFlushMs: 100 }
  })
  afterAll(async () => {
    cluster.kill()
    await sql.end()
    await pager.stop()
    tmp.cleanup()
    await dropSchema(schema)
  })

  const pages = () => notices.map(({ kind, event }) => `${kind} ${event.object.name}`)
  const outboxRows = async () => (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.outbox`)).rows[0]!.n

  it('pages what was posted to the follower once, and after a kill -9 neither pages it again nor forgets it', async () => {
    const first = await cluster.start(settings)
    await eventually(async () => expect(await isLeader(first)).toBe(true), 20_000)
    const second = await cluster.start(settings)
    expect(await isLeader(second)).toBe(false)

    // Posted to the follower: the leader pages it.
    expect(await postJson(second, '/api/v1/events', [backOffEvent('b1', 'checkout-1')], TOKEN)).toBe(202)
    await eventually(() => expect(pages()).toEqual(['first checkout-1']), 20_000)
    // Delivered and acknowledged (the outbox is at least once: a kill before the acknowledgement
    // commits would send it again, which is not what this test is about).
    await eventually(async () => expect(await outboxRows()).toBe(0), 10_000)

    first.child.kill('SIGKILL')
    // Posted while no replica leads (the lease has not expired yet): one more occurrence of the
    // paged group, and a new group.
    expect(await postJson(second, '/api/v1/events', [backOffEvent('b2', 'checkout-1'), backOffEvent('c1', 'checkout-2')], TOKEN)).toBe(202)
    await eventually(async () => expect(await isLeader(second)).toBe(true), 30_000)
    await eventually(() => expect(pages()).toEqual(['first checkout-1', 'first checkout-2']), 20_000)

    // The window of the first group closes on the new leader: one summary counting both occurrences.
    await eventually(() => expect(pages()).toEqual(['first checkout-1', 'first checkout-2', 'summary checkout-1']), (WINDOW_S + 20) * 1_000)
    expect(notices[2]).toMatchObject({ kind: 'summary', count: 2, group: notices[0]!.group, windowStart: notices[0]!.windowStart })
    // Nothing else comes later: a third group pages once, after everything before it.
    expect(await postJson(second, '/api/v1/events', [backOffEvent('d1', 'checkout-3')], TOKEN)).toBe(202)
    await eventually(() => expect(pages()).toEqual(['first checkout-1', 'first checkout-2', 'summary checkout-1', 'first checkout-3']), 20_000)
  }, 120_000)
})

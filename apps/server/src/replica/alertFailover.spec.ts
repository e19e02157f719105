/**
 * Alert groups survive a change of leader: two replicas on one PostgreSQL schema with an alert
 * rule; the first leader pages the group's first occurrence, hands over, and the second leader,
 * seeing more occurrences inside the same window, neither pages `first` again nor forgets the
 * window: it sends the one summary with every occurrence counted when the window closes.
 */
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../config.ts'
import { eventually } from '../testing/eventually.ts'
import { backOffEvent, crashLoopAlertConfig, pagerServer } from '../testing/pagerServer.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { startTestServer, tempDir } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

const skip = await skipWithoutPostgres()
const LEASE = { leaseMs: 3_000, renewMs: 500, renewDeadlineMs: 2_000, retryMs: 100 }
const CONFIG = crashLoopAlertConfig(6)

describe.skipIf(skip)('alert groups across a change of leader', () => {
  const schema = testSchema()
  const db = `${TEST_PG_URL}?schema=${schema}`
  const tmp = tempDir()
  const pager = pagerServer()
  const notices = pager.notices
  let one: TestServer
  let two: TestServer

  beforeAll(async () => {
    await pager.start()
    writeFileSync(`${tmp.dir}/eventline.yaml`, CONFIG)
    const { file } = loadConfig(['--config', `${tmp.dir}/eventline.yaml`], { PAGER_URL: pager.url })
    const settings = { db, ...(file ? { file } : {}), alerting: { flushIntervalMs: 100 }, leadership: LEASE }
    one = await startTestServer(settings)
    await eventually(() => expect(one.leadership.isLeader).toBe(true), 10_000)
    two = await startTestServer(settings)
  })
  afterAll(async () => {
    await two?.stop()
    await one?.stop()
    await pager.stop()
    tmp.cleanup()
    await dropSchema(schema)
  })

  const event = (id: string) => backOffEvent(id, 'checkout-7d9f')

  it('pages the first occurrence once and sends one summary counting occurrences on both leaders', async () => {
    expect((await one.post('/api/v1/events', [event('b1'), event('b2')])).status).toBe(202)
    await eventually(() => expect(notices.map(({ kind }) => kind)).toEqual(['first']), 10_000)
    // Hand over inside the window: the second replica leads with the persisted group.
    await one.stop()
    await eventually(() => expect(two.leadership.isLeader).toBe(true), 10_000)
    expect((await two.post('/api/v1/events', [event('b3')])).status).toBe(202)
    await eventually(() => expect(notices.map(({ kind }) => kind)).toEqual(['first', 'summary']), 15_000)
    expect(notices[1]).toMatchObject({ rule: 'crashloop', kind: 'summary', count: 3, group: notices[0]!.group, windowStart: notices[0]!.windowStart })
  }, 40_000)
})

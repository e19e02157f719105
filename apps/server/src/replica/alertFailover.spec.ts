/**
 * Alert groups survive a change of leader: two replicas on one PostgreSQL schema with an alert
 * rule; the first leader pages the group's first occurrence, hands over, and the second leader,
 * seeing more occurrences inside the same window, neither pages `first` again nor forgets the
 * window: it sends the one summary with every occurrence counted when the window closes.
 */
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PostEvent } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../config.ts'
import type { AlertNotice } from '../sinks/types.ts'
import { eventually } from '../testing/eventually.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { startTestServer, tempDir } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'

const skip = await skipWithoutPostgres()
const LEASE = { leaseMs: 3_000, renewMs: 500, renewDeadlineMs: 2_000, retryMs: 100 }
const CONFIG = `
sinks:
  - name: pager
    type: webhook
    url: \${PAGER_URL}
alerts:
  - name: crashloop
    sink: pager
    window: 6s
    match:
      - type: warning
        reason: ^BackOff$
`

describe.skipIf(skip)('alert groups across a change of leader', () => {
  const schema = testSchema()
  const db = `${TEST_PG_URL}?schema=${schema}`
  const tmp = tempDir()
  const notices: AlertNotice[] = []
  const pager = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk: Buffer) => (text += chunk.toString()))
    req.on('end', () => {
      notices.push(...((JSON.parse(text) as { alerts?: AlertNotice[] }).alerts ?? []))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  let one: TestServer
  let two: TestServer

  beforeAll(async () => {
    await new Promise<void>((resolve) => pager.listen(0, '127.0.0.1', resolve))
    writeFileSync(`${tmp.dir}/eventline.yaml`, CONFIG)
    const { file } = loadConfig(['--config', `${tmp.dir}/eventline.yaml`], { PAGER_URL: `http://127.0.0.1:${(pager.address() as AddressInfo).port}/hook` })
    const settings = { db, ...(file ? { file } : {}), alerting: { flushIntervalMs: 100 }, leadership: LEASE }
    one = await startTestServer(settings)
    await eventually(() => expect(one.leadership.isLeader).toBe(true), 10_000)
    two = await startTestServer(settings)
  })
  afterAll(async () => {
    await two?.stop()
    await one?.stop()
    await new Promise((resolve) => pager.close(resolve))
    tmp.cleanup()
    await dropSchema(schema)
  })

  const event = (id: string): PostEvent => ({
    id,
    time: new Date().toISOString(),
    type: 'warning',
    reason: 'BackOff',
    message: `Back-off restarting failed container (${id})`,
    mesh: 'shop',
    object: { kind: 'Pod', name: 'checkout-7d9f', namespace: 'shop' },
  })

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

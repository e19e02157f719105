/**
 * Alerting from the store (replicas on PostgreSQL) with a rule on pod labels, which the store does
 * not keep: an event this leader's own sources published is matched with the labels it was
 * published with; a Kubernetes pod event another process wrote (a previous leader that died before
 * alerting on it) is matched with the pod's labels as stored in the catalog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventBus } from '../bus.ts'
import { BatchWriter } from '../ingest/batchWriter.ts'
import { createLogger } from '../log.ts'
import { createMetrics } from '../metrics.ts'
import { AlertGrouper } from '../rules/alertGrouper.ts'
import { Alerting } from '../services/alerting.ts'
import { PgStore } from '../store/postgres/pgStore.ts'
import type { IngestEvent } from '../store/types.ts'
import { eventually } from '../testing/eventually.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'

const skip = await skipWithoutPostgres()
const log = createLogger('error')

const podEvent = (id: string, pod: string, labels?: Record<string, string>): IngestEvent => ({
  id,
  time: Date.now(),
  type: 'warning',
  reason: 'BackOff',
  message: `Back-off restarting failed container (${id})`,
  source: 'kubernetes',
  component: 'kubelet',
  mesh: 'prod',
  object: { kind: 'Pod', name: pod, namespace: 'shop' },
  instance: pod,
  ...(labels ? { labels } : {}),
})

describe.skipIf(skip)('alerting from the store on pod labels', () => {
  const schema = testSchema()
  let store: PgStore
  let writer: BatchWriter
  let alerting: Alerting
  const bus = new EventBus()

  beforeAll(async () => {
    store = await PgStore.open(TEST_PG_URL, { schema })
    const epoch = (await store.replicas.acquireLease('leader', 60_000))!
    const metrics = createMetrics()
    const grouper = new AlertGrouper([{ name: 'payments', sink: 'pager', windowMs: 600_000, match: [{ labels: { team: '^pay$' } }] }])
    alerting = new Alerting(grouper, bus, log, metrics, { flushIntervalMs: 60_000 })
    alerting.followStore(store)
    writer = new BatchWriter(store, bus, log, metrics, { fence: { epoch: () => epoch, refused: () => undefined }, onCommitted: alerting.observe })
    await alerting.resume(store)
  })
  afterAll(async () => {
    await alerting?.stop()
    await writer?.close()
    await store?.close()
    await dropSchema(schema)
  })

  const paged = async () => (await store.pendingOutbox('pager', 100)).map((entry) => ('alert' in entry ? entry.alert.event.object.name : undefined))

  it("matches another process's pod events on the catalog's labels, and its own on the published ones", async () => {
    // Another process (a leader that died) stored two pods and their events, and alerted on none.
    await store.writeBatch({
      events: [podEvent('k1', 'pay-1'), podEvent('k2', 'web-1')],
      catalog: [
        { op: 'instance', instance: { mesh: 'prod', name: 'pay-1', namespace: 'shop', registered: true, source: 'kubernetes', labels: { team: 'pay' } } },
        { op: 'instance', instance: { mesh: 'prod', name: 'web-1', namespace: 'shop', registered: true, source: 'kubernetes', labels: { team: 'web' } } },
      ],
      checkpoints: [],
      outbox: [],
    })
    alerting.wake()
    await eventually(async () => expect(await paged()).toEqual(['pay-1']), 10_000)

    // This leader's own source publishes a pod the catalog does not know, with its labels.
    await bus.publish({ events: [podEvent('k3', 'pay-2', { team: 'pay' }), podEvent('k4', 'web-2', { team: 'web' })], fenced: true })
    await eventually(async () => expect(await paged()).toEqual(['pay-1', 'pay-2']), 10_000)
    expect(await store.readCheckpoint('#alerts:seq')).toBe(String(await store.latestSeq()))
  })
})

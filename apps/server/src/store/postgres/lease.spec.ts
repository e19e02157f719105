/**
 * The leader lease and fencing on the machine's PostgreSQL, with two stores (two replicas'
 * connection pools) on one schema: one holder at a time, takeover only after expiry and with a
 * higher epoch, a deposed leader's writes refused by the database whatever it believes, and
 * store sequences that become visible in commit order with concurrent writers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventBus } from '../../bus.ts'
import { BatchWriter } from '../../ingest/batchWriter.ts'
import { createMetrics } from '../../metrics.ts'
import { Leadership } from '../../replica/leadership.ts'
import { FencedError } from '../../replica/fencing.ts'
import { createLogger } from '../../log.ts'
import { eventually } from '../../testing/eventually.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../../testing/postgres.ts'
import { MeshStatusBoard } from '../../services/meshStatus.ts'
import type { IngestEvent, MeshRecord, WriteBatch } from '../types.ts'
import { readLease } from './lease.ts'
import { PgStore } from './pgStore.ts'

const skip = await skipWithoutPostgres()
const log = createLogger('error')

function event(id: string, time = Date.now()): IngestEvent {
  return { id, time, type: 'normal', reason: 'Pulled', message: id, source: 'api', component: 'test', mesh: 'default', object: { kind: 'Pod', name: id } }
}

const batch = (events: IngestEvent[], extra: Partial<WriteBatch> = {}): WriteBatch => ({ events, catalog: [], checkpoints: [], outbox: [], ...extra })

describe.skipIf(skip)('PostgreSQL leader lease and fencing', () => {
  const schema = testSchema()
  let one: PgStore
  let two: PgStore

  beforeAll(async () => {
    one = await PgStore.open(TEST_PG_URL, { schema })
    two = await PgStore.open(TEST_PG_URL, { schema })
  })
  afterAll(async () => {
    await one?.close()
    await two?.close()
    await dropSchema(schema)
  })

  it('gives the lease to one holder; another takes it only once it expired, with the next epoch', async () => {
    const first = await one.replicas.acquireLease('a', 400)
    expect(first).toBeGreaterThanOrEqual(1)
    expect(await two.replicas.acquireLease('b', 400)).toBeUndefined()
    expect(await one.replicas.renewLease('a', first!, 400)).toBe(true)
    const second = await eventually(async () => {
      const epoch = await two.replicas.acquireLease('b', 60_000)
      expect(epoch).toBeDefined()
      return epoch!
    })
    expect(second).toBe(first! + 1)
    // The former holder's renewal matches nothing: it learns it lost the lease.
    expect(await one.replicas.renewLease('a', first!, 400)).toBe(false)
    expect((await readLease(one.database))?.holder).toBe('b')
    await two.replicas.releaseLease('b', second)
  })

  it("refuses every write of a deposed leader's epoch, in the database, and keeps the current one's", async () => {
    const old = await eventually(async () => {
      const epoch = await one.replicas.acquireLease('a', 300)
      expect(epoch).toBeDefined()
      return epoch!
    })
    await one.writeBatch(batch([event('fenced-before')], { fence: old, checkpoints: [{ key: 'zk:rv', value: '1' }] }))
    const current = await eventually(async () => {
      const epoch = await two.replicas.acquireLease('b', 60_000)
      expect(epoch).toBeDefined()
      return epoch!
    })
    // The old leader still believes its epoch: the database refuses it, the whole batch.
    await expect(one.writeBatch(batch([event('fenced-after')], { fence: old, checkpoints: [{ key: 'zk:rv', value: '2' }] }))).rejects.toBeInstanceOf(FencedError)
    await expect(one.purgeBefore(Date.now() + 60_000, 100, old)).rejects.toBeInstanceOf(FencedError)
    await expect(one.deleteOutbox('hook', [1], old)).rejects.toBeInstanceOf(FencedError)
    await expect(one.discardOutbox('hook', Date.now(), old)).rejects.toBeInstanceOf(FencedError)
    await expect(one.replicas.writeMeshStatus([{ mesh: 'zk', status: 'connected' }], old)).rejects.toBeInstanceOf(FencedError)
    expect((await two.eventsAfter(0, 100)).map(({ item }) => item.id)).not.toContain('fenced-after')
    expect(await two.readCheckpoint('zk:rv')).toBe('1')
    // The current leader writes; an unfenced write (POST /events) works on any replica.
    await two.writeBatch(batch([event('fenced-current')], { fence: current, checkpoints: [{ key: 'zk:rv', value: '3' }] }))
    await one.writeBatch(batch([event('posted-anywhere')]))
    await two.replicas.writeMeshStatus([{ mesh: 'zk', status: 'connected' }], current)
    expect(await one.replicas.readMeshStatus()).toEqual({
      states: [{ mesh: 'zk', status: 'connected', epoch: current }],
      lease: { holder: 'b', epoch: current, expiresAt: expect.any(Number), expired: false },
    })
    expect(await one.readCheckpoint('zk:rv')).toBe('3')
    await two.replicas.releaseLease('b', current)
  })

  it("shows a mesh state as connecting once the leader that wrote it is gone, until the next leader's term reports", async () => {
    const fenceOf = (epoch: () => number | undefined) => ({ epoch, refused: () => undefined })
    const records: MeshRecord[] = [{ name: 'zk', kind: 'zookeeper', address: 'zk:2181', counts: { applications: 0, instances: 0, services: 0, events: 0 } }]
    const shown = async (board: MeshStatusBoard) => {
      const [mesh] = await board.describe(records)
      return { status: mesh!.status, error: mesh!.error }
    }
    const first = await eventually(async () => {
      const epoch = await one.replicas.acquireLease('a', 60_000)
      expect(epoch).toBeDefined()
      return epoch!
    })
    const leader = new MeshStatusBoard({ replicas: one.replicas, fence: fenceOf(() => first), log })
    const reader = new MeshStatusBoard({ replicas: two.replicas, fence: fenceOf(() => undefined), log })
    leader.beginTerm([{ mesh: 'zk', kind: 'zookeeper' }])
    leader.set('zk', 'connected')
    await eventually(async () => expect(await shown(reader)).toEqual({ status: 'connected', error: undefined }))

    // The leader's lease ends (it stopped; a dead one's expires): nobody runs the source now.
    leader.endTerm()
    await one.replicas.releaseLease('a', first)
    const gone = await shown(reader)
    expect(gone.status).toBe('connecting')
    expect(gone.error).toMatch(/^no leader: the lease of a expired at \d{4}-\d\d-\d\dT.*Z; no replica runs the sources$/)

    // Another replica leads: until its term reports, the old states are not its.
    const second = (await two.replicas.acquireLease('b', 60_000))!
    expect(await shown(reader)).toEqual({ status: 'connecting', error: 'the leader changed (b leads term ' + second + '); its sources have not reported yet' })
    const next = new MeshStatusBoard({ replicas: two.replicas, fence: fenceOf(() => second), log })
    next.beginTerm([{ mesh: 'zk', kind: 'zookeeper' }])
    await eventually(async () => expect(await shown(reader)).toEqual({ status: 'connecting', error: undefined }))
    next.set('zk', 'connected')
    await eventually(async () => expect(await shown(reader)).toEqual({ status: 'connected', error: undefined }))
    next.endTerm()
    await two.replicas.releaseLease('b', second)
  })

  // 80 batches that take their seqs one after another: at a load average of 30 they took more than
  // the default 30 s, and the writes still in flight then failed the next tests.
  it('makes store sequences visible in commit order with concurrent writers', { timeout: 120_000 }, async () => {
    const start = await one.replicas.lastSeq()
    let seen = start
    let stop = false
    const gaps: string[] = []
    // A live reader: whatever it reads after `seen`, it must never later find a lower seq above `seen`.
    const reader = (async () => {
      const all = new Set<number>()
      while (!stop) {
        const rows = await two.eventsAfter(seen, 1000)
        for (const { seq } of rows) {
          all.add(seq)
          seen = Math.max(seen, seq)
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
      return all
    })()
    const writes: Promise<unknown>[] = []
    for (let round = 0; round < 40; round++) {
      writes.push(one.writeBatch(batch(Array.from({ length: 20 }, (_, i) => event(`order-a-${round}-${i}`)))))
      writes.push(two.writeBatch(batch(Array.from({ length: 5 }, (_, i) => event(`order-b-${round}-${i}`)))))
    }
    await Promise.all(writes)
    const final = await one.eventsAfter(start, 10_000)
    await eventually(() => expect(seen).toBe(final.at(-1)!.seq))
    stop = true
    const read = await reader
    for (const { seq } of final) if (!read.has(seq)) gaps.push(String(seq))
    expect(final).toHaveLength(40 * 25)
    expect(gaps).toEqual([])
  })

  it("the writer never mixes a refused leader write with a POST's events: the posted ones are stored", async () => {
    const stale = await eventually(async () => {
      const epoch = await one.replicas.acquireLease('a', 200)
      expect(epoch).toBeDefined()
      return epoch!
    })
    const current = await eventually(async () => {
      const epoch = await two.replicas.acquireLease('b', 60_000)
      expect(epoch).toBeDefined()
      return epoch!
    })
    const start = await two.replicas.lastSeq()
    const refused: Array<number | undefined> = []
    const bus = new EventBus()
    // This replica still believes it leads at the stale epoch: the database decides.
    const writer = new BatchWriter(one, bus, log, createMetrics(), { flushIntervalMs: 50, fence: { epoch: () => stale, refused: (epoch) => refused.push(epoch) } })
    const fromSource = bus.publish({ events: [event('source-after-takeover')], checkpoints: [{ key: 'zk:rv', value: 'stale' }], fenced: true })
    const posted = bus.publish({ events: [event('posted-meanwhile')] })
    await expect(fromSource).rejects.toBeInstanceOf(FencedError)
    await posted
    await writer.close()
    const ids = (await two.eventsAfter(start, 1000)).map(({ item }) => item.id)
    expect(ids).toEqual(['posted-meanwhile'])
    expect(ids).not.toContain('source-after-takeover')
    expect(await two.readCheckpoint('zk:rv')).not.toBe('stale')
    expect(refused).toEqual([stale])
    await two.replicas.releaseLease('b', current)
  })

  it('Leadership: one leader among candidates; a stopped leader releases and another takes over with the next epoch', async () => {
    const timings = { leaseMs: 1_500, renewMs: 200, renewDeadlineMs: 1_000, retryMs: 100 }
    const a = new Leadership(one.replicas, log, { ...timings, holder: 'replica-a' })
    const b = new Leadership(two.replicas, log, { ...timings, holder: 'replica-b' })
    const changes: string[] = []
    a.onChange((leader, epoch) => changes.push(`a ${leader} ${epoch}`))
    b.onChange((leader, epoch) => changes.push(`b ${leader} ${epoch}`))
    a.start()
    await eventually(() => expect(a.isLeader).toBe(true))
    b.start()
    // b keeps campaigning while a renews: it never leads.
    await eventually(async () => expect((await readLease(one.database))?.holder).toBe('replica-a'))
    expect(b.isLeader).toBe(false)
    const first = a.epoch()!
    await a.stop()
    expect(a.isLeader).toBe(false)
    await eventually(() => expect(b.epoch()).toBe(first + 1))
    // a's epoch is refused by the database now.
    await expect(one.writeBatch(batch([event('after-handover')], { fence: first }))).rejects.toBeInstanceOf(FencedError)
    await b.stop()
    expect(changes).toEqual([`a true ${first}`, 'a false undefined', `b true ${first + 1}`, 'b false undefined'])
  })
})

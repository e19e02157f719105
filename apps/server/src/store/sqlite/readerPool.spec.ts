/**
 * The reader pool with more calls than readers: calls wait in a busy reader (pipelining) and every
 * answer must reach the call that asked for it, whatever the order they were sent in.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { tempDir } from '../../testing/testServer.ts'
import type { EventStore, IngestEvent, TimelineFilter } from '../types.ts'
import { openStore } from './threadedStore.ts'

const { dir, cleanup } = tempDir()
afterAll(cleanup)

const T0 = Date.parse('2026-11-20T08:00:00Z')
const APPLICATIONS = ['order', 'cart', 'pay', 'ship']

function event(i: number): IngestEvent {
  const application = APPLICATIONS[i % APPLICATIONS.length]!
  return {
    id: `e-${i}`,
    time: T0 + i * 1000,
    type: i % 5 === 0 ? 'warning' : 'normal',
    reason: i % 5 === 0 ? 'BackOff' : 'Started',
    message: `event ${i} of ${application}`,
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'k8s-prod',
    object: { kind: 'Pod', name: `${application}-${i % 7}`, namespace: 'shop' },
    application,
    instance: `${application}-${i % 7}`,
  }
}

describe('reader pool', () => {
  it('answers each of many concurrent calls on one reader with its own result', async () => {
    const store: EventStore = await openStore(join(dir, 'pool.db'), { readers: 1 })
    try {
      const events = Array.from({ length: 400 }, (_, i) => event(i))
      await store.writeBatch({ events, catalog: [], checkpoints: [], outbox: [] })
      const filters: TimelineFilter[] = [
        ...APPLICATIONS.map((application) => ({ mesh: 'k8s-prod', application })),
        { mesh: 'k8s-prod', type: 'warning' },
        { mesh: 'k8s-prod', reasons: ['Started'] },
        { mesh: 'k8s-prod', q: 'event' },
      ]
      // Sequential answers first, then the same calls all at once, several times over, mixing
      // pages, searches and look-ups by id.
      const expected = await Promise.all(filters.map(async (filter) => (await store.timeline(filter, 7)).items.map((item) => item.id)))
      const calls: Array<Promise<[string, string[]]>> = []
      for (let round = 0; round < 10; round++) {
        filters.forEach((filter, index) =>
          calls.push(store.timeline(filter, 7).then((page) => [`filter ${index}`, page.items.map((item) => item.id)])),
        )
        calls.push(store.event(`e-${round * 13}`).then((item) => [`event ${round * 13}`, item ? [item.id] : []]))
      }
      const answers = await Promise.all(calls)
      for (const [name, ids] of answers) {
        if (name.startsWith('event ')) expect(ids).toEqual([`e-${name.slice(6)}`])
        else expect(ids).toEqual(expected[Number(name.slice(7))])
      }
    } finally {
      await store.close()
    }
  })

  it("serves a search's total to every reader for its age, and counts it again after", async () => {
    // Four readers: calls made together go to different readers, and only one of them counted.
    const kept: EventStore = await openStore(join(dir, 'totals-kept.db'), { readers: 4, searchTotalMaxAgeMs: 600_000 })
    const fresh: EventStore = await openStore(join(dir, 'totals-fresh.db'), { readers: 4, searchTotalMaxAgeMs: 0 })
    try {
      const search: TimelineFilter = { mesh: 'k8s-prod', q: 'event' }
      const totals = async (store: EventStore) => {
        const bodies = await Promise.all(Array.from({ length: 4 }, () => store.timelineBody(search, 5)))
        return bodies.map((body) => (JSON.parse(body) as { total: number }).total)
      }
      for (const store of [kept, fresh]) {
        await store.writeBatch({ events: Array.from({ length: 40 }, (_, i) => event(i)), catalog: [], checkpoints: [], outbox: [] })
        expect(JSON.parse(await store.timelineBody(search, 5))).toMatchObject({ total: 40 })
        await store.writeBatch({ events: Array.from({ length: 10 }, (_, i) => event(40 + i)), catalog: [], checkpoints: [], outbox: [] })
      }
      // Kept: the first count serves all four readers; its items are never old (the newest comes first).
      expect(await totals(kept)).toEqual([40, 40, 40, 40])
      expect(JSON.parse(await kept.timelineBody(search, 1)).items[0].id).toBe('e-49')
      // Not kept: every reader counts it again (a reader's own totals are not served in its place).
      expect(await totals(fresh)).toEqual([50, 50, 50, 50])
      // Totals without `q` are never kept across a change.
      expect(JSON.parse(await kept.timelineBody({ mesh: 'k8s-prod' }, 5))).toMatchObject({ total: 50 })
    } finally {
      await kept.close()
      await fresh.close()
    }
  })

  it('keeps a capped search total (a lower bound) ten times as long as an exact one', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z')
    const store: EventStore = await openStore(join(dir, 'totals-capped.db'), { readers: 2, searchTotalMaxAgeMs: 1000, clock: () => now })
    try {
      // 6,000 events that all say "dense" (enough for an index-driven search, whose total is capped at
      // its scan budget) and 10 that say "zebra" (an exact total).
      const said = (i: number, word: string) => ({ ...event(i), message: `${word} ${i}` })
      await store.writeBatch({ events: Array.from({ length: 6000 }, (_, i) => said(i, i < 10 ? 'dense zebra' : 'dense')), catalog: [], checkpoints: [], outbox: [] })
      const total = async (q: string) => JSON.parse(await store.timelineBody({ mesh: 'k8s-prod', q }, 5)) as { total: number; totalCapped: boolean }
      const capped = await total('dense')
      expect(capped.totalCapped).toBe(true)
      expect(await total('zebra')).toEqual(expect.objectContaining({ total: 10, totalCapped: false }))
      // Newer events without "dense" (fewer matches among the newest rows) and 5 more with "zebra".
      await store.writeBatch({ events: Array.from({ length: 1000 }, (_, i) => said(6000 + i, i < 5 ? 'zebra' : 'quiet')), catalog: [], checkpoints: [], outbox: [] })
      now += 5000
      expect((await total('zebra')).total).toBe(15)
      expect(await total('dense')).toEqual(expect.objectContaining({ total: capped.total, totalCapped: true }))
      now += 6000
      const recounted = await total('dense')
      expect(recounted.total).toBeLessThan(capped.total)
    } finally {
      await store.close()
    }
  })
})

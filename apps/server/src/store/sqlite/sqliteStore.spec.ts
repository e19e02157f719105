/**
 * SQLite-only store tests: what the conformance suite (store/storeConformance.ts, run on every
 * engine) cannot reach through the interface: write failures under SQLite's lock and a failed
 * batch's memo, and the search plans' tunings (each plan forced on little data).
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { UnavailableError } from '../../errors.ts'
import { tempDir } from '../../testing/testServer.ts'
import type { IngestEvent, TimelineFilter, TimelinePosition, TimelineResult, WriteBatch } from '../types.ts'
import { SqliteStore } from './sqliteStore.ts'
import type { SearchTuning } from './sqliteStore.ts'

const T0 = Date.parse('2026-11-20T08:00:00Z')

function podEvent(overrides: Partial<IngestEvent> & { id: string }): IngestEvent {
  return {
    time: T0,
    type: 'normal',
    reason: 'Started',
    message: 'Started container app',
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'k8s-prod',
    object: { kind: 'Pod', name: 'order-7d9f-x2k4q', namespace: 'shop' },
    application: 'order-service',
    instance: 'order-7d9f-x2k4q',
    ip: '10.1.2.3',
    ...overrides,
  }
}

const batch = (parts: Partial<WriteBatch>): WriteBatch => ({ events: [], catalog: [], checkpoints: [], outbox: [], ...parts })
describe('SqliteStore write failures', () => {
  it('leaves nothing of a rolled-back batch behind: the retry writes what a first success would', async () => {
    const store = new SqliteStore(':memory:')
    const first = podEvent({ id: 'k:1', application: 'billing', instance: 'billing-0', ip: '10.9.9.9', service: 'billing-svc' })
    // The second event breaks a NOT NULL constraint after the first one named a new application,
    // instance and service: the transaction rolls back.
    const broken = { ...podEvent({ id: 'k:2' }), reason: null } as unknown as IngestEvent
    await expect(store.writeBatch(batch({ events: [first, broken], outbox: [{ sink: 'hook', eventId: 'k:1' }] }))).rejects.toThrow(/NOT NULL/)
    expect(await store.application('billing')).toBeUndefined()

    const stored = await store.writeBatch(batch({ events: [first], outbox: [{ sink: 'hook', eventId: 'k:1' }] }))
    // Sequences start where they would have: the failed attempt consumed none.
    expect(stored.map(({ seq }) => seq)).toEqual([1])
    expect((await store.pendingOutbox('hook', 10)).map(({ seq }) => seq)).toEqual([1])
    expect(await store.application('billing', 'k8s-prod')).toMatchObject({ name: 'billing', mesh: 'k8s-prod', instances: [{ name: 'billing-0', ip: '10.9.9.9' }] })
    expect((await store.services({ limit: 10 })).items.map(({ name }) => name)).toEqual(['billing-svc'])
    expect((await store.meshes()).map(({ name }) => name)).toEqual(['k8s-prod'])
    await store.close()
  })

  it('answers a write the lock keeps out past the busy timeout with UnavailableError, reported until a write commits', async () => {
    const dir = tempDir()
    const path = join(dir.dir, 'locked.db')
    const store = new SqliteStore(path)
    const other = new Database(path)
    try {
      other.prepare('BEGIN IMMEDIATE').run()
      // An IMMEDIATE transaction waits for the lock (the busy timeout) rather than failing at once,
      // then fails as unavailable: a 503, not a 500.
      const failed = await store.writeBatch(batch({ events: [podEvent({ id: 'k:locked', application: 'locked-app' })] })).catch((error: unknown) => error)
      expect(failed).toBeInstanceOf(UnavailableError)
      expect((failed as UnavailableError).storeCode).toMatch(/^SQLITE_BUSY/)
      expect(store.writeFailure()).toMatch(/database is locked/)
      other.prepare('ROLLBACK').run()

      await store.writeBatch(batch({ events: [podEvent({ id: 'k:locked', application: 'locked-app' })] }))
      expect(store.writeFailure()).toBeUndefined()
      expect(await store.application('locked-app')).toMatchObject({ name: 'locked-app' })
    } finally {
      other.close()
      await store.close()
      dir.cleanup()
    }
  })
})

describe('SqliteStore full-text index, written by the writer once per batch', () => {
  it('indexes each event with its final text: inserted and changed in one batch, changed in a later one, purged', async () => {
    const store = new SqliteStore(':memory:')
    const found = async (q: string) => (await store.timeline({ q }, 10)).items.map(({ id }) => id)
    // k:1 is inserted and changed in the same batch: only its final text is indexed.
    await store.writeBatch(batch({ events: [podEvent({ id: 'k:1', message: 'alpha one' }), podEvent({ id: 'k:2', message: 'alpha two' }), podEvent({ id: 'k:1', time: T0 + 1000, message: 'bravo one' })] }))
    expect(await found('alpha')).toEqual(['k:2'])
    expect(await found('bravo')).toEqual(['k:1'])
    // k:2 was indexed by an earlier batch: its old terms leave, its new ones come in.
    await store.writeBatch(batch({ events: [podEvent({ id: 'k:2', time: T0 + 2000, message: 'charlie two' }), podEvent({ id: 'k:3', time: T0 + 3000, message: 'alpha three' })] }))
    expect(await found('alpha')).toEqual(['k:3'])
    expect(await found('charlie')).toEqual(['k:2'])
    expect(await found('two')).toEqual(['k:2'])
    await store.purgeBefore(T0 + 1500, 100)
    expect(await found('bravo')).toEqual([])
    expect(await found('one')).toEqual([])
    // FTS5's own check of an external-content index against the rows: it throws on any term
    // indexed for text a row no longer has, or missing for text it has.
    expect(() => store.database.exec("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 1)")).not.toThrow()
    // The same check sees a row the index misses (the writer's bulk insert is what adds them).
    store.database.exec("INSERT INTO events (id, time, first_time, count, type, reason, message, source, component, mesh, obj_kind, obj_name, seq, views) VALUES ('x', 1, 1, 1, 'normal', 'R', 'unindexed', 'api', 'api', 'm', 'Event', 'x', 99, '')")
    expect(() => store.database.exec("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 1)")).toThrow()
    await store.close()
  })
})

describe('SqliteStore totals on a read-only connection', () => {
  it('counts again after another connection commits: an insert, an update that moves an event out, a purge', async () => {
    const dir = tempDir()
    const path = join(dir.dir, 'totals.db')
    const writer = new SqliteStore(path)
    await writer.writeBatch(batch({ events: [podEvent({ id: 'k:1' }), podEvent({ id: 'k:2', time: T0 + 1000 })] }))
    const reader = new SqliteStore(path, { readonly: true })
    const total = async (filter: TimelineFilter) => {
      const { total: n } = await reader.timeline(filter, 1)
      // Every page of the view agrees, the first and a later one.
      const first = await reader.timeline(filter, 1)
      expect(first.total).toBe(n)
      if (first.next) expect((await reader.timeline(filter, 1, first.next)).total).toBe(n)
      return n
    }
    try {
      expect(await total({ application: 'order-service' })).toBe(2)
      expect(await total({ application: 'billing' })).toBe(0)
      await writer.writeBatch(batch({ events: [podEvent({ id: 'k:3', time: T0 + 2000 })] }))
      expect(await total({ application: 'order-service' })).toBe(3)
      // An update that moves k:3 to another application.
      await writer.writeBatch(batch({ events: [podEvent({ id: 'k:3', time: T0 + 3000, application: 'billing' })] }))
      expect(await total({ application: 'order-service' })).toBe(2)
      expect(await total({ application: 'billing' })).toBe(1)
      // Retention deletes without a new sequence (max(seq) alone would not tell).
      await writer.purgeBefore(T0 + 500, 100)
      expect(await total({ application: 'order-service' })).toBe(1)
      expect((await reader.timelineByOffset({ application: 'order-service' }, 0, 10)).total).toBe(1)
    } finally {
      await reader.close()
      await writer.close()
      dir.cleanup()
    }
  })
})

describe('SqliteStore search totals while events arrive', () => {
  it('serves a search total for its maximum age across commits, then counts again; a plain total at once', async () => {
    const dir = tempDir()
    const path = join(dir.dir, 'search-totals.db')
    const writer = new SqliteStore(path)
    await writer.writeBatch(batch({ events: [podEvent({ id: 'k:1' }), podEvent({ id: 'k:2', time: T0 + 1000 })] }))
    const kept = new SqliteStore(path, { readonly: true, searchTotalMaxAgeMs: 3_600_000 })
    const fresh = new SqliteStore(path, { readonly: true, searchTotalMaxAgeMs: 0 })
    const search = { application: 'order-service', q: 'started' }
    try {
      expect((await kept.timeline(search, 1)).total).toBe(2)
      expect((await fresh.timeline(search, 1)).total).toBe(2)
      await writer.writeBatch(batch({ events: [podEvent({ id: 'k:3', time: T0 + 2000 })] }))
      // The page itself is never stale: its first item is the new event.
      const page = await kept.timeline(search, 1)
      expect(page.items[0]!.id).toBe('k:3')
      expect(page.total).toBe(2)
      expect((await kept.timeline({ application: 'order-service' }, 1)).total).toBe(3)
      expect((await fresh.timeline(search, 1)).total).toBe(3)
    } finally {
      await kept.close()
      await fresh.close()
      await writer.close()
      dir.cleanup()
    }
  })
})

describe('SqliteStore search combined with other filters', () => {
  // 600 events over two services and two meshes; words spread so that a word is common overall
  // but rare in one service ("zebra" is in svc-b only, once every 50 events).
  const WORDS = ['alpha', 'timeout', 'apple', 'connection', 'refused', '连接超时']
  const events: IngestEvent[] = Array.from({ length: 600 }, (_, i) => ({
    id: `e${String(i).padStart(4, '0')}`,
    // Several events share a millisecond, so the (time, id) tie-break is exercised.
    time: T0 + Math.floor(i / 3) * 1000,
    type: i % 4 === 0 ? 'warning' : 'normal',
    reason: i % 2 === 0 ? 'DeployFailed' : 'ConfigChanged',
    message: `${WORDS[i % WORDS.length]} ${WORDS[Math.floor(i / 6) % WORDS.length]}${i % 100 === 1 ? ' zebra' : ''} request ${i}`,
    source: 'api',
    component: 'ci',
    mesh: i % 5 === 0 ? 'other' : 'api',
    object: { kind: 'Service', name: `svc-${i % 2 === 0 ? 'a' : 'b'}`, namespace: i % 3 === 0 ? 'prod' : 'dev' },
    service: `svc-${i % 2 === 0 ? 'a' : 'b'}`,
  }))
  const expected = (filter: TimelineFilter) =>
    events
      .filter((event) => {
        const words = `${event.reason} ${event.message}`.toLowerCase().split(/[^\p{L}\p{N}]+/u)
        const matches = filter.q!.toLowerCase().split(/\s+/).every((word) => words.some((token) => token.startsWith(word)))
        return (
          matches &&
          (filter.service === undefined || event.service === filter.service) &&
          (filter.mesh === undefined || event.mesh === filter.mesh) &&
          (filter.type === undefined || event.type === filter.type) &&
          (filter.namespaces === undefined || filter.namespaces.includes(event.object.namespace!)) &&
          (filter.since === undefined || event.time >= filter.since) &&
          (filter.until === undefined || event.time < filter.until)
        )
      })
      .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1))
      .map((event) => event.id)
  const filters: TimelineFilter[] = [
    { q: 'timeout' },
    { q: 'a', service: 'svc-a' },
    { q: 'zebra', service: 'svc-b', mesh: 'api' },
    { q: 'zebra', service: 'svc-a' },
    { q: 'conn refused', mesh: 'api', type: 'normal' },
    { q: '连接超时', since: T0 + 50_000, until: T0 + 150_000 },
    { q: 'req', mesh: 'other', namespaces: ['prod'] },
  ]
  // Each tuning forces one plan for every search here; the small scan budget makes pages short.
  const tunings: Array<[string, Partial<SearchTuning>]> = [
    ['FTS-driven', { searchFirstMax: 1_000_000 }],
    ['index-driven with the FTS set', { searchFirstMax: 0, setMax: 1_000_000, probeShare: 2, scanBudget: { set: 37, probe: 37 } }],
    ['index-driven with FTS probes', { searchFirstMax: 0, setMax: 0, scanBudget: { set: 37, probe: 37 } }],
  ]

  it('probes a search whose matches are dense among all events, and tests rare ones against the FTS set', async () => {
    // The plans read different scan budgets, so a total tells which plan counted it: the set's
    // budget covers a service's 300 rows, the probe's 37 rows do not.
    const scanBudget = { set: 500, probe: 37 }
    const store = new SqliteStore(':memory:', { search: { searchFirstMax: 0, setMax: 1_000_000, scanBudget } })
    const setOnly = new SqliteStore(':memory:', { search: { searchFirstMax: 0, setMax: 1_000_000, probeShare: 2, scanBudget } })
    for (const each of [store, setOnly]) await each.writeBatch(batch({ events }))
    // "zebra": 6 of 600 events (1%, under the 2% share): the FTS set.
    expect(await store.timeline({ q: 'zebra', service: 'svc-b' }, 5)).toMatchObject({ total: 6, totalCapped: false })
    // "timeout": one event in six, probed; counted within the probe's budget only.
    const dense = { q: 'timeout', service: 'svc-a' }
    expect(await store.timeline(dense, 5)).toMatchObject({ totalCapped: true })
    expect(await setOnly.timeline(dense, 5)).toMatchObject({ total: expected(dense).length, totalCapped: false })
    await store.close()
    await setOnly.close()
  })

  it('probes ASCII text as the FTS index decides it, at token starts only', async () => {
    // The probe plan's pre-filter (`instr` on the lower-cased text) and its test of the row's own
    // text must agree with the FTS index: a word matches a token's start, after any character but
    // a letter or a digit.
    const texts = ['timeout', 'xtimeout', '(timeout)', 'TimeOut!', 'time-out', 'a_timeout', 'timeouts', 'fail:timeout', 'time out', '9timeout', 'timeout9', 'ti', 'Zürich timeout', '\ttimeout\n', 'connection refused', 'refused-connection']
    const tricky = texts.flatMap((message, i) => [
      podEvent({ id: `m${i}`, time: T0 + i * 1000, message, reason: 'Started' }),
      podEvent({ id: `r${i}`, time: T0 + i * 1000 + 500, message: 'nothing', reason: message }),
    ])
    const fts = new SqliteStore(':memory:', { search: { searchFirstMax: 1_000_000 } })
    const probe = new SqliteStore(':memory:', { search: { searchFirstMax: 0, setMax: 0, scanBudget: { set: 1000, probe: 1000 } } })
    for (const store of [fts, probe]) await store.writeBatch(batch({ events: tricky }))
    const ids = async (store: SqliteStore, q: string) => (await store.timeline({ q }, 100)).items.map((item) => item.id)
    for (const q of ['timeout', 'TIME', 'out', 'ti', 'a', '9', 'timeout9', 'refused conn', 'connection refused', 'time-out', 'zurich']) {
      const want = await ids(fts, q)
      expect(await ids(probe, q), q).toEqual(want)
    }
    // The words above found something (the comparison is not between two empty lists).
    expect(await ids(probe, 'timeout')).toHaveLength(2 * 9)
    await fts.close()
    await probe.close()
  })

  it.each(tunings)('%s: following the cursors yields every match once, newest first', async (_name, search) => {
    const store = new SqliteStore(':memory:', { search })
    await store.writeBatch(batch({ events }))
    for (const filter of filters) {
      const seen: string[] = []
      let after: TimelinePosition | undefined
      let first: TimelineResult | undefined
      for (let pages = 0; pages < 1000; pages++) {
        const page = await store.timeline(filter, 7, after)
        first ??= page
        expect(page.items.length).toBeLessThanOrEqual(7)
        seen.push(...page.items.map((item) => item.id))
        if (!page.next) break
        after = page.next
      }
      const want = expected(filter)
      // Every filter matches something but the one that is empty by construction.
      expect(want.length === 0, JSON.stringify(filter)).toBe(filter.q === 'zebra' && filter.service === 'svc-a')
      expect(seen, JSON.stringify(filter)).toEqual(want)
      // Exact when the count saw everything; otherwise a lower bound, flagged.
      if (first!.totalCapped) expect(first!.total).toBeLessThanOrEqual(want.length)
      else expect(first!.total, JSON.stringify(filter)).toBe(want.length)
    }
    await store.close()
  })
})

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { withEveryMesh } from '../eventViews.ts'
import type { View } from '../eventViews.ts'
import { MIGRATIONS } from './migrations.ts'
import type { IngestEvent, TimelineFilter, TimelinePosition, WriteBatch } from '../types.ts'
import { SqliteStore } from './sqliteStore.ts'
import { ftsQuery } from './timelineSql.ts'

/**
 * Migration 4 reads the consumers ZooKeeper holds from the node state, in SQL: these are the node
 * names it must read (as Java Dubbo, JavaScript clients and SOFA write them) and those it must
 * leave to the source's next full sync.
 */
/** Each test's temporary directory, removed after it. */
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-migration-'))
  dirs.push(dir)
  return dir
}

/**
 * `old.db` in `dir` at schema `version`, holding the rows of `tables` copied from `fresh.db` (a
 * database the current code wrote): the old schema's triggers index them as they are copied in.
 */
function copyAtSchema(dir: string, version: number, tables: readonly string[]): string {
  const path = join(dir, 'old.db')
  const old = new Database(path)
  for (const [index, sql] of MIGRATIONS.slice(0, version).entries()) {
    old.exec(sql)
    old.pragma(`user_version = ${index + 1}`)
  }
  old.exec(`ATTACH '${join(dir, 'fresh.db')}' AS fresh`)
  for (const table of tables) old.exec(`INSERT OR REPLACE INTO ${table} SELECT * FROM fresh.${table}`)
  old.exec('DETACH fresh')
  old.close()
  return path
}

describe('migration 4: ZooKeeper consumers by <application>@<ip>', () => {

  /** A database at schema 3 with what the old code stored for `consumers` of mesh `zk` under `root`. */
  const oldDatabase = (root: string, consumers: Array<{ node: string; service: string; ip: string; application: string | null }>) => {
    const dir = tempDir()
    const path = join(dir, 'eventline.db')
    const db = new Database(path)
    for (const [index, sql] of MIGRATIONS.slice(0, 3).entries()) {
      db.exec(sql)
      db.pragma(`user_version = ${index + 1}`)
    }
    db.prepare("INSERT INTO meshes (name, kind) VALUES ('zk', 'zookeeper')").run()
    db.prepare("INSERT INTO meshes (name, kind) VALUES ('nacos', 'nacos')").run()
    for (const consumer of consumers) {
      db.prepare("INSERT OR IGNORE INTO instances (mesh, name, ip, application, registered, sources, updated_at) VALUES ('zk', ?, ?, ?, 1, '[\"zookeeper\"]', 1)").run(consumer.ip, consumer.ip, consumer.application)
      db.prepare("INSERT OR REPLACE INTO service_instances (mesh, service, side, instance, application) VALUES ('zk', ?, 'consumer', ?, ?)").run(consumer.service, consumer.ip, consumer.application)
      db.prepare("INSERT INTO checkpoints (key, value, updated_at) VALUES (?, '', 1)").run(`zk:node:/${root}/${consumer.service}/consumers/${consumer.node}`)
    }
    // Another mesh's keys of the same shape are not ZooKeeper's.
    db.prepare("INSERT INTO checkpoints (key, value, updated_at) VALUES ('nacos:node:/x/org.x.S/consumers/consumer%3A%2F%2F10.9.9.9%2Forg.x.S%3Fapplication%3Dn', '', 1)").run()
    db.close()
    return path
  }

  const memberships = (store: SqliteStore) =>
    store.database.prepare("SELECT service, instance, application FROM service_instances WHERE side = 'consumer' ORDER BY service, instance").all()

  it.each([
    ['a Java consumer', 'dubbo', 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fapplication%3Dcart-web%26category%3Dconsumers%26side%3Dconsumer', 'org.x.S', '10.5.0.9', { service: 'org.x.S', instance: 'cart-web@10.5.0.9', application: 'cart-web' }],
    ['a consumer with appName only, no path (SOFA)', 'sofa-rpc', 'bolt%3A%2F%2F10.5.0.9%3FuniqueId%3D%26appName%3Dcart-job%26startTime%3D', 'com.x.Echo', '10.5.0.9', { service: 'com.x.Echo', instance: 'cart-job@10.5.0.9', application: 'cart-job' }],
    ['a consumer on IPv6 under a custom root', 'gov/prod', 'consumer%3A%2F%2F%5Bfd00%3A%3A8%5D%2Forg.x.S%3Finterface%3Dorg.x.S%26application%3Dcart-web', 'org.x.S', 'fd00::8', { service: 'org.x.S', instance: 'cart-web@fd00::8', application: 'cart-web' }],
    ['application= before appName=', 'dubbo', 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3FappName%3Dother%26application%3Dcart-web', 'org.x.S', '10.5.0.9', { instance: 'cart-web@10.5.0.9' }],
  ])('carries %s over', (_name, root, node, service, ip, expected) => {
    const store = new SqliteStore(oldDatabase(root, [{ node, service, ip, application: 'stale' }]))
    expect(memberships(store)).toEqual([expect.objectContaining(expected)])
    const instances = store.database.prepare("SELECT name, ip, application, registered FROM instances WHERE mesh = 'zk'").all()
    expect(instances).toEqual([{ name: expected.instance, ip, application: expected.instance.split('@')[0], registered: 1 }])
    void store.close()
  })

  it('keeps apart two applications the old membership row had collapsed, and leaves what it cannot read to the next sync', () => {
    const store = new SqliteStore(
      oldDatabase('dubbo', [
        { node: 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fapplication%3Dcart-web', service: 'org.x.S', ip: '10.5.0.9', application: 'cart-web' },
        { node: 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fapplication%3Dcart-job', service: 'org.x.S', ip: '10.5.0.9', application: 'cart-job' },
        // A percent-encoded application name: not decoded in SQL; the old rows stay for the source.
        { node: 'consumer%3A%2F%2F10.5.0.7%2Forg.x.S%3Fapplication%3Dcart%2520x', service: 'org.x.S', ip: '10.5.0.7', application: 'cart x' },
      ]),
    )
    expect(memberships(store)).toEqual([
      { service: 'org.x.S', instance: '10.5.0.7', application: 'cart x' },
      { service: 'org.x.S', instance: 'cart-job@10.5.0.9', application: 'cart-job' },
      { service: 'org.x.S', instance: 'cart-web@10.5.0.9', application: 'cart-web' },
    ])
    expect(store.database.prepare("SELECT name FROM instances WHERE mesh = 'zk' ORDER BY name").pluck().all()).toEqual(['10.5.0.7', 'cart-job@10.5.0.9', 'cart-web@10.5.0.9'])
    void store.close()
  })
})

const T0 = Date.parse('2026-11-20T08:00:00Z')
const batch = (events: IngestEvent[]): WriteBatch => ({ events, catalog: [], checkpoints: [], outbox: [] })
// Ties at one millisecond (ids out of insertion order), two meshes sharing an application name,
// warnings and several sources, a service link.
const events: IngestEvent[] = Array.from({ length: 120 }, (_, i) => ({
  id: `${i % 2 ? 'zookeeper' : 'kubernetes'}:${((i * 7919) % 1000).toString(36)}-${i}`,
  time: T0 + Math.floor(i / 4) * 1000,
  type: i % 5 === 0 ? 'warning' : 'normal',
  reason: i % 3 === 0 ? 'BackOff' : 'ProviderRegistered',
  message: `${i % 3 === 0 ? 'Back-off restarting' : 'Provider registered'} event ${i} timeout ${i % 7}`,
  source: i % 2 ? 'zookeeper' : 'kubernetes',
  component: 'test',
  mesh: i % 2 ? 'zk' : 'k8s',
  object: { kind: i % 2 ? 'Provider' : 'Pod', name: `obj-${i % 4}`, namespace: 'shop' },
  application: `app-${i % 3}`,
  instance: `inst-${i % 5}`,
  ip: `10.0.0.${i % 5}`,
  ...(i % 2 ? { service: `org.x.S${i % 2}` } : {}),
}))

/** Every page of a view, following cursors with a small limit (ties cross page ends). */
async function walk(store: SqliteStore, filter: TimelineFilter) {
  const pages: Array<{ items: Array<{ id: string; time: string }>; next: TimelinePosition | null }> = []
  let after: TimelinePosition | undefined
  for (;;) {
    const page = await store.timeline(filter, 3, after)
    pages.push(page)
    if (!page.next) return pages
    after = page.next
  }
}

/**
 * The migrated store pages, counts, searches and draws histograms as one written by the current
 * code, in the contract's order, every event once.
 */
async function expectSameTimelines(migrated: SqliteStore, fresh: SqliteStore, filters: readonly TimelineFilter[]) {
  for (const filter of filters) {
    const expected = await walk(fresh, filter)
    expect(await walk(migrated, filter), JSON.stringify(filter)).toEqual(expected)
    expect(expected.length, JSON.stringify(filter)).toBeGreaterThan(1)
    // Exactly the contract's order across pages, ties of one millisecond included.
    const items = expected.flatMap((page) => page.items)
    const sorted = [...items].sort((a, b) => (a.time !== b.time ? (a.time < b.time ? 1 : -1) : a.id < b.id ? 1 : -1))
    expect(items.map((item) => item.id), JSON.stringify(filter)).toEqual(sorted.map((item) => item.id))
    expect(new Set(items.map((item) => item.id)).size).toBe(items.length)
    const range = { ...filter, since: T0, until: T0 + 40_000 }
    expect(await migrated.histogram(range, 5000, 8), JSON.stringify(filter)).toEqual(await fresh.histogram(range, 5000, 8))
    expect(await migrated.facets(filter, 'source', 10), JSON.stringify(filter)).toEqual(await fresh.facets(filter, 'source', 10))
    expect(await migrated.oldestMatch(filter), JSON.stringify(filter)).toEqual(await fresh.oldestMatch(filter))
  }
}

const filters: TimelineFilter[] = [
  {},
  { mesh: 'k8s' },
  { mesh: 'zk', application: 'app-1' },
  { application: 'app-1' },
  { mesh: 'k8s', instance: 'inst-0', type: 'warning' },
  { ip: '10.0.0.3', sources: ['kubernetes'] },
  { ip: '10.0.0.1' },
  { application: 'app-0', instance: 'inst-1' },
  { mesh: 'zk', service: 'org.x.S1', application: 'app-0' },
  { application: 'app-2', q: 'timeout' },
  { q: 'back' },
  { mesh: 'zk', q: 'provider regis', since: T0 + 5000, until: T0 + 25_000 },
]

/**
 * Migration 7 (lean storage) rewrites the links of a database in place: views interned, link rows
 * keyed by integers, an event's views as their ids. A database at schema 6 holding what the code
 * before it stored (JSON views, text links with every-mesh rows) answers the same timelines,
 * totals, searches and histograms after it as a database written by the new code.
 */
describe('migration 7: links keyed by integers', () => {

  it('answers the same timelines, totals and searches as a database written by the new code', async () => {
    const dir = tempDir()
    const fresh = new SqliteStore(join(dir, 'fresh.db'))
    await fresh.writeBatch(batch(events))

    // The same rows as the code before migration 7 stored them.
    const path = join(dir, 'old.db')
    const old = new Database(path)
    for (const [index, sql] of MIGRATIONS.slice(0, 6).entries()) {
      old.exec(sql)
      old.pragma(`user_version = ${index + 1}`)
    }
    const source = fresh.database
    const viewOf = source.prepare('SELECT mesh, kind, entity FROM views WHERE id = ?').raw()
    const columns = (source.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('events') as string[]).filter((name) => name !== 'rid')
    const insertEvent = old.prepare(`INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((name) => `@${name}`).join(', ')})`)
    const insertLink = old.prepare('INSERT INTO event_links (mesh, kind, entity, time, event_id, type, source) VALUES (?, ?, ?, ?, ?, ?, ?)')
    for (const row of source.prepare('SELECT * FROM events ORDER BY rid').all() as Array<Record<string, string | number> & { views: string }>) {
      // The store's mesh views (kind m) are new with migration 7; the every-mesh copies of entity
      // views were stored until migration 8.
      const views = withEveryMesh(
        row.views
          .split(' ')
          .map((id) => viewOf.get(Number(id)) as View)
          .filter(([, kind]) => kind !== 'm'),
      )
      insertEvent.run({ ...Object.fromEntries(columns.map((name) => [name, row[name]])), views: JSON.stringify(views) })
      for (const [mesh, kind, entity] of views) insertLink.run(mesh, kind, entity, row.time, row.id, row.type, row.source)
    }
    for (const table of ['meshes', 'mesh_event_counts', 'applications', 'instances', 'services', 'service_instances']) {
      const rows = source.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>
      for (const row of rows) old.prepare(`INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((key) => `@${key}`).join(', ')})`).run(row)
    }
    old.close()

    const migrated = new SqliteStore(path)
    expect(migrated.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    const count = (store: SqliteStore, sql: string) => store.database.prepare(sql).pluck().get()
    expect(count(migrated, 'SELECT count(*) FROM event_links')).toBe(count(fresh, 'SELECT count(*) FROM event_links'))
    expect(count(migrated, 'SELECT count(*) FROM views')).toBe(count(fresh, 'SELECT count(*) FROM views'))
    expect(count(migrated, 'SELECT count(*) FROM event_links WHERE source >= 64')).toBe(count(fresh, 'SELECT count(*) FROM event_links WHERE source >= 64'))
    await expectSameTimelines(migrated, fresh, filters)
    // The live stream's resume reads an event's views back from their ids.
    expect(await migrated.eventsAfter(0, 500)).toEqual(await fresh.eventsAfter(0, 500))
    // A write after the migration links under the views the migration interned.
    const later = { ...events[1]!, id: 'zookeeper:later', time: T0 + 60_000 }
    await migrated.writeBatch(batch([later]))
    await fresh.writeBatch(batch([later]))
    expect(await walk(migrated, { application: 'app-1' })).toEqual(await walk(fresh, { application: 'app-1' }))
    await migrated.close()
    await fresh.close()
  })
})

/**
 * Migration 8 deletes the every-mesh copies of entity views (their links and views) and marks the
 * secondary links of events correlated into one entity in two meshes. A database at schema 7
 * holding what the code before it stored answers the same timelines, totals, searches, histograms
 * and facets as one written by the new code, and an entity's every-mesh timeline lists what its
 * every-mesh view listed before.
 */
describe('migration 8: no every-mesh copies of entity views', () => {

  it('answers the same timelines, totals and searches as a database written by the new code', async () => {
    const dir = tempDir()
    const fresh = new SqliteStore(join(dir, 'fresh.db'))
    await fresh.writeBatch(batch(events))
    const source = fresh.database
    // Events correlated into one entity in two meshes (a pod event into a ZooKeeper instance's IP and application).
    expect(source.prepare('SELECT count(*) FROM event_links WHERE source >= 64').pluck().get()).toBeGreaterThan(0)

    // The same rows as the code before migration 8 stored them: every entity view also under mesh
    // '' (interned after the views in the meshes), next to it in the event's views.
    const path = join(dir, 'old.db')
    const old = new Database(path)
    for (const [index, sql] of MIGRATIONS.slice(0, 7).entries()) {
      old.exec(sql)
      old.pragma(`user_version = ${index + 1}`)
    }
    old.exec('DELETE FROM views') // the every-mesh view migration 7 starts with, under the fresh store's id
    for (const table of ['views', 'meshes', 'mesh_event_counts', 'applications', 'instances', 'services', 'service_instances']) {
      const rows = source.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>
      for (const row of rows) old.prepare(`INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((key) => `@${key}`).join(', ')})`).run(row)
    }
    const viewOf = source.prepare('SELECT mesh, kind, entity FROM views WHERE id = ?').raw()
    const copyOf = (kind: string, entity: string) => {
      const id = old.prepare("SELECT id FROM views WHERE mesh = '' AND kind = ? AND entity = ?").pluck().get(kind, entity) as number | undefined
      return id ?? Number(old.prepare("INSERT INTO views (mesh, kind, entity) VALUES ('', ?, ?)").run(kind, entity).lastInsertRowid)
    }
    const insertLink = old.prepare('INSERT INTO event_links (view, time, rid, source, warning) VALUES (?, ?, ?, ?, ?)')
    const expectedEveryMesh = new Map<number, string[]>() // copy view -> event ids it lists
    for (const row of source.prepare('SELECT * FROM events ORDER BY rid').all() as Array<Record<string, string | number> & { rid: number; views: string; time: number }>) {
      const links = source.prepare('SELECT view, source % 64 AS source, warning FROM event_links WHERE rid = ? AND time = ?').all(row.rid, row.time) as Array<{
        view: number
        source: number
        warning: number
      }>
      const ids: number[] = []
      for (const id of row.views.split(' ').map(Number)) {
        ids.push(id)
        const [mesh, kind, entity] = viewOf.get(id) as View
        if (mesh === '' || kind === 'm') continue
        const copy = copyOf(kind, entity)
        if (ids.includes(copy)) continue
        ids.push(copy)
        const { source: code, warning } = links.find((link) => link.view === id)!
        insertLink.run(copy, row.time, row.rid, code, warning)
        expectedEveryMesh.set(copy, [...(expectedEveryMesh.get(copy) ?? []), row.id as string])
      }
      for (const link of links) insertLink.run(link.view, row.time, row.rid, link.source, link.warning)
      const columns = Object.keys(row)
      old.prepare(`INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((name) => `@${name}`).join(', ')})`).run({ ...row, views: ids.join(' ') })
    }
    const copies = old.prepare("SELECT id, kind, entity FROM views WHERE mesh = '' AND kind <> 'm'").all() as Array<{ id: number; kind: string; entity: string }>
    old.close()

    const migrated = new SqliteStore(path)
    expect(migrated.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    const rows = (store: SqliteStore, sql: string) => store.database.prepare(sql).raw().all()
    // The links, secondary marks included, and the views are the new code's.
    expect(rows(migrated, 'SELECT * FROM event_links ORDER BY view, time, rid')).toEqual(rows(fresh, 'SELECT * FROM event_links ORDER BY view, time, rid'))
    expect(rows(migrated, 'SELECT * FROM views ORDER BY id')).toEqual(rows(fresh, 'SELECT * FROM views ORDER BY id'))
    expect(rows(migrated, 'SELECT rid, views FROM events ORDER BY rid')).toEqual(rows(fresh, 'SELECT rid, views FROM events ORDER BY rid'))
    await expectSameTimelines(migrated, fresh, filters)
    // Each entity's timeline with no mesh lists what its every-mesh view listed.
    const kinds: Record<string, 'application' | 'instance' | 'ip' | 'service'> = { a: 'application', i: 'instance', p: 'ip', s: 'service' }
    for (const { id, kind, entity } of copies) {
      const filter = { [kinds[kind]!]: entity }
      const listed = (await walk(migrated, filter)).flatMap((page) => page.items.map((item) => item.id))
      expect(listed.sort(), JSON.stringify(filter)).toEqual([...(expectedEveryMesh.get(id) ?? [])].sort())
      expect((await migrated.timeline(filter, 3)).total, JSON.stringify(filter)).toBe(listed.length)
    }
    // The live stream's resume reads an event's views back, every-mesh copies included.
    expect(await migrated.eventsAfter(0, 500)).toEqual(await fresh.eventsAfter(0, 500))
    await migrated.close()
    await fresh.close()
  })
})

describe('migration 9: a smaller full-text index', () => {

  const T0 = Date.parse('2026-12-01T08:00:00Z')
  const batch = (events: IngestEvent[]): WriteBatch => ({ events, catalog: [], checkpoints: [], outbox: [] })
  // Texts `ftsMatch` covers (ASCII, accents, Chinese) and texts it leaves to the FTS index (an emoji, a combining mark).
  const messages = [
    'Back-off restarting failed container app in pod shop-7f9c',
    'Successfully pulled image "nginx:1.25" in 2.1s',
    'Provider org.x.Api registered at 10.0.0.7:20880',
    '服务调用失败 连接超时，重试 3 次',
    'Café naïve ÉCOLE – restarting',
    'emoji 🙂 a container timeout',
    'cafe\u0301 decomposed back off',
  ]
  const events: IngestEvent[] = Array.from({ length: 84 }, (_, i) => ({
    id: `kubernetes:e-${i}`,
    time: T0 + Math.floor(i / 3) * 1000,
    type: i % 4 === 0 ? 'warning' : 'normal',
    reason: ['BackOff', 'Pulled', 'ProviderRegistered', 'Timeout'][i % 4]!,
    message: `${messages[i % messages.length]} #${i}`,
    source: 'kubernetes',
    component: 'test',
    mesh: 'k8s',
    object: { kind: 'Pod', name: `pod-${i % 5}`, namespace: 'shop' },
    application: `app-${i % 2}`,
  }))
  const queries = ['a', 'c', 'co', 'con', 'back-off', 'back off', 'restarting', 'ecole', 'café', '服务', '超时', '连接超时', 'nginx 1 2', 'x.api', 'ti', '🙂', 'cafe']

  it('keeps every search answering the same matches, whichever plan serves it', async () => {
    const dir = tempDir()
    const fresh = new SqliteStore(join(dir, 'fresh.db'))
    await fresh.writeBatch(batch(events))
    await fresh.close()

    // The same rows at schema 8: the old FTS table (prefixes 1, 2, 3, column sizes) indexes them as they are inserted.
    const path = copyAtSchema(dir, 8, ['events', 'event_links', 'views', 'meshes', 'mesh_event_counts', 'applications'])
    const old = new Database(path)
    const matchesBefore = queries.map((q) => old.prepare('SELECT rowid FROM events_fts WHERE events_fts MATCH ? ORDER BY rowid').pluck().all(ftsQuery(q)))
    expect(matchesBefore.filter((rows) => rows.length > 0).length).toBeGreaterThan(12)
    old.close()

    const plans = { search: { searchFirstMax: 1_000_000 }, set: { searchFirstMax: 0, setMax: 1_000_000, probeShare: 2 }, probe: { searchFirstMax: 0, setMax: 0 } }
    const migrated = new SqliteStore(path, { search: plans.probe })
    expect(migrated.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    expect(migrated.database.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'events_fts_docsize'").pluck().get()).toBe(0)
    const matchesAfter = queries.map((q) => migrated.database.prepare('SELECT rowid FROM events_fts WHERE events_fts MATCH ? ORDER BY rowid').pluck().all(ftsQuery(q)))
    expect(matchesAfter).toEqual(matchesBefore)
    await migrated.close()

    // Each plan pages the same events; the probe plan's budget is the whole view.
    const ridOf = new Map(events.map((event, index) => [event.id, index + 1]))
    for (const [name, search] of Object.entries(plans)) {
      const store = new SqliteStore(path, { search: { ...search, scanBudget: { set: 1000, probe: 1000 } } })
      for (const [index, q] of queries.entries()) {
        for (const filter of [{ q }, { application: 'app-1', q }] as TimelineFilter[]) {
          const page = await store.timeline(filter, 200)
          const want = (matchesBefore[index] as number[]).filter((rid) => !filter.application || events[rid - 1]!.application === filter.application)
          expect(page.items.map((item) => ridOf.get(item.id)!).sort((a, b) => a - b), `${name} ${JSON.stringify(filter)}`).toEqual(want)
        }
      }
      await store.close()
    }
  })
})

describe('migration 10: the writer indexes the text, not a trigger per row', () => {
  it('leaves an index the writer keeps exact: inserts, text changes of migrated rows, purges', async () => {
    const dir = tempDir()
    const T0 = Date.parse('2026-12-02T08:00:00Z')
    const event = (id: string, time: number, message: string): IngestEvent => ({
      id, time, type: 'normal', reason: 'Started', message, source: 'api', component: 'test', mesh: 'm', object: { kind: 'Job', name: id },
    })
    const fresh = new SqliteStore(join(dir, 'fresh.db'))
    await fresh.writeBatch({ events: [event('api:1', T0, 'alpha old'), event('api:2', T0 + 1000, 'bravo old')], catalog: [], checkpoints: [], outbox: [] })
    await fresh.close()
    // The same rows at schema 9, indexed by its insert trigger as they are copied in.
    const path = copyAtSchema(dir, 9, ['events', 'event_links', 'views', 'meshes', 'mesh_event_counts'])

    const store = new SqliteStore(path)
    const triggers = store.database.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").pluck().all()
    expect(triggers).toEqual(['events_fts_delete'])
    const found = async (q: string) => (await store.timeline({ q }, 10)).items.map(({ id }) => id).sort()
    expect(await found('old')).toEqual(['api:1', 'api:2'])
    // A migrated row's text changes, a new row arrives, the oldest row is purged.
    await store.writeBatch({ events: [event('api:2', T0 + 2000, 'bravo new'), event('api:3', T0 + 3000, 'charlie new')], catalog: [], checkpoints: [], outbox: [] })
    expect(await found('new')).toEqual(['api:2', 'api:3'])
    expect(await found('old')).toEqual(['api:1'])
    await store.purgeBefore(T0 + 500, 100)
    expect(await found('old')).toEqual([])
    expect(await found('alpha')).toEqual([])
    expect(() => store.database.exec("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 1)")).not.toThrow()
    await store.close()
  })
})

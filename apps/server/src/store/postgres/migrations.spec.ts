/**
 * PostgreSQL migration 5 (no every-mesh copies of entity views) on a database written before it:
 * events of the benchmark's generator (pod events correlated into the registry application and
 * IP of the same name in a second mesh) are written by this version, then the schema is put back
 * as version 4 left it (each event's every-mesh copies after its views in each mesh, as
 * `withEveryMesh` lists them, linked like any view; no secondary marks). Reopening migrates it in
 * place: the links and view lists are exactly what this version writes, and every timeline read
 * answers as before.
 */
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createWorld, generateEvents, inChunks } from '../../../bench/generate.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../../testing/postgres.ts'
import { withEveryMesh } from '../eventViews.ts'
import type { View } from '../eventViews.ts'
import type { EventStore, TimelineFilter } from '../types.ts'
import { MIGRATIONS } from './migrations.ts'
import { PgStore } from './pgStore.ts'
import { SECONDARY_LINK, SOURCE_CODE } from './timelineSql.ts'

const skip = await skipWithoutPostgres()
const DAY_MS = 86_400_000
const END = Date.parse('2026-11-20T00:00:00Z')

/** Rewrites the schema as migration 4 left it: every-mesh copies linked, no secondary links. */
async function withEveryMeshCopies(client: pg.Client): Promise<void> {
  await client.query('BEGIN')
  const { rows: views } = await client.query<{ id: number; mesh: string; kind: string; entity: string }>('SELECT id, mesh, kind, entity FROM views')
  const viewOf = new Map(views.map(({ id, mesh, kind, entity }) => [id, [mesh, kind, entity] as View]))
  const { rows: events } = await client.query<{ rid: string; time: string; source: keyof typeof SOURCE_CODE; type: string; views: number[] }>('SELECT rid, time, source, type, views FROM events')
  const copies = new Map<string, View>()
  const listed = events.map((event) => withEveryMesh(event.views.map((id) => viewOf.get(id)!)))
  for (const list of listed) for (const view of list) if (view[0] === '') copies.set(view.join('\u0000'), view)
  const copyViews = [...copies.values()]
  const { rows: interned } = await client.query<{ id: number; kind: string; entity: string }>(
    "INSERT INTO views (mesh, kind, entity) SELECT '', * FROM unnest($1::text[], $2::text[]) RETURNING id, kind, entity",
    [copyViews.map(([, kind]) => kind), copyViews.map(([, , entity]) => entity)],
  )
  const copyId = new Map(interned.map(({ id, kind, entity }) => [`\u0000${kind}\u0000${entity}`, id]))
  const links: Array<[number, string, string, number, boolean]> = []
  const lists: string[] = []
  events.forEach((event, index) => {
    const added = listed[index]!.filter(([mesh]) => mesh === '').map((view) => copyId.get(view.join('\u0000'))!)
    lists.push(`{${[...event.views, ...added].join(',')}}`)
    for (const view of added) links.push([view, event.time, event.rid, SOURCE_CODE[event.source], event.type === 'warning'])
  })
  await client.query('UPDATE events AS e SET views = u.views::int[] FROM unnest($1::bigint[], $2::text[]) AS u (rid, views) WHERE e.rid = u.rid', [events.map(({ rid }) => rid), lists])
  await client.query('INSERT INTO event_links (view, time, rid, source, warning) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::smallint[], $5::boolean[])', [
    links.map(([view]) => view),
    links.map(([, time]) => time),
    links.map(([, , rid]) => rid),
    links.map(([, , , source]) => source),
    links.map(([, , , , warning]) => warning),
  ])
  await client.query(`UPDATE event_links SET source = source - ${SECONDARY_LINK} WHERE source >= ${SECONDARY_LINK}`)
  await client.query('DELETE FROM schema_migrations WHERE version = 5')
  await client.query('COMMIT')
}

/** Every page (following `next`), the total, an offset page, a histogram, the reason facets and the oldest match of a filter. */
async function reads(store: EventStore, filter: TimelineFilter) {
  const ids: string[] = []
  let after
  let total = -1
  for (;;) {
    const page = await store.timeline(filter, 100, after)
    if (total < 0) total = page.total
    ids.push(...page.items.map(({ id }) => id))
    if (!page.next) break
    after = page.next
  }
  const range = { since: END - DAY_MS, until: END }
  return {
    ids,
    total,
    offset: (await store.timelineByOffset(filter, 7, 20)).items.map(({ id }) => id),
    histogram: await store.histogram({ ...filter, ...range }, 3_600_000, 24),
    rowHistogram: await store.histogram({ ...filter, ...range, reasons: ['BackOff', 'Unhealthy', 'ProviderRegistered'] }, 3_600_000, 24),
    facets: await store.facets(filter, 'reason', 10),
    oldest: await store.oldestMatch(filter),
  }
}

describe.skipIf(skip)('PostgreSQL migration 5: no every-mesh copies of entity views', () => {
  const schema = testSchema()
  let client: pg.Client | undefined
  afterAll(async () => {
    await client?.end()
    await dropSchema(schema)
  })

  it('migrates a database with every-mesh copies in place: the links this version writes, the same timelines', async () => {
    let store = await PgStore.open(TEST_PG_URL, { schema })
    const world = createWorld(20_240_601)
    for (const events of inChunks(generateEvents(world, { count: 4000, seed: 11, end: END, spanMs: DAY_MS }), 500)) {
      await store.writeBatch({ events, catalog: [], checkpoints: [], outbox: [] })
    }
    client = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${schema}` })
    await client.connect()
    const db = client
    const links = async () =>
      (await db.query('SELECT v.mesh, v.kind, v.entity, l.time, l.rid, l.source, l.warning FROM event_links AS l JOIN views AS v ON v.id = l.view ORDER BY 1, 2, 3, 4, 5')).rows
    const viewLists = async () =>
      (
        await db.query(
          `SELECT e.rid, array_agg(v.mesh || '/' || v.kind || '/' || v.entity ORDER BY u.n) AS views
           FROM events AS e CROSS JOIN LATERAL unnest(e.views) WITH ORDINALITY AS u (view, n) JOIN views AS v ON v.id = u.view GROUP BY e.rid ORDER BY e.rid`,
        )
      ).rows
    const written = { links: await links(), views: await viewLists() }
    // Entities in two meshes (applications, IPs), whose every-mesh timelines merge two views.
    const { rows: spread } = await db.query<{ kind: string; entity: string }>(
      `SELECT kind, entity FROM (
         SELECT v.kind, v.entity, row_number() OVER (PARTITION BY v.kind ORDER BY count(*) DESC) AS n
         FROM views AS v JOIN event_links AS l ON l.view = v.id GROUP BY v.kind, v.entity HAVING count(DISTINCT v.mesh) > 1) AS ranked
       WHERE n <= 2`,
    )
    expect(spread.map(({ kind }) => kind)).toEqual(expect.arrayContaining(['a', 'p']))
    expect(written.links.filter(({ source }) => source >= SECONDARY_LINK).length).toBeGreaterThan(0)
    const key = { a: 'application', i: 'instance', p: 'ip', s: 'service' } as const
    const filters: TimelineFilter[] = [
      ...spread.map(({ kind, entity }) => ({ [key[kind as keyof typeof key]]: entity })),
      ...spread.map(({ kind, entity }) => ({ [key[kind as keyof typeof key]]: entity, type: 'warning' as const, sources: ['kubernetes' as const] })),
      { application: spread.find(({ kind }) => kind === 'a')!.entity, q: 'container' },
      {},
    ]
    const before = []
    for (const filter of filters) before.push(await reads(store, filter))
    await store.close()

    await withEveryMeshCopies(db)
    expect((await db.query("SELECT count(*)::int AS n FROM views WHERE mesh = ''")).rows[0]!.n).toBeGreaterThan(0)
    expect((await links()).length).toBeGreaterThan(written.links.length)

    store = await PgStore.open(TEST_PG_URL, { schema })
    try {
      expect((await db.query('SELECT max(version) AS v FROM schema_migrations')).rows[0]!.v).toBe(MIGRATIONS.length)
      expect((await db.query("SELECT count(*)::int AS n FROM views WHERE mesh = ''")).rows[0]!.n).toBe(0)
      expect(await links()).toEqual(written.links)
      expect(await viewLists()).toEqual(written.views)
      // The primary key was rebuilt under its own name (the plan tests and the writer's ON CONFLICT rely on it).
      expect((await db.query("SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND indexname = 'event_links_pkey'", [schema])).rows[0]!.n).toBe(1)
      for (const [index, filter] of filters.entries()) expect(await reads(store, filter), JSON.stringify(filter)).toEqual(before[index])
    } finally {
      await store.close()
    }
  }, 300_000)
})

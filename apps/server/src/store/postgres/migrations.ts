/**
 * Numbered PostgreSQL schema migrations, tracked in `schema_migrations`. Each runs in its own
 * transaction under a transaction-scoped advisory lock, so replicas starting together migrate
 * once (the others wait, then see the version and skip). Never edit a released migration,
 * append a new one.
 *
 * Text that is compared or ordered (ids, names, checkpoint keys) is `COLLATE "C"`: byte order,
 * as SQLite's BINARY, so paging order is the same on both engines whatever the database locale,
 * and a key prefix is an index range.
 */
import type { PoolClient } from 'pg'

export const MIGRATIONS: readonly string[] = [
  // 1: events, interned views and their links, full-text search, catalog, checkpoints, outbox.
  `
  CREATE SEQUENCE event_seq AS bigint;
  CREATE SEQUENCE outbox_seq AS bigint;

  CREATE TABLE events (
    rid            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             text    COLLATE "C" NOT NULL UNIQUE,
    time           bigint  NOT NULL,  -- last occurrence, epoch ms
    first_time     bigint  NOT NULL,
    seq            bigint  NOT NULL,  -- store sequence (event_seq), grows with every insert and update
    count          integer NOT NULL CHECK (count >= 1),
    type           text    NOT NULL CHECK (type IN ('normal', 'warning')),
    reason         text    NOT NULL,
    message        text    NOT NULL,
    source         text    NOT NULL,
    component      text    NOT NULL,
    host           text,
    mesh           text    COLLATE "C" NOT NULL,
    obj_kind       text    NOT NULL,
    obj_name       text    NOT NULL,
    obj_namespace  text,
    obj_uid        text,
    obj_field_path text,
    application    text,
    instance       text,
    ip             text,
    service        text,
    category       text,
    action         text,
    -- The interned views (views.id) this event is linked under: its links are deleted by primary
    -- key from this list, without an index on event_links.rid.
    views          integer[] NOT NULL,
    -- Words of reason and message as the stream filter splits them (letters and digits, case
    -- folded, computed by the writer), so search matches the same events live and in history.
    search         tsvector NOT NULL
  );
  -- Timelines page newest first with a (time, id) row-value cursor.
  CREATE INDEX events_by_time ON events (time, id);
  CREATE INDEX events_by_mesh_time ON events (mesh, time, id);
  CREATE UNIQUE INDEX events_by_seq ON events (seq);
  CREATE INDEX events_search ON events USING gin (search);

  -- A view is (mesh, entity kind, entity), mesh '' being the every-mesh view and kind a
  -- one-letter code (a application, i instance, p IP, s service). Interned once, so a link row
  -- carries a 4-byte id instead of three strings.
  CREATE TABLE views (
    id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mesh   text COLLATE "C" NOT NULL,
    kind   text COLLATE "C" NOT NULL,
    entity text COLLATE "C" NOT NULL,
    UNIQUE (mesh, kind, entity)
  );

  -- One row per (view, event), keyed by integers: every view is one range scan of the primary
  -- key in time order. type and source ride along (they fit the row's alignment padding) so the
  -- capped count of a view filtered by them does not read events.
  CREATE TABLE event_links (
    time    bigint   NOT NULL,
    rid     bigint   NOT NULL,
    view    integer  NOT NULL,
    source  smallint NOT NULL,
    warning boolean  NOT NULL,
    PRIMARY KEY (view, time, rid)
  );

  CREATE TABLE meshes (
    name         text COLLATE "C" PRIMARY KEY,
    kind         text NOT NULL,
    address      text NOT NULL DEFAULT '',
    last_sync_at bigint
  );
  CREATE TABLE mesh_event_counts (
    mesh   text COLLATE "C" PRIMARY KEY,
    events bigint NOT NULL
  );
  CREATE TABLE applications (
    mesh text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    PRIMARY KEY (mesh, name)
  );
  CREATE INDEX applications_by_name ON applications (name);
  CREATE TABLE instances (
    mesh        text    COLLATE "C" NOT NULL,
    name        text    COLLATE "C" NOT NULL,
    ip          text    COLLATE "C",
    port        integer,
    application text    COLLATE "C",
    namespace   text,
    node        text,
    phase       text,
    registered  boolean NOT NULL DEFAULT false,
    gone_at     bigint,
    sources     text[]  NOT NULL DEFAULT '{}',
    labels      jsonb,
    updated_at  bigint  NOT NULL,
    PRIMARY KEY (mesh, name)
  );
  CREATE INDEX instances_by_ip ON instances (ip) WHERE ip IS NOT NULL;
  CREATE INDEX instances_by_application ON instances (mesh, application);
  CREATE TABLE services (
    mesh    text COLLATE "C" NOT NULL,
    name    text COLLATE "C" NOT NULL,
    version text,
    grp     text,
    PRIMARY KEY (mesh, name)
  );
  CREATE TABLE service_instances (
    mesh        text COLLATE "C" NOT NULL,
    service     text COLLATE "C" NOT NULL,
    side        text COLLATE "C" NOT NULL CHECK (side IN ('provider', 'consumer')),
    instance    text COLLATE "C" NOT NULL,
    application text COLLATE "C",
    PRIMARY KEY (mesh, service, side, instance)
  );
  CREATE INDEX service_instances_by_instance ON service_instances (mesh, instance);
  CREATE INDEX service_instances_by_application ON service_instances (mesh, application);

  CREATE TABLE checkpoints (
    key        text COLLATE "C" PRIMARY KEY,
    value      text NOT NULL,
    updated_at bigint NOT NULL
  );

  -- The outbox of at-least-once forwarding (see the SQLite migration 3 for the semantics).
  CREATE TABLE outbox (
    sink       text   COLLATE "C" NOT NULL,
    seq        bigint NOT NULL,
    event_id   text   COLLATE "C",
    alert      text,
    created_at bigint NOT NULL,
    CHECK ((event_id IS NULL) <> (alert IS NULL)),
    PRIMARY KEY (sink, seq)
  );
  CREATE UNIQUE INDEX outbox_by_event ON outbox (sink, event_id) WHERE event_id IS NOT NULL;
  `,
  // 2: the pod-to-IP history (SQLite migration 4) and the ingestion activity record (SQLite
  // migration 6), the same columns and keys.
  `
  CREATE TABLE pod_ips (
    ip    text   COLLATE "C" NOT NULL,
    since bigint NOT NULL,  -- epoch ms the pod was first seen with the IP
    mesh  text   COLLATE "C" NOT NULL,
    pod   text   COLLATE "C" NOT NULL,
    until bigint,           -- epoch ms it left the IP (deleted, gone from a list, moved); NULL while it has it
    PRIMARY KEY (ip, since, mesh, pod)
  );
  CREATE INDEX pod_ips_open ON pod_ips (mesh, pod) WHERE until IS NULL;
  INSERT INTO pod_ips (ip, since, mesh, pod, until)
    SELECT ip, least(updated_at, coalesce(gone_at, updated_at)), mesh, name, gone_at FROM instances WHERE namespace IS NOT NULL AND ip IS NOT NULL
    ON CONFLICT DO NOTHING;

  CREATE TABLE ingest_activity (
    mesh       text   COLLATE "C" NOT NULL,
    source     text   COLLATE "C" NOT NULL,
    started    bigint NOT NULL,  -- epoch ms: began ingesting
    last_seen  bigint NOT NULL,  -- epoch ms: closed, or last heartbeat while open
    end_reason text,             -- stopped, connecting, error, disabled, crashed; NULL while open
    resumed_by text,             -- a resumption that may have lost events (relist-410); else NULL
    PRIMARY KEY (mesh, source, started)
  );
  CREATE INDEX ingest_activity_by_last_seen ON ingest_activity (last_seen);
  `,
  // 3: replicas: the leader lease (holder, fencing epoch, expiry on the database clock) and the
  // mesh connection states the leader's sources report, read by every replica.
  `
  CREATE TABLE leader_lease (
    name        text COLLATE "C" PRIMARY KEY,
    holder      text NOT NULL,
    epoch       bigint NOT NULL CHECK (epoch >= 1),
    acquired_at timestamptz NOT NULL,
    renewed_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
  );

  CREATE TABLE mesh_status (
    mesh       text COLLATE "C" PRIMARY KEY,
    status     text NOT NULL,
    error      text,
    updated_at bigint NOT NULL
  );
  `,
  // 4: the lease epoch each mesh state was written under: a reader tells a live leader's states
  // from those a dead (or deposed) leader left behind. Older rows get 0, which is never current.
  `
  ALTER TABLE mesh_status ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
  `,
  // 5: no every-mesh copies of entity views (issue 14, SQLite migration 8). An event belongs to one
  // mesh, so the every-mesh timeline of an entity is the union of its views in each mesh, read one
  // range scan per mesh; the copies (mesh '', a link per entity view of every event) go, with their
  // views. Only an event correlated into one entity in two meshes is in two of those views: its
  // first link to the entity (in events.views order, the order links are written in) is its
  // primary one, and the others are marked secondary (64 added to the source code) so the union
  // lists it once. The links are copied into a new table rather than deleted in place, so the
  // space of the copies is returned at once (a DELETE leaves it to VACUUM); the events' view lists
  // lose the copies' ids. The every-mesh view of all events is events_by_time: it stays.
  // The new primary key carries source and warning (INCLUDE): the union reads primary links only,
  // and a count of it (or of any view by type or source) is then an index-only scan instead of a
  // heap fetch per link (measured on 100k events: 12 -> 6 ms for a count of 10,001 over two views),
  // for 8 more bytes per index entry. It rewrites every link and event row, which on a large
  // database can outlast the write budget of one statement: it has none (cut off, it would roll
  // back and run again at every start).
  `
  SET LOCAL statement_timeout = 0;
  CREATE TEMP TABLE m5_copies ON COMMIT DROP AS SELECT id FROM views WHERE mesh = '';
  CREATE TEMP TABLE m5_secondary ON COMMIT DROP AS
    SELECT s.view, s.time, s.rid FROM (
      SELECT u.view, e.time, e.rid, row_number() OVER (PARTITION BY e.rid, v.kind, v.entity ORDER BY u.n) AS n
      FROM events AS e CROSS JOIN LATERAL unnest(e.views) WITH ORDINALITY AS u (view, n) JOIN views AS v ON v.id = u.view
      WHERE v.mesh <> '') AS s
    WHERE s.n > 1;
  CREATE TABLE event_links_m5 (
    time    bigint   NOT NULL,
    rid     bigint   NOT NULL,
    view    integer  NOT NULL,
    source  smallint NOT NULL,
    warning boolean  NOT NULL
  );
  INSERT INTO event_links_m5 (time, rid, view, source, warning)
    SELECT l.time, l.rid, l.view, l.source + CASE WHEN s.view IS NULL THEN 0 ELSE 64 END, l.warning
    FROM event_links AS l LEFT JOIN m5_secondary AS s ON s.view = l.view AND s.time = l.time AND s.rid = l.rid
    WHERE NOT EXISTS (SELECT 1 FROM m5_copies AS c WHERE c.id = l.view)
    ORDER BY l.view, l.time, l.rid;
  DROP TABLE event_links;
  ALTER TABLE event_links_m5 RENAME TO event_links;
  ALTER TABLE event_links ADD CONSTRAINT event_links_pkey PRIMARY KEY (view, time, rid) INCLUDE (source, warning);
  UPDATE events AS e SET views = ARRAY(
      SELECT u.view FROM unnest(e.views) WITH ORDINALITY AS u (view, n) WHERE NOT EXISTS (SELECT 1 FROM m5_copies AS c WHERE c.id = u.view) ORDER BY u.n)
    WHERE e.views && ARRAY(SELECT id FROM m5_copies);
  DELETE FROM views WHERE mesh = '';
  ANALYZE event_links;
  `,
]

/** With a hash of the schema, the key of the lock every Eventline of one schema migrates under (other schemas never wait). */
const MIGRATION_LOCK = 0x4576_4c6e // "EvLn"

/**
 * Applies every migration newer than the recorded version, each in its own transaction. The
 * advisory lock is transaction-scoped, so it also works behind a transaction-pooling PgBouncer.
 */
export async function migrate(client: PoolClient): Promise<void> {
  for (;;) {
    await client.query('BEGIN')
    try {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [MIGRATION_LOCK])
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations')
      const current = rows[0]?.version ?? 0
      if (current > MIGRATIONS.length) {
        throw new Error(`database schema version ${current} is newer than this Eventline (${MIGRATIONS.length}); upgrade Eventline`)
      }
      if (current === MIGRATIONS.length) {
        await client.query('COMMIT')
        return
      }
      await client.query(MIGRATIONS[current]!)
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [current + 1])
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    }
  }
}

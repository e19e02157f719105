/**
 * Numbered schema migrations, tracked by `PRAGMA user_version`. Each runs in its own
 * transaction; never edit a released migration, append a new one.
 */

export const MIGRATIONS: readonly string[] = [
  // 1: events, correlation links, full-text index, catalog, checkpoints.
  `
  CREATE TABLE events (
    rid            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    time           INTEGER NOT NULL,  -- last occurrence, epoch ms
    first_time     INTEGER NOT NULL,
    count          INTEGER NOT NULL CHECK (count >= 1),
    type           TEXT    NOT NULL CHECK (type IN ('normal', 'warning')),
    reason         TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    component      TEXT    NOT NULL,
    host           TEXT,
    mesh           TEXT    NOT NULL,
    obj_kind       TEXT    NOT NULL,
    obj_name       TEXT    NOT NULL,
    obj_namespace  TEXT,
    obj_uid        TEXT,
    obj_field_path TEXT,
    application    TEXT,
    instance       TEXT,
    ip             TEXT,
    service        TEXT,
    category       TEXT,
    action         TEXT,
    seq            INTEGER NOT NULL,  -- store sequence, grows with every insert and update
    views          TEXT    NOT NULL   -- JSON [[mesh, kind, entity], ...]: the event_links rows of this event
  ) STRICT;

  -- Timelines page newest first with a (time, id) row-value cursor. type and source trail the
  -- key so their filters are checked inside the index, before any row is read.
  CREATE INDEX events_by_time ON events (time, id, type, source);
  CREATE INDEX events_by_mesh_time ON events (mesh, time, id, type, source);

  -- One row per (view, event): the view is (mesh, entity kind, entity), mesh '' being the
  -- every-mesh view and kind a one-letter code (a application, i instance, p IP, s service).
  -- An event belongs to several views (its application, instance, IP and services, plus
  -- correlated views in other meshes), and every view is one range scan. The event row keeps
  -- the list of its views (events.views), so its links are deleted by primary key without an
  -- index on event_id, which would cost as much space as the links themselves.
  CREATE TABLE event_links (
    mesh     TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    entity   TEXT    NOT NULL,
    time     INTEGER NOT NULL,
    event_id TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    PRIMARY KEY (mesh, kind, entity, time, event_id)
  ) STRICT, WITHOUT ROWID;

  CREATE VIRTUAL TABLE events_fts USING fts5 (
    reason, message, content = 'events', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_fts (rowid, reason, message) VALUES (new.rid, new.reason, new.message);
  END;
  CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, reason, message) VALUES ('delete', old.rid, old.reason, old.message);
  END;
  CREATE TRIGGER events_fts_update AFTER UPDATE OF reason, message ON events
  WHEN old.reason IS NOT new.reason OR old.message IS NOT new.message BEGIN
    INSERT INTO events_fts (events_fts, rowid, reason, message) VALUES ('delete', old.rid, old.reason, old.message);
    INSERT INTO events_fts (rowid, reason, message) VALUES (new.rid, new.reason, new.message);
  END;

  CREATE TABLE meshes (
    name         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    address      TEXT NOT NULL DEFAULT '',
    last_sync_at INTEGER
  ) STRICT;

  -- Events per mesh, kept by the writer and retention in their transactions: /meshes is read on
  -- every console page and must not count millions of index entries each time.
  CREATE TABLE mesh_event_counts (
    mesh   TEXT PRIMARY KEY,
    events INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE applications (
    mesh TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (mesh, name)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX applications_by_name ON applications (name);

  CREATE TABLE instances (
    mesh        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    ip          TEXT,
    port        INTEGER,
    application TEXT,
    namespace   TEXT,
    node        TEXT,
    phase       TEXT,
    registered  INTEGER NOT NULL DEFAULT 0,
    gone_at     INTEGER,                        -- set when the instance left; its history stays
    sources     TEXT    NOT NULL DEFAULT '[]',  -- JSON array of reporting sources
    labels      TEXT,                           -- JSON object
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (mesh, name)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX instances_by_ip ON instances (ip) WHERE ip IS NOT NULL;
  CREATE INDEX instances_by_application ON instances (mesh, application);

  CREATE TABLE services (
    mesh       TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT,
    grp        TEXT,
    PRIMARY KEY (mesh, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE service_instances (
    mesh        TEXT NOT NULL,
    service     TEXT NOT NULL,
    side        TEXT NOT NULL CHECK (side IN ('provider', 'consumer')),
    instance    TEXT NOT NULL,
    application TEXT,
    PRIMARY KEY (mesh, service, side, instance)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX service_instances_by_instance ON service_instances (mesh, instance);
  CREATE INDEX service_instances_by_application ON service_instances (mesh, application);

  CREATE TABLE checkpoints (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 2: the live stream resumes from a store sequence (`Last-Event-ID`): events by seq.
  `
  CREATE UNIQUE INDEX events_by_seq ON events (seq);
  `,
  // 3: the outbox of at-least-once forwarding, written in the same transaction as the events.
  // Each sink reads its queue in seq order from the primary key and deletes what it delivered by
  // key. An event entry names the event (read back at delivery, so it carries the current state)
  // and is unique per (sink, event): a repeat while pending moves the one entry to a new seq rather
  // than queueing the same state twice. An alert entry carries its notice as JSON.
  `
  CREATE TABLE outbox (
    sink       TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    event_id   TEXT,
    alert      TEXT,
    created_at INTEGER NOT NULL,  -- epoch ms of the first write: how long the entry has waited
    CHECK ((event_id IS NULL) <> (alert IS NULL)),
    PRIMARY KEY (sink, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE UNIQUE INDEX outbox_by_event ON outbox (sink, event_id) WHERE event_id IS NOT NULL;
  `,
  // 4: search that stays fast with other filters (issue 11). The FTS table gains prefix indexes of
  // 1, 2 and 3 characters: every search word is a prefix query, and without them a short prefix
  // ("a*") is a merge of every term it starts, per query and per probed row (8.8 ms per probe at
  // 60,000 events, 0.03 ms with). Same external content and triggers; the rebuild reads every
  // event once (about a minute at a million events, once).
  `
  DROP TRIGGER events_fts_insert;
  DROP TRIGGER events_fts_delete;
  DROP TRIGGER events_fts_update;
  DROP TABLE events_fts;
  CREATE VIRTUAL TABLE events_fts USING fts5 (
    reason, message, content = 'events', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
  );
  INSERT INTO events_fts (events_fts) VALUES ('rebuild');
  CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_fts (rowid, reason, message) VALUES (new.rid, new.reason, new.message);
  END;
  CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, reason, message) VALUES ('delete', old.rid, old.reason, old.message);
  END;
  CREATE TRIGGER events_fts_update AFTER UPDATE OF reason, message ON events
  WHEN old.reason IS NOT new.reason OR old.message IS NOT new.message BEGIN
    INSERT INTO events_fts (events_fts, rowid, reason, message) VALUES ('delete', old.rid, old.reason, old.message);
    INSERT INTO events_fts (rowid, reason, message) VALUES (new.rid, new.reason, new.message);
  END;
  `,
  // 5: when each source of each mesh was ingesting (issue 13: gaps). One row per period, from
  // the source connecting to it stopping; an open period's last_seen is moved by a heartbeat, so
  // after a crash the period ends at its last heartbeat. Gaps are the time between periods.
  `
  CREATE TABLE ingest_activity (
    mesh        TEXT    NOT NULL,
    source      TEXT    NOT NULL,  -- source kind: kubernetes, zookeeper, nacos, demo
    started     INTEGER NOT NULL,  -- epoch ms: began ingesting
    last_seen   INTEGER NOT NULL,  -- epoch ms: closed, or last heartbeat while open
    end_reason  TEXT,              -- stopped, connecting, error, disabled, crashed; NULL while open
    resumed_by  TEXT,              -- a resumption that may have lost events (relist-410); else NULL
    PRIMARY KEY (mesh, source, started)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX ingest_activity_by_last_seen ON ingest_activity (last_seen);
  `,
]

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
  // 4: registry fidelity (issue 12).
  // (a) Pod-to-IP history, as the pod watch sees it: which pod had an IP when, so a registry event
  // at an IP is linked to the pod that had the IP at the event's time (a pod IP is reused later by
  // other pods). Seeded from the pods the catalog knows, from their last update.
  // (b) ZooKeeper consumers were named by their IP, so two consumer applications on one host were
  // one instance; they are now `<application>@<ip>`. The consumers ZooKeeper holds are read from the
  // source's node state (checkpoints `{mesh}:node:/{root}/{interface}/consumers/{URL-encoded URL}`):
  // catalog rows and memberships are carried to the new names, as are the instance views of the
  // events stored under the old ones. The node state itself is keyed by znode path and needs no
  // change, so the next start diffs it as before and records no event. A URL whose application or
  // interface is itself percent-encoded is left to that next start, whose full sync re-derives the
  // catalog of every node.
  `
  CREATE TABLE pod_ips (
    ip    TEXT    NOT NULL,
    since INTEGER NOT NULL,  -- epoch ms the pod was first seen with the IP
    mesh  TEXT    NOT NULL,
    pod   TEXT    NOT NULL,
    until INTEGER,           -- epoch ms it left the IP (deleted, gone from a list, moved); NULL while it has it
    PRIMARY KEY (ip, since, mesh, pod)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX pod_ips_open ON pod_ips (mesh, pod) WHERE until IS NULL;
  INSERT OR IGNORE INTO pod_ips (ip, since, mesh, pod, until)
    SELECT ip, min(updated_at, coalesce(gone_at, updated_at)), mesh, name, gone_at FROM instances WHERE namespace IS NOT NULL AND ip IS NOT NULL;

  CREATE TEMP TABLE m4_consumers AS
  WITH nodes AS (
    SELECT substr(c.key, 1, instr(c.key, ':node:/') - 1) AS mesh, substr(c.key, instr(c.key, ':node:/') + 6) AS path
    FROM checkpoints AS c WHERE c.key GLOB '*:node:/*/consumers/*'
  ), split AS (
    SELECT mesh, substr(path, 1, instr(path, '/consumers/') - 1) AS folder, substr(path, instr(path, '/consumers/') + 11) AS node
    FROM nodes WHERE mesh IN (SELECT name FROM meshes WHERE kind = 'zookeeper')
  ), url AS (
    SELECT mesh, folder,
      substr(node, instr(node, '%3A%2F%2F') + 9) AS rest,
      CASE WHEN instr(node, '%3F') > 0 THEN '%26' || substr(node, instr(node, '%3F') + 3) || '%26' ELSE '' END AS q
    FROM split WHERE instr(node, '%3A%2F%2F') > 0
  ), params AS (
    SELECT mesh, folder,
      CASE WHEN substr(rest, 1, 3) = '%5B' AND instr(rest, '%5D') > 0 THEN replace(substr(rest, 4, instr(rest, '%5D') - 4), '%3A', ':')
           ELSE substr(rest, 1, min(coalesce(nullif(instr(rest, '%2F'), 0), 1000000000), coalesce(nullif(instr(rest, '%3F'), 0), 1000000000), coalesce(nullif(instr(rest, '%3A'), 0), 1000000000)) - 1)
      END AS ip,
      nullif(CASE WHEN instr(q, '%26application%3D') > 0 THEN substr(substr(q, instr(q, '%26application%3D') + 17), 1, instr(substr(q, instr(q, '%26application%3D') + 17), '%26') - 1) END, '') AS application_param,
      nullif(CASE WHEN instr(q, '%26appName%3D') > 0 THEN substr(substr(q, instr(q, '%26appName%3D') + 13), 1, instr(substr(q, instr(q, '%26appName%3D') + 13), '%26') - 1) END, '') AS app_name_param,
      nullif(CASE WHEN instr(q, '%26interface%3D') > 0 THEN substr(substr(q, instr(q, '%26interface%3D') + 15), 1, instr(substr(q, instr(q, '%26interface%3D') + 15), '%26') - 1) END, '') AS interface_param
    FROM url
  )
  SELECT mesh, ip, coalesce(application_param, app_name_param) AS application,
    coalesce(interface_param, replace(folder, rtrim(folder, replace(folder, '/', '')), '')) AS service
  FROM params
  WHERE ip <> '' AND ip NOT GLOB '*[%+]*' AND coalesce(application_param, app_name_param) IS NOT NULL
    AND coalesce(application_param, app_name_param) NOT GLOB '*[%+]*' AND coalesce(interface_param, '') NOT GLOB '*[%+]*';

  -- Old name -> new name: every consumer application ZooKeeper holds at an IP, and consumers already
  -- gone (their row kept for history) under the application they were last seen with.
  CREATE TEMP TABLE m4_moves AS
    SELECT DISTINCT mesh, ip AS old, application || '@' || ip AS new, application FROM m4_consumers
    UNION
    SELECT i.mesh, i.name, i.application || '@' || i.name, i.application FROM instances AS i
    WHERE i.gone_at IS NOT NULL AND i.application IS NOT NULL AND i.port IS NULL AND i.namespace IS NULL AND i.name = i.ip
      AND i.mesh IN (SELECT name FROM meshes WHERE kind = 'zookeeper')
      AND NOT EXISTS (SELECT 1 FROM m4_consumers AS c WHERE c.mesh = i.mesh AND c.ip = i.name);

  INSERT OR IGNORE INTO applications (mesh, name) SELECT DISTINCT mesh, application FROM m4_moves;
  INSERT OR IGNORE INTO instances (mesh, name, ip, port, application, registered, gone_at, sources, labels, updated_at)
    SELECT m.mesh, m.new, i.ip, NULL, m.application, i.registered, i.gone_at, i.sources, i.labels, i.updated_at
    FROM m4_moves AS m JOIN instances AS i ON i.mesh = m.mesh AND i.name = m.old;
  DELETE FROM instances WHERE (mesh, name) IN (SELECT mesh, old FROM m4_moves);
  DELETE FROM service_instances WHERE side = 'consumer' AND (mesh, instance) IN (SELECT mesh, old FROM m4_moves);
  INSERT OR IGNORE INTO service_instances (mesh, service, side, instance, application)
    SELECT DISTINCT mesh, service, 'consumer', application || '@' || ip, application FROM m4_consumers;

  -- Events linked under an old consumer name in a ZooKeeper mesh: a consumer event moves to its own
  -- application's instance; any other (a correlated pod event) to every instance the name became.
  CREATE TEMP TABLE m4_events AS
    SELECT e.id, e.time, e.type, e.source, e.views,
      (e.source = 'zookeeper' AND e.obj_kind = 'Consumer' AND e.application IS NOT NULL AND e.ip IS NOT NULL AND e.instance = e.ip) AS own,
      e.application || '@' || e.ip AS own_name
    FROM events AS e
    WHERE e.id IN (
      SELECT l.event_id FROM event_links AS l
      WHERE l.mesh IN (SELECT name FROM meshes WHERE kind = 'zookeeper') AND l.kind = 'i'
        AND l.entity NOT GLOB '*@*' AND l.entity NOT GLOB '[[]*' AND length(l.entity) - length(replace(l.entity, ':', '')) <> 1
    );
  CREATE TEMP TABLE m4_old_views AS
    SELECT e.id, json_extract(v.value, '$[0]') AS m, json_extract(v.value, '$[1]') AS k, json_extract(v.value, '$[2]') AS ent
    FROM m4_events AS e, json_each(e.views) AS v;
  CREATE TEMP TABLE m4_new_views (id TEXT, m TEXT, k TEXT, ent TEXT, PRIMARY KEY (id, m, k, ent));
  INSERT OR IGNORE INTO m4_new_views SELECT id, m, k, ent FROM m4_old_views WHERE k <> 'i' OR m = '';
  INSERT OR IGNORE INTO m4_new_views
    SELECT v.id, v.m, v.k,
      CASE WHEN e.own AND v.m IN (SELECT name FROM meshes WHERE kind = 'zookeeper') AND v.ent NOT GLOB '*@*' AND v.ent NOT GLOB '[[]*'
                AND length(v.ent) - length(replace(v.ent, ':', '')) <> 1 THEN e.own_name ELSE v.ent END
    FROM m4_old_views AS v JOIN m4_events AS e ON e.id = v.id
    WHERE v.k = 'i' AND v.m <> '' AND (e.own OR NOT EXISTS (SELECT 1 FROM m4_moves AS mv WHERE mv.mesh = v.m AND mv.old = v.ent));
  INSERT OR IGNORE INTO m4_new_views
    SELECT v.id, v.m, v.k, mv.new
    FROM m4_old_views AS v JOIN m4_events AS e ON e.id = v.id JOIN m4_moves AS mv ON mv.mesh = v.m AND mv.old = v.ent
    WHERE v.k = 'i' AND v.m <> '' AND NOT e.own;
  -- The every-mesh instance views are those of the meshes, as eventViews() writes them.
  DELETE FROM m4_new_views WHERE m = '' AND k = 'i';
  INSERT OR IGNORE INTO m4_new_views SELECT DISTINCT id, '', 'i', ent FROM m4_new_views WHERE k = 'i' AND m <> '';

  DELETE FROM event_links WHERE (mesh, kind, entity, time, event_id) IN (
    SELECT v.m, v.k, v.ent, e.time, e.id FROM m4_old_views AS v JOIN m4_events AS e ON e.id = v.id WHERE v.k = 'i');
  INSERT OR IGNORE INTO event_links (mesh, kind, entity, time, event_id, type, source)
    SELECT v.m, v.k, v.ent, e.time, e.id, e.type, e.source FROM m4_new_views AS v JOIN m4_events AS e ON e.id = v.id WHERE v.k = 'i';
  UPDATE events SET
    views = (SELECT json_group_array(json_array(v.m, v.k, v.ent)) FROM m4_new_views AS v WHERE v.id = events.id),
    instance = CASE WHEN (SELECT own FROM m4_events AS e WHERE e.id = events.id) THEN application || '@' || ip ELSE instance END
  WHERE id IN (SELECT id FROM m4_events);

  DROP TABLE m4_consumers;
  DROP TABLE m4_moves;
  DROP TABLE m4_events;
  DROP TABLE m4_old_views;
  DROP TABLE m4_new_views;
  `,
  // 5: search that stays fast with other filters (issue 11). The FTS table gains prefix indexes of
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
  // 6: when each source of each mesh was ingesting (issue 13: gaps). One row per period, from
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
  // 7: lean storage (issue 14). A view (mesh, kind, entity) is interned once in `views`, and a link
  // row is integers only: (view, time, rid) as its key, with the event's source as a small code
  // and whether it is a warning (0/1 take no bytes in a record), so a view's filters by type and
  // source are still checked in the index. An event lists its views as their ids ("3 17 42") to
  // delete its links by key. Every event also has a link in its mesh's view and in the every-mesh
  // view (kind m), which replace the two indexes on events by time. Within one millisecond a view's links are in rid order, not id
  // order: the timeline plans sort those ties (a sort of the rows of one time, bounded by the
  // page) to serve (time desc, id desc) exactly.
  `
  CREATE TABLE views (
    id     INTEGER PRIMARY KEY,
    mesh   TEXT NOT NULL,  -- '' for the every-mesh view
    kind   TEXT NOT NULL,  -- a application, i instance, p IP, s service
    entity TEXT NOT NULL,
    UNIQUE (mesh, kind, entity)
  ) STRICT;
  INSERT INTO views (mesh, kind, entity) SELECT DISTINCT mesh, kind, entity FROM event_links ORDER BY mesh, kind, entity;
  -- The store's own views of every event of a mesh (kind m, entity ''; mesh '' for every mesh)
  -- drive the mesh-wide and every-mesh timelines and retention: a link row per event and view
  -- instead of the two (time, id, type, source) indexes on events.
  INSERT INTO views (mesh, kind, entity) VALUES ('', 'm', '');
  INSERT INTO views (mesh, kind, entity) SELECT DISTINCT mesh, 'm', '' FROM events WHERE mesh <> '';

  CREATE TABLE links (
    view    INTEGER NOT NULL,
    time    INTEGER NOT NULL,
    rid     INTEGER NOT NULL,
    source  INTEGER NOT NULL,  -- 1 kubernetes, 2 zookeeper, 3 nacos, 4 api, 5 demo
    warning INTEGER NOT NULL,  -- 1 for type 'warning', else 0
    PRIMARY KEY (view, time, rid)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO links (view, time, rid, source, warning)
    SELECT v.id, l.time, e.rid,
      CASE l.source WHEN 'kubernetes' THEN 1 WHEN 'zookeeper' THEN 2 WHEN 'nacos' THEN 3 WHEN 'api' THEN 4 WHEN 'demo' THEN 5 END,
      l.type = 'warning'
    FROM event_links AS l
    JOIN views AS v ON v.mesh = l.mesh AND v.kind = l.kind AND v.entity = l.entity
    JOIN events AS e ON e.id = l.event_id
    UNION ALL
    SELECT v.id, e.time, e.rid,
      CASE e.source WHEN 'kubernetes' THEN 1 WHEN 'zookeeper' THEN 2 WHEN 'nacos' THEN 3 WHEN 'api' THEN 4 WHEN 'demo' THEN 5 END,
      e.type = 'warning'
    FROM events AS e JOIN views AS v ON v.mesh IN (e.mesh, '') AND v.kind = 'm' AND v.entity = ''
    ORDER BY 1, 2, 3;
  UPDATE events SET views = concat_ws(' ', (
    SELECT group_concat(v.id, ' ') FROM json_each(events.views) AS j
    JOIN views AS v ON v.mesh = j.value ->> 0 AND v.kind = j.value ->> 1 AND v.entity = j.value ->> 2),
    (SELECT group_concat(v.id, ' ') FROM views AS v WHERE v.mesh IN (events.mesh, '') AND v.kind = 'm' AND v.entity = ''));
  DROP INDEX events_by_time;
  DROP INDEX events_by_mesh_time;
  DROP TABLE event_links;
  ALTER TABLE links RENAME TO event_links;
  `,
  // 8: no every-mesh copies of entity views (issue 14). An event belongs to one mesh, so the
  // every-mesh timeline of an entity is the union of its views in each mesh, read one range scan
  // per mesh; the copies (a link per entity view of every event, about 100 bytes an event) go,
  // with their views. Only an event correlated into one entity in two meshes is in two of those
  // views: its first link to the entity (in events.views order, the order links are written in)
  // is its primary one, and the others are marked secondary (64 added to the source code) so the
  // union lists it once. The every-mesh view of all events (kind m) stays: retention walks it.
  `
  CREATE TEMP TABLE m8_copies (id INTEGER PRIMARY KEY);
  INSERT INTO m8_copies SELECT id FROM views WHERE mesh = '' AND kind <> 'm';
  DELETE FROM event_links WHERE view IN (SELECT id FROM m8_copies);
  CREATE TEMP TABLE m8_secondary AS
    SELECT view, time, rid FROM (
      SELECT v.id AS view, e.time, e.rid, row_number() OVER (PARTITION BY e.rid, v.kind, v.entity ORDER BY j.key) AS n
      FROM events AS e, json_each('[' || replace(e.views, ' ', ',') || ']') AS j JOIN views AS v ON v.id = j.value
      WHERE v.mesh <> '' AND v.kind <> 'm')
    WHERE n > 1;
  UPDATE event_links SET source = source + 64 FROM m8_secondary AS s
    WHERE event_links.view = s.view AND event_links.time = s.time AND event_links.rid = s.rid;
  UPDATE events SET views = (
    SELECT group_concat(j.value, ' ') FROM json_each('[' || replace(views, ' ', ',') || ']') AS j WHERE j.value NOT IN (SELECT id FROM m8_copies));
  DELETE FROM views WHERE id IN (SELECT id FROM m8_copies);
  DROP TABLE m8_copies;
  DROP TABLE m8_secondary;
  `,
  // 9: a smaller full-text index (issue 14). The 2- and 3-letter prefix indexes (about 150 of 320
  // bytes per event) are dropped: the `probe` search plan tests each row's own text (`ftsMatch`)
  // instead of probing the index, and elsewhere such a prefix is a merge of the few terms it
  // starts, once per search. The 1-letter index stays: a single letter starts a large part of all
  // terms. `columnsize = 0` drops the per-event token counts (11 bytes per event), which only
  // ranking (bm25) reads, and nothing ranks. Same external content and triggers; the rebuild
  // reads every event once.
  `
  DROP TRIGGER events_fts_insert;
  DROP TRIGGER events_fts_delete;
  DROP TRIGGER events_fts_update;
  DROP TABLE events_fts;
  CREATE VIRTUAL TABLE events_fts USING fts5 (
    reason, message, content = 'events', content_rowid = 'rid', tokenize = 'unicode61 remove_diacritics 2', prefix = '1', columnsize = 0
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
  // 10: the full-text index is written by the writer, once per batch, instead of by a trigger per
  // row (issue 14, ingest). Inside a write transaction each trigger runs as a statement savepoint,
  // and FTS5 writes its pending terms to disk at every savepoint: a one-event segment per insert,
  // merged again and again. At 200k events the trigger cost 78 µs per event, one
  // INSERT ... SELECT per batch 15-18. The delete trigger stays (it only fires for retention,
  // on rows committed and indexed); an update of an indexed row's text is re-indexed by the writer.
  `
  DROP TRIGGER events_fts_insert;
  DROP TRIGGER events_fts_update;
  `,
]

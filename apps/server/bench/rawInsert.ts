/**
 * The benchmark's baseline: the same rows the store writes (events, with the list of their views,
 * plus their event_links), into the same schema, with nothing but prepared better-sqlite3
 * statements in transactions of the caller's batch size. It is the floor our write path (bus,
 * batched writer, upsert, catalog, correlation) is measured against.
 *
 * To write exactly the store's link rows it calls the store's `eventViews` with in-memory maps in
 * place of the catalog queries: the instances and applications that events named so far, updated
 * after each event is linked (as `fillCatalog` runs after `link`). `servicesOfInstance` is always
 * empty here because the benchmark publishes no `service-instance` catalog changes. It has to
 * follow the store's schema by hand; the benchmark compares row counts and a sample of rows.
 */
import type { Statement } from 'better-sqlite3'
import { openDatabase } from '../src/store/sqlite/db.ts'
import type { Db } from '../src/store/sqlite/db.ts'
import { eventViews } from '../src/store/eventViews.ts'
import type { View, ViewLookup } from '../src/store/eventViews.ts'
import type { IngestEvent } from '../src/store/types.ts'

interface KnownInstance {
  mesh: string
  name: string
  ip: string | undefined
  application: string | undefined
}

export class RawInserter {
  readonly db: Db
  private readonly insertEvent: Statement
  private readonly insertLink: Statement
  private readonly insertBatch: (events: readonly IngestEvent[]) => void
  private seq = 0
  private readonly instances = new Map<string, KnownInstance>()
  private readonly instancesByIp = new Map<string, KnownInstance[]>()
  private readonly meshesByApplication = new Map<string, Set<string>>()

  constructor(path: string) {
    this.db = openDatabase(path)
    this.insertEvent = this.db.prepare(`INSERT INTO events (id, time, first_time, count, type, reason, message, source, component, host, mesh,
      obj_kind, obj_name, obj_namespace, obj_uid, obj_field_path, application, instance, ip, service, category, action, seq, views)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    this.insertLink = this.db.prepare('INSERT OR IGNORE INTO event_links (mesh, kind, entity, time, event_id, type, source) VALUES (?, ?, ?, ?, ?, ?, ?)')
    this.insertBatch = this.db.transaction((events: readonly IngestEvent[]) => {
      for (const event of events) this.insert(event)
    })
  }

  /** Inserts `events` in one transaction. */
  write(events: readonly IngestEvent[]): void {
    this.insertBatch(events)
  }

  private insert(e: IngestEvent): void {
    const time = Math.trunc(e.time)
    const views = this.views(e)
    this.insertEvent.run(
      e.id, time, Math.trunc(Math.min(e.firstTime ?? e.time, e.time)), Math.max(1, Math.trunc(e.count ?? 1)), e.type, e.reason, e.message,
      e.source, e.component, e.host ?? null, e.mesh, e.object.kind, e.object.name, e.object.namespace ?? null, e.object.uid ?? null,
      e.object.fieldPath ?? null, e.application ?? null, e.instance ?? null, e.ip ?? null, e.service ?? null, e.category ?? null,
      e.action ?? null, ++this.seq, JSON.stringify(views),
    )
    for (const [mesh, kind, entity] of views) this.insertLink.run(mesh, kind, entity, time, e.id, e.type, e.source)
    this.remember(e)
  }

  /** The views the store gives the event: the same `eventViews`, over in-memory look-ups. */
  private views(e: IngestEvent): View[] {
    return eventViews({ ...e, objectKind: e.object.kind }, this.lookup)
  }

  private readonly lookup: ViewLookup = {
    instancesByIp: (ip) => this.instancesByIp.get(ip) ?? [],
    servicesOfInstance: () => [],
    meshesWithApplication: (name) => [...(this.meshesByApplication.get(name) ?? [])],
  }

  /** What the store's `fillCatalog` records: applications per mesh, instances with IP and application. */
  private remember(e: IngestEvent): void {
    if (e.application) {
      let meshes = this.meshesByApplication.get(e.application)
      if (!meshes) this.meshesByApplication.set(e.application, (meshes = new Set()))
      meshes.add(e.mesh)
    }
    if (!e.instance) return
    const key = `${e.mesh}\u0000${e.instance}`
    let instance = this.instances.get(key)
    if (!instance) {
      instance = { mesh: e.mesh, name: e.instance, ip: undefined, application: undefined }
      this.instances.set(key, instance)
    }
    instance.application ??= e.application
    if (instance.ip === undefined && e.ip) {
      instance.ip = e.ip
      let sameIp = this.instancesByIp.get(e.ip)
      if (!sameIp) this.instancesByIp.set(e.ip, (sameIp = []))
      sameIp.push(instance)
    }
  }

  close(): void {
    this.db.close()
  }
}

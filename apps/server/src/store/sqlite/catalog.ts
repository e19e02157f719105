/**
 * Catalog (meshes, applications, instances, services) in SQLite: writes and reads. Also the
 * pod-to-IP history (`pod_ips`): a pod is an instance with a namespace (Kubernetes, the demo);
 * each IP a pod is seen with opens an interval that its deletion, its absence from a list or a
 * new IP closes. Times are when the write happens (catalog changes carry none).
 */
import type { ApplicationDetail, ApplicationSummary, Instance, MeshKind, ServiceDetail, ServiceSummary } from '@eventline/shared'
import type { CatalogChange, InstanceRecord, MeshRecord, ResourceListFilter, ResourceListResult } from '../types.ts'
import type { Statements } from './statements.ts'

interface InstanceRow {
  mesh: string
  name: string
  ip: string | null
  port: number | null
  application: string | null
  namespace: string | null
  node: string | null
  phase: string | null
  registered: number
  sources: string
  labels: string | null
}

/**
 * Stored events whose views may have grown after a catalog change: those at `ip` from `since`
 * on (all when absent), `pod` events (a registry instance appeared there) or `registration`
 * events (a pod got the IP).
 */
export interface Correlation {
  ip: string
  events: 'pod' | 'registration'
  since?: number
}

const INSTANCE_COLUMNS = 'mesh, name, ip, port, application, namespace, node, phase, registered, sources, labels'
const DAY_MS = 86_400_000
/** Answers kept at most per look-up (see `SqliteCatalog.instancesAtIp`). */
const LOOKUPS_MAX = 50_000

function toInstance(row: InstanceRow): Instance {
  const instance: Instance = { name: row.name, mesh: row.mesh, registered: row.registered === 1, sources: JSON.parse(row.sources) as string[] }
  if (row.ip !== null) instance.ip = row.ip
  if (row.port !== null) instance.port = row.port
  if (row.application !== null) instance.application = row.application
  if (row.namespace !== null) instance.namespace = row.namespace
  if (row.node !== null) instance.node = row.node
  if (row.phase !== null) instance.phase = row.phase
  if (row.labels !== null) instance.labels = JSON.parse(row.labels) as Record<string, string>
  return instance
}

/** `LIKE` pattern matching `q` anywhere, with the pattern characters escaped. */
function contains(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

export class SqliteCatalog {
  // Catalog writes this process already made: events name the same mesh, application, service and
  // instance over and over, and skipping the repeated no-op statement keeps ingestion near
  // raw-insert speed. Keys carry every input, so a different value is written again.
  private readonly written = new Set<string>()
  // Keys of the transaction in progress: they join `written` only once it commits. A rolled-back
  // batch (full disk, lock timeout) must not leave a key behind, or the retried batch would skip
  // the insert and the application it names would never exist.
  private readonly staged = new Set<string>()

  /**
   * Answers of the look-ups `eventViews` makes for the writer, by key: registry instances at an IP,
   * an instance's services (`mesh\u0000instance`), the meshes of an application name. A pod event
   * asks all three, a query each. Only this connection writes the catalog, and each write drops
   * the answers it may change (a rollback drops them all), so an answer is always what the query
   * would return now.
   */
  private readonly instancesAtIp = new Map<string, Array<{ mesh: string; name: string; application: string | null }>>()
  private readonly servicesByInstance = new Map<string, string[]>()
  private readonly meshesByApplication = new Map<string, string[]>()

  constructor(private readonly statements: Statements) {}

  private forgetLookups(): void {
    this.instancesAtIp.clear()
    this.servicesByInstance.clear()
    this.meshesByApplication.clear()
  }

  /**
   * Applies one catalog change; call inside the writer's transaction. Returns what to correlate
   * again when an instance appeared at an IP (new, moved, renamed application, or back from
   * gone) or a pod got an IP: events already stored for that IP may now belong to more views.
   */
  apply(change: CatalogChange): Correlation | undefined {
    this.forgetLookups()
    const run = (sql: string, params: Record<string, unknown>) => this.statements.get(sql).run(params)
    switch (change.op) {
      case 'mesh':
        run(
          `INSERT INTO meshes (name, kind, address) VALUES (@name, @kind, @address)
           ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, address = excluded.address`,
          change,
        )
        this.staged.add(`mesh\u0000${change.name}`)
        return undefined
      case 'mesh-synced':
        run('UPDATE meshes SET last_sync_at = @at WHERE name = @name', change)
        return undefined
      case 'application':
        this.ensureApplication(change.mesh, change.name)
        return undefined
      case 'instance':
        return this.upsertInstance(change.instance)
      case 'instance-gone': {
        const now = Date.now()
        run('UPDATE instances SET registered = 0, gone_at = @now, updated_at = @now WHERE mesh = @mesh AND name = @name', { ...change, now })
        run('UPDATE pod_ips SET until = @now WHERE mesh = @mesh AND pod = @name AND until IS NULL', { ...change, now })
        return undefined
      }
      case 'instance-labels':
        run('UPDATE instances SET labels = @labels WHERE mesh = @mesh AND name = @name', {
          mesh: change.mesh,
          name: change.name,
          labels: change.labels ? JSON.stringify(change.labels) : null,
        })
        return undefined
      case 'instances-listed':
        run(
          `UPDATE instances SET registered = 0, gone_at = @now, updated_at = @now
           WHERE mesh = @mesh AND gone_at IS NULL
             AND EXISTS (SELECT 1 FROM json_each(sources) WHERE value = @source)
             AND name NOT IN (SELECT value FROM json_each(@names))`,
          { mesh: change.mesh, source: change.source, names: JSON.stringify(change.names), now: Date.now() },
        )
        // Pods only come from a pod source: its list is every pod of the mesh.
        run('UPDATE pod_ips SET until = @now WHERE mesh = @mesh AND until IS NULL AND pod NOT IN (SELECT value FROM json_each(@names))', {
          mesh: change.mesh,
          names: JSON.stringify(change.names),
          now: Date.now(),
        })
        return undefined
      case 'service':
        run(
          `INSERT INTO services (mesh, name, version, grp) VALUES (@mesh, @name, @version, @grp)
           ON CONFLICT (mesh, name) DO UPDATE SET version = coalesce(excluded.version, version), grp = coalesce(excluded.grp, grp)`,
          { mesh: change.mesh, name: change.name, version: change.version ?? null, grp: change.group ?? null },
        )
        return undefined
      case 'service-instance':
        this.ensureService(change.mesh, change.service)
        run(
          `INSERT INTO service_instances (mesh, service, side, instance, application) VALUES (@mesh, @service, @side, @instance, @application)
           ON CONFLICT (mesh, service, side, instance) DO UPDATE SET application = coalesce(excluded.application, application)`,
          { ...change, application: change.application ?? null },
        )
        if (change.application) this.ensureApplication(change.mesh, change.application)
        return undefined
      case 'service-instance-gone':
        run('DELETE FROM service_instances WHERE mesh = @mesh AND service = @service AND side = @side AND instance = @instance', change)
        return undefined
    }
  }

  /** The answer cached under `key`, read (and kept) when there is none. */
  private lookup<T>(answers: Map<string, T>, key: string, read: () => T): T {
    let answer = answers.get(key)
    if (answer === undefined) {
      answer = read()
      // Bounded: a catalog that never changes still names only so many IPs and instances.
      if (answers.size >= LOOKUPS_MAX) answers.clear()
      answers.set(key, answer)
    }
    return answer
  }

  /** True the first time this process sees `parts` (then the caller writes), false after. */
  private firstTime(...parts: Array<string | undefined>): boolean {
    const key = parts.map((part) => part ?? '').join('\u0000')
    if (this.written.has(key) || this.staged.has(key)) return false
    this.staged.add(key)
    return true
  }

  /** The writer's transaction committed: what it wrote is known from now on. */
  committed(): void {
    for (const key of this.staged) this.written.add(key)
    this.staged.clear()
  }

  /** The writer's transaction rolled back: forget what it would have written. */
  rolledBack(): void {
    this.staged.clear()
    this.forgetLookups()
  }

  ensureMesh(name: string, kind: MeshKind): void {
    if (!this.firstTime('mesh', name)) return
    this.statements.get('INSERT OR IGNORE INTO meshes (name, kind) VALUES (?, ?)').run(name, kind)
  }

  ensureApplication(mesh: string, name: string): void {
    if (!this.firstTime('application', mesh, name)) return
    this.meshesByApplication.delete(name)
    this.statements.get('INSERT OR IGNORE INTO applications (mesh, name) VALUES (?, ?)').run(mesh, name)
  }

  ensureService(mesh: string, name: string): void {
    if (!this.firstTime('service', mesh, name)) return
    this.statements.get('INSERT OR IGNORE INTO services (mesh, name) VALUES (?, ?)').run(mesh, name)
  }

  /**
   * Records an instance an event names, without overwriting what a source reported. Returns true
   * when it gained an IP (new, or its first IP): pod events stored at that IP may belong to it.
   */
  ensureInstance(mesh: string, name: string, source: string, ip?: string, application?: string): boolean {
    // The statement only fills a missing IP or application: the same inputs again change nothing.
    if (!this.firstTime('instance', mesh, name, ip, application)) return false
    // A row comes back when the instance was added or changed: its IP is the one look-up it changes.
    const written = this.statements
      .get(
        `INSERT INTO instances (mesh, name, ip, application, registered, sources, updated_at)
         VALUES (@mesh, @name, @ip, @application, 0, json_array(@source), @now)
         ON CONFLICT (mesh, name) DO UPDATE SET ip = coalesce(ip, excluded.ip), application = coalesce(application, excluded.application)
         WHERE (ip IS NULL AND excluded.ip IS NOT NULL) OR (application IS NULL AND excluded.application IS NOT NULL)
         RETURNING ip`,
      )
      .all({ mesh, name, source, ip: ip ?? null, application: application ?? null, now: Date.now() }) as Array<{ ip: string | null }>
    for (const row of written) if (row.ip !== null) this.instancesAtIp.delete(row.ip)
    return ip !== undefined && written.length > 0
  }

  private upsertInstance(instance: InstanceRecord): Correlation | undefined {
    const before = this.statements.get('SELECT ip, application, gone_at FROM instances WHERE mesh = ? AND name = ?').get(instance.mesh, instance.name) as
      | { ip: string | null; application: string | null; gone_at: number | null }
      | undefined
    this.statements
      .get(
        `INSERT INTO instances (mesh, name, ip, port, application, namespace, node, phase, registered, sources, labels, updated_at)
         VALUES (@mesh, @name, @ip, @port, @application, @namespace, @node, @phase, @registered, json_array(@source), @labels, @now)
         ON CONFLICT (mesh, name) DO UPDATE SET
           ip = coalesce(excluded.ip, ip), port = coalesce(excluded.port, port),
           application = coalesce(excluded.application, application), namespace = coalesce(excluded.namespace, namespace),
           node = coalesce(excluded.node, node), phase = coalesce(excluded.phase, phase), registered = excluded.registered,
           labels = coalesce(excluded.labels, labels), updated_at = excluded.updated_at, gone_at = NULL,
           sources = CASE WHEN EXISTS (SELECT 1 FROM json_each(sources) WHERE value = @source) THEN sources
                          ELSE json_insert(sources, '$[#]', @source) END`,
      )
      .run({
        mesh: instance.mesh,
        name: instance.name,
        ip: instance.ip ?? null,
        port: instance.port ?? null,
        application: instance.application ?? null,
        namespace: instance.namespace ?? null,
        node: instance.node ?? null,
        phase: instance.phase ?? null,
        registered: instance.registered ? 1 : 0,
        source: instance.source,
        labels: instance.labels ? JSON.stringify(instance.labels) : null,
        now: Date.now(),
      })
    if (instance.application) this.ensureApplication(instance.mesh, instance.application)
    if (!instance.ip) return undefined
    // A pod: registrations stored at its IP since the previous holder left are its own.
    if (instance.namespace !== undefined) return this.podAtIp(instance.mesh, instance.name, instance.ip)
    const appeared = !before || before.gone_at !== null || before.ip !== instance.ip || (instance.application !== undefined && before.application !== instance.application)
    return appeared ? { ip: instance.ip, events: 'pod' } : undefined
  }

  /**
   * Records that the pod has `ip` now, opening an interval of the pod-to-IP history when it is new
   * (and closing the pod's interval at another IP). Undefined when the pod already had that IP.
   */
  private podAtIp(mesh: string, pod: string, ip: string): Correlation | undefined {
    const open = this.statements.get('SELECT ip, since FROM pod_ips WHERE mesh = ? AND pod = ? AND until IS NULL').all(mesh, pod) as Array<{ ip: string; since: number }>
    if (open.some((interval) => interval.ip === ip)) return undefined
    const now = Date.now()
    for (const interval of open) {
      this.statements.get('UPDATE pod_ips SET until = ? WHERE ip = ? AND since = ? AND mesh = ? AND pod = ?').run(now, interval.ip, interval.since, mesh, pod)
    }
    this.statements.get('INSERT OR IGNORE INTO pod_ips (ip, since, mesh, pod, until) VALUES (?, ?, ?, ?, NULL)').run(ip, now, mesh, pod)
    const previous = this.statements.get('SELECT max(until) FROM pod_ips WHERE ip = ? AND until IS NOT NULL').pluck().get(ip) as number | null
    return previous === null ? { ip, events: 'registration' } : { ip, events: 'registration', since: previous }
  }

  /**
   * Registry instances with this IP, present now, in any mesh: not pods, nor instances only
   * Kubernetes events named (a pod seen before its pod list), which would tie unrelated pods that
   * later get the IP together.
   */
  instancesByIp(ip: string): Array<{ mesh: string; name: string; application: string | null }> {
    return this.lookup(
      this.instancesAtIp,
      ip,
      () =>
        this.statements
          .get(
            `SELECT mesh, name, application FROM instances WHERE ip = ? AND gone_at IS NULL AND namespace IS NULL
               AND NOT EXISTS (SELECT 1 FROM json_each(sources) WHERE value = 'kubernetes')`,
          )
          .all(ip) as Array<{ mesh: string; name: string; application: string | null }>,
    )
  }

  /**
   * The pods that had `ip` at `time`: those whose interval holds it, else the next pod to get the
   * IP after it (an IP belongs to its next pod from the moment the previous one left it).
   */
  podsAtIp(ip: string, time: number): Array<{ mesh: string; name: string }> {
    const rows = this.statements
      .get('SELECT mesh, pod AS name, since FROM pod_ips WHERE ip = ? AND (until IS NULL OR until > ?) ORDER BY since LIMIT 50')
      .all(ip, time) as Array<{ mesh: string; name: string; since: number }>
    const holding = rows.filter((row) => row.since <= time)
    return (holding.length > 0 ? holding : rows.slice(0, 1)).map(({ mesh, name }) => ({ mesh, name }))
  }

  /** Meshes that know an application of this name. */
  meshesWithApplication(name: string): string[] {
    return this.lookup(this.meshesByApplication, name, () => this.statements.get('SELECT mesh FROM applications WHERE name = ?').pluck().all(name) as string[])
  }

  /** Services an instance provides or consumes in its mesh. */
  servicesOfInstance(mesh: string, instance: string): string[] {
    return this.lookup(
      this.servicesByInstance,
      `${mesh}\u0000${instance}`,
      () => this.statements.get('SELECT DISTINCT service FROM service_instances WHERE mesh = ? AND instance = ?').pluck().all(mesh, instance) as string[],
    )
  }

  meshes(): MeshRecord[] {
    const rows = this.statements
      .get(
        `SELECT m.name, m.kind, m.address, m.last_sync_at AS lastSyncAt,
           (SELECT count(*) FROM applications WHERE mesh = m.name) AS applications,
           (SELECT count(*) FROM instances WHERE mesh = m.name AND gone_at IS NULL) AS instances,
           (SELECT count(*) FROM services WHERE mesh = m.name) AS services,
           coalesce((SELECT events FROM mesh_event_counts WHERE mesh = m.name), 0) AS events
         FROM meshes AS m ORDER BY m.name`,
      )
      .all() as Array<{ name: string; kind: MeshKind; address: string; lastSyncAt: number | null } & MeshRecord['counts']>
    return rows.map(({ name, kind, address, lastSyncAt, applications, instances, services, events }) => ({
      name,
      kind,
      address,
      ...(lastSyncAt === null ? {} : { lastSyncAt }),
      counts: { applications, instances, services, events },
    }))
  }

  applications(filter: ResourceListFilter, now: number): ResourceListResult<ApplicationSummary> {
    const { where, params } = this.listWhere('a', filter)
    const rows = this.statements
      .get(`SELECT a.mesh, a.name FROM applications AS a ${where.page} ORDER BY a.mesh, a.name LIMIT @limit`)
      .all(params) as Array<{ mesh: string; name: string }>
    const total = this.statements.get(`SELECT count(*) FROM applications AS a ${where.all}`).pluck().get(params) as number
    const page = rows.slice(0, filter.limit)
    const items = page.map(({ mesh, name }) => {
      const stats = this.statements
        .get(
          `SELECT
             (SELECT count(*) FROM instances WHERE mesh = @mesh AND application = @name AND gone_at IS NULL) AS instanceCount,
             (SELECT count(DISTINCT service) FROM service_instances WHERE mesh = @mesh AND application = @name) AS serviceCount,
             (SELECT max(time) FROM event_links WHERE view = v.id) AS lastEventAt,
             (SELECT count(*) FROM event_links WHERE view = v.id AND time >= @dayAgo AND warning = 1) AS warningCount24h
           FROM (SELECT (SELECT id FROM views WHERE mesh = @mesh AND kind = 'a' AND entity = @name) AS id) AS v`,
        )
        .get({ mesh, name, dayAgo: now - DAY_MS }) as { instanceCount: number; serviceCount: number; lastEventAt: number | null; warningCount24h: number }
      const summary: ApplicationSummary = { name, mesh, instanceCount: stats.instanceCount, serviceCount: stats.serviceCount, warningCount24h: stats.warningCount24h }
      if (stats.lastEventAt !== null) summary.lastEventAt = new Date(stats.lastEventAt).toISOString()
      return summary
    })
    return { items, next: nextPosition(rows, filter.limit), total }
  }

  application(name: string, mesh?: string): ApplicationDetail | undefined {
    const found = this.statements
      .get('SELECT mesh FROM applications WHERE name = @name AND (@mesh IS NULL OR mesh = @mesh) ORDER BY mesh LIMIT 1')
      .pluck()
      .get({ name, mesh: mesh ?? null }) as string | undefined
    if (found === undefined) return undefined
    const instances = (
      this.statements.get(`SELECT ${INSTANCE_COLUMNS} FROM instances WHERE mesh = ? AND application = ? AND gone_at IS NULL ORDER BY name`).all(found, name) as InstanceRow[]
    ).map(toInstance)
    const services = this.statements
      .get("SELECT DISTINCT service FROM service_instances WHERE mesh = ? AND application = ? AND side = 'provider' ORDER BY service")
      .pluck()
      .all(found, name) as string[]
    return { name, mesh: found, instances, services }
  }

  instances(filter: ResourceListFilter): ResourceListResult<Instance> {
    const { where, params } = this.listWhere('i', filter)
    const rows = this.statements.get(`SELECT ${INSTANCE_COLUMNS} FROM instances AS i ${where.page} ORDER BY i.mesh, i.name LIMIT @limit`).all(params) as InstanceRow[]
    const total = this.statements.get(`SELECT count(*) FROM instances AS i ${where.all}`).pluck().get(params) as number
    return { items: rows.slice(0, filter.limit).map(toInstance), next: nextPosition(rows, filter.limit), total }
  }

  /** An instance by name, or else by IP (the contract lets `:name` be a pod name, an IP or ip:port). */
  instance(name: string, mesh?: string): Instance | undefined {
    const row = this.statements
      .get(
        `SELECT ${INSTANCE_COLUMNS} FROM instances WHERE (name = @name OR ip = @name) AND (@mesh IS NULL OR mesh = @mesh)
         ORDER BY name = @name DESC, registered DESC, mesh LIMIT 1`,
      )
      .get({ name, mesh: mesh ?? null }) as InstanceRow | undefined
    return row && toInstance(row)
  }

  services(filter: ResourceListFilter): ResourceListResult<ServiceSummary> {
    const { where, params } = this.listWhere('s', filter)
    const rows = this.statements.get(`SELECT s.mesh, s.name, s.version, s.grp FROM services AS s ${where.page} ORDER BY s.mesh, s.name LIMIT @limit`).all(params) as ServiceRow[]
    const total = this.statements.get(`SELECT count(*) FROM services AS s ${where.all}`).pluck().get(params) as number
    return { items: rows.slice(0, filter.limit).map((row) => this.serviceSummary(row)), next: nextPosition(rows, filter.limit), total }
  }

  service(name: string, mesh?: string): ServiceDetail | undefined {
    const row = this.statements
      .get('SELECT mesh, name, version, grp FROM services WHERE name = @name AND (@mesh IS NULL OR mesh = @mesh) ORDER BY mesh LIMIT 1')
      .get({ name, mesh: mesh ?? null }) as ServiceRow | undefined
    if (!row) return undefined
    const members = (side: 'provider' | 'consumer') =>
      (
        this.statements
          .get(
            `SELECT ${INSTANCE_COLUMNS.split(', ').map((column) => `i.${column}`).join(', ')}
             FROM service_instances AS si JOIN instances AS i ON i.mesh = si.mesh AND i.name = si.instance
             WHERE si.mesh = ? AND si.service = ? AND si.side = ? ORDER BY i.name`,
          )
          .all(row.mesh, row.name, side) as InstanceRow[]
      ).map(toInstance)
    return { ...this.serviceSummary(row), providerInstances: members('provider'), consumerInstances: members('consumer') }
  }

  private serviceSummary(row: ServiceRow): ServiceSummary {
    const stats = this.statements
      .get(
        `SELECT count(*) FILTER (WHERE side = 'provider') AS providers, count(*) FILTER (WHERE side = 'consumer') AS consumers,
           json_group_array(DISTINCT application) FILTER (WHERE application IS NOT NULL) AS applications
         FROM service_instances WHERE mesh = ? AND service = ?`,
      )
      .get(row.mesh, row.name) as { providers: number; consumers: number; applications: string | null }
    const summary: ServiceSummary = {
      name: row.name,
      mesh: row.mesh,
      providers: stats.providers,
      consumers: stats.consumers,
      applications: ((JSON.parse(stats.applications ?? '[]') as string[]) ?? []).sort(),
    }
    if (row.version !== null) summary.version = row.version
    if (row.grp !== null) summary.group = row.grp
    return summary
  }

  /** WHERE clauses of a resource list: `all` for the total, `page` adds the keyset position. */
  private listWhere(alias: string, filter: ResourceListFilter) {
    const params: Record<string, string | number> = { limit: filter.limit + 1 }
    const all: string[] = []
    if (filter.mesh !== undefined) {
      params.mesh = filter.mesh
      all.push(`${alias}.mesh = @mesh`)
    }
    if (filter.q !== undefined) {
      params.q = contains(filter.q)
      all.push(`${alias}.name LIKE @q ESCAPE '\\'`)
    }
    if (filter.application !== undefined && alias === 'i') {
      params.application = filter.application
      all.push('i.application = @application')
    }
    const page = [...all]
    if (filter.after) {
      params.afterMesh = filter.after.mesh
      params.afterName = filter.after.name
      page.push(`(${alias}.mesh, ${alias}.name) > (@afterMesh, @afterName)`)
    }
    const clause = (conditions: string[]) => (conditions.length ? `WHERE ${conditions.join(' AND ')}` : '')
    return { where: { all: clause(all), page: clause(page) }, params }
  }
}

interface ServiceRow {
  mesh: string
  name: string
  version: string | null
  grp: string | null
}

function nextPosition(rows: Array<{ mesh: string; name: string }>, limit: number): { mesh: string; name: string } | null {
  if (rows.length <= limit) return null
  const last = rows[limit - 1]!
  return { mesh: last.mesh, name: last.name }
}

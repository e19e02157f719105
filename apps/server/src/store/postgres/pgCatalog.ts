/**
 * Catalog (meshes, applications, instances, services) in PostgreSQL: writes inside the writer's
 * transaction, reads on the pool. The same semantics as the SQLite catalog, statement for
 * statement; the correlation look-ups are async queries in the caller's transaction. Also the
 * pod-to-IP history (`pod_ips`, see SqliteCatalog): an interval per IP a pod is seen with, closed
 * by its deletion, its absence from a list or a new IP; times are when the write happens.
 */
import type { ApplicationDetail, ApplicationSummary, Instance, MeshKind, ServiceDetail, ServiceSummary } from '@eventline/shared'
import type { Correlation } from '../sqlite/catalog.ts'
import type { CatalogChange, InstanceRecord, MeshRecord, ResourceListFilter, ResourceListResult } from '../types.ts'
import { execute, query } from './query.ts'
import type { Queryable } from './query.ts'
import { Params } from './timelineSql.ts'

interface InstanceRow {
  mesh: string
  name: string
  ip: string | null
  port: number | null
  application: string | null
  namespace: string | null
  node: string | null
  phase: string | null
  registered: boolean
  sources: string[]
  labels: Record<string, string> | null
}

const INSTANCE_COLUMNS = ['mesh', 'name', 'ip', 'port', 'application', 'namespace', 'node', 'phase', 'registered', 'sources', 'labels']
const columns = (alias: string) => INSTANCE_COLUMNS.map((column) => `${alias}.${column}`).join(', ')
const DAY_MS = 86_400_000

function toInstance(row: InstanceRow): Instance {
  const instance: Instance = { name: row.name, mesh: row.mesh, registered: row.registered, sources: row.sources }
  if (row.ip !== null) instance.ip = row.ip
  if (row.port !== null) instance.port = row.port
  if (row.application !== null) instance.application = row.application
  if (row.namespace !== null) instance.namespace = row.namespace
  if (row.node !== null) instance.node = row.node
  if (row.phase !== null) instance.phase = row.phase
  if (row.labels !== null) instance.labels = row.labels
  return instance
}

/** `LIKE` pattern matching `q` anywhere, with the pattern characters escaped. */
function contains(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/**
 * Catalog writes of one transaction. `ensure*` skips statements this process already committed
 * (events name the same mesh, application and service over and over); keys staged in a
 * transaction count only once it commits, so a rolled-back batch is written again.
 */
export class CatalogWriter {
  private readonly staged = new Set<string>()
  /** (mesh, name) of applications and services to write before commit (see `ensureApplication`). */
  private readonly pendingApplications: Array<[mesh: string, name: string]> = []
  private readonly pendingServices: Array<[mesh: string, name: string]> = []
  /** Called with the kind of look-up a catalog write may have changed (and the key, when known). */
  onWrite: (lookup: 'ip' | 'si' | 'app' | 'pod', key?: string) => void = () => undefined
  /** Called when a mesh now has an application of this name (the only change `ensureApplication` makes). */
  onApplication: (name: string, mesh: string) => void = () => undefined

  constructor(
    private readonly db: Queryable,
    private readonly written: Set<string>,
  ) {}

  private run(text: string, values: readonly unknown[]): Promise<number> {
    return execute(this.db, text, values)
  }

  /** Marks what this transaction wrote as written; call after COMMIT. */
  committed(): void {
    for (const key of this.staged) this.written.add(key)
  }

  private firstTime(...parts: Array<string | undefined>): boolean {
    const key = parts.map((part) => part ?? '').join('\u0000')
    if (this.written.has(key) || this.staged.has(key)) return false
    this.staged.add(key)
    return true
  }

  /** Applies one change; what to correlate again when an instance appeared at an IP or a pod got one (see SqliteCatalog.apply). */
  async apply(change: CatalogChange): Promise<Correlation | undefined> {
    switch (change.op) {
      case 'mesh':
        await this.run(
          `INSERT INTO meshes (name, kind, address) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, address = excluded.address`,
          [change.name, change.kind, change.address],
        )
        this.staged.add(`mesh\u0000${change.name}`)
        return undefined
      case 'mesh-synced':
        await this.run('UPDATE meshes SET last_sync_at = $1 WHERE name = $2', [change.at, change.name])
        return undefined
      case 'application':
        await this.ensureApplication(change.mesh, change.name)
        return undefined
      case 'instance':
        return this.upsertInstance(change.instance)
      case 'instance-gone': {
        this.onWrite('ip')
        this.onWrite('pod')
        const now = Date.now()
        await this.run('UPDATE instances SET registered = false, gone_at = $1, updated_at = $1 WHERE mesh = $2 AND name = $3', [now, change.mesh, change.name])
        await this.run('UPDATE pod_ips SET until = $1 WHERE mesh = $2 AND pod = $3 AND until IS NULL', [now, change.mesh, change.name])
        return undefined
      }
      case 'instance-labels':
        await this.run('UPDATE instances SET labels = $1 WHERE mesh = $2 AND name = $3', [change.labels ? JSON.stringify(change.labels) : null, change.mesh, change.name])
        return undefined
      case 'instances-listed':
        this.onWrite('ip')
        await this.run(
          `UPDATE instances SET registered = false, gone_at = $1, updated_at = $1
           WHERE mesh = $2 AND gone_at IS NULL AND $3 = ANY(sources) AND NOT (name = ANY($4::text[]))`,
          [Date.now(), change.mesh, change.source, change.names],
        )
        // Pods only come from a pod source: its list is every pod of the mesh.
        this.onWrite('pod')
        await this.run('UPDATE pod_ips SET until = $1 WHERE mesh = $2 AND until IS NULL AND NOT (pod = ANY($3::text[]))', [Date.now(), change.mesh, change.names])
        return undefined
      case 'service':
        await this.run(
          `INSERT INTO services (mesh, name, version, grp) VALUES ($1, $2, $3, $4)
           ON CONFLICT (mesh, name) DO UPDATE SET version = coalesce(excluded.version, services.version), grp = coalesce(excluded.grp, services.grp)`,
          [change.mesh, change.name, change.version ?? null, change.group ?? null],
        )
        return undefined
      case 'service-instance':
        this.onWrite('si')
        await this.ensureService(change.mesh, change.service)
        await this.run(
          `INSERT INTO service_instances (mesh, service, side, instance, application) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (mesh, service, side, instance) DO UPDATE SET application = coalesce(excluded.application, service_instances.application)`,
          [change.mesh, change.service, change.side, change.instance, change.application ?? null],
        )
        if (change.application) await this.ensureApplication(change.mesh, change.application)
        return undefined
      case 'service-instance-gone':
        this.onWrite('si')
        await this.run('DELETE FROM service_instances WHERE mesh = $1 AND service = $2 AND side = $3 AND instance = $4', [
          change.mesh,
          change.service,
          change.side,
          change.instance,
        ])
        return undefined
    }
  }

  async ensureMesh(name: string, kind: MeshKind): Promise<void> {
    if (!this.firstTime('mesh', name)) return
    await this.run('INSERT INTO meshes (name, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, kind])
  }

  /**
   * An application or service an event names is written with the batch's others by the batch's
   * closing statement (`takeNamed`): no look-up of the transaction reads services, and the one
   * that reads applications (`meshesWithApplications`) adds the pending ones.
   */
  async ensureApplication(mesh: string, name: string): Promise<void> {
    if (!this.firstTime('application', mesh, name)) return
    this.pendingApplications.push([mesh, name])
    this.onApplication(name, mesh)
  }

  async ensureService(mesh: string, name: string): Promise<void> {
    if (!this.firstTime('service', mesh, name)) return
    this.pendingServices.push([mesh, name])
  }

  /**
   * The applications and services `ensure*` collected, sorted (so concurrent writers queue rather
   * than deadlock), for the batch's closing statement to insert; none are pending after.
   */
  takeNamed(): { applications: Array<[mesh: string, name: string]>; services: Array<[mesh: string, name: string]> } {
    const sorted = (pending: Array<[string, string]>) => pending.splice(0).sort(([m1, n1], [m2, n2]) => (m1 < m2 ? -1 : m1 > m2 ? 1 : n1 < n2 ? -1 : n1 > n2 ? 1 : 0))
    return { applications: sorted(this.pendingApplications), services: sorted(this.pendingServices) }
  }

  /** Records an instance an event names; true when it gained an IP (see SqliteCatalog.ensureInstance). */
  async ensureInstance(mesh: string, name: string, source: string, ip?: string, application?: string): Promise<boolean> {
    if (!this.firstTime('instance', mesh, name, ip, application)) return false
    // The row as written tells which IP's look-up it changed (its own, new or kept).
    const changed = await query<{ ip: string | null; registry: boolean }>(
      this.db,
      `INSERT INTO instances AS i (mesh, name, ip, application, registered, sources, updated_at)
       VALUES ($1, $2, $3, $4, false, ARRAY[$5::text], $6)
       ON CONFLICT (mesh, name) DO UPDATE SET ip = coalesce(i.ip, excluded.ip), application = coalesce(i.application, excluded.application)
       WHERE (i.ip IS NULL AND excluded.ip IS NOT NULL) OR (i.application IS NULL AND excluded.application IS NOT NULL)
       RETURNING i.ip, i.namespace IS NULL AND NOT ('kubernetes' = ANY(i.sources)) AS registry`,
      [mesh, name, ip ?? null, application ?? null, source, Date.now()],
    )
    // Only a registry instance is in the IP look-up (`instancesByIp`): a pod's row changes nothing there.
    const registry = changed.filter((row) => row.registry)
    for (const row of registry) if (row.ip !== null) this.onWrite('ip', row.ip)
    return ip !== undefined && registry.length > 0
  }

  private async upsertInstance(instance: InstanceRecord): Promise<Correlation | undefined> {
    const [before] = await query<{ ip: string | null; application: string | null; gone_at: number | null }>(
      this.db,
      'SELECT ip, application, gone_at FROM instances WHERE mesh = $1 AND name = $2 FOR UPDATE',
      [instance.mesh, instance.name],
    )
    await this.run(
      `INSERT INTO instances AS i (mesh, name, ip, port, application, namespace, node, phase, registered, sources, labels, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ARRAY[$10::text], $11, $12)
       ON CONFLICT (mesh, name) DO UPDATE SET
         ip = coalesce(excluded.ip, i.ip), port = coalesce(excluded.port, i.port),
         application = coalesce(excluded.application, i.application), namespace = coalesce(excluded.namespace, i.namespace),
         node = coalesce(excluded.node, i.node), phase = coalesce(excluded.phase, i.phase), registered = excluded.registered,
         labels = coalesce(excluded.labels, i.labels), updated_at = excluded.updated_at, gone_at = NULL,
         sources = CASE WHEN $10::text = ANY(i.sources) THEN i.sources ELSE i.sources || $10::text END`,
      [
        instance.mesh,
        instance.name,
        instance.ip ?? null,
        instance.port ?? null,
        instance.application ?? null,
        instance.namespace ?? null,
        instance.node ?? null,
        instance.phase ?? null,
        instance.registered,
        instance.source,
        instance.labels ? JSON.stringify(instance.labels) : null,
        Date.now(),
      ],
    )
    for (const ip of [before?.ip, instance.ip]) if (ip) this.onWrite('ip', ip)
    if (instance.application) await this.ensureApplication(instance.mesh, instance.application)
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
  private async podAtIp(mesh: string, pod: string, ip: string): Promise<Correlation | undefined> {
    const open = await query<{ ip: string; since: number }>(this.db, 'SELECT ip, since FROM pod_ips WHERE mesh = $1 AND pod = $2 AND until IS NULL', [mesh, pod])
    if (open.some((interval) => interval.ip === ip)) return undefined
    this.onWrite('pod')
    const now = Date.now()
    if (open.length > 0) await this.run('UPDATE pod_ips SET until = $1 WHERE mesh = $2 AND pod = $3 AND until IS NULL', [now, mesh, pod])
    await this.run('INSERT INTO pod_ips (ip, since, mesh, pod, until) VALUES ($1, $2, $3, $4, NULL) ON CONFLICT DO NOTHING', [ip, now, mesh, pod])
    const [previous] = await query<{ until: number | null }>(this.db, 'SELECT max(until) AS until FROM pod_ips WHERE ip = $1 AND until IS NOT NULL', [ip])
    const since = previous?.until ?? null
    return since === null ? { ip, events: 'registration' } : { ip, events: 'registration', since }
  }

  /**
   * Registry instances with this IP, present now, in any mesh: not pods, nor instances only
   * Kubernetes events named (see SqliteCatalog.instancesByIp).
   */
  instancesByIp(ip: string): Promise<Array<{ mesh: string; name: string; application: string | null }>> {
    return query(this.db, `SELECT mesh, name, application FROM instances WHERE ip = $1 AND gone_at IS NULL AND namespace IS NULL AND NOT ('kubernetes' = ANY(sources))`, [ip])
  }

  /**
   * The pod-to-IP intervals of each IP that may hold a time from its `from` on (open, or ended
   * after it), oldest first: `podsAt` answers "which pods had the IP at t" from them for any
   * t >= from, so a batch asks once per IP instead of once per event.
   */
  async podIntervals(ips: readonly string[], froms: readonly number[]): Promise<Map<string, PodInterval[]>> {
    const rows = await query<PodInterval & { ip: string }>(
      this.db,
      `SELECT p.ip, p.mesh, p.pod AS name, p.since, p.until FROM unnest($1::text[], $2::bigint[]) AS u (ip, since)
       JOIN pod_ips AS p ON p.ip = u.ip AND (p.until IS NULL OR p.until > u.since) ORDER BY p.ip, p.since`,
      [ips, froms],
    )
    const byIp = new Map(ips.map((ip) => [ip, [] as PodInterval[]]))
    for (const { ip, ...interval } of rows) byIp.get(ip)!.push(interval)
    return byIp
  }

  /** Meshes that know an application of each name (the ones this transaction has yet to write included). */
  async meshesWithApplications(names: readonly string[]): Promise<Map<string, string[]>> {
    const rows = await query<{ name: string; mesh: string }>(this.db, 'SELECT name, mesh FROM applications WHERE name = ANY($1::text[])', [names])
    const byName = new Map(names.map((name) => [name, [] as string[]]))
    for (const { name, mesh } of [...rows, ...this.pendingApplications.map(([mesh, name]) => ({ name, mesh }))]) {
      const meshes = byName.get(name)
      if (meshes && !meshes.includes(mesh)) meshes.push(mesh)
    }
    return byName
  }

  /** Services an instance provides or consumes in its mesh. */
  async servicesOfInstance(mesh: string, instance: string): Promise<string[]> {
    const rows = await query<{ service: string }>(this.db, 'SELECT DISTINCT service FROM service_instances WHERE mesh = $1 AND instance = $2', [mesh, instance])
    return rows.map(({ service }) => service)
  }
}

/** One interval of the pod-to-IP history. */
export interface PodInterval {
  mesh: string
  name: string
  since: number
  until: number | null
}

/**
 * The pods that had the IP at `time`, from its intervals (oldest first, as `podIntervals` reads
 * them): those whose interval holds it, else the next pod to get the IP after it (an IP belongs
 * to its next pod from the moment the previous one left it). At most 50, as SQLite's look-up.
 */
export function podsAt(intervals: readonly PodInterval[], time: number): Array<{ mesh: string; name: string }> {
  const rows = intervals.filter(({ until }) => until === null || until > time).slice(0, 50)
  const holding = rows.filter((row) => row.since <= time)
  return (holding.length > 0 ? holding : rows.slice(0, 1)).map(({ mesh, name }) => ({ mesh, name }))
}

/** Catalog reads, each one or a few queries on the pool. */
export class CatalogReader {
  constructor(private readonly db: Queryable) {}

  async meshes(): Promise<MeshRecord[]> {
    const rows = await query<{ name: string; kind: MeshKind; address: string; last_sync_at: number | null } & MeshRecord['counts']>(
      this.db,
      `SELECT m.name, m.kind, m.address, m.last_sync_at,
         (SELECT count(*) FROM applications WHERE mesh = m.name)::int AS applications,
         (SELECT count(*) FROM instances WHERE mesh = m.name AND gone_at IS NULL)::int AS instances,
         (SELECT count(*) FROM services WHERE mesh = m.name)::int AS services,
         coalesce((SELECT events FROM mesh_event_counts WHERE mesh = m.name), 0)::int AS events
       FROM meshes AS m ORDER BY m.name`,
    )
    return rows.map(({ name, kind, address, last_sync_at: lastSyncAt, applications, instances, services, events }) => ({
      name,
      kind,
      address,
      ...(lastSyncAt === null ? {} : { lastSyncAt }),
      counts: { applications, instances, services, events },
    }))
  }

  async applications(filter: ResourceListFilter, now: number): Promise<ResourceListResult<ApplicationSummary>> {
    const list = listWhere('a', filter)
    const rows = await query<{ mesh: string; name: string }>(this.db, `SELECT a.mesh, a.name FROM applications AS a ${list.page} ORDER BY a.mesh, a.name LIMIT ${list.limit}`, list.pageValues)
    const [{ n: total } = { n: 0 }] = await query<{ n: number }>(this.db, `SELECT count(*)::int AS n FROM applications AS a ${list.all}`, list.allValues)
    const items = await Promise.all(
      rows.slice(0, filter.limit).map(async ({ mesh, name }) => {
        const [stats] = await query<{ instance_count: number; service_count: number; last_event_at: number | null; warning_count: number }>(
          this.db,
          `SELECT
             (SELECT count(*) FROM instances WHERE mesh = $1 AND application = $2 AND gone_at IS NULL)::int AS instance_count,
             (SELECT count(DISTINCT service) FROM service_instances WHERE mesh = $1 AND application = $2)::int AS service_count,
             (SELECT max(l.time) FROM event_links AS l WHERE l.view = v.id) AS last_event_at,
             (SELECT count(*) FROM event_links AS l WHERE l.view = v.id AND l.time >= $3 AND l.warning)::int AS warning_count
           FROM (SELECT (SELECT id FROM views WHERE mesh = $1 AND kind = 'a' AND entity = $2) AS id) AS v`,
          [mesh, name, now - DAY_MS],
        )
        const summary: ApplicationSummary = { name, mesh, instanceCount: stats!.instance_count, serviceCount: stats!.service_count, warningCount24h: stats!.warning_count }
        if (stats!.last_event_at !== null) summary.lastEventAt = new Date(stats!.last_event_at).toISOString()
        return summary
      }),
    )
    return { items, next: nextPosition(rows, filter.limit), total }
  }

  async application(name: string, mesh?: string): Promise<ApplicationDetail | undefined> {
    const [found] = await query<{ mesh: string }>(this.db, 'SELECT mesh FROM applications WHERE name = $1 AND ($2::text IS NULL OR mesh = $2) ORDER BY mesh LIMIT 1', [name, mesh ?? null])
    if (!found) return undefined
    const instances = await query<InstanceRow>(
      this.db,
      `SELECT ${columns('i')} FROM instances AS i WHERE i.mesh = $1 AND i.application = $2 AND i.gone_at IS NULL ORDER BY i.name`,
      [found.mesh, name],
    )
    const services = await query<{ service: string }>(
      this.db,
      "SELECT DISTINCT service FROM service_instances WHERE mesh = $1 AND application = $2 AND side = 'provider' ORDER BY service",
      [found.mesh, name],
    )
    return { name, mesh: found.mesh, instances: instances.map(toInstance), services: services.map(({ service }) => service) }
  }

  async instances(filter: ResourceListFilter): Promise<ResourceListResult<Instance>> {
    const list = listWhere('i', filter)
    const rows = await query<InstanceRow>(this.db, `SELECT ${columns('i')} FROM instances AS i ${list.page} ORDER BY i.mesh, i.name LIMIT ${list.limit}`, list.pageValues)
    const [{ n: total } = { n: 0 }] = await query<{ n: number }>(this.db, `SELECT count(*)::int AS n FROM instances AS i ${list.all}`, list.allValues)
    return { items: rows.slice(0, filter.limit).map(toInstance), next: nextPosition(rows, filter.limit), total }
  }

  /** An instance by name, or else by IP (the contract lets `:name` be a pod name, an IP or ip:port). */
  async instance(name: string, mesh?: string): Promise<Instance | undefined> {
    const [row] = await query<InstanceRow>(
      this.db,
      `SELECT ${columns('i')} FROM instances AS i WHERE (i.name = $1 OR i.ip = $1) AND ($2::text IS NULL OR i.mesh = $2)
       ORDER BY i.name = $1 DESC, i.registered DESC, i.mesh LIMIT 1`,
      [name, mesh ?? null],
    )
    return row && toInstance(row)
  }

  async services(filter: ResourceListFilter): Promise<ResourceListResult<ServiceSummary>> {
    const list = listWhere('s', filter)
    const rows = await query<ServiceRow>(this.db, `SELECT s.mesh, s.name, s.version, s.grp FROM services AS s ${list.page} ORDER BY s.mesh, s.name LIMIT ${list.limit}`, list.pageValues)
    const [{ n: total } = { n: 0 }] = await query<{ n: number }>(this.db, `SELECT count(*)::int AS n FROM services AS s ${list.all}`, list.allValues)
    const items = await Promise.all(rows.slice(0, filter.limit).map((row) => this.serviceSummary(row)))
    return { items, next: nextPosition(rows, filter.limit), total }
  }

  async service(name: string, mesh?: string): Promise<ServiceDetail | undefined> {
    const [row] = await query<ServiceRow>(this.db, 'SELECT mesh, name, version, grp FROM services WHERE name = $1 AND ($2::text IS NULL OR mesh = $2) ORDER BY mesh LIMIT 1', [
      name,
      mesh ?? null,
    ])
    if (!row) return undefined
    const members = async (side: 'provider' | 'consumer') =>
      (
        await query<InstanceRow>(
          this.db,
          `SELECT ${columns('i')} FROM service_instances AS si JOIN instances AS i ON i.mesh = si.mesh AND i.name = si.instance
           WHERE si.mesh = $1 AND si.service = $2 AND si.side = $3 ORDER BY i.name`,
          [row.mesh, row.name, side],
        )
      ).map(toInstance)
    const [summary, providerInstances, consumerInstances] = await Promise.all([this.serviceSummary(row), members('provider'), members('consumer')])
    return { ...summary, providerInstances, consumerInstances }
  }

  private async serviceSummary(row: ServiceRow): Promise<ServiceSummary> {
    const [stats] = await query<{ providers: number; consumers: number; applications: string[] | null }>(
      this.db,
      `SELECT count(*) FILTER (WHERE side = 'provider')::int AS providers, count(*) FILTER (WHERE side = 'consumer')::int AS consumers,
         array_agg(DISTINCT application ORDER BY application) FILTER (WHERE application IS NOT NULL) AS applications
       FROM service_instances WHERE mesh = $1 AND service = $2`,
      [row.mesh, row.name],
    )
    const summary: ServiceSummary = { name: row.name, mesh: row.mesh, providers: stats!.providers, consumers: stats!.consumers, applications: stats!.applications ?? [] }
    if (row.version !== null) summary.version = row.version
    if (row.grp !== null) summary.group = row.grp
    return summary
  }
}

interface ServiceRow {
  mesh: string
  name: string
  version: string | null
  grp: string | null
}

/** WHERE clauses of a resource list: `all` for the total, `page` adds the keyset position. */
function listWhere(alias: string, filter: ResourceListFilter) {
  const build = (withAfter: boolean) => {
    const params = new Params()
    const where: string[] = []
    if (filter.mesh !== undefined) where.push(`${alias}.mesh = ${params.add(filter.mesh)}`)
    if (filter.q !== undefined) where.push(`${alias}.name ILIKE ${params.add(contains(filter.q))}`)
    if (filter.application !== undefined && alias === 'i') where.push(`i.application = ${params.add(filter.application)}`)
    if (withAfter && filter.after) where.push(`(${alias}.mesh, ${alias}.name) > (${params.add(filter.after.mesh)}::text COLLATE "C", ${params.add(filter.after.name)}::text COLLATE "C")`)
    const limit = withAfter ? params.add(filter.limit + 1) : ''
    return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', values: params.values, limit }
  }
  const all = build(false)
  const page = build(true)
  return { all: all.clause, allValues: all.values, page: page.clause, pageValues: page.values, limit: page.limit }
}

function nextPosition(rows: Array<{ mesh: string; name: string }>, limit: number): { mesh: string; name: string } | null {
  if (rows.length <= limit) return null
  const last = rows[limit - 1]!
  return { mesh: last.mesh, name: last.name }
}

/**
 * The store interface: the only way the rest of the server reaches persisted data. SQLite
 * (store/sqlite) and PostgreSQL (store/postgres) implement it, held to the same behaviour by
 * store/storeConformance.ts. Methods are async so either backend fits, even where SQLite answers
 * synchronously.
 */
import type {
  ApplicationDetail,
  ApplicationSummary,
  EventItem,
  EventObject,
  EventSource,
  EventType,
  Instance,
  MeshCounts,
  MeshKind,
  ServiceDetail,
  ServiceSummary,
} from '@eventline/shared'
import type { AlertNotice, OutboxEntry } from '../sinks/types.ts'
import type { View } from './eventViews.ts'

/** A normalised event as sources publish it: times in epoch milliseconds. */
export interface IngestEvent {
  id: string
  /** Last occurrence. */
  time: number
  /** First occurrence; defaults to `time`. */
  firstTime?: number
  /**
   * Occurrences as the origin counts them (Kubernetes `count`). When absent, a repeat of a known
   * id with a later `time` counts one more occurrence, and the same `time` is an idempotent retry.
   */
  count?: number
  type: EventType
  reason: string
  message: string
  source: EventSource
  component: string
  host?: string
  mesh: string
  object: EventObject
  application?: string
  instance?: string
  ip?: string
  /** The event's own service (served as `service`). */
  service?: string
  /** Further services the event belongs to (e.g. every Service selecting a pod); linked, not served. */
  services?: string[]
  /**
   * Further applications, instances and IPs of the event's mesh it belongs to (e.g. a Node event:
   * those of the pods on the node at the event's time); linked like `services`, not served. IPs
   * also correlate into other meshes as a pod event's IP does.
   */
  applications?: string[]
  instances?: string[]
  ips?: string[]
  category?: string
  action?: string
  /**
   * Labels of the involved pod, when the source knows them (Kubernetes pod events). Not stored or
   * served: only the rules of `eventline.yaml` (ingestion filter, routes, alerts) read them.
   */
  labels?: Record<string, string>
}

export interface InstanceRecord {
  mesh: string
  name: string
  ip?: string
  port?: number
  application?: string
  namespace?: string
  node?: string
  phase?: string
  registered: boolean
  /** What reports this instance: `kubernetes`, `zookeeper`, `nacos`, `demo`, `api`. */
  source: string
  labels?: Record<string, string>
}

/** Catalog updates; sources describe what they see, the writer applies them with the events. */
export type CatalogChange =
  | { op: 'mesh'; name: string; kind: MeshKind; address: string }
  | { op: 'mesh-synced'; name: string; at: number }
  | { op: 'application'; mesh: string; name: string }
  | { op: 'instance'; instance: InstanceRecord }
  /**
   * The instance left: kept, so its history stays browsable, but unregistered and gone; counts,
   * application details and IP correlation skip it until it is reported again.
   */
  | { op: 'instance-gone'; mesh: string; name: string }
  /** Replaces an instance's labels (`null`: it has none now, e.g. its app-level registration was deleted). */
  | { op: 'instance-labels'; mesh: string; name: string; labels: Record<string, string> | null }
  /**
   * A full list of what `source` reports in `mesh`: instances it reported before and that the
   * list lacks left while nobody watched, and are marked gone.
   */
  | { op: 'instances-listed'; mesh: string; source: string; names: string[] }
  | { op: 'service'; mesh: string; name: string; version?: string; group?: string }
  | { op: 'service-instance'; mesh: string; service: string; instance: string; side: 'provider' | 'consumer'; application?: string }
  | { op: 'service-instance-gone'; mesh: string; service: string; instance: string; side: 'provider' | 'consumer' }

/** A source's remembered position or state under a key; `value: null` deletes the key. */
export interface Checkpoint {
  key: string
  value: string | null
}

/** One write: events, catalog changes, source checkpoints and outbox entries, persisted in one transaction. */
export interface WriteBatch {
  events: IngestEvent[]
  catalog: CatalogChange[]
  checkpoints: Checkpoint[]
  /**
   * What the sinks must deliver. An event entry of an event this batch writes is kept only when the
   * write changed the event: a retry or re-list that changes nothing forwards nothing again. An event
   * already pending for the same sink keeps one entry, moved to the end of the sink's queue.
   */
  outbox: OutboxEntry[]
  /**
   * The lease epoch of a leader write (sources' batches, alert notices): the store refuses the
   * whole batch, in its transaction, when the epoch is no longer current (`FencedError`).
   * Absent for writes any replica may make (`POST /events`). SQLite ignores it.
   */
  fence?: number
}

/**
 * A pending outbox entry as a sink's delivery loop reads it. `seq` orders a sink's entries and
 * names the entry when it is deleted. An event entry carries the event in its current state,
 * or `undefined` when retention purged the event before it was delivered.
 */
export type PendingEntry = { seq: number; eventId: string; event: EventItem | undefined } | { seq: number; alert: AlertNotice }

/** An event as stored, with the store sequence that grows with every insert and update. */
export interface StoredEvent {
  seq: number
  item: EventItem
  /** Whether the write created the event (false: an update of a known id, or unknown when read back). */
  created: boolean
  /** The timeline views it is linked under, so a live stream can tell whose timeline it is in. */
  views: View[]
}

/** The source and mesh a stored event belongs to; posted events may only update their own kind. */
export interface EventOrigin {
  source: EventSource
  mesh: string
}

export const ENTITY_KINDS = ['application', 'instance', 'ip', 'service'] as const
export type EntityKind = (typeof ENTITY_KINDS)[number]

/** Filters of one timeline, already validated; times in epoch ms. */
export interface TimelineFilter {
  mesh?: string
  application?: string
  instance?: string
  ip?: string
  service?: string
  /** Any of these object namespaces. */
  namespaces?: string[]
  /** Any of these object kinds. */
  kinds?: string[]
  name?: string
  type?: EventType
  sources?: EventSource[]
  reasons?: string[]
  q?: string
  since?: number
  until?: number
}

/** Keyset position: the page starts strictly after (older than) this `(time, id)`. */
export interface TimelinePosition {
  time: number
  id: string
}

export interface TimelineResult {
  items: EventItem[]
  /** Position of the last item when more may follow, else null. */
  next: TimelinePosition | null
  total: number
  totalCapped: boolean
}

export interface MeshRecord {
  name: string
  kind: MeshKind
  address: string
  lastSyncAt?: number
  counts: MeshCounts
}

export interface ResourceListFilter {
  mesh?: string
  application?: string
  q?: string
  limit: number
  /** Keyset position `(mesh, name)`: the page starts after it. */
  after?: { mesh: string; name: string }
}

export interface ResourceListResult<T> {
  items: T[]
  next: { mesh: string; name: string } | null
  total: number
}

/**
 * Durable record of when each source of each mesh was ingesting (the gaps of CONTRACT section 3
 * are the time between periods). Changes go through the writing connection.
 */
export type ActivityChange =
  /** A new run of Eventline: periods a previous run left open ended when they were last seen. */
  | { op: 'start' }
  /** The source is ingesting from `at` on (it connected). */
  | { op: 'open'; mesh: string; source: string; at: number }
  /** Every open period was still ingesting at `at` (the heartbeat that bounds a crash). */
  | { op: 'beat'; at: number }
  /** The source stopped ingesting at `at`: `stopped` (Eventline stopping), `connecting`, `error`, `disabled`. */
  | { op: 'close'; mesh: string; source: string; at: number; reason: string }
  /** The latest period of the source began with a resumption that may have lost events (e.g. `relist-410`). */
  | { op: 'resumed-lossy'; mesh: string; source: string; how: string }

export interface ActivityPeriod {
  mesh: string
  source: string
  started: number
  /** End of the period: when it closed, or its last heartbeat while open (or after a crash). */
  lastSeen: number
  /** Why it ended: `stopped`, `connecting`, `error`, `disabled`, `crashed`; null while open. */
  endReason: string | null
  /** How the period began when that may have lost events (`relist-410`); null otherwise. */
  resumedBy: string | null
}

/** Values of one column among the most recent matches of a timeline. */
export interface FacetResult {
  items: Array<{ value: string; count: number }>
  /** The matches counted were only the most recent ones. */
  capped: boolean
}

export interface HistogramCounts {
  /** Per bucket, oldest first: normal and warning matches. */
  counts: Array<{ normal: number; warning: number }>
  /** Only the newest rows of the range were read (filters that need event rows, over a budget). */
  capped: boolean
  /** When capped: counts are complete from this time (epoch ms) on; older buckets may be short. */
  completeFrom?: number
}

export interface EventStore {
  /** Persists a batch in one transaction; resolves with what was stored, in order. */
  writeBatch(batch: WriteBatch): Promise<StoredEvent[]>
  /** One keyset page of a timeline, newest first (`time` desc, `id` desc). */
  timeline(filter: TimelineFilter, limit: number, after?: TimelinePosition): Promise<TimelineResult>
  /** `timeline` as the JSON body of its API answer (`eventPageJson`): what `GET .../events` sends. */
  timelineBody(filter: TimelineFilter, limit: number, after?: TimelinePosition): Promise<string>
  /** One keyset page without the total: how an export walks every match. A page may be short (or empty) with `next` set. */
  timelinePage(filter: TimelineFilter, limit: number, after?: TimelinePosition): Promise<Pick<TimelineResult, 'items' | 'next'>>
  /** Time of the oldest match (or of the oldest event of the view, see `oldestSql`); undefined when none. */
  oldestMatch(filter: TimelineFilter): Promise<number | undefined>
  /** Matches of `filter` (whose `since` and `until` are set) per bucket of `bucketMs`. */
  histogram(filter: TimelineFilter & { since: number; until: number }, bucketMs: number, buckets: number): Promise<HistogramCounts>
  /** The `top` most common values of `field` among the most recent matches. */
  facets(filter: TimelineFilter, field: 'reason' | 'namespace' | 'kind' | 'application' | 'source' | 'type', top: number): Promise<FacetResult>
  /** Applies one change of the ingestion activity record. */
  recordActivity(change: ActivityChange): Promise<void>
  /**
   * Activity periods that may border a gap within [since, until): those that end inside or after
   * `since`, plus the last one before it of each source; oldest first per (mesh, source).
   */
  activityPeriods(query: { mesh?: string; since: number; until: number }): Promise<ActivityPeriod[]>
  /** Offset paging, only for the Dubbo admin compatible endpoints, whose clients send offsets. */
  timelineByOffset(filter: TimelineFilter, offset: number, limit: number): Promise<{ items: EventItem[]; total: number }>
  /** Events whose store sequence is above `seq`, in sequence order: how a live stream resumes. */
  eventsAfter(seq: number, limit: number): Promise<StoredEvent[]>
  /** The newest store sequence (0 when nothing was written): where a live stream's history ends. */
  latestSeq(): Promise<number>
  /** One event by id (`GET /events/:id`); `undefined` when unknown. */
  event(id: string): Promise<EventItem | undefined>
  /** Who owns each of `ids` that is stored (unknown ids are absent): how posted ids are checked. */
  eventOrigins(ids: readonly string[]): Promise<Map<string, EventOrigin>>
  readCheckpoint(key: string): Promise<string | undefined>
  /** Every checkpoint whose key starts with `prefix`, keyed by the rest of the key. */
  readCheckpoints(prefix: string): Promise<Map<string, string>>
  /** Deletes up to `batchSize` events whose last occurrence is before `cutoff`; resolves with how many. */
  purgeBefore(cutoff: number, batchSize: number, fence?: number): Promise<number>

  /** Up to `limit` pending outbox entries of `sink`, oldest first, with their events joined. */
  pendingOutbox(sink: string, limit: number): Promise<PendingEntry[]>
  /**
   * Deletes entries of `sink` by `seq` (delivered, or dropped). An event updated since it was read
   * has moved to a new `seq`, so its entry stays and the newer state is delivered too.
   */
  deleteOutbox(sink: string, seqs: readonly number[], fence?: number): Promise<void>
  /** Pending entries per sink (sinks with none are absent). */
  outboxCounts(): Promise<Map<string, number>>
  /** Deletes the entries of `sink` written before `createdBefore` (epoch ms); resolves with how many. */
  discardOutbox(sink: string, createdBefore: number, fence?: number): Promise<number>

  meshes(): Promise<MeshRecord[]>
  applications(filter: ResourceListFilter, now: number): Promise<ResourceListResult<ApplicationSummary>>
  application(name: string, mesh?: string): Promise<ApplicationDetail | undefined>
  instances(filter: ResourceListFilter): Promise<ResourceListResult<Instance>>
  instance(name: string, mesh?: string): Promise<Instance | undefined>
  services(filter: ResourceListFilter): Promise<ResourceListResult<ServiceSummary>>
  service(name: string, mesh?: string): Promise<ServiceDetail | undefined>

  /** What replicas share through the database; absent on SQLite (one process, always the leader). */
  readonly replicas?: ReplicaStore

  /** True while the store can serve queries (`/readyz`). */
  isOpen(): boolean
  /**
   * Why writes fail at the moment (full disk, lock not obtained, I/O error), or undefined while
   * they succeed: set by a failed write, cleared by the next one that commits (`/readyz`).
   */
  writeFailure(): string | undefined
  close(): Promise<void>
}

/** A mesh's connection state as the leader's source reports it (`/meshes` on every replica). */
export interface MeshStatusRecord {
  mesh: string
  status: string
  error?: string
}

/** The stored mesh states with the lease they were written under and the lease as it is now. */
export interface MeshStatusSnapshot {
  states: Array<MeshStatusRecord & { epoch: number }>
  /** The lease when the states were read (absent: no replica ever led). Times by the database clock. */
  lease?: { holder: string; epoch: number; expiresAt: number; expired: boolean }
}

/**
 * Leadership and the shared live feed (PostgreSQL). The `fence` arguments of `EventStore` are
 * the epochs `acquireLease` hands out.
 */
export interface ReplicaStore {
  /** Takes the lease if it is free or expired; resolves with the new epoch, or undefined. */
  acquireLease(holder: string, durationMs: number): Promise<number | undefined>
  /** Extends the lease held at `epoch`; false when another replica took it. */
  renewLease(holder: string, epoch: number, durationMs: number): Promise<boolean>
  /** Ends the term at once (graceful shutdown). */
  releaseLease(holder: string, epoch: number): Promise<void>
  /**
   * Calls `wake` after any replica commits events (a hint: read `eventsAfter` to learn what), and
   * once after every (re)connection of the listening client, since notices may have been missed.
   * Resolves with a function that stops listening.
   */
  listen(wake: () => void): Promise<() => Promise<void>>
  /** The highest committed store sequence (where a live feed starts). */
  lastSeq(): Promise<number>
  /** Replaces the stored mesh states with the leader's (fenced), marked with its epoch. */
  writeMeshStatus(states: readonly MeshStatusRecord[], fence: number): Promise<void>
  /** The stored states and the current lease, read together. */
  readMeshStatus(): Promise<MeshStatusSnapshot>
}

/**
 * Test API server: an in-process stand-in for kube-apiserver, for testing the Kubernetes
 * source against the real `@kubernetes/client-node` (through a kubeconfig from
 * `kubeconfig.ts`) and the real `kubectl` without a cluster. Listens on 127.0.0.1, port 0, plain
 * HTTP or, with `tls`, HTTPS (`selfSignedCertificate()` makes a certificate at test time).
 *
 * What it models, the way kube-apiserver (etcd storage plus watch cache) behaves:
 * - Discovery as kubectl reads it: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>` and
 *   `/apis/<group>/<version>` in the legacy form (a client asking for aggregated discovery gets
 *   plain JSON and falls back, as with an older server); `/openapi/v2` and `/openapi/v3` are 404.
 * - Resources: core/v1 `events`, `pods`, `services`, `nodes` (cluster-scoped), apps/v1
 *   `deployments`, `replicasets`, `statefulsets`, `daemonsets`, batch/v1 `jobs`, `cronjobs`,
 *   autoscaling/v2 `horizontalpodautoscalers`, cluster-wide (`/api/v1/events`) and per
 *   namespace (`/api/v1/namespaces/{ns}/events`), GET of one object, and
 *   `/apis/events.k8s.io/v1/[namespaces/{ns}/]events`: the same event store rendered in the
 *   events.k8s.io/v1 shape (`regarding`, `note`, `reportingController`, `deprecatedCount`, ...)
 *   with the field mapping of the real conversion.
 * - One store-wide resourceVersion counter (like the etcd revision: pods and events share it),
 *   rendered as a string. Objects get `uid`, `creationTimestamp`, `resourceVersion`; list items
 *   carry no `kind`/`apiVersion`, watch objects do (as the real JSON does).
 * - LIST: `limit` + `continue` paging over a consistent snapshot (every page is served at the
 *   first page's resourceVersion, which is the list's `metadata.resourceVersion`), items in
 *   key order (namespace/name), `remainingItemCount`, continue tokens shaped like the real
 *   ones (base64 JSON `{v, rv, start}`). A token older than the history window answers 410
 *   Expired with an "inconsistent continue" token, as etcd compaction does. `resourceVersion`
 *   unset or "0" reads the latest state; `resourceVersionMatch=Exact` reads the state at that
 *   version (410 when older than the window); `NotOlderThan` (or no match) reads the latest;
 *   a version from the future answers 504 "Too large resource version". The validation
 *   errors of `resourceVersionMatch` with `continue` are the real ones.
 * - WATCH (`watch=true|1`): chunked JSON lines `{"type","object"}`, flushed headers first.
 *   `resourceVersion` unset or "0" starts with synthetic ADDED of the current state;
 *   `resourceVersion=X` replays every change after X from a bounded per-resource history
 *   (`historyLimit` changes), then streams live changes. X older than the window is expired:
 *   by default a 200 stream with one `ERROR` event whose object is a 410 Expired Status
 *   ("too old resource version: X (Y)") followed by a clean close, which is what the watch
 *   cache and the etcd path both do; or, selectable, a plain HTTP 410 Status response, which
 *   some servers and proxies answer. `allowWatchBookmarks=true` gets BOOKMARK events
 *   (object = an empty object of the kind carrying only `metadata.resourceVersion`) every
 *   `bookmarkIntervalMs`; `sendInitialEvents=true` ends the initial ADDEDs with a bookmark
 *   annotated `k8s.io/initial-events-end`; `timeoutSeconds` ends the stream cleanly.
 * - Errors carry the real `Status` bodies: 401 Unauthorized without the bearer token, 403
 *   Forbidden with the RBAC message for `forbid()`den resource/verb pairs, 404 NotFound,
 *   405, 400/422 for bad parameters.
 * - Failure controls on the handle: expire history, drop watch sockets, stall watches (no
 *   bytes at all, not even bookmarks, while sockets stay open), close watches cleanly (what a
 *   server without a watch cache does, e.g. for events), inject a malformed line.
 *
 * What it deliberately does not model (candidly):
 * - Client certificates, exec credentials, impersonation, HTTP/2, protobuf, gzip, table
 *   output, `pretty`, aggregated discovery, OpenAPI (so `kubectl create` needs
 *   `--validate=false`: kubectl 1.32 will not create without a schema to validate against).
 * - Writes over HTTP: only create (POST to a collection, `generateName` honoured, 409 when it
 *   exists; not for events.k8s.io). PUT/PATCH/DELETE answer 405: tests mutate through the
 *   handle. No admission, defaulting or field validation (`fieldValidation` is ignored): objects
 *   are stored as given plus server-owned metadata; events never expire by TTL unless the test
 *   deletes them. Workloads are inert: no controller creates ReplicaSets or pods.
 * - `fieldSelector` and `labelSelector`: not implemented; a non-empty one answers 400 rather
 *   than being silently ignored, so a caller relying on them notices.
 * - Watch of a single named object, `/api/v1/watch/...` legacy paths, `sendInitialEvents`
 *   with an explicit resourceVersion (initial state is always the latest state), the
 *   watch-cache quirk that ignores `limit` for `resourceVersion=0`, the bookmark the real
 *   server sends just before `timeoutSeconds` expires, the server's own random watch timeout
 *   (a watch without `timeoutSeconds` stays open unless `defaultWatchTimeoutSeconds` is set),
 *   graceful pod deletion (`deletionTimestamp`, MODIFIED before DELETED).
 * - Backpressure: lines are written without waiting for `drain`, fine for test volumes.
 * - `injectMalformed` lines are live only: they are not in the history, so a watch resumed
 *   from an earlier resourceVersion does not replay them.
 * - Timing: a watch from a future resourceVersion answers at once (the real one waits ~3 s).
 */
import { randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type KubeKind =
  | 'events'
  | 'pods'
  | 'services'
  | 'nodes'
  | 'deployments'
  | 'replicasets'
  | 'statefulsets'
  | 'daemonsets'
  | 'jobs'
  | 'cronjobs'
  | 'horizontalpodautoscalers'
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'
/** `errorEvent`: 200 + one ERROR event with a 410 Status (the usual case); `httpStatus`: HTTP 410. */
export type ExpiredWatchMode = 'errorEvent' | 'httpStatus'
export type Verb = 'get' | 'list' | 'watch' | 'create'

export type JsonObject = { [key: string]: unknown }

export interface KubeObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  creationTimestamp?: string | null
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [key: string]: unknown
}

/** A core/v1 object as stored (list item shape: no `kind`/`apiVersion`). */
export interface KubeObject {
  metadata: KubeObjectMeta
  [key: string]: unknown
}

export interface KubernetesApiServerOptions {
  /** Bearer token every request must carry. Default `eventline-test-kube-token`. */
  token?: string
  /** User named in 403 messages. Default `system:serviceaccount:eventline:eventline`. */
  user?: string
  /** Changes kept per resource for watch resume and consistent paging. Default 10,000. */
  historyLimit?: number
  /** Interval of BOOKMARK events for watches that ask for them. Default 60 s (the watch cache's ~1 min). */
  bookmarkIntervalMs?: number
  /** How a watch from an expired resourceVersion is answered. Default `errorEvent`. */
  expiredWatch?: ExpiredWatchMode
  /** Ends watches that send no `timeoutSeconds` after this many seconds. Default: never. */
  defaultWatchTimeoutSeconds?: number
  /**
   * Flush a watch's response headers before its first line (kube-apiserver does). With
   * `false` the headers go out with the first line, so a client's `fetch` stays pending on a
   * quiet watch (what client-node issue #2860 describes behind some proxies). Default true.
   */
  flushWatchHeaders?: boolean
  /** Value of the resourceVersion counter before the first write. Default 1000. */
  startResourceVersion?: number
  /**
   * `numeric` renders resourceVersions as decimal strings like etcd; `opaque` renders them as
   * non-numeric strings, to catch callers that parse or order them. Default `numeric`.
   */
  resourceVersionStyle?: 'numeric' | 'opaque'
  /**
   * RBAC: when given, only these ClusterRole rules are allowed (`*` wildcards as in RBAC); every
   * other resource request answers the real 403. Discovery stays open (system:discovery).
   */
  rules?: ReadonlyArray<{ apiGroups: readonly string[]; resources: readonly string[]; verbs: readonly string[] }>
  /** Serve HTTPS with this key and certificate (PEM), e.g. from `selfSignedCertificate()`. Default: plain HTTP. */
  tls?: { key: string; cert: string }
}

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  watch: boolean
  /** HTTP status answered; a watch records 200 when its stream starts. */
  status?: number
}

export interface KubernetesApiServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly token: string
  /** The store's current resourceVersion. */
  readonly resourceVersion: string
  /** Every request received, in order (method, path, query, status). */
  readonly requests: readonly RecordedRequest[]
  clearRequests(): void
  /**
   * Creates an object (namespace defaults to `default`); emits ADDED. Returns the stored copy.
   * Like `modify` and `delete`, it writes the watch line to every open, unstalled watch socket
   * before returning, so the moment it returns is the moment the server wrote the line.
   */
  add(kind: KubeKind, object: KubeObject): KubeObject
  /** Replaces an existing object (keeps uid and creationTimestamp), bumps its resourceVersion; emits MODIFIED. */
  modify(kind: KubeKind, object: KubeObject): KubeObject
  /** Removes an object; emits DELETED carrying the deletion's resourceVersion. Returns that object. */
  delete(kind: KubeKind, namespace: string, name: string): KubeObject
  get(kind: KubeKind, namespace: string, name: string): KubeObject | undefined
  /** Current objects of a kind in key order. */
  list(kind: KubeKind): KubeObject[]
  /** Writes `rawJsonLine` verbatim (plus newline) to every open watch of `kind`. */
  injectMalformed(kind: KubeKind, rawJsonLine: string): void
  /**
   * Forgets the change history (like etcd compaction) after an unrelated write bumps the
   * counter, so every resourceVersion and continue token handed out so far is expired.
   */
  expireHistory(kind?: KubeKind): void
  setExpiredWatchMode(mode: ExpiredWatchMode): void
  /** Destroys the sockets of open watches mid-stream (no chunked terminator). Returns how many. */
  dropConnections(kind?: KubeKind): number
  /** Open and new watches send nothing (no events, bookmarks or timeouts) until `resumeWatches`. */
  stallWatches(kind?: KubeKind): void
  /** Ends stalls (delivering what was held, in order) and `keepClosing`. */
  resumeWatches(): void
  /**
   * Ends open watches cleanly (chunked terminator, no ERROR), dropping anything a stall held.
   * `keepClosing`: also end every new watch right after its headers, until `resumeWatches`.
   * Returns how many open watches were ended.
   */
  closeWatchesCleanly(options?: { kind?: KubeKind; keepClosing?: boolean }): number
  /** Sends a BOOKMARK now to every open, unstalled watch that allowed bookmarks. */
  sendBookmarks(): void
  /** Answers 403 for `resource` (`events`, `pods`, `services`, `events.events.k8s.io`) and `verb` (all verbs when omitted). */
  forbid(resource: string, verb?: Verb): void
  /** Lifts one `forbid`, or all of them when called without arguments. */
  unforbid(resource?: string, verb?: Verb): void
  /** Number of open watch streams (of one kind when given). */
  openWatches(kind?: KubeKind): number
  /** Ends every watch and socket and stops listening. */
  close(): Promise<void>
}

type Group = '' | 'events.k8s.io' | 'apps' | 'batch' | 'autoscaling'

interface Route {
  group: Group
  resource: KubeKind
  namespace?: string
  name?: string
}

interface Change {
  rv: number
  type: WatchEventType
  key: string
  namespace: string
  object: KubeObject
  previous: KubeObject | undefined
  lines: Map<Group, string>
}

interface Collection {
  objects: Map<string, KubeObject>
  history: Change[]
  /** Index of the oldest retained change in `history`. */
  head: number
  /** Every change with a resourceVersion above this one is retained. */
  historyStartRv: number
}

interface Watcher {
  route: Route
  res: ServerResponse
  bookmarks: boolean
  held: string[]
  endWhenResumed: boolean
  timers: NodeJS.Timeout[]
  ended: boolean
}

interface ContinueToken {
  v: string
  rv: number
  start: string
}

/** What is served, per group: the version, and each resource's kind, scope and short names (as discovery lists them). */
const GROUPS: ReadonlyArray<{ group: Group; version: string; resources: ReadonlyArray<{ resource: KubeKind; namespaced: boolean; shortNames?: string[] }> }> = [
  {
    group: '',
    version: 'v1',
    resources: [
      { resource: 'events', namespaced: true, shortNames: ['ev'] },
      { resource: 'pods', namespaced: true, shortNames: ['po'] },
      { resource: 'services', namespaced: true, shortNames: ['svc'] },
      { resource: 'nodes', namespaced: false, shortNames: ['no'] },
    ],
  },
  { group: 'events.k8s.io', version: 'v1', resources: [{ resource: 'events', namespaced: true, shortNames: ['ev'] }] },
  {
    group: 'apps',
    version: 'v1',
    resources: [
      { resource: 'deployments', namespaced: true, shortNames: ['deploy'] },
      { resource: 'replicasets', namespaced: true, shortNames: ['rs'] },
      { resource: 'statefulsets', namespaced: true, shortNames: ['sts'] },
      { resource: 'daemonsets', namespaced: true, shortNames: ['ds'] },
    ],
  },
  { group: 'batch', version: 'v1', resources: [{ resource: 'jobs', namespaced: true }, { resource: 'cronjobs', namespaced: true, shortNames: ['cj'] }] },
  { group: 'autoscaling', version: 'v2', resources: [{ resource: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'] }] },
]
const KIND_NAMES: Record<KubeKind, string> = {
  events: 'Event',
  pods: 'Pod',
  services: 'Service',
  nodes: 'Node',
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  jobs: 'Job',
  cronjobs: 'CronJob',
  horizontalpodautoscalers: 'HorizontalPodAutoscaler',
}
const KINDS = Object.keys(KIND_NAMES) as KubeKind[]
const CLUSTER_SCOPED = new Set<KubeKind>(['nodes'])
/** Verbs discovery lists: what this server implements (no update, patch or delete over HTTP). */
const SERVED_VERBS = ['create', 'get', 'list', 'watch']
/** The version `/version` reports (what kubectl prints as the server version). */
const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-eventline-test', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64' }
/** Largest request body accepted by create (the real limit is 3 MiB; events are small). */
const MAX_BODY_BYTES = 1024 * 1024
const CONTINUE_VERSION = 'meta.k8s.io/v1'
const INCONSISTENT_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without ' +
  'the continue parameter, or use the continue token in this response to retrieve the remainder of the results. ' +
  'Continuing with the provided token results in an inconsistent list - objects that were created, modified, or ' +
  'deleted between the time the first chunk was returned and now may show up in the list.'

/** `/api/v1/...` or `/apis/<group>/<version>/...`, then `[namespaces/<ns>/]<resource>[/<name>]`. */
const RESOURCE_PATH = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?$/

/** A `kind: Status` failure body, field order as kube-apiserver writes it. */
function status(code: number, reason: string, message: string, details?: JsonObject, metadata: JsonObject = {}): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata, status: 'Failure', message, reason, ...(details ? { details } : {}), code }
}

function invalidListOptions(field: string, detail: string): JsonObject {
  return status(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${field}: ${detail}`, {
    group: 'meta.k8s.io',
    kind: 'ListOptions',
    causes: [{ reason: 'FieldValueForbidden', message: detail, field }],
  })
}

function tooLargeResourceVersion(requested: string, current: string): JsonObject {
  return status(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  })
}

/** Go's strconv.ParseBool, which the API server uses for boolean query parameters. */
function parseBool(value: string | null): boolean | undefined {
  if (value === null) return undefined
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false
  return undefined
}

function apiVersionOf(group: Group): string {
  const version = GROUPS.find((entry) => entry.group === group)!.version
  return group === '' ? version : `${group}/${version}`
}

function qualifiedResource(route: Route): string {
  return route.group === '' ? route.resource : `${route.resource}.${route.group}`
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`
}

/** creationTimestamp precision: whole seconds, as metav1.Time serialises. */
function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** core/v1 Event -> events.k8s.io/v1 Event, field for field as the API server's conversion maps them. */
function toEventsV1(event: KubeObject): JsonObject {
  const source = (event.source ?? {}) as JsonObject
  const out: JsonObject = {
    metadata: event.metadata,
    eventTime: event.eventTime ?? null,
    ...(event.series !== undefined ? { series: event.series } : {}),
    reportingController: event.reportingComponent ?? '',
    reportingInstance: event.reportingInstance ?? '',
    ...(event.action !== undefined ? { action: event.action } : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    regarding: event.involvedObject ?? {},
    ...(event.related !== undefined ? { related: event.related } : {}),
    ...(event.message !== undefined ? { note: event.message } : {}),
    ...(event.type !== undefined ? { type: event.type } : {}),
  }
  if (source.component !== undefined || source.host !== undefined) {
    out.deprecatedSource = { ...(source.component !== undefined ? { component: source.component } : {}), ...(source.host !== undefined ? { host: source.host } : {}) }
  }
  out.deprecatedFirstTimestamp = event.firstTimestamp ?? null
  out.deprecatedLastTimestamp = event.lastTimestamp ?? null
  if (event.count !== undefined) out.deprecatedCount = event.count
  return out
}

/** A stored object as a list item of the route's group (no kind/apiVersion). */
function renderItem(group: Group, object: KubeObject): JsonObject {
  return group === 'events.k8s.io' ? toEventsV1(object) : object
}

/** A stored object with kind/apiVersion, as watch events and GET carry it. */
function renderTyped(route: Route, object: KubeObject): JsonObject {
  return { kind: KIND_NAMES[route.resource], apiVersion: apiVersionOf(route.group), ...renderItem(route.group, object) }
}

/** The object of a BOOKMARK: an empty object of the kind with only a resourceVersion, as the real one. */
function bookmarkObject(route: Route, resourceVersion: string, initialEventsEnd: boolean): JsonObject {
  const metadata: JsonObject = { resourceVersion, creationTimestamp: null }
  if (initialEventsEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' }
  const empty: Record<string, JsonObject> = {
    events: route.group === ''
      ? { involvedObject: {}, reason: '', message: '', source: {}, firstTimestamp: null, lastTimestamp: null, eventTime: null, reportingComponent: '', reportingInstance: '' }
      : { eventTime: null, reportingController: '', reportingInstance: '', regarding: {}, deprecatedSource: {}, deprecatedFirstTimestamp: null, deprecatedLastTimestamp: null },
    pods: { spec: { containers: null }, status: {} },
    services: { spec: {}, status: { loadBalancer: {} } },
  }
  return { kind: KIND_NAMES[route.resource], apiVersion: apiVersionOf(route.group), metadata, ...(empty[route.resource] ?? { spec: {}, status: {} }) }
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64')
}

function decodeContinue(value: string): ContinueToken | undefined {
  try {
    const token = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Partial<ContinueToken>
    if (token.v !== CONTINUE_VERSION || typeof token.rv !== 'number' || typeof token.start !== 'string') return undefined
    return { v: token.v, rv: token.rv, start: token.start }
  } catch {
    return undefined
  }
}

/** Index of the first entry of a key-sorted snapshot whose key is >= `start`. */
function lowerBound(items: ReadonlyArray<[string, KubeObject]>, start: string): number {
  let low = 0
  let high = items.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (items[middle]![0] < start) low = middle + 1
    else high = middle
  }
  return low
}

function compareKeys(a: [string, KubeObject], b: [string, KubeObject]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

/**
 * Starts a test Kubernetes API server on 127.0.0.1 (ephemeral port).
 * Close it with `close()` (in `afterAll`/`afterEach`).
 */
export async function startKubernetesApiServer(options: KubernetesApiServerOptions = {}): Promise<KubernetesApiServer> {
  const token = options.token ?? 'eventline-test-kube-token'
  const user = options.user ?? 'system:serviceaccount:eventline:eventline'
  const historyLimit = Math.max(1, options.historyLimit ?? 10_000)
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000
  const flushWatchHeaders = options.flushWatchHeaders ?? true
  const opaque = options.resourceVersionStyle === 'opaque'
  let expiredWatchMode: ExpiredWatchMode = options.expiredWatch ?? 'errorEvent'
  let currentRv = options.startResourceVersion ?? 1000

  const collections = new Map<KubeKind, Collection>(
    KINDS.map((kind) => [kind, { objects: new Map(), history: [], head: 0, historyStartRv: currentRv }]),
  )
  const watchers = new Set<Watcher>()
  const stalled = new Set<KubeKind>()
  const closing = new Set<KubeKind>()
  const forbidden = new Set<string>()
  const requests: RecordedRequest[] = []
  /** Key-sorted snapshots by `${kind}@${rv}`; only the few most recent are kept. */
  const snapshots = new Map<string, Array<[string, KubeObject]>>()

  const formatRv = (rv: number) => (opaque ? `rv-${rv.toString(36)}` : String(rv))
  const parseRv = (value: string): number | undefined => {
    const digits = opaque ? /^rv-([0-9a-z]+)$/.exec(value)?.[1] : /^\d+$/.exec(value)?.[0]
    if (digits === undefined) return undefined
    const rv = parseInt(digits, opaque ? 36 : 10)
    return Number.isSafeInteger(rv) ? rv : undefined
  }
  const collection = (kind: KubeKind) => collections.get(kind)!
  const kindsOf = (kind?: KubeKind) => (kind ? [kind] : KINDS)

  // ---- store -------------------------------------------------------------------------------

  function record(kind: KubeKind, type: WatchEventType, object: KubeObject, previous: KubeObject | undefined): void {
    const coll = collection(kind)
    const namespace = object.metadata.namespace ?? ''
    const change: Change = { rv: currentRv, type, key: keyOf(namespace, object.metadata.name), namespace, object, previous, lines: new Map() }
    coll.history.push(change)
    while (coll.history.length - coll.head > historyLimit) {
      coll.historyStartRv = coll.history[coll.head]!.rv
      coll.head += 1
    }
    if (coll.head > 1024 && coll.head * 2 > coll.history.length) {
      coll.history = coll.history.slice(coll.head)
      coll.head = 0
    }
    for (const watcher of watchers) {
      if (watcher.route.resource !== kind) continue
      if (watcher.route.namespace !== undefined && watcher.route.namespace !== namespace) continue
      deliver(watcher, changeLine(change, watcher.route))
    }
  }

  function changeLine(change: Change, route: Route): string {
    let line = change.lines.get(route.group)
    if (line === undefined) {
      line = JSON.stringify({ type: change.type, object: renderTyped(route, change.object) })
      change.lines.set(route.group, line)
    }
    return line
  }

  function normalise(kind: KubeKind, object: KubeObject): { namespace: string; name: string; copy: KubeObject } {
    const name = object?.metadata?.name
    if (typeof name !== 'string' || name === '') throw new Error('object needs metadata.name')
    const copy = structuredClone(object)
    delete copy.kind
    delete copy.apiVersion
    // Cluster-scoped objects (nodes) have no namespace: key '/<name>'.
    const namespace = CLUSTER_SCOPED.has(kind) ? '' : (copy.metadata.namespace ?? 'default')
    if (namespace === '') delete copy.metadata.namespace
    return { namespace, name, copy }
  }

  /** Server-owned metadata of a new object (uid, resourceVersion, creationTimestamp), as `add` stores it. */
  function create(kind: KubeKind, object: KubeObject): KubeObject {
    const { namespace, name, copy } = normalise(kind, object)
    const coll = collection(kind)
    const key = keyOf(namespace, name)
    if (coll.objects.has(key)) throw new Error(`${kind} "${name}" already exists in namespace "${namespace}"`)
    currentRv += 1
    copy.metadata = {
      ...copy.metadata,
      ...(namespace === '' ? {} : { namespace }),
      uid: copy.metadata.uid ?? randomUUID(),
      resourceVersion: formatRv(currentRv),
      creationTimestamp: copy.metadata.creationTimestamp ?? nowSeconds(),
    }
    coll.objects.set(key, copy)
    record(kind, 'ADDED', copy, undefined)
    return copy
  }

  /** The key-sorted objects of a kind at `rv` (current state with later changes undone). */
  function snapshotAt(kind: KubeKind, rv: number): Array<[string, KubeObject]> {
    const id = `${kind}@${rv}`
    const cached = snapshots.get(id)
    if (cached) return cached
    const coll = collection(kind)
    const state = new Map(coll.objects)
    for (let index = coll.history.length - 1; index >= coll.head && coll.history[index]!.rv > rv; index -= 1) {
      const change = coll.history[index]!
      if (change.previous === undefined) state.delete(change.key)
      else state.set(change.key, change.previous)
    }
    const items = [...state.entries()].sort(compareKeys)
    snapshots.set(id, items)
    if (snapshots.size > 8) snapshots.delete(snapshots.keys().next().value!)
    return items
  }

  // ---- watch delivery ----------------------------------------------------------------------

  function deliver(watcher: Watcher, line: string): void {
    if (watcher.ended) return
    if (stalled.has(watcher.route.resource)) watcher.held.push(line)
    else watcher.res.write(`${line}\n`)
  }

  function endWatcher(watcher: Watcher, how: 'clean' | 'destroy'): void {
    if (watcher.ended) return
    watcher.ended = true
    watcher.held = []
    for (const timer of watcher.timers) clearTimeout(timer)
    watchers.delete(watcher)
    if (how === 'clean') watcher.res.end()
    else watcher.res.socket?.destroy()
  }

  /** Ends a watch cleanly unless its kind is stalled (then it ends when resumed). */
  function timeOut(watcher: Watcher): void {
    if (stalled.has(watcher.route.resource)) watcher.endWhenResumed = true
    else endWatcher(watcher, 'clean')
  }

  function bookmark(watcher: Watcher): void {
    if (watcher.ended || !watcher.bookmarks || stalled.has(watcher.route.resource)) return
    deliver(watcher, JSON.stringify({ type: 'BOOKMARK', object: bookmarkObject(watcher.route, formatRv(currentRv), false) }))
  }

  // ---- HTTP --------------------------------------------------------------------------------

  function send(res: ServerResponse, entry: RecordedRequest, code: number, body: JsonObject): void {
    entry.status = code
    const text = JSON.stringify(body)
    res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  function route(path: string): Route | undefined {
    const match = RESOURCE_PATH.exec(path)
    if (!match) return undefined
    const [, coreVersion, groupName, groupVersion, namespace, resource, name] = match
    const group = GROUPS.find((entry) => (coreVersion !== undefined ? entry.group === '' : entry.group === groupName && entry.version === groupVersion))
    const served = group?.resources.find((entry) => entry.resource === resource)
    if (!group || !served) return undefined
    // A namespaced resource's object needs its namespace; a cluster-scoped one has none.
    if (served.namespaced ? name !== undefined && namespace === undefined : namespace !== undefined) return undefined
    return {
      group: group.group,
      resource: served.resource,
      ...(namespace !== undefined ? { namespace: decodeURIComponent(namespace) } : {}),
      ...(name !== undefined ? { name: decodeURIComponent(name) } : {}),
    }
  }

  /**
   * Discovery, as kube-apiserver answers it in the legacy (non-aggregated) form: a client asking
   * for aggregated discovery (`Accept: ...;g=apidiscovery.k8s.io;v=v2`) gets plain JSON and falls
   * back, as with an older server. OpenAPI documents are not served (404), so kubectl skips
   * client-side schema validation the way it does for servers without them.
   */
  function discovery(path: string, host: string): JsonObject | undefined {
    if (path === '/version') return SERVER_VERSION
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] }
    if (path === '/apis') {
      const groups = GROUPS.filter((entry) => entry.group !== '').map((entry) => {
        const version = { groupVersion: `${entry.group}/${entry.version}`, version: entry.version }
        return { name: entry.group, versions: [version], preferredVersion: version }
      })
      return { kind: 'APIGroupList', apiVersion: 'v1', groups }
    }
    const group = GROUPS.find((entry) => path === (entry.group === '' ? `/api/${entry.version}` : `/apis/${entry.group}/${entry.version}`))
    if (group) {
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: apiVersionOf(group.group),
        resources: group.resources.map((entry) => ({
          name: entry.resource,
          singularName: KIND_NAMES[entry.resource].toLowerCase(),
          namespaced: entry.namespaced,
          kind: KIND_NAMES[entry.resource],
          verbs: SERVED_VERBS,
          ...(entry.shortNames ? { shortNames: entry.shortNames } : {}),
        })),
      }
    }
    const named = GROUPS.find((entry) => entry.group !== '' && path === `/apis/${entry.group}`)
    if (named) {
      const version = { groupVersion: `${named.group}/${named.version}`, version: named.version }
      return { kind: 'APIGroup', apiVersion: 'v1', name: named.group, versions: [version], preferredVersion: version }
    }
    return undefined
  }

  function forbiddenStatus(target: Route, verb: Verb): JsonObject | undefined {
    const resource = qualifiedResource(target)
    const allowed = (entries: readonly string[], value: string) => entries.includes('*') || entries.includes(value)
    const granted =
      options.rules === undefined ||
      options.rules.some((rule) => allowed(rule.apiGroups, target.group) && allowed(rule.resources, target.resource) && allowed(rule.verbs, verb))
    if (granted && !forbidden.has(`${resource}:${verb}`) && !forbidden.has(`${resource}:*`)) return undefined
    const subject = target.name !== undefined ? `${resource} "${target.name}"` : resource
    const scope = target.namespace !== undefined ? `in the namespace "${target.namespace}"` : 'at the cluster scope'
    const message = `${subject} is forbidden: User "${user}" cannot ${verb} resource "${target.resource}" in API group "${target.group}" ${scope}`
    const details: JsonObject = {
      ...(target.name !== undefined ? { name: target.name } : {}),
      ...(target.group !== '' ? { group: target.group } : {}),
      kind: target.resource,
    }
    return status(403, 'Forbidden', message, details)
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const query = url.searchParams
    const isWatch = parseBool(query.get('watch')) === true
    const entry: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(query), watch: isWatch }
    requests.push(entry)

    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, entry, 401, status(401, 'Unauthorized', 'Unauthorized'))
      return
    }
    const described = entry.method === 'GET' ? discovery(url.pathname, req.headers.host ?? '127.0.0.1') : undefined
    if (described) {
      send(res, entry, 200, described)
      return
    }
    const target = route(url.pathname)
    if (!target) {
      send(res, entry, 404, status(404, 'NotFound', 'the server could not find the requested resource', {}))
      return
    }
    const creating = entry.method === 'POST' && target.name === undefined && target.group !== 'events.k8s.io'
    if (entry.method !== 'GET' && !creating) {
      send(res, entry, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}))
      return
    }
    const verb: Verb = creating ? 'create' : target.name !== undefined ? 'get' : isWatch ? 'watch' : 'list'
    const denied = forbiddenStatus(target, verb)
    if (denied) {
      send(res, entry, 403, denied)
      return
    }
    for (const selector of ['fieldSelector', 'labelSelector']) {
      if (query.get(selector)) {
        send(res, entry, 400, status(400, 'BadRequest', `${selector} is not implemented by the test API server`))
        return
      }
    }
    if (creating) {
      readBody(req, (body) => serveCreate(target, body, res, entry))
      return
    }
    if (target.name !== undefined) {
      if (isWatch) send(res, entry, 400, status(400, 'BadRequest', 'watching a single object is not implemented by the test API server'))
      else serveGet(target, res, entry)
    } else if (isWatch) {
      serveWatch(target, query, req, res, entry)
    } else {
      serveList(target, query, res, entry)
    }
  }

  /** Reads a JSON request body (at most MAX_BODY_BYTES); answers 413/400 itself when it cannot. */
  function readBody(req: IncomingMessage, then: (body: unknown) => void): void {
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('error', () => (failed = true))
    req.on('end', () => {
      if (failed) return
      if (size > MAX_BODY_BYTES) {
        then(413)
        return
      }
      try {
        then(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown)
      } catch (error) {
        then(new SyntaxError((error as Error).message))
      }
    })
  }

  /**
   * POST to a collection: stores the object with server-owned metadata (`generateName` honoured)
   * and answers 201 with it, as kube-apiserver does after admission; 409 when it exists, 400 for a
   * body that is not an object of this kind or names another namespace.
   */
  function serveCreate(target: Route, body: unknown, res: ServerResponse, entry: RecordedRequest): void {
    if (body === 413) {
      send(res, entry, 413, status(413, 'RequestEntityTooLarge', 'the request body is too large'))
      return
    }
    if (body instanceof SyntaxError) {
      send(res, entry, 400, status(400, 'BadRequest', `the body of the request was in an unknown format: ${body.message}`))
      return
    }
    const object = body as KubeObject
    const kind = KIND_NAMES[target.resource]
    if (typeof object !== 'object' || object === null || Array.isArray(object) || typeof object.metadata !== 'object' || object.metadata === null) {
      send(res, entry, 400, status(400, 'BadRequest', 'the body of the request is not an object with metadata'))
      return
    }
    if ((object.kind !== undefined && object.kind !== kind) || (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(target.group))) {
      send(res, entry, 400, status(400, 'BadRequest', `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersionOf(target.group)})`))
      return
    }
    const namespace = object.metadata.namespace ?? target.namespace
    if (target.namespace !== undefined && namespace !== target.namespace) {
      send(res, entry, 400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'))
      return
    }
    if (!CLUSTER_SCOPED.has(target.resource) && namespace === undefined) {
      send(res, entry, 404, status(404, 'NotFound', 'the server could not find the requested resource', {}))
      return
    }
    let name = object.metadata.name
    const generateName = object.metadata.generateName
    if ((name === undefined || name === '') && typeof generateName === 'string' && generateName !== '') {
      name = `${generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`
    }
    if (typeof name !== 'string' || name === '') {
      send(res, entry, 422, status(422, 'Invalid', `${kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: target.resource }))
      return
    }
    const fresh: KubeObject = { ...object, metadata: { ...object.metadata, name, ...(namespace !== undefined ? { namespace } : {}) } }
    delete fresh.metadata.uid
    delete fresh.metadata.resourceVersion
    delete fresh.metadata.creationTimestamp
    if (collection(target.resource).objects.has(keyOf(CLUSTER_SCOPED.has(target.resource) ? '' : namespace!, name))) {
      send(res, entry, 409, status(409, 'AlreadyExists', `${qualifiedResource(target)} "${name}" already exists`, { name, ...(target.group !== '' ? { group: target.group } : {}), kind: target.resource }))
      return
    }
    send(res, entry, 201, renderTyped(target, create(target.resource, fresh)))
  }

  function serveGet(target: Route, res: ServerResponse, entry: RecordedRequest): void {
    const object = collection(target.resource).objects.get(keyOf(target.namespace ?? '', target.name!))
    if (object) {
      send(res, entry, 200, renderTyped(target, object))
      return
    }
    const details: JsonObject = { name: target.name, ...(target.group !== '' ? { group: target.group } : {}), kind: target.resource }
    send(res, entry, 404, status(404, 'NotFound', `${qualifiedResource(target)} "${target.name}" not found`, details))
  }

  function serveList(target: Route, query: URLSearchParams, res: ServerResponse, entry: RecordedRequest): void {
    const coll = collection(target.resource)
    const continueParam = query.get('continue') ?? ''
    const rvParam = query.get('resourceVersion') ?? ''
    const match = query.get('resourceVersionMatch') ?? ''
    const limitParam = query.get('limit')
    const limit = limitParam === null || limitParam === '' ? 0 : Number(limitParam)
    if (!Number.isInteger(limit)) {
      send(res, entry, 400, status(400, 'BadRequest', `invalid limit: "${limitParam}"`))
      return
    }
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') {
      send(res, entry, 422, invalidListOptions('resourceVersionMatch', `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`))
      return
    }
    if (match !== '' && rvParam === '') {
      send(res, entry, 422, invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'))
      return
    }
    if (match !== '' && continueParam !== '') {
      send(res, entry, 422, invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden when continue is provided'))
      return
    }
    if (match === 'Exact' && rvParam === '0') {
      send(res, entry, 422, invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
      return
    }

    let listRv = currentRv
    let start = ''
    if (continueParam !== '') {
      if (rvParam !== '' && rvParam !== '0') {
        send(res, entry, 400, status(400, 'BadRequest', 'specifying resource version is not allowed when using continue'))
        return
      }
      const decoded = decodeContinue(continueParam)
      if (!decoded || decoded.rv > currentRv || (decoded.rv < 0 && decoded.rv !== -1)) {
        send(res, entry, 400, status(400, 'BadRequest', 'continue key is not valid: the token was not issued by this server'))
        return
      }
      if (decoded.rv !== -1 && decoded.rv < coll.historyStartRv) {
        // Compacted: like etcd, hand out a token that continues from the latest state instead.
        const inconsistent = encodeContinue({ v: CONTINUE_VERSION, rv: -1, start: decoded.start })
        send(res, entry, 410, status(410, 'Expired', INCONSISTENT_CONTINUE, undefined, { continue: inconsistent }))
        return
      }
      listRv = decoded.rv === -1 ? currentRv : decoded.rv
      start = decoded.start
    } else if (rvParam !== '' && rvParam !== '0') {
      const requested = parseRv(rvParam)
      if (requested === undefined) {
        send(res, entry, 400, status(400, 'BadRequest', `invalid resource version: "${rvParam}"`))
        return
      }
      if (requested > currentRv) {
        send(res, entry, 504, tooLargeResourceVersion(rvParam, formatRv(currentRv)))
        return
      }
      if (match === 'Exact') {
        if (requested < coll.historyStartRv) {
          send(res, entry, 410, status(410, 'Expired', 'The resourceVersion for the provided list is too old.'))
          return
        }
        listRv = requested
      }
    }

    let items = snapshotAt(target.resource, listRv)
    if (target.namespace !== undefined) {
      const prefix = `${target.namespace}/`
      items = items.filter(([key]) => key.startsWith(prefix))
    }
    const from = start === '' ? 0 : lowerBound(items, start)
    const remaining = items.length - from
    const pageSize = limit > 0 ? Math.min(limit, remaining) : remaining
    const page = items.slice(from, from + pageSize)
    const metadata: JsonObject = { resourceVersion: formatRv(listRv) }
    if (pageSize < remaining) {
      metadata.continue = encodeContinue({ v: CONTINUE_VERSION, rv: listRv, start: `${page[page.length - 1]![0]}\u0000` })
      metadata.remainingItemCount = remaining - pageSize
    }
    send(res, entry, 200, {
      kind: `${KIND_NAMES[target.resource]}List`,
      apiVersion: apiVersionOf(target.group),
      metadata,
      items: page.map(([, object]) => renderItem(target.group, object)),
    })
  }

  function serveWatch(target: Route, query: URLSearchParams, req: IncomingMessage, res: ServerResponse, entry: RecordedRequest): void {
    const coll = collection(target.resource)
    const rvParam = query.get('resourceVersion') ?? ''
    const sendInitialEvents = parseBool(query.get('sendInitialEvents'))
    const bookmarks = parseBool(query.get('allowWatchBookmarks')) === true
    const timeoutParam = query.get('timeoutSeconds')
    const timeoutSeconds = timeoutParam === null || timeoutParam === '' ? options.defaultWatchTimeoutSeconds : Number(timeoutParam)

    let initial: boolean
    let replay: Change[] = []
    let failure: JsonObject | undefined
    if (rvParam === '' || rvParam === '0') {
      // "Get state and start at most recent" / "start at any": synthetic ADDED of the state.
      initial = sendInitialEvents !== false
    } else {
      const requested = parseRv(rvParam)
      if (requested === undefined) {
        send(res, entry, 400, status(400, 'BadRequest', `invalid resource version: "${rvParam}"`))
        return
      }
      initial = sendInitialEvents === true
      if (requested < coll.historyStartRv) {
        failure = status(410, 'Expired', `too old resource version: ${rvParam} (${formatRv(coll.historyStartRv)})`)
        if (expiredWatchMode === 'httpStatus') {
          send(res, entry, 410, failure)
          return
        }
      } else if (requested > currentRv) {
        failure = tooLargeResourceVersion(rvParam, formatRv(currentRv))
      } else {
        let index = coll.head
        while (index < coll.history.length && coll.history[index]!.rv <= requested) index += 1
        replay = coll.history.slice(index).filter((change) => target.namespace === undefined || change.namespace === target.namespace)
      }
    }

    entry.status = 200
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
    if (flushWatchHeaders) res.flushHeaders()
    const watcher: Watcher = { route: target, res, bookmarks, held: [], endWhenResumed: false, timers: [], ended: false }
    watchers.add(watcher)
    res.on('close', () => endWatcher(watcher, 'destroy'))
    req.on('error', () => endWatcher(watcher, 'destroy'))

    if (failure) {
      // Past authn/authz and a parsed resourceVersion, the server reports through the stream.
      deliver(watcher, JSON.stringify({ type: 'ERROR', object: failure }))
      timeOut(watcher)
      return
    }
    if (closing.has(target.resource)) {
      endWatcher(watcher, 'clean')
      return
    }
    if (initial) {
      for (const [key, object] of snapshotAt(target.resource, currentRv)) {
        if (target.namespace !== undefined && !key.startsWith(`${target.namespace}/`)) continue
        deliver(watcher, JSON.stringify({ type: 'ADDED', object: renderTyped(target, object) }))
      }
      if (sendInitialEvents === true && bookmarks) {
        deliver(watcher, JSON.stringify({ type: 'BOOKMARK', object: bookmarkObject(target, formatRv(currentRv), true) }))
      }
    }
    for (const change of replay) deliver(watcher, changeLine(change, target))
    if (bookmarks) {
      const tick = () => {
        bookmark(watcher)
        if (!watcher.ended) watcher.timers[0] = setTimeout(tick, bookmarkIntervalMs)
      }
      watcher.timers[0] = setTimeout(tick, bookmarkIntervalMs)
    }
    if (timeoutSeconds !== undefined && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      watcher.timers.push(setTimeout(() => timeOut(watcher), timeoutSeconds * 1000))
    }
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    try {
      handle(req, res)
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(status(500, 'InternalError', `test API server: ${(error as Error).message}`)))
    }
  }
  const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createServer(handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    token,
    get resourceVersion() {
      return formatRv(currentRv)
    },
    requests,
    clearRequests: () => {
      requests.length = 0
    },
    add(kind, object) {
      return structuredClone(create(kind, object))
    },
    modify(kind, object) {
      const { namespace, name, copy } = normalise(kind, object)
      const coll = collection(kind)
      const key = keyOf(namespace, name)
      const previous = coll.objects.get(key)
      if (!previous) throw new Error(`${kind} "${name}" not found in namespace "${namespace}"`)
      currentRv += 1
      copy.metadata = {
        ...copy.metadata,
        ...(namespace === '' ? {} : { namespace }),
        uid: previous.metadata.uid,
        resourceVersion: formatRv(currentRv),
        creationTimestamp: previous.metadata.creationTimestamp,
      }
      coll.objects.set(key, copy)
      record(kind, 'MODIFIED', copy, previous)
      return structuredClone(copy)
    },
    delete(kind, namespace, name) {
      const coll = collection(kind)
      const key = keyOf(namespace, name)
      const previous = coll.objects.get(key)
      if (!previous) throw new Error(`${kind} "${name}" not found in namespace "${namespace}"`)
      currentRv += 1
      const deleted: KubeObject = { ...previous, metadata: { ...previous.metadata, resourceVersion: formatRv(currentRv) } }
      coll.objects.delete(key)
      record(kind, 'DELETED', deleted, previous)
      return structuredClone(deleted)
    },
    get(kind, namespace, name) {
      const object = collection(kind).objects.get(keyOf(namespace, name))
      return object && structuredClone(object)
    },
    list(kind) {
      return snapshotAt(kind, currentRv).map(([, object]) => structuredClone(object))
    },
    injectMalformed(kind, rawJsonLine) {
      const line = rawJsonLine.replace(/\r?\n$/, '')
      for (const watcher of watchers) if (watcher.route.resource === kind) deliver(watcher, line)
    },
    expireHistory(kind) {
      currentRv += 1
      for (const each of kindsOf(kind)) {
        const coll = collection(each)
        coll.history = []
        coll.head = 0
        coll.historyStartRv = currentRv
      }
      snapshots.clear()
    },
    setExpiredWatchMode(mode) {
      expiredWatchMode = mode
    },
    dropConnections(kind) {
      let count = 0
      for (const watcher of [...watchers]) {
        if (kind !== undefined && watcher.route.resource !== kind) continue
        endWatcher(watcher, 'destroy')
        count += 1
      }
      return count
    },
    stallWatches(kind) {
      for (const each of kindsOf(kind)) stalled.add(each)
    },
    resumeWatches() {
      stalled.clear()
      closing.clear()
      for (const watcher of [...watchers]) {
        const held = watcher.held
        watcher.held = []
        for (const line of held) watcher.res.write(`${line}\n`)
        if (watcher.endWhenResumed) endWatcher(watcher, 'clean')
      }
    },
    closeWatchesCleanly({ kind, keepClosing = false } = {}) {
      if (keepClosing) for (const each of kindsOf(kind)) closing.add(each)
      let count = 0
      for (const watcher of [...watchers]) {
        if (kind !== undefined && watcher.route.resource !== kind) continue
        endWatcher(watcher, 'clean')
        count += 1
      }
      return count
    },
    sendBookmarks() {
      for (const watcher of watchers) bookmark(watcher)
    },
    forbid(resource, verb) {
      forbidden.add(`${resource}:${verb ?? '*'}`)
    },
    unforbid(resource, verb) {
      if (resource === undefined) forbidden.clear()
      else forbidden.delete(`${resource}:${verb ?? '*'}`)
    },
    openWatches(kind) {
      let count = 0
      for (const watcher of watchers) if (kind === undefined || watcher.route.resource === kind) count += 1
      return count
    },
    async close() {
      for (const watcher of [...watchers]) endWatcher(watcher, 'destroy')
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}

/**
 * A fresh self-signed certificate for 127.0.0.1 (P-256, one day), made with `openssl` at test time
 * so no key is checked in. `cert` doubles as the CA a kubeconfig trusts.
 */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-tls-'))
  try {
    const keyPath = join(dir, 'key.pem')
    const certPath = join(dir, 'cert.pem')
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath],
      { stdio: 'ignore' },
    )
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A core/v1 Event about a pod, shaped like the kubelet's, for seeding the test API server. */
export function makeEvent(options: {
  name: string
  namespace?: string
  pod?: string
  podUid?: string
  reason?: string
  message?: string
  type?: 'Normal' | 'Warning'
  count?: number
  time?: string
  host?: string
}): KubeObject {
  const namespace = options.namespace ?? 'default'
  const time = options.time ?? nowSeconds()
  const host = options.host ?? 'node-1'
  const pod = options.pod ?? 'demo-pod'
  return {
    metadata: { name: options.name, namespace },
    involvedObject: {
      kind: 'Pod',
      namespace,
      name: pod,
      ...(options.podUid !== undefined ? { uid: options.podUid } : {}),
      apiVersion: 'v1',
      fieldPath: 'spec.containers{app}',
    },
    reason: options.reason ?? 'Started',
    message: options.message ?? 'Started container app',
    source: { component: 'kubelet', host },
    firstTimestamp: time,
    lastTimestamp: time,
    count: options.count ?? 1,
    type: options.type ?? 'Normal',
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: host,
  }
}

/** A core/v1 Pod with the fields the Kubernetes source reads. */
export function makePod(options: {
  name: string
  namespace?: string
  ip?: string
  node?: string
  phase?: string
  labels?: Record<string, string>
  ownerReferences?: JsonObject[]
}): KubeObject {
  return {
    metadata: {
      name: options.name,
      namespace: options.namespace ?? 'default',
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.ownerReferences ? { ownerReferences: options.ownerReferences } : {}),
    },
    spec: { nodeName: options.node ?? 'node-1', containers: [{ name: 'app', image: 'example/app:1' }] },
    status: { phase: options.phase ?? 'Running', ...(options.ip ? { podIP: options.ip, podIPs: [{ ip: options.ip }] } : {}) },
  }
}

/** A core/v1 Service with a selector. */
export function makeService(options: { name: string; namespace?: string; selector?: Record<string, string> }): KubeObject {
  return {
    metadata: { name: options.name, namespace: options.namespace ?? 'default' },
    spec: { ...(options.selector ? { selector: options.selector } : {}), ports: [{ port: 80, protocol: 'TCP' }], type: 'ClusterIP' },
    status: { loadBalancer: {} },
  }
}

/**
 * The Kubernetes source: events, pods, services and HorizontalPodAutoscalers of one cluster (mesh =
 * cluster name), each through its own `ListWatch`. Pods, services and autoscalers are held in
 * memory (names, IPs, labels, owners, selectors, scale targets; not whole objects) so every event
 * is enriched with no GET. The events watch's resourceVersion is published with the events it
 * covers, so the writer stores both in one transaction and a restart resumes from there: nothing
 * the API server still holds is lost, nothing is stored twice (the id is the event uid, a re-list
 * is an idempotent upsert).
 *
 * Correlation beyond pod events (CONTRACT "Correlation"), all decided here and written with the
 * event, so no view scans at query time:
 * - Workload events (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob) carry the
 *   application of the workload, learnt from the pods it owns (their labels, then owner chain):
 *   workloads are not watched, pods already say who owns them. HorizontalPodAutoscaler events
 *   carry the application of the workload the autoscaler scales (the one extra watch: small
 *   objects, one per scaled workload, needed for `scaleTargetRef`).
 * - Node events are linked to the applications, instances and IPs of the pods that were on the
 *   node at the event's time, from a bounded pod-to-node history the pod watch keeps (a pod
 *   deleted since still counts).
 *
 * Known limits (candidly):
 * - A workload none of whose pods has been seen since start-up (scaled to zero, a ReplicaSet whose
 *   pods all fail to be created) gets the owner-chain rule by name alone: a ReplicaSet's name less
 *   its pod-template-hash, a Job's name less its CronJob schedule suffix, else its own name. Its
 *   labels are not read (that would need a watch per workload kind). When a pod of it shows up
 *   within two minutes, the events already stored are corrected.
 * - A CronJob is recognised through its Jobs' names only (`<cronjob>-<scheduled minutes>`); a
 *   Job created by hand with such a name counts as that CronJob's.
 * - The pod-to-node history starts with this process: pods that left a node before start-up are
 *   not known, so a Node event listed at start-up reaches only the pods seen since. History is
 *   kept two hours (events live one) and at most NODE_STAYS_MAX stays per node.
 * - Links are recomputed when the event changes (a count bump): after a restart a Node event's
 *   links then reflect only what this process has seen.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import type { MeshStatus } from '@eventline/shared'
import type { Publication } from '../../bus.ts'
import type { CatalogChange, IngestEvent } from '../../store/types.ts'
import type { Source, SourceContext } from '../source.ts'
import { ListWatch } from './listWatch.ts'
import type { BackoffOptions } from '../../backoff.ts'
import type { KubeObjectLike, ListPage, ListWatchStatus, WatchEventType } from './listWatch.ts'
import { normalizeK8sEvent, podInstance, readAutoscaler, readPod, readService, servicesSelecting, WORKLOAD_KINDS, workloadApplicationByName } from './normalize.ts'
import type { AutoscalerInfo, PodInfo, ServiceInfo, WorkloadRef } from './normalize.ts'

export interface KubernetesSourceOptions {
  kubeConfig: KubeConfig
  /** Mesh name of the cluster. */
  cluster: string
  /** Restarts a watch that received nothing for this long. Default 5 min. */
  watchdogMs?: number
  backoff?: Partial<BackoffOptions>
  pageSize?: number
  /** How long events wait for the first pod and service lists before starting anyway. Default 10 s. */
  enrichmentWaitMs?: number
}

type Resource = 'events' | 'pods' | 'services' | 'autoscalers'
const RESOURCES: readonly Resource[] = ['pods', 'services', 'autoscalers', 'events']
/** Collections listed before the events watch starts, so events are enriched from the start. */
const ENRICHING = ['pods', 'services', 'autoscalers'] as const

/**
 * Watch events published but not yet stored, before the loop waits for the writer: one writer
 * batch (`maxBatchEvents`). The writer is shared by every cluster and takes publications in order,
 * so this bounds how far a storm on one cluster can queue ahead of the others' events (at 5,000,
 * a 20,000-event storm held the other clusters' events back 2.4-6.7 s at p99 on a shared 2-core
 * machine; at 1,000, 0.26-0.8 s, for the same storm ingest rate: kubernetes-clusters benchmark).
 */
const MAX_IN_FLIGHT = 1_000
/**
 * Pod events kept while their pod is unknown, to enrich them once it is. The pod and event watches
 * race by seconds at most; events about pods deleted long ago (events outlive pods by an hour)
 * never find theirs, so entries expire and the map stays bounded.
 */
const MAX_UNATTACHED = 10_000
const UNATTACHED_TTL_MS = 120_000

/** Checkpoint of the events watch: its last stored resourceVersion. */
const EVENTS_CHECKPOINT = 'events-rv'

const key = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`
const workloadKey = (namespace: string | undefined, workload: WorkloadRef) => `${workload.kind}/${namespace ?? ''}/${workload.name}`

/** Workloads whose application is remembered (the map drops the least recently confirmed first). */
const WORKLOADS_MAX = 50_000
/** Pod-to-node history: how long a pod that left its node still counts, and stays kept per node. */
const NODE_HISTORY_MS = 2 * 3_600_000
const NODE_STAYS_MAX = 2_000
/** Most pods a Node event is linked to (a node runs at most 110 by default; history adds more). */
const NODE_LINKS_MAX = 500

/** A pod's time on a node: from its creation until its deletion was seen. */
interface NodeStay {
  podKey: string
  name: string
  application?: string
  ip?: string
  from: number
  to?: number
}
export class KubernetesSource implements Source {
  readonly kind = 'kubernetes' as const
  readonly mesh: string
  readonly address: string
  private context: SourceContext | undefined
  private readonly pods = new ListedMap<PodInfo>()
  private readonly services = new ListedMap<ServiceInfo>()
  private readonly autoscalers = new ListedMap<AutoscalerInfo>()
  /** Application of each workload pods have shown, by `workloadKey`. */
  private readonly workloadApplications = new Map<string, string>()
  /** Pod-to-node history, by node name. */
  private readonly nodeStays = new Map<string, NodeStay[]>()
  /** Pod events that arrived before their pod, by pod key. */
  private readonly unattached = new Map<string, { since: number; events: IngestEvent[] }>()
  private unattachedCount = 0
  private readonly loops = new Map<Resource, ListWatch>()
  private readonly statuses = new Map<Resource, { status: ListWatchStatus; error?: string }>()
  private readonly listed = new Map<Resource, () => void>()
  private inFlight = 0
  private lastPublish: Promise<void> = Promise.resolve()
  private restartingEvents: Promise<void> | undefined
  private stopped = false
  private starting: Promise<void> | undefined
  private requestStop: () => void = () => {}
  private readonly stopRequested = new Promise<void>((resolve) => (this.requestStop = resolve))

  constructor(private readonly options: KubernetesSourceOptions) {
    this.mesh = options.cluster
    this.address = options.kubeConfig.getCurrentCluster()?.server ?? 'in-cluster'
  }

  async start(context: SourceContext): Promise<void> {
    this.context = context
    const firstLists = ENRICHING.map((resource) => new Promise<void>((resolve) => this.listed.set(resource, resolve)))
    this.loops.set('pods', this.listWatch('pods', '/api/v1/pods', (items, _rv, page) => this.onPodList(items, page), (type, object) => this.onPod(type, object)))
    this.loops.set('services', this.listWatch('services', '/api/v1/services', (items, _rv, page) => this.onServiceList(items, page), (type, object) => this.onService(type, object)))
    this.loops.set(
      'autoscalers',
      this.listWatch('autoscalers', '/apis/autoscaling/v2/horizontalpodautoscalers', (items, _rv, page) => this.onAutoscalerList(items, page), (type, object) => this.onAutoscaler(type, object)),
    )
    for (const resource of ENRICHING) await this.loops.get(resource)!.start()
    // Events listed before the pods would miss their IP and application; wait for the first pod,
    // service and autoscaler lists, but not forever (a 403 on pods must not stop events), and in the
    // background: start() returns at once so the console serves while the cluster is slow.
    this.starting = (async () => {
      const waited = await Promise.race([
        Promise.all(firstLists).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.options.enrichmentWaitMs ?? 10_000).unref()),
        this.stopRequested.then(() => false),
      ])
      if (this.stopped) return
      if (!waited) context.log.warn('starting the events watch before pods and services were listed; early events may lack enrichment')
      await this.startEvents()
    })().catch((error: unknown) => context.log.error('starting the events watch failed', { error }))
  }

  private async startEvents(): Promise<void> {
    const stored = await this.context!.readCheckpoint(EVENTS_CHECKPOINT)
    const loop = this.listWatch('events', '/api/v1/events', (items, rv, page) => this.onEventList(items, rv, page), (type, object, rv) => this.onEvent(type, object, rv), stored)
    this.loops.set('events', loop)
    if (!this.stopped) await loop.start()
  }

  private listWatch(
    resource: Resource,
    path: string,
    onList: (items: KubeObjectLike[], rv: string, page: ListPage) => Promise<void>,
    onEvent: (type: WatchEventType, object: KubeObjectLike, rv: string) => Promise<void> | void,
    startResourceVersion?: string,
  ): ListWatch {
    const context = this.context!
    return new ListWatch({
      kubeConfig: this.options.kubeConfig,
      path,
      log: context.log,
      ...(this.options.watchdogMs === undefined ? {} : { watchdogMs: this.options.watchdogMs }),
      ...(this.options.backoff === undefined ? {} : { backoff: this.options.backoff }),
      ...(this.options.pageSize === undefined ? {} : { pageSize: this.options.pageSize }),
      ...(startResourceVersion === undefined ? {} : { startResourceVersion }),
      onList,
      onEvent,
      onMalformed: (reason, details) => context.reportMalformed(reason, { resource, ...details }),
      onStatus: (status, error) => this.setStatus(resource, status, error),
      // Only events are lost by a relist; pods and services are listed whole again.
      ...(resource === 'events' ? { onExpired: () => context.reportLossyResume?.('relist-410') } : {}),
    })
  }

  /** One status for the cluster: an error of any collection, else connecting until all are connected. */
  private setStatus(resource: Resource, status: ListWatchStatus, error?: string): void {
    this.statuses.set(resource, error === undefined ? { status } : { status, error })
    // Autoscalers only refine the roll-up: one that cannot be listed (e.g. RBAC from before the
    // grant existed) must not hold the events watch back for the whole enrichment wait.
    if (resource === 'autoscalers' && status === 'error') this.listed.get('autoscalers')?.()
    const errors = RESOURCES.flatMap((name) => {
      const entry = this.statuses.get(name)
      return entry?.status === 'error' ? [`${name}: ${entry.error ?? 'error'}`] : []
    })
    let overall: MeshStatus = 'connecting'
    if (errors.length > 0) overall = 'error'
    else if (RESOURCES.every((name) => this.statuses.get(name)?.status === 'connected')) overall = 'connected'
    this.context?.setStatus(overall, errors.length > 0 ? errors.join('; ') : undefined)
  }

  // --- pods -------------------------------------------------------------------------------

  private async onPodList(items: KubeObjectLike[], page: ListPage): Promise<void> {
    const pods = items.map((item) => this.readPod(item)).filter((pod): pod is PodInfo => pod !== undefined)
    const catalog: CatalogChange[] = pods.map((pod) => ({ op: 'instance', instance: podInstance(pod, this.mesh) }))
    this.pods.addPage(pods.map((pod) => [key(pod.namespace, pod.name), pod]), page)
    const events: IngestEvent[] = pods.flatMap((pod) => this.learnPod(pod))
    if (page.last) {
      this.leaveNodes((podKey) => !this.pods.current.has(podKey))
      // Pods that went away while we were not watching (even across our restarts) leave the
      // catalog; their history stays.
      catalog.push({ op: 'instances-listed', mesh: this.mesh, source: 'kubernetes', names: [...this.pods.current.values()].map((pod) => pod.name) })
      for (const podKey of [...this.unattached.keys()]) if (this.pods.current.has(podKey)) events.push(...this.takeUnattached(podKey))
    }
    await this.publish({ catalog, events })
    if (page.last) this.listed.get('pods')?.()
  }

  private async onPod(type: WatchEventType, object: KubeObjectLike): Promise<void> {
    const pod = this.readPod(object)
    if (!pod) return
    const podKey = key(pod.namespace, pod.name)
    if (type === 'DELETED') {
      this.pods.current.delete(podKey)
      if (pod.node) this.leaveNodes((stayKey) => stayKey === podKey, pod.node)
      await this.publish({ catalog: [{ op: 'instance-gone', mesh: this.mesh, name: pod.name }] })
      return
    }
    this.pods.current.set(podKey, pod)
    const events = [...this.takeUnattached(podKey), ...this.learnPod(pod)]
    await this.publish({ catalog: [{ op: 'instance', instance: podInstance(pod, this.mesh) }], events })
  }

  /**
   * What a pod teaches beyond itself: its workloads' application (events of those workloads that
   * were stored with a guess by name are returned corrected) and its stay on its node.
   */
  private learnPod(pod: PodInfo): IngestEvent[] {
    if (pod.node) this.stayOnNode(pod, pod.node)
    if (!pod.application) return []
    const corrected: IngestEvent[] = []
    for (const workload of pod.workloads ?? []) {
      const workloadPodKey = workloadKey(pod.namespace, workload)
      // Delete first: Map order is insertion order, so the least recently confirmed go first.
      this.workloadApplications.delete(workloadPodKey)
      this.workloadApplications.set(workloadPodKey, pod.application)
      for (const event of this.dropUnattached(`workload:${workloadPodKey}`)) {
        if (event.application !== pod.application) corrected.push({ ...event, application: pod.application })
      }
    }
    while (this.workloadApplications.size > WORKLOADS_MAX) this.workloadApplications.delete(this.workloadApplications.keys().next().value!)
    return corrected
  }

  private stayOnNode(pod: PodInfo, node: string): void {
    const podKey = key(pod.namespace, pod.name)
    const stays = this.nodeStays.get(node) ?? []
    const open = stays.find((stay) => stay.podKey === podKey && stay.to === undefined)
    const stay: NodeStay = open ?? { podKey, name: pod.name, from: pod.created ?? Date.now() }
    if (pod.application) stay.application = pod.application
    if (pod.ip) stay.ip = pod.ip
    if (open) return
    stays.push(stay)
    this.nodeStays.set(node, pruneStays(stays, Date.now()))
  }

  /** Ends the open stays (on `node`, or every node) of the pods `gone` says left. */
  private leaveNodes(gone: (podKey: string) => boolean, node?: string): void {
    const now = Date.now()
    for (const [name, stays] of node === undefined ? this.nodeStays : [[node, this.nodeStays.get(node) ?? []] as const]) {
      for (const stay of stays) if (stay.to === undefined && gone(stay.podKey)) stay.to = now
      const kept = pruneStays(stays, now)
      if (kept.length === 0) this.nodeStays.delete(name)
      else this.nodeStays.set(name, kept)
    }
  }

  private readPod(object: unknown): PodInfo | undefined {
    const pod = readPod(object)
    if (pod.ok) return pod.value
    this.context!.reportMalformed(pod.reason, { resource: 'pods', name: (object as KubeObjectLike)?.metadata?.name })
    return undefined
  }

  // --- services ---------------------------------------------------------------------------

  private async onServiceList(items: KubeObjectLike[], page: ListPage): Promise<void> {
    const services = items.map((item) => this.readService(item)).filter((service): service is ServiceInfo => service !== undefined)
    this.services.addPage(services.map((service) => [key(service.namespace, service.name), service]), page)
    await this.publish({ catalog: services.map((service) => ({ op: 'service', mesh: this.mesh, name: service.name })) })
    if (page.last) this.listed.get('services')?.()
  }

  private async onService(type: WatchEventType, object: KubeObjectLike): Promise<void> {
    const service = this.readService(object)
    if (!service) return
    if (type === 'DELETED') {
      this.services.current.delete(key(service.namespace, service.name))
      return
    }
    this.services.current.set(key(service.namespace, service.name), service)
    await this.publish({ catalog: [{ op: 'service', mesh: this.mesh, name: service.name }] })
  }

  private readService(object: unknown): ServiceInfo | undefined {
    const service = readService(object)
    if (service.ok) return service.value
    this.context!.reportMalformed(service.reason, { resource: 'services', name: (object as KubeObjectLike)?.metadata?.name })
    return undefined
  }

  // --- autoscalers -------------------------------------------------------------------------

  private async onAutoscalerList(items: KubeObjectLike[], page: ListPage): Promise<void> {
    const autoscalers = items.map((item) => this.readAutoscaler(item)).filter((autoscaler): autoscaler is AutoscalerInfo => autoscaler !== undefined)
    this.autoscalers.addPage(autoscalers.map((autoscaler) => [key(autoscaler.namespace, autoscaler.name), autoscaler]), page)
    if (page.last) this.listed.get('autoscalers')?.()
  }

  private onAutoscaler(type: WatchEventType, object: KubeObjectLike): void {
    const autoscaler = this.readAutoscaler(object)
    if (!autoscaler) return
    if (type === 'DELETED') this.autoscalers.current.delete(key(autoscaler.namespace, autoscaler.name))
    else this.autoscalers.current.set(key(autoscaler.namespace, autoscaler.name), autoscaler)
  }

  private readAutoscaler(object: unknown): AutoscalerInfo | undefined {
    const autoscaler = readAutoscaler(object)
    if (autoscaler.ok) return autoscaler.value
    this.context!.reportMalformed(autoscaler.reason, { resource: 'horizontalpodautoscalers', name: (object as KubeObjectLike)?.metadata?.name })
    return undefined
  }

  // --- events -----------------------------------------------------------------------------

  /** Normalises an event with what is known of its pod; a malformed one is reported and skipped. */
  private normalize(object: KubeObjectLike): IngestEvent | undefined {
    const raw = object as unknown as { involvedObject?: { kind?: string; namespace?: string; name?: string }; regarding?: { kind?: string; namespace?: string; name?: string } }
    const involved = raw.involvedObject ?? raw.regarding
    const pod = involved?.kind === 'Pod' && involved.name ? this.pods.current.get(key(involved.namespace, involved.name)) : undefined
    const services = pod ? servicesSelecting(pod, this.services.current.values()) : []
    const result = normalizeK8sEvent(object, this.mesh, pod, services)
    if (!result.ok) {
      this.context!.reportMalformed(result.reason, { resource: 'events', name: object.metadata?.name, namespace: object.metadata?.namespace })
      return undefined
    }
    if (involved?.kind === 'Pod' && !pod && involved.name) this.rememberUnattached(key(involved.namespace, involved.name), result.value)
    const namespace = result.value.object.namespace
    if (involved?.kind && involved.name) {
      if (WORKLOAD_KINDS.has(involved.kind)) this.rollUp(result.value, namespace, { kind: involved.kind, name: involved.name })
      else if (involved.kind === 'HorizontalPodAutoscaler') {
        const target = this.autoscalers.current.get(key(namespace, involved.name))?.target
        if (target) this.rollUp(result.value, namespace, target)
      } else if (involved.kind === 'Node') this.linkNodePods(result.value, involved.name)
    }
    // For the rules only (not stored); shared, not copied: a pod update replaces its labels object.
    if (pod && Object.keys(pod.labels).length > 0) result.value.labels = pod.labels
    return result.value
  }

  /** A workload's (or its autoscaler's) event joins the workload's application; a guess by name waits to be corrected. */
  private rollUp(event: IngestEvent, namespace: string | undefined, workload: WorkloadRef): void {
    const workloadEventKey = workloadKey(namespace, workload)
    const known = this.workloadApplications.get(workloadEventKey)
    event.application = known ?? workloadApplicationByName(workload.kind, workload.name)
    if (known === undefined) this.rememberUnattached(`workload:${workloadEventKey}`, event)
  }

  /** Links a Node event to the pods that were on the node at any time between its first and last occurrence. */
  private linkNodePods(event: IngestEvent, node: string): void {
    const stays = this.nodeStays.get(node)
    if (!stays) return
    const first = event.firstTime ?? event.time
    const applications = new Set<string>()
    const instances = new Set<string>()
    const ips = new Set<string>()
    // Newest first: when capped, the pods closest to now are kept.
    for (let index = stays.length - 1; index >= 0 && instances.size < NODE_LINKS_MAX; index--) {
      const stay = stays[index]!
      if (stay.from > event.time || (stay.to !== undefined && stay.to < first)) continue
      instances.add(stay.name)
      if (stay.application) applications.add(stay.application)
      if (stay.ip) ips.add(stay.ip)
    }
    if (applications.size > 0) event.applications = [...applications].sort()
    if (instances.size > 0) event.instances = [...instances].sort()
    if (ips.size > 0) event.ips = [...ips].sort()
  }

  private async onEventList(items: KubeObjectLike[], rv: string, page: ListPage): Promise<void> {
    const events = items.map((item) => this.normalize(item)).filter((event): event is IngestEvent => event !== undefined)
    // The list's resourceVersion is a checkpoint only once its last page is stored.
    await this.publish({ events, checkpoints: page.last ? [{ key: EVENTS_CHECKPOINT, value: rv }] : [] }, true)
  }

  /**
   * One watch event. Publishing is not awaited one by one (the writer flushes every 100 ms; that
   * would cap the stream at a batch per event): up to MAX_IN_FLIGHT stay unconfirmed, in order,
   * each carrying its resourceVersion. DELETED (the API's TTL) keeps our copy and only advances
   * the checkpoint.
   */
  private async onEvent(type: WatchEventType, object: KubeObjectLike, rv: string): Promise<void> {
    const event = type === 'DELETED' ? undefined : this.normalize(object)
    await this.publish({ events: event ? [event] : [], checkpoints: [{ key: EVENTS_CHECKPOINT, value: rv }] }, false)
  }

  // --- publishing -------------------------------------------------------------------------

  /**
   * Publishes in order. `wait` resolves only once stored; otherwise the loop goes on while fewer
   * than MAX_IN_FLIGHT publications are unconfirmed. A failed write restarts the events loop from
   * the stored checkpoint, so what was not stored is read again rather than lost.
   */
  private async publish(publication: Publication, wait = true): Promise<void> {
    const context = this.context!
    this.inFlight++
    const stored = context.publish(publication).finally(() => this.inFlight--)
    this.lastPublish = stored.catch((error: unknown) => {
      context.log.error('storing Kubernetes data failed; resuming from the stored checkpoint', { error })
      void this.restartEvents()
    })
    if (wait || this.inFlight >= MAX_IN_FLIGHT) await this.lastPublish
  }

  private restartEvents(): Promise<void> {
    this.restartingEvents ??= (async () => {
      await this.loops.get('events')?.stop()
      if (!this.stopped) await this.startEvents()
    })().finally(() => (this.restartingEvents = undefined))
    return this.restartingEvents
  }

  private rememberUnattached(podKey: string, event: IngestEvent): void {
    const now = Date.now()
    // Map order is insertion order: expired entries are at the front.
    for (const [oldKey, entry] of this.unattached) {
      if (now - entry.since < UNATTACHED_TTL_MS && this.unattachedCount < MAX_UNATTACHED) break
      this.dropUnattached(oldKey)
    }
    const entry = this.unattached.get(podKey) ?? { since: now, events: [] }
    // A later version of the same event (a count bump) replaces the one waiting: re-publishing
    // the older copy would not move the stored event forward.
    const before = entry.events.length
    entry.events = entry.events.filter((other) => other.id !== event.id)
    entry.events.push(event)
    this.unattachedCount += entry.events.length - before
    this.unattached.set(podKey, entry)
  }

  private dropUnattached(podKey: string): IngestEvent[] {
    const entry = this.unattached.get(podKey)
    if (!entry) return []
    this.unattached.delete(podKey)
    this.unattachedCount -= entry.events.length
    return entry.events
  }

  /** Events that waited for this pod, enriched now that it is known (same ids: updated in place). */
  private takeUnattached(podKey: string): IngestEvent[] {
    const waiting = this.dropUnattached(podKey)
    if (waiting.length === 0) return []
    const pod = this.pods.current.get(podKey)!
    const services = servicesSelecting(pod, this.services.current.values())
    return waiting.map((event) => {
      const enriched: IngestEvent = { ...event }
      if (pod.ip) enriched.ip = pod.ip
      if (pod.application) enriched.application = pod.application
      if (Object.keys(pod.labels).length > 0) enriched.labels = pod.labels
      if (services.length > 0) {
        enriched.service = services[0]!
        enriched.services = services
      }
      return enriched
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.requestStop()
    await this.starting
    await this.restartingEvents
    await Promise.all([...this.loops.values()].map((loop) => loop.stop()))
    await this.lastPublish
  }
}

/** Drops stays that ended more than NODE_HISTORY_MS ago, then the oldest beyond NODE_STAYS_MAX. */
function pruneStays(stays: NodeStay[], now: number): NodeStay[] {
  const kept = stays.filter((stay) => stay.to === undefined || now - stay.to < NODE_HISTORY_MS)
  return kept.length > NODE_STAYS_MAX ? kept.slice(kept.length - NODE_STAYS_MAX) : kept
}

/** What a watch knows of a collection: a list builds a fresh copy that replaces it on its last page. */
class ListedMap<T> {
  readonly current = new Map<string, T>()
  private next: Map<string, T> | undefined

  /** Adds a list page; on the last page the new copy replaces the current one. */
  addPage(entries: ReadonlyArray<[string, T]>, page: ListPage): void {
    if (page.first || !this.next) this.next = new Map()
    for (const [entryKey, value] of entries) this.next.set(entryKey, value)
    if (!page.last) return
    this.current.clear()
    for (const [entryKey, value] of this.next) this.current.set(entryKey, value)
    this.next = undefined
  }
}

/**
 * Pure normalisation of Kubernetes objects (CONTRACT section 2): core/v1 and events.k8s.io/v1
 * events to `IngestEvent`, pods to instances and their application. No I/O: the source hands in
 * what its pod and service watches know, so enrichment needs no GET per event.
 */
import type { IngestEvent, InstanceRecord } from '../../store/types.ts'

type Json = Record<string, unknown>

/** What the pod watch knows of a pod, enough to enrich its events. */
export interface PodInfo {
  namespace: string
  name: string
  uid?: string
  ip?: string
  node?: string
  phase?: string
  labels: Record<string, string>
  application?: string
  /** Creation time (epoch ms): when the pod started to count on its node. */
  created?: number
  /** The workloads that own the pod: its controller and what that is derived from (see `podWorkloads`). */
  workloads?: WorkloadRef[]
}

/** A workload by kind and name (namespace: the pod's or event's). */
export interface WorkloadRef {
  kind: string
  name: string
}

/** Kinds whose events roll up to the application of the workload (CONTRACT "Correlation"). */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'])

/** What the HorizontalPodAutoscaler watch keeps: the workload each one scales. */
export interface AutoscalerInfo {
  namespace: string
  name: string
  target: WorkloadRef
}

/** What the service watch knows of a service. */
export interface ServiceInfo {
  namespace: string
  name: string
  selector: Record<string, string>
}

export type Normalized<T> = { ok: true; value: T } | { ok: false; reason: string }

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined)
const object = (value: unknown): Json => (isObject(value) ? value : {})

/** Parses a Kubernetes Time/MicroTime; `undefined` for absent, null or unparsable values. */
function time(value: unknown): number | undefined {
  const textValue = text(value)
  if (textValue === undefined) return undefined
  const ms = Date.parse(textValue)
  return Number.isFinite(ms) ? ms : undefined
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined
}

function stringMap(value: unknown): Record<string, string> {
  const map: Record<string, string> = {}
  for (const [key, entry] of Object.entries(object(value))) if (typeof entry === 'string') map[key] = entry
  return map
}

/**
 * A core/v1 or events.k8s.io/v1 Event as an `IngestEvent` of mesh `cluster`. Time precedence:
 * `series.lastObservedTime` > `lastTimestamp` > `eventTime` > `firstTimestamp` >
 * `metadata.creationTimestamp`; count: `series.count` ?? `count` ?? 1. The id is the event uid, so a
 * count bump (MODIFIED) updates the same item. `pod` and `services` enrich pod events.
 */
export function normalizeK8sEvent(raw: unknown, cluster: string, pod?: PodInfo, services: readonly string[] = []): Normalized<IngestEvent> {
  if (!isObject(raw)) return { ok: false, reason: 'not an object' }
  const metadata = object(raw.metadata)
  const uid = text(metadata.uid)
  if (!uid) return { ok: false, reason: 'metadata.uid is missing' }
  // events.k8s.io/v1 renamed the fields: regarding, note, deprecated* timestamps and count.
  const involved = object(raw.involvedObject ?? raw.regarding)
  const kind = text(involved.kind)
  const name = text(involved.name)
  if (!kind || !name) return { ok: false, reason: 'involvedObject (regarding) has no kind or name' }
  const series = object(raw.series)
  const source = object(raw.source ?? raw.deprecatedSource)
  const first = time(raw.firstTimestamp) ?? time(raw.deprecatedFirstTimestamp)
  const last =
    time(series.lastObservedTime) ?? time(raw.lastTimestamp) ?? time(raw.deprecatedLastTimestamp) ?? time(raw.eventTime) ?? first ?? time(metadata.creationTimestamp)
  if (last === undefined) return { ok: false, reason: 'no timestamp (series, lastTimestamp, eventTime, firstTimestamp, creationTimestamp)' }

  const event: IngestEvent = {
    id: `kubernetes:${uid}`,
    time: last,
    firstTime: Math.min(first ?? time(raw.eventTime) ?? last, last),
    count: positiveInteger(series.count) ?? positiveInteger(raw.count) ?? positiveInteger(raw.deprecatedCount) ?? 1,
    type: raw.type === 'Warning' ? 'warning' : 'normal',
    reason: text(raw.reason) ?? '',
    message: text(raw.message) ?? text(raw.note) ?? '',
    source: 'kubernetes',
    component: text(source.component) ?? text(raw.reportingComponent) ?? text(raw.reportingController) ?? '',
    mesh: cluster,
    object: { kind, name },
  }
  const host = text(source.host) ?? text(raw.reportingInstance)
  if (host) event.host = host
  const namespace = text(involved.namespace) ?? text(metadata.namespace)
  if (namespace) event.object.namespace = namespace
  const objectUid = text(involved.uid)
  if (objectUid) event.object.uid = objectUid
  const fieldPath = text(involved.fieldPath)
  if (fieldPath) event.object.fieldPath = fieldPath
  const action = text(raw.action)
  if (action) event.action = action

  if (kind === 'Pod') {
    event.instance = name
    if (pod?.ip) event.ip = pod.ip
    if (pod?.application) event.application = pod.application
    if (services.length > 0) {
      event.service = services[0]!
      event.services = [...services]
    }
  } else if (kind === 'Service') {
    event.service = name
  }
  return { ok: true, value: event }
}

/**
 * A pod's application: label `app.kubernetes.io/name`, then `app`, then the Deployment derived
 * from its ReplicaSet owner (the owner's name less the `-<pod-template-hash>` suffix), the
 * CronJob derived from its Job owner, then any other controller's name (StatefulSet, DaemonSet,
 * Job): one application for every run of a CronJob, not one per Job.
 */
export function podApplication(labels: Record<string, string>, ownerReferences: unknown): string | undefined {
  const fromLabel = labels['app.kubernetes.io/name'] ?? labels.app
  if (fromLabel) return fromLabel
  // The top of the owner chain: a ReplicaSet's Deployment, a Job's CronJob, else the controller.
  return podWorkloads(labels, ownerReferences).at(-1)?.name
}

/**
 * The workloads a pod belongs to, from its own metadata (no GET): its controller owner, plus the
 * Deployment of a ReplicaSet owner (the owner's name less `-<pod-template-hash>`) and the CronJob
 * of a Job owner whose name ends in the CronJob controller's `-<scheduled minutes>` suffix.
 */
export function podWorkloads(labels: Record<string, string>, ownerReferences: unknown): WorkloadRef[] {
  const owners = Array.isArray(ownerReferences) ? ownerReferences.filter(isObject) : []
  const owner = owners.find((candidate) => candidate.controller === true) ?? owners[0]
  const ownerName = owner && text(owner.name)
  const ownerKind = owner && text(owner.kind)
  if (!ownerName || !ownerKind) return []
  const workloads: WorkloadRef[] = [{ kind: ownerKind, name: ownerName }]
  if (ownerKind === 'ReplicaSet') {
    const hash = labels['pod-template-hash']
    if (hash && ownerName.endsWith(`-${hash}`)) workloads.push({ kind: 'Deployment', name: ownerName.slice(0, -hash.length - 1) })
  } else if (ownerKind === 'Job') {
    const cronJob = cronJobOfJob(ownerName)
    if (cronJob) workloads.push({ kind: 'CronJob', name: cronJob })
  }
  return workloads
}

/** The CronJob a Job name was made from: `<cronjob>-<scheduled time in minutes>` (8+ digits). */
function cronJobOfJob(job: string): string | undefined {
  return /^(.+)-\d{8,10}$/.exec(job)?.[1]
}

/** Alphabet of pod-template-hash (the apimachinery rand.SafeEncodeString alphabet). */
const TEMPLATE_HASH = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}$/

/**
 * The application of a workload no pod has been seen for (the owner-chain rule by name alone):
 * a ReplicaSet's Deployment when its name ends in a pod-template-hash, a Job's CronJob when its
 * name ends in a schedule suffix, else the workload's own name. A guess the source replaces as
 * soon as a pod of the workload is seen.
 */
export function workloadApplicationByName(kind: string, name: string): string {
  if (kind === 'ReplicaSet') return TEMPLATE_HASH.exec(name)?.[1] ?? name
  if (kind === 'Job') return cronJobOfJob(name) ?? name
  return name
}

/** Reads an autoscaling/v2 (or v1) HorizontalPodAutoscaler's scale target. */
export function readAutoscaler(raw: unknown): Normalized<AutoscalerInfo> {
  if (!isObject(raw)) return { ok: false, reason: 'not an object' }
  const metadata = object(raw.metadata)
  const name = text(metadata.name)
  const namespace = text(metadata.namespace)
  if (!name || !namespace) return { ok: false, reason: 'metadata.name or metadata.namespace is missing' }
  const target = object(object(raw.spec).scaleTargetRef)
  const kind = text(target.kind)
  const targetName = text(target.name)
  if (!kind || !targetName) return { ok: false, reason: 'spec.scaleTargetRef has no kind or name' }
  return { ok: true, value: { namespace, name, target: { kind, name: targetName } } }
}

/** Reads what the source keeps of a pod object; an error names what is missing. */
export function readPod(raw: unknown): Normalized<PodInfo> {
  if (!isObject(raw)) return { ok: false, reason: 'not an object' }
  const metadata = object(raw.metadata)
  const name = text(metadata.name)
  const namespace = text(metadata.namespace)
  if (!name || !namespace) return { ok: false, reason: 'metadata.name or metadata.namespace is missing' }
  const labels = stringMap(metadata.labels)
  const spec = object(raw.spec)
  const status = object(raw.status)
  const pod: PodInfo = { namespace, name, labels }
  const uid = text(metadata.uid)
  if (uid) pod.uid = uid
  const ip = text(status.podIP)
  if (ip) pod.ip = ip
  const node = text(spec.nodeName)
  if (node) pod.node = node
  const phase = text(status.phase)
  if (phase) pod.phase = phase
  const application = podApplication(labels, metadata.ownerReferences)
  if (application) pod.application = application
  const created = time(metadata.creationTimestamp)
  if (created !== undefined) pod.created = created
  const workloads = podWorkloads(labels, metadata.ownerReferences)
  if (workloads.length > 0) pod.workloads = workloads
  return { ok: true, value: pod }
}

/** Reads a service's name and selector; a service without a selector selects no pod. */
export function readService(raw: unknown): Normalized<ServiceInfo> {
  if (!isObject(raw)) return { ok: false, reason: 'not an object' }
  const metadata = object(raw.metadata)
  const name = text(metadata.name)
  const namespace = text(metadata.namespace)
  if (!name || !namespace) return { ok: false, reason: 'metadata.name or metadata.namespace is missing' }
  return { ok: true, value: { namespace, name, selector: stringMap(object(raw.spec).selector) } }
}

/** Names of the services in the pod's namespace whose (non-empty) selector matches its labels. */
export function servicesSelecting(pod: Pick<PodInfo, 'namespace' | 'labels'>, services: Iterable<ServiceInfo>): string[] {
  const names: string[] = []
  for (const service of services) {
    const selector = Object.entries(service.selector)
    if (service.namespace !== pod.namespace || selector.length === 0) continue
    if (selector.every(([key, value]) => pod.labels[key] === value)) names.push(service.name)
  }
  return names.sort()
}

/** The catalog instance of a pod in mesh `cluster`. */
export function podInstance(pod: PodInfo, cluster: string): InstanceRecord {
  const instance: InstanceRecord = { mesh: cluster, name: pod.name, namespace: pod.namespace, registered: true, source: 'kubernetes', labels: pod.labels }
  if (pod.ip) instance.ip = pod.ip
  if (pod.node) instance.node = pod.node
  if (pod.phase) instance.phase = pod.phase
  if (pod.application) instance.application = pod.application
  return instance
}

/**
 * Which timeline views an event belongs to (CONTRACT "Correlation"). Backend-neutral: every store
 * writes one link row per view, so every view is one range scan (both engines link `meshViews`
 * only and serve an entity's every-mesh view from its views in each mesh).
 *
 * A registry instance and the pod at its IP are one process, so each one's page shows the other's
 * events: a pod event is linked to the registry instances at the pod's IP (`ip:port` and
 * `<application>@<ip>`, in every mesh including its own, as the demo mesh holds both), and a
 * registry event to the pod that had the event's IP at the event's time (from the pod-to-IP
 * history the pod watch keeps). Known limits: a pod event is linked to the registry instances
 * present when it is written (or when one appears later at its IP), not to those present at the
 * event's time; pods sharing an IP (`hostNetwork`) are all linked; the time a pod got its IP is
 * when the watch first saw it with that IP, and a pod is taken to have had its IP since the
 * previous holder left (so an event between the two belongs to the newer pod).
 */
import type { EntityKind } from './types.ts'

/** One-letter codes of entity kinds in link rows (the key is repeated in every link). */
export const LINK_KIND: Record<EntityKind, string> = { application: 'a', instance: 'i', ip: 'p', service: 's' }

/** A view: [mesh ('' for every mesh), kind code, entity]. */
export type View = [mesh: string, kind: string, entity: string]

/** The event fields that decide its views. */
export interface ViewedEvent {
  mesh: string
  /** Epoch ms: which pod had the event's IP depends on when. */
  time: number
  source: string
  objectKind: string
  application?: string | null
  instance?: string | null
  ip?: string | null
  service?: string | null
  services?: readonly string[] | undefined
  /** Further own-mesh applications, instances and IPs (e.g. a Node event's pods at its time). */
  applications?: readonly string[] | undefined
  instances?: readonly string[] | undefined
  ips?: readonly string[] | undefined
}

/** Catalog look-ups that correlate pod events into other meshes. */
export interface ViewLookup {
  /** Present registry (not pod) instances with this IP, in any mesh. */
  instancesByIp(ip: string): ReadonlyArray<{ mesh: string; name: string; application: string | null | undefined }>
  /** Pods that had this IP at `time` (the pod-to-IP history), in any mesh. */
  podsAtIp(ip: string, time: number): ReadonlyArray<{ mesh: string; name: string }>
  servicesOfInstance(mesh: string, instance: string): readonly string[]
  meshesWithApplication(name: string): readonly string[]
}

/** Sources whose `Pod` events are a pod's own (the demo simulates Kubernetes). */
const POD_EVENT_SOURCES = new Set(['kubernetes', 'demo'])

/** Whether an event is about a pod, as Kubernetes (or the demo) reports it. */
export function isPodEvent(event: Pick<ViewedEvent, 'source' | 'objectKind'>): boolean {
  return event.objectKind === 'Pod' && POD_EVENT_SOURCES.has(event.source)
}

/**
 * The views of an event: its own mesh's application, instance, IP and services (and the further
 * ones the source linked it to: a Node event's pods); for pod events (and a Node event's pods) the
 * views of the registry instances at the pod's IP (their instance, IP, application and services)
 * and of other meshes' applications carrying the application name; for other events at an IP
 * (registrations) the instance view of the pod that had the IP then. Each view is also listed
 * under mesh '' so the every-mesh view lists an event once (`withEveryMesh`).
 */
export function eventViews(event: ViewedEvent, lookup: ViewLookup): View[] {
  return withEveryMesh(meshViews(event, lookup))
}

/**
 * `views` and, after them, the every-mesh copy (mesh '') of each entity they name, once. A store
 * that serves the every-mesh view of an entity from its views in each mesh links only `views`,
 * and gives the copies back to whoever matches views in memory (the live stream's filter).
 */
export function withEveryMesh(views: readonly View[]): View[] {
  const copies = new Map<string, View>(views.filter(([mesh]) => mesh !== '').map(([, kind, entity]) => [`${kind}\u0000${entity}`, ['', kind, entity]]))
  return [...views, ...copies.values()]
}

/** The views of an event in its mesh and the meshes it is correlated into (see `eventViews`), without every-mesh copies. */
export function meshViews(event: ViewedEvent, lookup: ViewLookup): View[] {
  const views = new Map<string, View>()
  const add = (mesh: string, kind: EntityKind, entity: string | null | undefined) => {
    if (!entity) return
    const view: View = [mesh, LINK_KIND[kind], entity]
    views.set(view.join('\u0000'), view)
  }
  add(event.mesh, 'application', event.application)
  add(event.mesh, 'instance', event.instance)
  add(event.mesh, 'ip', event.ip)
  add(event.mesh, 'service', event.service)
  for (const service of event.services ?? []) add(event.mesh, 'service', service)
  for (const application of event.applications ?? []) add(event.mesh, 'application', application)
  for (const instance of event.instances ?? []) add(event.mesh, 'instance', instance)
  for (const ip of event.ips ?? []) add(event.mesh, 'ip', ip)

  const pod = isPodEvent(event)
  if (pod || event.source === 'kubernetes') {
    // A pod event's IP, and the IPs of the pods a Node event links to: the registry instances
    // there (their instance, IP, application and services).
    const ips = [...(pod && event.ip ? [event.ip] : []), ...(event.ips ?? [])]
    for (const ip of ips) {
      for (const instance of lookup.instancesByIp(ip)) {
        if (instance.mesh === event.mesh && instance.name === event.instance) continue
        add(instance.mesh, 'instance', instance.name)
        add(instance.mesh, 'ip', ip)
        add(instance.mesh, 'application', instance.application)
        for (const service of lookup.servicesOfInstance(instance.mesh, instance.name)) add(instance.mesh, 'service', service)
      }
    }
    const applications = [...(event.application ? [event.application] : []), ...(event.applications ?? [])]
    for (const application of applications) {
      for (const mesh of lookup.meshesWithApplication(application)) {
        if (mesh !== event.mesh) add(mesh, 'application', application)
      }
    }
  } else if (event.ip && event.instance) {
    // A registration (or any event naming an instance at an IP): on the page of the pod that had the IP then.
    for (const pod of lookup.podsAtIp(event.ip, event.time)) {
      if (pod.mesh !== event.mesh || pod.name !== event.instance) add(pod.mesh, 'instance', pod.name)
    }
  }
  return [...views.values()]
}

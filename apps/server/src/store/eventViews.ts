/**
 * Which timeline views an event belongs to (CONTRACT "Correlation"). Backend-neutral: every store
 * writes one link row per view, so every view is one range scan.
 */
import type { EntityKind } from './types.ts'

/** One-letter codes of entity kinds in link rows (the key is repeated in every link). */
export const LINK_KIND: Record<EntityKind, string> = { application: 'a', instance: 'i', ip: 'p', service: 's' }

/** A view: [mesh ('' for every mesh), kind code, entity]. */
export type View = [mesh: string, kind: string, entity: string]

/** The event fields that decide its views. */
export interface ViewedEvent {
  mesh: string
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
  /** Present instances with this IP, in any mesh. */
  instancesByIp(ip: string): ReadonlyArray<{ mesh: string; name: string; application: string | null | undefined }>
  servicesOfInstance(mesh: string, instance: string): readonly string[]
  meshesWithApplication(name: string): readonly string[]
}

/**
 * The views of an event: its own mesh's application, instance, IP and services (and the further
 * ones the source linked it to), and for Kubernetes events the views of other meshes whose
 * instance has the IP of the pod (a pod event's, or those of a Node event's pods) or whose
 * application carries the event's application name (pods and workloads). Each view is also
 * listed under mesh '' so the every-mesh view lists an event once.
 */
export function eventViews(event: ViewedEvent, lookup: ViewLookup): View[] {
  const views = new Map<string, View>()
  const add = (mesh: string, kind: EntityKind, entity: string | null | undefined) => {
    if (!entity) return
    for (const view of [[mesh, LINK_KIND[kind], entity], ['', LINK_KIND[kind], entity]] as View[]) views.set(view.join('\u0000'), view)
  }
  add(event.mesh, 'application', event.application)
  add(event.mesh, 'instance', event.instance)
  add(event.mesh, 'ip', event.ip)
  add(event.mesh, 'service', event.service)
  for (const service of event.services ?? []) add(event.mesh, 'service', service)
  for (const application of event.applications ?? []) add(event.mesh, 'application', application)
  for (const instance of event.instances ?? []) add(event.mesh, 'instance', instance)
  for (const ip of event.ips ?? []) add(event.mesh, 'ip', ip)

  if (event.source === 'kubernetes') {
    const ips = [...(event.objectKind === 'Pod' && event.ip ? [event.ip] : []), ...(event.ips ?? [])]
    for (const ip of ips) {
      for (const instance of lookup.instancesByIp(ip)) {
        if (instance.mesh === event.mesh) continue
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
  }
  return [...views.values()]
}

/**
 * Where an event's involved object has a page in Eventline: a pod or a registry instance is an
 * instance page, a workload of an application its application page, a Dubbo service its service
 * page. Other objects (nodes, config keys, HPAs without an application) have none and stay text.
 */
import type { EventItem } from '@eventline/shared'

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'HorizontalPodAutoscaler'])

/** The object as a reader names it: `Kind/namespace/name`, or `Kind/name` outside namespaces. */
export function objectLabel(item: EventItem): string {
  const { kind, namespace, name } = item.object
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`
}

/** The console path (with `?mesh=`) of the object's page, or `undefined` when Eventline has none. */
export function objectHref(item: EventItem): string | undefined {
  const { kind, name } = item.object
  const page = (section: string, entity: string) => `/${section}/${encodeURIComponent(entity)}?mesh=${encodeURIComponent(item.mesh)}`
  if (kind === 'Pod') return page('instances', name)
  if (WORKLOADS.has(kind) && item.application) return page('applications', item.application)
  if (item.instance) return page('instances', item.instance)
  if (item.service) return page('services', item.service)
  if (item.application) return page('applications', item.application)
  return undefined
}

/** Event model of CONTRACT section 2, exactly as the API serves it. */

export const EVENT_TYPES = ['normal', 'warning'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const EVENT_SOURCES = ['kubernetes', 'zookeeper', 'nacos', 'api', 'demo'] as const
export type EventSource = (typeof EVENT_SOURCES)[number]

export interface EventObject {
  kind: string
  name: string
  namespace?: string
  uid?: string
  fieldPath?: string
}

export interface EventItem {
  /** Stable across restarts, e.g. `kubernetes:<event uid>`. */
  id: string
  /** ISO 8601 UTC: last occurrence. */
  time: string
  /** ISO 8601 UTC: first occurrence. */
  firstTime: string
  /** Occurrences, >= 1. */
  count: number
  type: EventType
  reason: string
  message: string
  source: EventSource
  component: string
  host?: string
  mesh: string
  object: EventObject
  application?: string
  /** Pod name, or `ip:port` for registry-only instances. */
  instance?: string
  ip?: string
  /** Dubbo interface or Kubernetes Service name. */
  service?: string
  category?: string
  action?: string
}

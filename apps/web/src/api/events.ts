import type { EventPage, TimelineQueryInput } from '@eventline/shared'
import { apiUrl, getAccessToken, getJson } from './client.ts'

/** Whose timeline: the whole mesh, or one application, instance or service (CONTRACT section 3). */
export type TimelineScope =
  | { kind: 'all' }
  | { kind: 'applications' | 'instances' | 'services'; name: string }

/** `GET /api/v1/events`, or `/api/v1/<kind>/<name>/events`: one page of a timeline, newest first. */
export function listEvents(scope: TimelineScope, query: TimelineQueryInput, signal?: AbortSignal): Promise<EventPage> {
  const path = scope.kind === 'all' ? '/events' : `/${scope.kind}/${encodeURIComponent(scope.name)}/events`
  return getJson<EventPage>(path, { query, signal })
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/
const IPV6 = /^[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*$/

/**
 * The scope as timeline query parameters, as the per-entity routes read it: an instance named by
 * a bare IP is that IP's timeline (`/instances/10.0.0.7`), any other name (pod, `ip:port`) the instance's.
 */
export function scopeQuery(scope: TimelineScope): TimelineQueryInput {
  switch (scope.kind) {
    case 'all':
      return {}
    case 'applications':
      return { application: scope.name }
    case 'services':
      return { service: scope.name }
    case 'instances':
      return IPV4.test(scope.name) || (IPV6.test(scope.name) && scope.name.split(':').length > 2) ? { ip: scope.name } : { instance: scope.name }
  }
}

/**
 * `GET /api/v1/events/stream` for a scope and filters: the URL an EventSource opens. EventSource
 * cannot send headers, so the token, when there is one, rides in the query (CONTRACT `?token=`).
 */
export function streamUrl(scope: TimelineScope, query: TimelineQueryInput): string {
  return apiUrl('/events/stream', { ...query, ...scopeQuery(scope), token: getAccessToken() })
}

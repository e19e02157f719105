import type { EventItem, EventPage, ExportFormat, FacetField, Facets, Gap, Histogram, TimelineQueryInput } from '@eventline/shared'
import { apiUrl, getAccessToken, getJson } from './client.ts'

// The shapes of the timeline views are the server's own (type-only: no schema code in the bundle).
export type { ExportFormat, FacetField, Facets, Gap, Histogram, HistogramBucket } from '@eventline/shared'

/** Whose timeline: the whole mesh, or one application, instance or service (CONTRACT section 3). */
export type TimelineScope =
  | { kind: 'all' }
  | { kind: 'applications' | 'instances' | 'services'; name: string }

/** `GET /api/v1/events`, or `/api/v1/<kind>/<name>/events`: one page of a timeline, newest first. */
export function listEvents(scope: TimelineScope, query: TimelineQueryInput, signal?: AbortSignal): Promise<EventPage> {
  return getJson<EventPage>(timelinePath(scope), { query, signal })
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

/** `P` of CONTRACT section 3: the path of a scope's timeline, to which `/histogram`, `/facets` and `/export` are added. */
export function timelinePath(scope: TimelineScope): string {
  return scope.kind === 'all' ? '/events' : `/${scope.kind}/${encodeURIComponent(scope.name)}/events`
}

/** The timeline filters without paging, as `P/histogram`, `P/facets` and `P/export` take them. */
export type TimelineFilterQuery = Omit<TimelineQueryInput, 'limit' | 'cursor'>

/** `GET P/histogram`: the event rate over the filtered range, stacked by type, with the gaps in it. */
export function getHistogram(scope: TimelineScope, query: TimelineFilterQuery, buckets: number, signal?: AbortSignal): Promise<Histogram> {
  return getJson<Histogram>(`${timelinePath(scope)}/histogram`, { query: { ...query, buckets }, signal })
}

/** `GET P/facets?field=`: counts of a field's values among the matches of the other filters. */
export function getFacets(scope: TimelineScope, field: FacetField, query: TimelineFilterQuery, signal?: AbortSignal): Promise<Facets> {
  return getJson<Facets>(`${timelinePath(scope)}/facets`, { query: { ...query, field }, signal })
}

/** `GET /gaps?mesh&since&until`: periods in which a source was not ingesting. */
export function listGaps(query: { mesh?: string; since?: string; until?: string }, signal?: AbortSignal): Promise<{ items: Gap[] }> {
  return getJson<{ items: Gap[] }>('/gaps', { query, signal })
}

/** `GET /events/:id`: one event; `ApiError` 404 when unknown. */
export function getEvent(id: string, signal?: AbortSignal): Promise<EventItem> {
  return getJson<EventItem>(`/events/${encodeURIComponent(id)}`, { signal })
}

/** `GET P/export?format=`: the URL of the download of every match of the filters. */
export function exportUrl(scope: TimelineScope, query: TimelineFilterQuery, format: ExportFormat): string {
  return apiUrl(`${timelinePath(scope)}/export`, { ...query, format })
}

import type { EventPage, TimelineQueryInput } from '@eventline/shared'
import { getJson } from './client.ts'

/** Whose timeline: the whole mesh, or one application, instance or service (CONTRACT section 3). */
export type TimelineScope =
  | { kind: 'all' }
  | { kind: 'applications' | 'instances' | 'services'; name: string }

/** `GET /api/v1/events`, or `/api/v1/<kind>/<name>/events`: one page of a timeline, newest first. */
export function listEvents(scope: TimelineScope, query: TimelineQueryInput, signal?: AbortSignal): Promise<EventPage> {
  const path = scope.kind === 'all' ? '/events' : `/${scope.kind}/${encodeURIComponent(scope.name)}/events`
  return getJson<EventPage>(path, { query, signal })
}

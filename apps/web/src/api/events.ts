import type { EventPage, TimelineQueryInput } from '@eventline/shared'
import { getJson } from './client.ts'

/** `GET /api/v1/events`: one page of the timeline, newest first. */
export const listEvents = (query: TimelineQueryInput, signal?: AbortSignal) => getJson<EventPage>('/events', { query, signal })

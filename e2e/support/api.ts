/** Seeding and reading through the public HTTP API, as a script of an operator would. */
import type { EventPage, PostEvent, PostEventsResponse, TimelineQueryInput } from '@eventline/shared'
import type { APIRequestContext } from '@playwright/test'
import { expect } from '@playwright/test'

/** `POST /api/v1/events` with the given events; asserts the contract's `202 { accepted: n }`. */
export async function postEvents(request: APIRequestContext, events: PostEvent[]): Promise<void> {
  const response = await request.post('/api/v1/events', { data: events })
  expect(response.status(), await response.text()).toBe(202)
  expect((await response.json()) as PostEventsResponse).toEqual({ accepted: events.length })
}

/** `GET /api/v1/events` with the given filters; asserts a 200 and returns the page. */
export async function getEvents(request: APIRequestContext, query: TimelineQueryInput): Promise<EventPage> {
  const params: Record<string, string> = {}
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params[key] = value
  const response = await request.get('/api/v1/events', { params })
  expect(response.status(), await response.text()).toBe(200)
  return (await response.json()) as EventPage
}

/** ISO time `minutesAgo` minutes before `now`. */
export function minutesBefore(now: number, minutesAgo: number): string {
  return new Date(now - minutesAgo * 60_000).toISOString()
}

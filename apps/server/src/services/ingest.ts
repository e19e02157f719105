/** Ingest service: turns events posted to the API into normalised events on the bus. */
import { randomUUID } from 'node:crypto'
import type { PostEvent } from '@eventline/shared'
import { parseIsoTime } from '@eventline/shared'
import type { EventBus } from '../bus.ts'
import type { IngestEvent } from '../store/types.ts'

export const API_MESH = 'api'

/** Normalises one posted event. Without an `id`, each post is a new event. */
export function normalizePostedEvent(posted: PostEvent, now: number): IngestEvent {
  const time = posted.time === undefined ? now : parseIsoTime(posted.time)!
  const object = posted.object ?? {
    kind: posted.instance ? 'Instance' : posted.service ? 'Service' : posted.application ? 'Application' : 'Event',
    name: posted.instance ?? posted.service ?? posted.application ?? posted.reason,
  }
  const event: IngestEvent = {
    id: posted.id === undefined ? `api:${randomUUID()}` : posted.id,
    time,
    type: posted.type,
    reason: posted.reason,
    message: posted.message,
    source: 'api',
    component: posted.component ?? 'api',
    mesh: posted.mesh ?? API_MESH,
    object,
  }
  for (const key of ['application', 'instance', 'ip', 'service'] as const) {
    const value = posted[key]
    if (value !== undefined) event[key] = value
  }
  return event
}

export class IngestService {
  constructor(private readonly bus: EventBus) {}

  /** Publishes the events and resolves once all of them are stored (one transaction). */
  async accept(events: PostEvent[]): Promise<number> {
    const now = Date.now()
    await this.bus.publish({ events: events.map((event) => normalizePostedEvent(event, now)) })
    return events.length
  }
}

/**
 * Ingest service: turns events posted to the API into normalised events on the bus.
 *
 * Posted events may only update posted events of the same mesh: an `id` the store holds for a
 * source (Kubernetes, a registry, the demo) or for another mesh is a 409 naming its index, and
 * nothing of the body is stored. The check reads the store before publishing; the writer repeats
 * it inside its transaction (`SqliteStore`), so an id a source stores in between is still never
 * rewritten. Known limit: in that race the posted event is skipped while the POST answers 202.
 */
import { randomUUID } from 'node:crypto'
import type { PostEvent } from '@eventline/shared'
import { parseIsoTime } from '@eventline/shared'
import type { EventBus } from '../bus.ts'
import { ApiError } from '../errors.ts'
import type { EventStore, IngestEvent } from '../store/types.ts'

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
  constructor(
    private readonly bus: EventBus,
    private readonly store: Pick<EventStore, 'eventOrigins'>,
  ) {}

  /**
   * Publishes the events and resolves once all of them are stored (one transaction). Throws a 409
   * `ApiError` when an id belongs to another source or mesh, before anything is published.
   */
  async accept(events: PostEvent[]): Promise<number> {
    const now = Date.now()
    const normalized = events.map((event) => normalizePostedEvent(event, now))
    const given = normalized.filter((_event, index) => events[index]!.id !== undefined).map((event) => event.id)
    const origins = await this.store.eventOrigins(given)
    normalized.forEach((event, index) => {
      const origin = origins.get(event.id)
      if (origin && (origin.source !== 'api' || origin.mesh !== event.mesh)) {
        const owner = origin.source === 'api' ? `a posted event of mesh "${origin.mesh}"` : `a ${origin.source} event of mesh "${origin.mesh}"`
        throw new ApiError(
          'conflict',
          `[${index}].id: ${JSON.stringify(event.id)} is already stored as ${owner}; posted events may only update posted events of the same mesh`,
          `[${index}].id`,
        )
      }
    })
    await this.bus.publish({ events: normalized })
    return events.length
  }
}

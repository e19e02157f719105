/** Timelines and event ingestion (`/events`, `/applications|instances|services/:name/events`). */
import { noQuerySchema, postEventListSchema, postEventSchema, streamQuerySchema, timelineQuerySchema } from '@eventline/shared'
import type { EventItem, PostEventsResponse } from '@eventline/shared'
import { Router } from 'express'
import { invalidArgument, notFound } from '../errors.ts'
import type { IngestService } from '../services/ingest.ts'
import { StreamLimitError } from '../services/stream.ts'
import type { StreamService } from '../services/stream.ts'
import { instanceScope, toFilter } from '../services/timeline.ts'
import type { TimelineService } from '../services/timeline.ts'
import type { EventStore } from '../store/types.ts'
import { requireConfiguredToken } from './auth.ts'
import { sendJson } from './sendJson.ts'
import { parse } from './validate.ts'

/** `Last-Event-ID`: the store sequence of the last event a reconnecting client saw. */
function lastEventId(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined
  if (!/^\d{1,15}$/.test(header)) throw invalidArgument('Last-Event-ID', 'must be the id of an event this stream sent (a non-negative integer)')
  return Number(header)
}

export function eventsRouter(timeline: TimelineService, ingest: IngestService, stream: StreamService, token: string | undefined): Router {
  const router = Router()

  router.get('/events/stream', async (req, res) => {
    const { token: _token, ...query } = parse(streamQuerySchema, req.query)
    const filter = toFilter(query)
    try {
      await stream.open(res, filter, lastEventId(req.get('last-event-id')))
    } catch (error) {
      if (!(error instanceof StreamLimitError)) throw error
      // Not the client's fault nor a failure: the server is at its limit, so say when to come back.
      res.status(503).set('Retry-After', '10').json({ error: { code: 'internal', message: error.message } })
    }
  })

  router.get('/events', async (req, res) => {
    sendJson(res, await timeline.pageBody(parse(timelineQuerySchema, req.query)))
  })

  router.post('/events', requireConfiguredToken(token), async (req, res) => {
    parse(noQuerySchema, req.query)
    const events = Array.isArray(req.body) ? parse(postEventListSchema, req.body, 'body') : [parse(postEventSchema, req.body, 'body')]
    const response: PostEventsResponse = { accepted: await ingest.accept(events) }
    res.status(202).json(response)
  })

  router.get('/applications/:name/events', async (req, res) => {
    sendJson(res, await timeline.pageBody(parse(timelineQuerySchema, req.query), { application: req.params.name }))
  })

  router.get('/instances/:name/events', async (req, res) => {
    sendJson(res, await timeline.pageBody(parse(timelineQuerySchema, req.query), instanceScope(req.params.name)))
  })

  router.get('/services/:name/events', async (req, res) => {
    sendJson(res, await timeline.pageBody(parse(timelineQuerySchema, req.query), { service: req.params.name }))
  })

  return router
}

/**
 * `GET /events/:id`: one event. Its own router, mounted after every other `/api/v1` router, so the
 * fixed paths under `/events/` (`stream`, and any added later) always win over the id pattern.
 */
export function eventByIdRouter(store: Pick<EventStore, 'event'>): Router {
  const router = Router()
  router.get('/events/:id', async (req, res) => {
    parse(noQuerySchema, req.query)
    const item: EventItem | undefined = await store.event(req.params.id)
    if (item === undefined) throw notFound(`event ${JSON.stringify(req.params.id)} not found`)
    res.json(item)
  })
  return router
}

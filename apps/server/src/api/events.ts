/** Timelines and event ingestion (`/events`, `/applications|instances|services/:name/events`). */
import { postEventListSchema, postEventSchema, timelineQuerySchema } from '@eventline/shared'
import type { PostEventsResponse } from '@eventline/shared'
import { Router } from 'express'
import type { IngestService } from '../services/ingest.ts'
import { instanceScope } from '../services/timeline.ts'
import type { TimelineService } from '../services/timeline.ts'
import { requireConfiguredToken } from './auth.ts'
import { parse } from './validate.ts'

export function eventsRouter(timeline: TimelineService, ingest: IngestService, token: string | undefined): Router {
  const router = Router()

  router.get('/events', async (req, res) => {
    res.json(await timeline.page(parse(timelineQuerySchema, req.query)))
  })

  router.post('/events', requireConfiguredToken(token), async (req, res) => {
    const events = Array.isArray(req.body) ? parse(postEventListSchema, req.body, 'body') : [parse(postEventSchema, req.body, 'body')]
    const response: PostEventsResponse = { accepted: await ingest.accept(events) }
    res.status(202).json(response)
  })

  router.get('/applications/:name/events', async (req, res) => {
    res.json(await timeline.page(parse(timelineQuerySchema, req.query), { application: req.params.name }))
  })

  router.get('/instances/:name/events', async (req, res) => {
    res.json(await timeline.page(parse(timelineQuerySchema, req.query), instanceScope(req.params.name)))
  })

  router.get('/services/:name/events', async (req, res) => {
    res.json(await timeline.page(parse(timelineQuerySchema, req.query), { service: req.params.name }))
  })

  return router
}

/**
 * Views of every timeline path P (`/events`, `/applications|instances|services/:name/events`):
 * `P/histogram`, `P/facets`, `P/export`, and `/gaps` (CONTRACT section 3). Mounted before the
 * events router so that `/events/histogram` is never taken for an event id.
 */
import { exportQuerySchema, facetsQuerySchema, gapsQuerySchema, histogramQuerySchema } from '@eventline/shared'
import type { GapsQuery } from '@eventline/shared'
import { Router } from 'express'
import type { Request } from 'express'
import { invalidArgument } from '../errors.ts'
import type { IngestActivity } from '../services/ingestActivity.ts'
import { instanceScope } from '../services/timeline.ts'
import type { TimelineScope } from '../services/timeline.ts'
import type { TimelineViewsService } from '../services/timelineViews.ts'
import { parse } from './validate.ts'

/** The timeline paths and the scope each gives its views. */
const TIMELINES: Array<[path: string, scope: (req: Request) => TimelineScope]> = [
  ['/events', () => ({})],
  ['/applications/:name/events', (req) => ({ application: String(req.params.name) })],
  ['/instances/:name/events', (req) => instanceScope(String(req.params.name))],
  ['/services/:name/events', (req) => ({ service: String(req.params.name) })],
]

export function timelineViewsRouter(views: TimelineViewsService, activity: IngestActivity | undefined, now: () => number = Date.now): Router {
  const router = Router()
  for (const [path, scope] of TIMELINES) {
    router.get(`${path}/histogram`, async (req, res) => {
      res.json(await views.histogram(parse(histogramQuerySchema, req.query), scope(req)))
    })
    router.get(`${path}/facets`, async (req, res) => {
      res.json(await views.facets(parse(facetsQuerySchema, req.query), scope(req)))
    })
    router.get(`${path}/export`, async (req, res) => {
      await views.export(res, parse(exportQuerySchema, req.query), scope(req))
    })
  }

  router.get('/gaps', async (req, res) => {
    const query: GapsQuery = parse(gapsQuerySchema, req.query)
    const until = query.until ?? now()
    const since = query.since ?? 0
    if (since >= until) throw invalidArgument('until', 'must be later than since')
    const items = activity ? await activity.gaps({ ...(query.mesh === undefined ? {} : { mesh: query.mesh }), since, until }) : []
    res.json({ items })
  })
  return router
}

/**
 * Builds the Express app: API routes, probes, the SPA with history-mode fallback, one error
 * handler. No listening and no process concerns here, so tests drive it on an ephemeral port.
 */
import { existsSync } from 'node:fs'
import { createServer, IncomingMessage, ServerResponse } from 'node:http'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { API_PREFIX } from '@eventline/shared'
import express from 'express'
import type { Express, RequestHandler } from 'express'
import { requireToken } from './api/auth.ts'
import { dubboAdminRouter } from './api/dubboAdmin.ts'
import { openApiRouter } from './api/openapi.ts'
import { apiNotFound, errorHandler } from './api/errorHandler.ts'
import { eventByIdRouter, eventsRouter } from './api/events.ts'
import { healthRouter } from './api/health.ts'
import { jsonBody } from './api/jsonBody.ts'
import { resourcesRouter } from './api/resources.ts'
import { timelineViewsRouter } from './api/timelineViews.ts'
import type { Logger } from './log.ts'
import type { Metrics } from './metrics.ts'
import type { IngestService } from './services/ingest.ts'
import type { StreamService } from './services/stream.ts'
import type { MeshStatusBoard } from './services/meshStatus.ts'
import type { TimelineService } from './services/timeline.ts'
import type { IngestActivity } from './services/ingestActivity.ts'
import type { TimelineViewsService } from './services/timelineViews.ts'
import type { EventStore } from './store/types.ts'

export interface AppDependencies {
  store: EventStore
  timeline: TimelineService
  ingest: IngestService
  stream: StreamService
  meshStatus: MeshStatusBoard
  /** Histogram, facets and export of every timeline; absent in apps built without them. */
  timelineViews?: TimelineViewsService
  /** When sources were ingesting: the gaps of `/gaps` and of histograms. */
  activity?: IngestActivity
  /** Whether this replica is the leader (`/readyz`); default always (one process). */
  isLeader?: () => boolean
  metrics: Metrics
  log: Logger
  token?: string
  /** Built SPA (`apps/web/dist`); when absent, the API still works and `/` explains. */
  webDir?: string
}

export function createApp(deps: AppDependencies): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.use(httpMetrics(deps.metrics))
  app.use(securityHeaders)
  app.use(healthRouter(deps.store, deps.metrics, deps.isLeader))

  const api = express.Router()
  api.use(requireToken(deps.token))
  api.use(jsonBody(MAX_BODY_BYTES))
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store')
    next()
  })
  // Before the events router: `/events/histogram` must not be read as an event id.
  if (deps.timelineViews) api.use(timelineViewsRouter(deps.timelineViews, deps.activity))
  api.use(eventsRouter(deps.timeline, deps.ingest, deps.stream, deps.token))
  api.use(resourcesRouter(deps.store, deps.meshStatus))
  api.use(openApiRouter())
  api.use(dubboAdminRouter(deps.timeline))
  // Last: `/events/:id` must not shadow a fixed path under `/events/` that a router above serves.
  api.use(eventByIdRouter(deps.store))
  api.use(apiNotFound)
  app.use(API_PREFIX, api)
  app.use('/api', apiNotFound)

  serveSpa(app, deps.webDir)
  app.use(errorHandler(deps.log))
  return app
}

/**
 * The HTTP server of an Express app, its requests and responses made with the app's own
 * prototypes (`app.request`, `app.response`). Express gives each request and response those
 * prototypes in `app.handle` (`Object.setPrototypeOf`), and a prototype swapped on every request
 * keeps V8's young objects alive: measured on a bare Express 5 app answering sequential requests,
 * 38% of what was allocated between two scavenges survived the second (6% with plain `node:http`)
 * and scavenges took 5-9 ms, which landed in the tail of every latency. With the prototype in place
 * from the start, the swap changes nothing (V8 returns early when the prototype is the same): 8%
 * and 2 ms.
 */
export function appServer(app: Express): Server {
  function AppRequest(...args: unknown[]): IncomingMessage {
    return Reflect.construct(IncomingMessage, args, AppRequest) as IncomingMessage
  }
  AppRequest.prototype = app.request
  function AppResponse(...args: unknown[]): ServerResponse {
    return Reflect.construct(ServerResponse, args, AppResponse) as ServerResponse
  }
  AppResponse.prototype = app.response
  return createServer({ IncomingMessage: AppRequest as unknown as typeof IncomingMessage, ServerResponse: AppResponse as unknown as typeof ServerResponse }, app)
}

// 1,000 events (the most one POST takes) with long messages fit; anything larger is refused with a 413.
const MAX_BODY_BYTES = 5 * 1024 * 1024

/**
 * Defence in depth for a page that shows text from clusters and registries: scripts only from our
 * own origin, no plugins, no inline script. ant-design-vue injects its styles at run time, hence
 * inline styles. Framing is left allowed: the console is meant to sit in a mesh console's tab.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ')

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' })
  next()
}

function serveSpa(app: Express, webDir: string | undefined): void {
  const index = webDir ? join(webDir, 'index.html') : undefined
  if (webDir && index && existsSync(index)) {
    // Hashed assets are immutable; index.html must always be revalidated to pick up new builds.
    app.use('/assets', express.static(join(webDir, 'assets'), { immutable: true, maxAge: '1y' }), (_req, res) => {
      // A missing hashed asset (an old page after a deploy) is a 404, never the SPA's HTML.
      res.status(404).type('text/plain').send('Not found\n')
    })
    app.use(express.static(webDir, { index: false, maxAge: 0 }))
    app.get('/{*path}', (_req, res) => {
      res.set('Cache-Control', 'no-cache')
      res.sendFile(index)
    })
    return
  }
  app.get('/{*path}', (_req, res) => {
    res.status(404).type('text/plain').send('The web console is not built. Run `pnpm build` (or `pnpm start`, which builds it).\n')
  })
}

function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpRequestSeconds.startTimer()
    res.on('finish', () => {
      // A live stream lasts as long as its reader: its duration would drown the latencies.
      if (res.getHeader('content-type')?.toString().startsWith('text/event-stream')) return
      // Route patterns, never raw paths: entity names must not become label values.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : req.baseUrl.startsWith('/api') ? 'api-unmatched' : 'static'
      stop({ method: req.method, route, status: String(res.statusCode) })
    })
    next()
  }
}

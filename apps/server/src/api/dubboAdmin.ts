/**
 * Dubbo admin compatible event endpoints: the same data in the envelope of apache/dubbo-admin's
 * console API, so its UI and scripts work against Eventline. Errors keep HTTP 200, as there.
 *
 * Requests are taken as dubbo-admin's console (ui-vue3) sends them: empty parameters for values it
 * does not have, its own mesh name (often `default`) in `mesh`, `pageSize=0` at times, no `appName`
 * on the first render, and `instanceName` / `ip` as two names of one instance. Unknown parameters
 * are ignored, unlike on the timeline endpoints: the console adds its own.
 *
 * Known limits (candidly): whether `mesh` names a mesh is decided from the stored meshes on each
 * request (a handful of rows); a mesh created after the check is searched from the next request on.
 */
import { dubboAdminApplicationSchema, dubboAdminInstanceSchema, dubboAdminServiceSchema } from '@eventline/shared'
import type { DubboAdminEventList, DubboAdminResponse, EventItem } from '@eventline/shared'
import type { RequestHandler } from 'express'
import { Router } from 'express'
import type { z } from 'zod'
import { ApiError } from '../errors.ts'
import type { TimelineService } from '../services/timeline.ts'
import { instanceScope } from '../services/timeline.ts'
import type { TimelineFilter } from '../store/types.ts'
import { parse } from './validate.ts'

/** `YYYY-MM-DD HH:mm:ss` in UTC, as dubbo-admin prints times. */
export function dubboAdminTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ')
}

function toList(items: EventItem[], total: number): DubboAdminEventList {
  return {
    list: items.map((item) => ({ time: dubboAdminTime(item.time), type: item.type, message: item.message, source: item.source, desc: item.message })),
    total,
  }
}

/** Empty parameters count as absent (the console sends `ip=` for an IP it does not know). */
const given = (value: string | undefined): value is string => value !== undefined && value !== ''

type PageQuery = { mesh?: string | undefined; pageOffset: number; pageSize: number }

/**
 * `toFilter` returns the entity filter, or `undefined` when the request names no entity: the
 * console's first render, answered with an empty list rather than an error or every event.
 */
function handler<S extends z.ZodType<PageQuery>>(
  timeline: TimelineService,
  schema: S,
  toFilter: (query: z.output<S>) => Promise<TimelineFilter | undefined> | TimelineFilter | undefined,
): RequestHandler {
  return async (req, res) => {
    let body: DubboAdminResponse<DubboAdminEventList>
    try {
      const query = parse(schema, req.query)
      const filter = await toFilter(query)
      if (filter === undefined) {
        body = { code: 'Success', message: 'success', data: { list: [], total: 0 } }
      } else {
        const mesh = await knownMesh(timeline, query.mesh)
        const { items, total } = await timeline.byOffset({ ...filter, ...(mesh ? { mesh } : {}) }, query.pageOffset, query.pageSize)
        body = { code: 'Success', message: 'success', data: toList(items, total) }
      }
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      body = { code: 'InvalidArgument', message: error.message, data: null }
    }
    res.json(body)
  }
}

/**
 * The mesh to narrow to: dubbo-admin sends its own mesh name (`default` unless configured), which
 * means nothing here unless Eventline has a mesh of that name; then every mesh is searched.
 */
async function knownMesh(timeline: TimelineService, mesh: string | undefined): Promise<string | undefined> {
  return given(mesh) && (await timeline.hasMesh(mesh)) ? mesh : undefined
}

/**
 * `instanceName` and `ip` name one instance: the instance name (pod name or `ip:port`), its IP or
 * its `ip:port` all match. The name wins when Eventline knows it (or it is an address itself);
 * otherwise the IP, since dubbo-admin's instance names need not be Eventline's.
 */
async function instanceFilter(timeline: TimelineService, query: z.output<typeof dubboAdminInstanceSchema>): Promise<TimelineFilter | undefined> {
  const { instanceName, ip } = query
  if (!given(instanceName)) return given(ip) ? instanceScope(ip) : undefined
  if (!given(ip) || ip === instanceName) return instanceScope(instanceName)
  const byName = instanceScope(instanceName)
  if ('ip' in byName || /:\d{1,5}$/.test(instanceName)) return byName
  return (await timeline.hasInstance(instanceName, await knownMesh(timeline, query.mesh))) ? byName : instanceScope(ip)
}

export function dubboAdminRouter(timeline: TimelineService): Router {
  const router = Router()
  router.get(
    '/application/event',
    handler(timeline, dubboAdminApplicationSchema, ({ appName }) => (given(appName) ? { application: appName } : undefined)),
  )
  router.get(
    '/instance/event',
    handler(timeline, dubboAdminInstanceSchema, (query) => instanceFilter(timeline, query)),
  )
  router.get(
    '/service/event',
    handler(timeline, dubboAdminServiceSchema, ({ serviceName, appName }) =>
      given(serviceName) ? { service: serviceName, ...(given(appName) ? { application: appName } : {}) } : undefined,
    ),
  )
  return router
}

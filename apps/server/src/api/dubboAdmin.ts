/**
 * Dubbo admin compatible event endpoints: the same data in the envelope of apache/dubbo-admin's
 * console API, so its UI and scripts work against Eventline. Errors keep HTTP 200, as there.
 */
import { dubboAdminApplicationSchema, dubboAdminInstanceSchema, dubboAdminServiceSchema } from '@eventline/shared'
import type { DubboAdminEventList, DubboAdminResponse, EventItem } from '@eventline/shared'
import type { RequestHandler } from 'express'
import { Router } from 'express'
import type { z } from 'zod'
import { ApiError, invalidArgument } from '../errors.ts'
import type { TimelineService } from '../services/timeline.ts'
import { instanceScope } from '../services/timeline.ts'
import type { TimelineFilter } from '../store/types.ts'
import { parse } from './validate.ts'

/** `YYYY-MM-DD HH:mm:ss` in UTC, as dubbo-admin prints times. */
export function dubboAdminTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ')
}

function toList(items: EventItem[], total: number): DubboAdminEventList {
  return { list: items.map((item) => ({ time: dubboAdminTime(item.time), type: item.type, message: item.message, source: item.source })), total }
}

function handler<S extends z.ZodType<{ mesh?: string; pageOffset: number; pageSize: number }>>(
  timeline: TimelineService,
  schema: S,
  toFilter: (query: z.output<S>) => TimelineFilter,
): RequestHandler {
  return async (req, res) => {
    let body: DubboAdminResponse<DubboAdminEventList>
    try {
      const query = parse(schema, req.query)
      const { items, total } = await timeline.byOffset({ ...toFilter(query), ...(query.mesh ? { mesh: query.mesh } : {}) }, query.pageOffset, query.pageSize)
      body = { code: 'Success', message: 'success', data: toList(items, total) }
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      body = { code: 'InvalidArgument', message: error.message, data: null }
    }
    res.json(body)
  }
}

export function dubboAdminRouter(timeline: TimelineService): Router {
  const router = Router()
  router.get('/application/event', handler(timeline, dubboAdminApplicationSchema, (query) => ({ application: query.appName })))
  router.get(
    '/instance/event',
    handler(timeline, dubboAdminInstanceSchema, (query) => {
      if (query.instanceName === undefined && query.ip === undefined) throw invalidArgument('instanceName', 'instanceName or ip is required')
      return { ...(query.instanceName ? instanceScope(query.instanceName) : {}), ...(query.ip ? { ip: query.ip } : {}) }
    }),
  )
  router.get('/service/event', handler(timeline, dubboAdminServiceSchema, (query) => ({ service: query.serviceName })))
  return router
}

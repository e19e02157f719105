/**
 * Runtime schemas of what the API answers, for the OpenAPI document (`openapi.ts`). The TypeScript
 * interfaces in `events.ts`, `resources.ts` and `api.ts` stay the types code uses; the checks at the
 * end of this file fail the type check when a schema and its interface drift apart.
 */
import { z } from 'zod'
import type { DubboAdminEventList, ErrorBody, EventPage, PostEventsResponse } from './api.ts'
import { ERROR_CODES } from './api.ts'
import type { EventItem } from './events.ts'
import { EVENT_SOURCES, EVENT_TYPES } from './events.ts'
import type { ApplicationDetail, ApplicationSummary, Instance, Mesh, ServiceDetail, ServiceSummary } from './resources.ts'
import { MESH_KINDS, MESH_STATUSES } from './resources.ts'

const isoTime = z.string().meta({ format: 'date-time', description: 'ISO 8601, UTC' })

export const eventObjectSchema = z
  .object({ kind: z.string(), name: z.string(), namespace: z.string().optional(), uid: z.string().optional(), fieldPath: z.string().optional() })
  .meta({ id: 'EventObject', description: 'The object the event is about' })

export const eventItemSchema = z
  .object({
    id: z.string().meta({ description: 'Stable across restarts, e.g. kubernetes:<event uid>' }),
    time: isoTime.meta({ description: 'Last occurrence (ISO 8601, UTC)' }),
    firstTime: isoTime.meta({ description: 'First occurrence (ISO 8601, UTC)' }),
    count: z.int().min(1),
    type: z.enum(EVENT_TYPES),
    reason: z.string(),
    message: z.string(),
    source: z.enum(EVENT_SOURCES),
    component: z.string(),
    host: z.string().optional(),
    mesh: z.string(),
    object: eventObjectSchema,
    application: z.string().optional(),
    instance: z.string().optional().meta({ description: 'Pod name, ip:port, or <application>@<ip> for a consumer' }),
    ip: z.string().optional(),
    service: z.string().optional(),
    category: z.string().optional(),
    action: z.string().optional(),
  })
  .meta({ id: 'EventItem' })

export const eventPageSchema = z
  .object({
    items: z.array(eventItemSchema),
    nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' }),
    total: z.int().min(0),
    totalCapped: z.boolean().meta({ description: 'True when total stopped counting at a bound' }),
  })
  .meta({ id: 'EventPage' })

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...Array<keyof typeof ERROR_CODES>]),
      message: z.string(),
      field: z.string().optional().meta({ description: 'The parameter, header or body field at fault' }),
    }),
  })
  .meta({ id: 'Error' })

export const postEventsResponseSchema = z.object({ accepted: z.int().min(0) }).meta({ id: 'PostEventsResponse' })

const meshCountsSchema = z.object({ applications: z.int(), instances: z.int(), services: z.int(), events: z.int() })

export const meshSchema = z
  .object({
    name: z.string(),
    kind: z.enum(MESH_KINDS),
    address: z.string(),
    status: z.enum(MESH_STATUSES),
    error: z.string().optional(),
    lastSyncAt: isoTime.optional(),
    counts: meshCountsSchema,
  })
  .meta({ id: 'Mesh' })

export const meshListSchema = z.object({ items: z.array(meshSchema) }).meta({ id: 'MeshList' })

export const instanceSchema = z
  .object({
    name: z.string(),
    mesh: z.string(),
    ip: z.string().optional(),
    port: z.int().optional(),
    application: z.string().optional(),
    namespace: z.string().optional(),
    node: z.string().optional(),
    phase: z.string().optional(),
    registered: z.boolean(),
    sources: z.array(z.string()),
    labels: z.record(z.string(), z.string()).optional().meta({ description: 'Pod labels, or registry metadata, as last reported' }),
  })
  .meta({ id: 'Instance' })

export const applicationSummarySchema = z
  .object({
    name: z.string(),
    mesh: z.string(),
    instanceCount: z.int(),
    serviceCount: z.int(),
    lastEventAt: isoTime.optional(),
    warningCount24h: z.int(),
  })
  .meta({ id: 'ApplicationSummary' })

export const applicationDetailSchema = z
  .object({ name: z.string(), mesh: z.string(), instances: z.array(instanceSchema), services: z.array(z.string()) })
  .meta({ id: 'ApplicationDetail' })

const serviceShape = {
  name: z.string(),
  mesh: z.string(),
  version: z.string().optional(),
  group: z.string().optional(),
  providers: z.int(),
  consumers: z.int(),
  applications: z.array(z.string()),
}
export const serviceSummarySchema = z.object(serviceShape).meta({ id: 'ServiceSummary' })
export const serviceDetailSchema = z
  .object({ ...serviceShape, providerInstances: z.array(instanceSchema), consumerInstances: z.array(instanceSchema) })
  .meta({ id: 'ServiceDetail' })

/** `{ items, nextCursor, total }` of the resource lists. */
function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable(), total: z.int().min(0) }).meta({ id })
}
export const applicationPageSchema = pageOf(applicationSummarySchema, 'ApplicationPage')
export const instancePageSchema = pageOf(instanceSchema, 'InstancePage')
export const servicePageSchema = pageOf(serviceSummarySchema, 'ServicePage')

export const dubboAdminEventListSchema = z
  .object({
    list: z.array(
      z.object({
        time: z.string().meta({ description: 'YYYY-MM-DD HH:mm:ss (UTC)' }),
        type: z.string(),
        message: z.string(),
        source: z.string(),
        desc: z.string().meta({ description: 'Same as message (older dubbo-admin consoles read desc)' }),
      }),
    ),
    total: z.int().min(0),
  })
  .meta({ id: 'DubboAdminEventList' })

export const dubboAdminResponseSchema = z
  .object({
    code: z.enum(['Success', 'InvalidArgument', 'InternalError']),
    message: z.string(),
    data: dubboAdminEventListSchema.nullable(),
  })
  .meta({ id: 'DubboAdminEventResponse', description: "apache/dubbo-admin's console envelope; errors keep HTTP 200" })

// --- timeline views (CONTRACT section 3, "Further rules and endpoints") -----------------------
// Described from the contract; the interfaces of these answers live with the change that serves
// them, and join the checks below when both are in one tree.

export const gapSchema = z
  .object({
    mesh: z.string(),
    source: z.string().meta({ description: 'The source kind: kubernetes, zookeeper, nacos, demo' }),
    from: isoTime,
    to: isoTime.meta({ description: 'When ingestion resumed, or the end of the asked range while it has not' }),
    reason: z.string().meta({ description: 'Why the source was not ingesting (not running, disconnected, failing)' }),
    lossPossible: z.boolean().meta({ description: 'Events of the period may be missing for good' }),
    ongoing: z.boolean().optional(),
  })
  .meta({ id: 'Gap' })

export const gapListSchema = z.object({ items: z.array(gapSchema) }).meta({ id: 'GapList' })

export const histogramSchema = z
  .object({
    since: isoTime,
    until: isoTime,
    bucketMs: z.int().min(1),
    buckets: z.array(z.object({ start: isoTime, normal: z.int().min(0), warning: z.int().min(0) })).meta({ description: 'Oldest first' }),
    gaps: z.array(gapSchema),
    capped: z.boolean().optional(),
  })
  .meta({ id: 'Histogram' })

export const facetsSchema = z
  .object({
    field: z.string(),
    items: z.array(z.object({ value: z.string(), count: z.int().min(0) })).meta({ description: 'The 50 largest first' }),
    capped: z.boolean(),
  })
  .meta({ id: 'Facets' })

// --- the schemas and the interfaces describe the same shapes --------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Check<T extends true> = T
/** Compile-time only: a `false` here (a schema and its interface differ) fails `pnpm check`. */
export type ResponseSchemasMatchTheirTypes = [
  Check<Same<z.output<typeof eventItemSchema>, EventItem>>,
  Check<Same<z.output<typeof eventPageSchema>, EventPage>>,
  Check<Same<z.output<typeof errorBodySchema>, ErrorBody>>,
  Check<Same<z.output<typeof postEventsResponseSchema>, PostEventsResponse>>,
  Check<Same<z.output<typeof meshSchema>, Mesh>>,
  Check<Same<z.output<typeof instanceSchema>, Instance>>,
  Check<Same<z.output<typeof applicationSummarySchema>, ApplicationSummary>>,
  Check<Same<z.output<typeof applicationDetailSchema>, ApplicationDetail>>,
  Check<Same<z.output<typeof serviceSummarySchema>, ServiceSummary>>,
  Check<Same<z.output<typeof serviceDetailSchema>, ServiceDetail>>,
  Check<Same<z.output<typeof dubboAdminEventListSchema>, DubboAdminEventList>>,
]

/**
 * Runtime schemas of the API's inputs. The server validates with them; the web client builds
 * its requests from the same shapes, so both sides share one definition.
 */
import { z } from 'zod'
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_POST_EVENTS } from './api.ts'
import { DEFAULT_EXPORT_MAX, DEFAULT_HISTOGRAM_BUCKETS, EXPORT_FORMATS, FACET_FIELDS, MAX_EXPORT_MAX, MAX_HISTOGRAM_BUCKETS } from './timelineViews.ts'
import { EVENT_SOURCES, EVENT_TYPES } from './events.ts'
import type { EventSource, EventType } from './events.ts'
import { parseIsoTime, parseTimeBound } from './time.ts'

const MAX_NAME = 253 // a Kubernetes object name's limit; longer names are malformed everywhere
// Control characters are exactly what this refuses (they break logs, terminals and tables).
// eslint-disable-next-line no-control-regex
const NAME_PATTERN = /^[^\u0000-\u001f\u007f]+$/
const MESH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/** A query parameter given once; Express hands a repeated parameter over as an array. */
const single = z.string({ error: (issue) => (Array.isArray(issue.input) ? 'must be given once' : 'must be a string') })

const name = single.min(1, 'must not be empty').max(MAX_NAME, `must be at most ${MAX_NAME} characters`).regex(NAME_PATTERN, 'must not contain control characters')
const meshName = single.regex(MESH_PATTERN, 'must be 1-63 letters, digits, ".", "_" or "-"')

function commaList<T extends string>(allowed: readonly T[] | null, what: string) {
  return single.transform((text, ctx) => {
    const parts = text.split(',').map((part) => part.trim()).filter(Boolean)
    if (parts.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must list at least one value' })
      return z.NEVER
    }
    if (allowed) {
      const unknown = parts.find((part) => !allowed.includes(part as T))
      if (unknown !== undefined) {
        ctx.addIssue({ code: 'custom', message: `unknown ${what} "${unknown}"; expected ${allowed.join(', ')}` })
        return z.NEVER
      }
    }
    return [...new Set(parts)] as T[]
  })
}

const timeBound = single.transform((text, ctx) => {
  const ms = parseTimeBound(text, Date.now())
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or a duration like 15m, 24h, 7d' })
    return z.NEVER
  }
  return ms
})

const limit = single
  .regex(/^\d+$/, 'must be an integer')
  .transform(Number)
  .pipe(z.number().int().min(1, `must be between 1 and ${MAX_PAGE_LIMIT}`).max(MAX_PAGE_LIMIT, `must be between 1 and ${MAX_PAGE_LIMIT}`))

const cursor = single.min(1, 'must not be empty').max(512, 'was not issued by this server')

const eventType = single.refine((value): value is EventType => (EVENT_TYPES as readonly string[]).includes(value), {
  message: `must be one of ${EVENT_TYPES.join(', ')}`,
})

/** Timeline filters of `GET /events` and the per-entity timelines (times as epoch ms). */
export const timelineQuerySchema = z.object({
  mesh: meshName.optional(),
  application: name.optional(),
  instance: name.optional(),
  ip: name.optional(),
  service: name.optional(),
  namespace: name.optional(),
  kind: name.optional(),
  name: name.optional(),
  type: eventType.transform((value) => value as EventType).optional(),
  source: commaList<EventSource>(EVENT_SOURCES, 'source').optional(),
  reason: commaList<string>(null, 'reason').optional(),
  q: single.trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters').optional(),
  since: timeBound.optional(),
  until: timeBound.optional(),
  limit: limit.default(DEFAULT_PAGE_LIMIT),
  cursor: cursor.optional(),
})
export type TimelineQuery = z.output<typeof timelineQuerySchema>
/** The query as a client sends it (all strings). */
export type TimelineQueryInput = Partial<Record<keyof TimelineQuery, string>>

/** A positive integer query parameter within [1, max]. */
function boundedInt(max: number) {
  const message = `must be an integer between 1 and ${max}`
  return single.regex(/^\d{1,9}$/, message).transform(Number).pipe(z.number().int().min(1, message).max(max, message))
}

/** The timeline filters alone (no paging): what the histogram, the facets and the export narrow by. */
const timelineFilterShape = timelineQuerySchema.omit({ limit: true, cursor: true }).shape

/** `GET P/histogram`: the timeline filters and `buckets` (1..500, default 60). */
export const histogramQuerySchema = z.strictObject({
  ...timelineFilterShape,
  buckets: boundedInt(MAX_HISTOGRAM_BUCKETS).default(DEFAULT_HISTOGRAM_BUCKETS),
})
export type HistogramQuery = z.output<typeof histogramQuerySchema>

/** `GET P/facets`: the timeline filters and the `field` whose values are counted. */
export const facetsQuerySchema = z.strictObject({
  ...timelineFilterShape,
  field: z.enum(FACET_FIELDS, { error: `must be one of ${FACET_FIELDS.join(', ')}` }),
})
export type FacetsQuery = z.output<typeof facetsQuerySchema>

/** `GET P/export`: the timeline filters, `format` (csv, ndjson) and `max` (1..1,000,000, default 100,000). */
export const exportQuerySchema = z.strictObject({
  ...timelineFilterShape,
  format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(', ')}` }),
  max: boundedInt(MAX_EXPORT_MAX).default(DEFAULT_EXPORT_MAX),
})
export type ExportQuery = z.output<typeof exportQuerySchema>

/** `GET /gaps?mesh&since&until`. */
export const gapsQuerySchema = z.strictObject({
  mesh: meshName.optional(),
  since: timeBound.optional(),
  until: timeBound.optional(),
})
export type GapsQuery = z.output<typeof gapsQuerySchema>

/** `?mesh&q&limit&cursor` of the resource lists (`/applications`, `/services`, `/instances`). */
export const resourceListQuerySchema = z.object({
  mesh: meshName.optional(),
  application: name.optional(),
  q: single.trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters').optional(),
  limit: limit.default(DEFAULT_PAGE_LIMIT),
  cursor: cursor.optional(),
})
export type ResourceListQuery = z.output<typeof resourceListQuerySchema>

export const meshQuerySchema = z.object({ mesh: meshName.optional() })

const offset = single
  .regex(/^\d+$/, 'must be a non-negative integer')
  .transform(Number)
  .pipe(z.number().int().max(1_000_000, 'must be at most 1000000'))

/** Paging of the Dubbo admin compatible endpoints (`pageOffset`, `pageSize`). */
export const dubboAdminPageSchema = z.object({
  mesh: meshName.optional(),
  pageOffset: offset.default(0),
  pageSize: limit.default(10),
})
export const dubboAdminApplicationSchema = dubboAdminPageSchema.extend({ appName: name })
export const dubboAdminInstanceSchema = dubboAdminPageSchema.extend({ instanceName: name.optional(), ip: name.optional() })
export const dubboAdminServiceSchema = dubboAdminPageSchema.extend({ serviceName: name })

const isoTime = z.string().refine((text) => parseIsoTime(text) !== undefined, { message: 'must be an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z' })
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`)

/** One event of `POST /events`. Unknown fields are refused, so a typo never loses data silently. */
export const postEventSchema = z.strictObject({
  id: z.string().min(1).max(MAX_NAME).regex(NAME_PATTERN, 'must not contain control characters').optional(),
  time: isoTime.optional(),
  type: z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }),
  reason: text(128).min(1, 'must not be empty'),
  message: text(32_768),
  mesh: z.string().regex(MESH_PATTERN, 'must be 1-63 letters, digits, ".", "_" or "-"').optional(),
  application: text(MAX_NAME).min(1).optional(),
  instance: text(MAX_NAME).min(1).optional(),
  ip: text(64).min(1).optional(),
  service: text(MAX_NAME).min(1).optional(),
  component: text(MAX_NAME).min(1).optional(),
  object: z
    .strictObject({
      kind: text(128).min(1),
      name: text(MAX_NAME).min(1),
      namespace: text(MAX_NAME).optional(),
      uid: text(128).optional(),
      fieldPath: text(MAX_NAME).optional(),
    })
    .optional(),
})
export type PostEvent = z.output<typeof postEventSchema>

/** A batch of `POST /events` (a body that is an array); a single object is one `postEventSchema`. */
export const postEventListSchema = z
  .array(postEventSchema)
  .min(1, 'must hold at least one event')
  .max(MAX_POST_EVENTS, `must hold at most ${MAX_POST_EVENTS} events`)

/** First problem of a failed parse as `{ field, message }`; array indexes print as `[3].type`. */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]
  if (!issue) return { field: '', message: 'invalid input' }
  // An unknown key is reported on its parent object; name the key itself.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path
  const message = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message
  const field = path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
    .join('')
  return { field, message }
}
